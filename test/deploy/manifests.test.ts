import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ipPoolProblems, serviceMonitorProblems } from './support/custom-resources.ts';
import { describeManifest, findFiles, findKustomizations, findOne, hasKubectl, isYamlFile, parseManifests, readManifests, renderKustomization, type Manifest } from './support/manifests.ts';
import { DEPLOY_DIR, REPO_ROOT } from './support/repo.ts';
import { KUSTOMIZE_TYPES, typeOf, validateManifest } from './support/validate-manifest.ts';

const yamlFiles = await findFiles(DEPLOY_DIR, isYamlFile);
const kustomizations = await findKustomizations(DEPLOY_DIR);
const kubectl = await hasKubectl();
const noKubectl = kubectl ? false : 'kubectl is not installed: kustomizations are not rendered';

describe('every YAML file under deploy/ parses and validates against its schema', () => {
  test('deploy/ has the local, remote, fleet mode and example kustomizations', () => {
    const dirs = kustomizations.map((k) => relative(DEPLOY_DIR, k.dir)).sort();
    assert.deepEqual(dirs, [
      'crds',
      'examples/c1',
      'examples/c2',
      'fleet',
      'local',
      'local/components/critical-pods-quota',
      'local/components/grafana-dashboard',
      'local/components/node-annotation-policy',
      'local/components/prometheusrule',
      'local/components/servicemonitor',
      'publisher',
      'remote',
      'remote-slices',
    ]);
  });

  for (const file of yamlFiles) {
    test(relative(REPO_ROOT, file), async () => {
      const manifests = await readManifests(file);
      assert.ok(manifests.length > 0, 'no document');
      for (const m of manifests) if (!KUSTOMIZE_TYPES.has(typeOf(m))) validateManifest(m);
    });
  }
});

describe('kubectl kustomize renders every kustomization into valid objects', { skip: noKubectl }, () => {
  for (const { dir, kind } of kustomizations.filter((k) => k.kind === 'Kustomization')) {
    test(relative(REPO_ROOT, dir), async () => {
      const rendered = await renderKustomization(dir);
      assert.ok(rendered.length > 0);
      for (const m of rendered) validateManifest(m);
      const namespaced = rendered.filter((m) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'].includes(m.kind));
      assert.deepEqual(
        namespaced.filter((m) => m.metadata?.namespace !== 'clusterwire').map(describeManifest),
        [],
        `every namespaced object of this ${kind} is in namespace clusterwire`,
      );
    });
  }

  test('the servicemonitor component adds a ServiceMonitor whose Service selects the daemon pods', async (t) => {
    // A component renders only inside a kustomization: make one that uses it.
    const dir = await mkdtemp(join(tmpdir(), `clusterwire-kustomize-${process.pid}-`));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const from = (path: string) => relative(dir, join(DEPLOY_DIR, path));
    await writeFile(
      join(dir, 'kustomization.yaml'),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [${from('local')}]\ncomponents: [${from('local/components/servicemonitor')}]\n`,
    );
    const rendered = await renderKustomization(dir);
    for (const m of rendered) validateManifest(m);

    const monitor = findOne(rendered, 'ServiceMonitor') as Manifest & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] } };
    const service = findOne(rendered, 'Service') as Manifest & { spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] } };
    const daemonSet = findOne(rendered, 'DaemonSet') as Manifest & {
      spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { ports: { name: string; containerPort: number }[] }[] } } };
    };
    assert.equal(monitor.metadata?.namespace, 'clusterwire');
    assert.equal(service.metadata?.namespace, 'clusterwire');
    assert.ok(isSubset(monitor.spec.selector.matchLabels, service.metadata?.labels ?? {}), 'the ServiceMonitor selects the Service');
    assert.ok(isSubset(service.spec.selector, daemonSet.spec.template.metadata.labels), 'the Service selects the daemon pods');
    const servicePort = service.spec.ports.find((p) => p.name === monitor.spec.endpoints[0]?.port);
    assert.ok(servicePort, 'the endpoint names a port of the Service');
    const containerPorts = daemonSet.spec.template.spec.containers.flatMap((c) => c.ports.map((p) => p.name));
    assert.ok(containerPorts.includes(servicePort.targetPort), 'the Service targets the container port by name');
  });
});

describe('the optional components render with deploy/local', { skip: noKubectl }, () => {
  /** deploy/local with `components`, rendered as an overlay would. */
  async function renderWith(t: { after: (fn: () => Promise<void>) => void }, components: string[]): Promise<Manifest[]> {
    const dir = await mkdtemp(join(tmpdir(), `clusterwire-kustomize-${process.pid}-`));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const from = (path: string) => relative(dir, join(DEPLOY_DIR, path));
    await writeFile(
      join(dir, 'kustomization.yaml'),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [${from('local')}]\ncomponents: [${components.map((c) => from(`local/components/${c}`)).join(', ')}]\n`,
    );
    const rendered = await renderKustomization(dir);
    for (const m of rendered) validateManifest(m);
    return rendered;
  }
  type PodSpecOf = Manifest & { spec: { template: { spec: { priorityClassName?: string; serviceAccountName?: string } } } };

  test("critical-pods-quota: a ResourceQuota in the daemon's namespace for its priority class, limiting nothing", async (t) => {
    const rendered = await renderWith(t, ['critical-pods-quota']);
    const quota = findOne(rendered, 'ResourceQuota') as Manifest & { spec: { hard?: unknown; scopeSelector: { matchExpressions: { scopeName: string; operator: string; values: string[] }[] } } };
    const daemonSet = findOne(rendered, 'DaemonSet') as PodSpecOf;
    assert.equal(quota.metadata?.namespace, daemonSet.metadata?.namespace);
    assert.deepEqual(quota.spec.scopeSelector.matchExpressions, [{ scopeName: 'PriorityClass', operator: 'In', values: [daemonSet.spec.template.spec.priorityClassName] }]);
    assert.equal(quota.spec.hard, undefined, 'no hard limit: a pod per node is never refused for quota');
  });

  test("node-annotation-policy: cluster-scoped, matching the daemon's service account", async (t) => {
    const rendered = await renderWith(t, ['node-annotation-policy']);
    const policy = findOne(rendered, 'ValidatingAdmissionPolicy') as Manifest & { spec: { matchConditions: { expression: string }[] } };
    const binding = findOne(rendered, 'ValidatingAdmissionPolicyBinding');
    const daemonSet = findOne(rendered, 'DaemonSet') as PodSpecOf;
    assert.equal(policy.metadata?.namespace, undefined);
    assert.equal(binding.metadata?.namespace, undefined);
    const account = `system:serviceaccount:${daemonSet.metadata?.namespace}:${daemonSet.spec.template.spec.serviceAccountName}`;
    assert.deepEqual(policy.spec.matchConditions.map((c) => c.expression), [`request.userInfo.username == '${account}'`]);
  });

  test('prometheusrule and grafana-dashboard: in the namespace; the dashboard ConfigMap for the Grafana sidecar holds clusterwire.json', async (t) => {
    const rendered = await renderWith(t, ['prometheusrule', 'grafana-dashboard']);
    assert.equal(findOne(rendered, 'PrometheusRule').metadata?.namespace, 'clusterwire');
    const dashboard = findOne(rendered, 'ConfigMap', 'clusterwire-dashboard') as Manifest & { data: Record<string, string> };
    assert.equal(dashboard.metadata?.namespace, 'clusterwire');
    assert.equal(dashboard.metadata?.labels?.grafana_dashboard, '1');
    assert.equal(dashboard.data['clusterwire.json'], await readFile(join(DEPLOY_DIR, 'local/components/grafana-dashboard/clusterwire.json'), 'utf8'));
  });
});

function isSubset(wanted: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(wanted).length > 0 && Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

describe('the schema checks catch broken manifests', () => {
  const [pool] = parseManifests('apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: c2-pods}\nspec: {cidr: 10.4.0.0/16, ipipMode: CrossSubnet, natOutgoing: false, disabled: true}\n', 'pool');
  const [monitor] = parseManifests('apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: m}\nspec: {selector: {matchLabels: {a: b}}, endpoints: [{port: http, path: /metrics, interval: 30s}]}\n', 'monitor');
  assert.ok(pool && monitor);
  const withSpec = (m: Manifest, spec: Record<string, unknown>): Manifest => ({ ...m, spec: { ...(m.spec as object), ...spec } });

  test('a well-formed IPPool and ServiceMonitor pass', () => {
    assert.deepEqual(ipPoolProblems(pool), []);
    assert.deepEqual(serviceMonitorProblems(monitor), []);
  });

  const brokenPools: [string, Manifest, RegExp][] = [
    ['bad CIDR', withSpec(pool, { cidr: '10.4.0.0/33' }), /spec.cidr/],
    ['missing CIDR', withSpec(pool, { cidr: undefined }), /spec.cidr is required/],
    ['bad ipipMode', withSpec(pool, { ipipMode: 'Sometimes' }), /ipipMode/],
    ['string boolean', withSpec(pool, { disabled: 'true' }), /disabled must be a boolean/],
    ['unknown field', withSpec(pool, { disable: true }), /spec.disable is not an IPPool field/],
    ['no name', { ...pool, metadata: {} }, /metadata.name is required/],
  ];
  for (const [what, broken, problem] of brokenPools) {
    test(`IPPool with ${what} is rejected`, () => assert.match(ipPoolProblems(broken).join('\n'), problem));
  }

  const brokenMonitors: [string, Manifest, RegExp][] = [
    ['no selector', withSpec(monitor, { selector: undefined }), /spec.selector/],
    ['no endpoints', withSpec(monitor, { endpoints: [] }), /at least one endpoint/],
    ['bad interval', withSpec(monitor, { endpoints: [{ port: 'http', interval: '30 seconds' }] }), /interval/],
    ['relative path', withSpec(monitor, { endpoints: [{ port: 'http', path: 'metrics' }] }), /path/],
  ];
  for (const [what, broken, problem] of brokenMonitors) {
    test(`ServiceMonitor with ${what} is rejected`, () => assert.match(serviceMonitorProblems(broken).join('\n'), problem));
  }

  test('a DaemonSet with a wrongly typed field fails kubernetes-models validation', () => {
    const [daemonSet] = parseManifests(
      'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: i, ports: [{containerPort: http}]}]}\n',
      'daemonset',
    );
    assert.ok(daemonSet);
    assert.throws(() => validateManifest(daemonSet), /DaemonSet d does not validate/);
  });

  test('a kind without a schema check is an error, not a pass', () => {
    assert.throws(() => validateManifest({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }), /no schema check for example.com\/v1\/Widget/);
  });
});
