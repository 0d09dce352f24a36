import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { describe, test } from 'node:test';
import type { IDaemonSet, IDeployment } from 'kubernetes-models/apps/v1';
import type { IClusterRole, IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type { IContainer } from 'kubernetes-models/v1';
import { stringify as stringifyYaml } from 'yaml';
import packageJson from '../../package.json' with { type: 'json' };
import { parseCommandLine } from '../../src/cli/parse-command-line.ts';
import { parseClustersConfigText } from '../../src/config/parse.ts';
import { CommandError, execCommand } from '../../src/process/exec.ts';
import { startTestEmulator } from '../emulator/helpers.ts';
import { findOne, hasKubectl, renderKustomization, type Manifest } from './support/manifests.ts';
import { DEPLOY_DIR } from './support/repo.ts';

const kubectl = await hasKubectl();
const skip = kubectl ? false : 'kubectl is not installed: cannot render the kustomizations';

/** The environment the kubelet gives the container, with the downward API answered. */
function containerEnv(container: IContainer, pod: { name: string; namespace: string }): Record<string, string> {
  return Object.fromEntries(
    (container.env ?? []).map((variable) => {
      if (variable.value !== undefined) return [variable.name, variable.value];
      const path = variable.valueFrom?.fieldRef?.fieldPath;
      if (path === 'metadata.name') return [variable.name, pod.name];
      if (path === 'metadata.namespace') return [variable.name, pod.namespace];
      throw new Error(`env ${variable.name}: the test does not know what the kubelet puts there`);
    }),
  );
}

describe('deploy/publisher: clusterwire mirror as a Deployment', { skip }, async () => {
  const rendered = kubectl ? await renderKustomization(join(DEPLOY_DIR, 'publisher')) : [];
  const deployment = (kubectl ? findOne(rendered, 'Deployment', 'clusterwire-mirror') : {}) as IDeployment;
  const pod = deployment.spec?.template.spec;
  const container = pod?.containers.find((c) => c.name === 'clusterwire-mirror');

  test('two replicas whose args and env parse to `mirror`: the mounted config, its own namespace, the pod name as identity', () => {
    assert.ok(container && pod);
    assert.equal(deployment.spec?.replicas, 2);
    const namespace = deployment.metadata?.namespace ?? '';
    assert.equal(namespace, 'clusterwire');
    const parsed = parseCommandLine(container.args ?? [], containerEnv(container, { name: 'clusterwire-mirror-5d8f7-x2x9q', namespace }));
    assert.equal(parsed.name, 'mirror');
    if (parsed.name !== 'mirror') return;
    const { options } = parsed;
    assert.equal(options.namespace, namespace);
    assert.equal(options.identity, 'clusterwire-mirror-5d8f7-x2x9q');
    assert.deepEqual(options.election, { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    const volume = pod.volumes?.find((v) => v.configMap !== undefined);
    const mount = container.volumeMounts?.find((m) => m.name === volume?.name);
    assert.equal(options.clustersConfigPath, posix.join(mount?.mountPath ?? '', 'clusters.json'));
    const configMap = findOne(rendered, 'ConfigMap', volume?.configMap?.name) as Manifest & { data: Record<string, string> };
    const config = parseClustersConfigText(configMap.data['clusters.json'] ?? '');
    assert.ok(config.ok);
    const port = container.ports?.find((p) => p.name === 'http')?.containerPort;
    assert.deepEqual(options.listenAddress, { host: '', port });
    assert.equal(deployment.spec?.template.metadata?.annotations?.['prometheus.io/port'], String(port));
    assert.deepEqual(container.livenessProbe?.httpGet, { path: '/healthz', port: 'http' });
    assert.deepEqual(container.readinessProbe?.httpGet, { path: '/readyz', port: 'http' });
    assert.match(container.image ?? '', new RegExp(`(^|/)clusterwire:${packageJson.version.replaceAll('.', '\\.')}$`));
  });

  test('its clusters.json is the daemon one of deploy/local', async () => {
    const local = findOne(await renderKustomization(join(DEPLOY_DIR, 'local')), 'ConfigMap', 'clusterwire-config') as Manifest & { data: Record<string, string> };
    const mirror = findOne(rendered, 'ConfigMap', 'clusterwire-mirror-config') as Manifest & { data: Record<string, string> };
    assert.equal(mirror.data['clusters.json'], local.data['clusters.json']);
  });

  test('its pods are not the DaemonSet’s: unprivileged, read-only, not selected by the daemon’s labels', async () => {
    assert.ok(container && pod);
    const daemonSet = findOne(await renderKustomization(join(DEPLOY_DIR, 'local')), 'DaemonSet', 'clusterwire') as Manifest & IDaemonSet;
    const selector = daemonSet.spec?.selector.matchLabels ?? {};
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    assert.ok(Object.entries(selector).some(([key, value]) => labels[key] !== value), 'the DaemonSet selector does not match the mirror pods');
    assert.equal(pod.hostNetwork, undefined);
    assert.deepEqual(container.securityContext?.capabilities, { drop: ['ALL'] });
    assert.equal(container.securityContext?.runAsNonRoot, true);
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    assert.deepEqual(container.volumeMounts?.map((m) => [m.name, m.readOnly]), [['config', true]], 'it writes nowhere');
  });

  test('RBAC: PeerSlices and its Lease in its namespace, Nodes read-only', () => {
    const role = findOne(rendered, 'Role', 'clusterwire-mirror') as Manifest & IRole;
    assert.deepEqual(role.rules, [
      { apiGroups: ['clusterwire.io'], resources: ['peerslices'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['clusterwire-mirror'], verbs: ['get', 'update', 'patch'] },
    ]);
    const clusterRole = findOne(rendered, 'ClusterRole', 'clusterwire-mirror') as Manifest & IClusterRole;
    assert.deepEqual(clusterRole.rules, [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }]);
  });
});

describe('deploy/remote-slices: the grant of slice readers', { skip }, () => {
  test("deploy/remote with the Node grant swapped for PeerSlices and the Lease, in one namespace; the same token", async () => {
    const rendered = await renderKustomization(join(DEPLOY_DIR, 'remote-slices'));
    const remote = await renderKustomization(join(DEPLOY_DIR, 'remote'));
    assert.deepEqual(rendered.map((m) => m.kind).sort(), ['Role', 'RoleBinding', 'Secret', 'ServiceAccount']);
    for (const kind of ['ServiceAccount', 'Secret']) assert.deepEqual(findOne(rendered, kind), findOne(remote, kind), `${kind} as deploy/remote has it`);
    const role = findOne(rendered, 'Role') as Manifest & IRole;
    assert.deepEqual(role.rules, [
      { apiGroups: ['clusterwire.io'], resources: ['peerslices'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['clusterwire-mirror'], verbs: ['get'] },
    ]);
  });

  test('kubectl auth can-i, against the emulated apiserver with the manifests applied', async (t) => {
    const emulator = await startTestEmulator(t);
    const dir = await mkdtemp(join(tmpdir(), 'cw-publisher-rbac-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const run = async (...args: string[]) => (await execCommand('kubectl', ['--kubeconfig', emulator.kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args], { timeoutMs: 30_000 })).stdout;
    const manifests = join(dir, 'all.yaml');
    // The emulator serves no workloads: the objects RBAC is made of, and the namespace.
    const served = (await Promise.all(['crds', 'local', 'publisher', 'remote-slices'].map((path) => renderKustomization(join(DEPLOY_DIR, path))))).flat().filter((m) => !['DaemonSet', 'Deployment'].includes(m.kind));
    await writeFile(manifests, served.map((m) => stringifyYaml(m)).join('---\n'));
    await run('apply', '-f', manifests);
    /** `kubectl auth can-i --quiet` answers by its exit code: 0 yes, 1 no. */
    const canI = async (as: string, ...args: string[]) => {
      try {
        await execCommand('kubectl', ['--kubeconfig', emulator.kubeconfigPath, '--cache-dir', join(dir, 'cache'), 'auth', 'can-i', '--quiet', `--as=system:serviceaccount:clusterwire:${as}`, ...args], { timeoutMs: 30_000 });
        return 'yes';
      } catch (error) {
        if (error instanceof CommandError && error.exitCode === 1) return 'no';
        throw error;
      }
    };
    const cases: [as: string, args: string[], answer: 'yes' | 'no'][] = [
      ['clusterwire-mirror', ['create', 'peerslices.clusterwire.io', '-n', 'clusterwire'], 'yes'],
      ['clusterwire-mirror', ['delete', 'peerslices.clusterwire.io', '-n', 'clusterwire'], 'yes'],
      ['clusterwire-mirror', ['create', 'peerslices.clusterwire.io', '-n', 'default'], 'no'],
      ['clusterwire-mirror', ['update', 'leases.coordination.k8s.io/clusterwire-mirror', '-n', 'clusterwire'], 'yes'],
      ['clusterwire-mirror', ['update', 'leases.coordination.k8s.io/kube-controller-manager', '-n', 'clusterwire'], 'no'],
      ['clusterwire-mirror', ['create', 'leases.coordination.k8s.io', '-n', 'clusterwire'], 'yes'],
      ['clusterwire-mirror', ['watch', 'nodes'], 'yes'],
      ['clusterwire-mirror', ['patch', 'nodes'], 'no'],
      ['clusterwire-remote', ['watch', 'peerslices.clusterwire.io', '-n', 'clusterwire'], 'yes'],
      ['clusterwire-remote', ['list', 'peerslices.clusterwire.io', '-n', 'default'], 'no'],
      ['clusterwire-remote', ['create', 'peerslices.clusterwire.io', '-n', 'clusterwire'], 'no'],
      ['clusterwire-remote', ['get', 'leases.coordination.k8s.io/clusterwire-mirror', '-n', 'clusterwire'], 'yes'],
      ['clusterwire-remote', ['get', 'leases.coordination.k8s.io/other', '-n', 'clusterwire'], 'no'],
      ['clusterwire-remote', ['list', 'nodes'], 'no'],
    ];
    const answers = await Promise.all(cases.map(([as, args]) => canI(as, ...args)));
    assert.deepEqual(
      cases.map(([as, args], i) => `${as} ${args.join(' ')}: ${answers[i]}`),
      cases.map(([as, args, answer]) => `${as} ${args.join(' ')}: ${answer}`),
    );
  });
});
