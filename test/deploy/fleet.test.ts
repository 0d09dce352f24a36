/**
 * deploy/fleet: deploy/local and deploy/publisher changed so that the
 * mirror alone holds the remote credentials and the daemons read the local
 * slices it writes (docs/fleet-mode.md#deploying-fleet-mode).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { IDaemonSet, IDeployment } from 'kubernetes-models/apps/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IPolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type { IPodSpec, IVolume } from 'kubernetes-models/v1';
import { stringify as stringifyYaml } from 'yaml';
import { parseClustersConfigText } from '../../src/config/parse.ts';
import { REMOTE_SOURCES } from '../../src/config/schema.ts';
import { TOKENS_MOUNT_PATH, TOKENS_SECRET } from '../../src/connect/objects.ts';
import { CommandError, execCommand } from '../../src/process/exec.ts';
import { startTestEmulator } from '../emulator/helpers.ts';
import { findOne, hasKubectl, renderKustomization, type Manifest } from './support/manifests.ts';
import { DEPLOY_DIR } from './support/repo.ts';

const kubectl = await hasKubectl();
const skip = kubectl ? false : 'kubectl is not installed: cannot render the kustomizations';
/** The daemon's `mirror` source comes with the mirror's mirroring (issue 14); until the config knows it, a daemon refuses such a config. */
const mirrorSourceKnown = (REMOTE_SOURCES as readonly string[]).includes('mirror');
const CREDENTIAL_KEYS = ['kubeConfigPath', 'remoteAPIURL', 'remoteCAURL', 'remoteCASHA256', 'remoteSATokenPath'];

type ConfigMapManifest = Manifest & { data: Record<string, string> };
type RawConfig = { local: { name: string }; remotes: Record<string, unknown>[] };

const render = (path: string) => (kubectl ? renderKustomization(join(DEPLOY_DIR, path)) : Promise.resolve([]));
const [fleet, local, publisher] = await Promise.all([render('fleet'), render('local'), render('publisher')]);

const workload = <T>(rendered: readonly Manifest[], kind: string, name: string) => findOne(rendered, kind, name) as Manifest & T;
/** The clusters.json of the ConfigMap a pod mounts, as raw JSON. */
function mountedConfig(rendered: readonly Manifest[], pod: IPodSpec | undefined): RawConfig {
  const name = pod?.volumes?.find((v) => v.configMap !== undefined)?.configMap?.name;
  return JSON.parse((findOne(rendered, 'ConfigMap', name) as ConfigMapManifest).data['clusters.json'] ?? '') as RawConfig;
}
/** The pod spec with what differs by design between the variants left out: generated ConfigMap names, and the `without` volume with what it needs. */
function comparable(pod: IPodSpec | undefined, without: { volume: string; mountPath: string } | null): unknown {
  const volumes = (pod?.volumes ?? []).filter((v) => v.name !== without?.volume).map((v): IVolume => (v.configMap ? { ...v, configMap: { ...v.configMap, name: '<generated>' } } : v));
  const containers = (pod?.containers ?? []).map((c) => ({ ...c, volumeMounts: (c.volumeMounts ?? []).filter((m) => m.mountPath !== without?.mountPath) }));
  // The fsGroup that makes the Secret readable goes with it.
  const securityContext = { ...pod?.securityContext };
  if (without !== null) delete securityContext.fsGroup;
  return { ...pod, volumes, containers, securityContext };
}
const isUnder = (path: string, dir: string) => path.startsWith(`${dir.replace(/\/$/, '')}/`);

describe('deploy/fleet: the mirror holds the remote credentials, the daemons read its slices', { skip }, () => {
  const daemonSet = kubectl ? workload<IDaemonSet>(fleet, 'DaemonSet', 'clusterwire') : undefined;
  const deployment = kubectl ? workload<IDeployment>(fleet, 'Deployment', 'clusterwire-mirror') : undefined;
  const daemonPod = daemonSet?.spec?.template.spec;
  const mirrorPod = deployment?.spec?.template.spec;

  test("the DaemonSet is deploy/local's without the remote Secret and its mount, nothing else changed", () => {
    const original = workload<IDaemonSet>(local, 'DaemonSet', 'clusterwire').spec?.template.spec;
    const remoteTokens = original?.volumes?.find((v) => v.secret?.secretName === TOKENS_SECRET);
    assert.ok(remoteTokens, 'deploy/local mounts the remote Secret (this test compares against it)');
    assert.deepEqual(comparable(daemonPod, null), comparable(original, { volume: remoteTokens.name, mountPath: TOKENS_MOUNT_PATH }));
    const secretRefs = JSON.stringify(daemonPod).match(/secretName|secretKeyRef|secretRef/g);
    assert.equal(secretRefs, null, 'no Secret reaches a daemon: no volume, no env, no projection');
  });

  test('the daemons’ clusters config reads every remote from the mirror and names no credential', () => {
    const config = mountedConfig(fleet, daemonPod);
    assert.ok(config.remotes.length > 0);
    for (const remote of config.remotes) {
      assert.equal(remote.source, 'mirror', `${String(remote.name)}: source mirror`);
      assert.deepEqual(CREDENTIAL_KEYS.filter((key) => key in remote), [], `${String(remote.name)}: no remote access`);
    }
  });

  test('the daemons’ clusters config is valid', { todo: mirrorSourceKnown ? false : 'the config does not know source mirror yet (it comes with the mirroring, issue 14)' }, () => {
    const result = parseClustersConfigText(JSON.stringify(mountedConfig(fleet, daemonPod)));
    assert.ok(result.ok, result.ok ? '' : result.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  });

  test("the mirror is deploy/publisher's Deployment with the remote Secret mounted read-only, readable by its user alone", () => {
    const original = workload<IDeployment>(publisher, 'Deployment', 'clusterwire-mirror');
    assert.equal(deployment?.spec?.replicas, 2);
    assert.deepEqual(deployment?.spec?.template.spec?.affinity, original.spec?.template.spec?.affinity, 'the replicas spread over nodes');
    const volume = mirrorPod?.volumes?.find((v) => v.secret?.secretName === TOKENS_SECRET);
    assert.ok(volume);
    assert.deepEqual(comparable(mirrorPod, { volume: volume.name, mountPath: TOKENS_MOUNT_PATH }), comparable(original.spec?.template.spec, null));
    const [container] = mirrorPod?.containers ?? [];
    const mount = container?.volumeMounts?.find((m) => m.name === volume.name);
    assert.deepEqual(mount, { name: volume.name, mountPath: TOKENS_MOUNT_PATH, readOnly: true });
    // Non-root: the kubelet gives the files to the pod's fsGroup; 0440 lets that group read them and no one else.
    const user = container?.securityContext?.runAsUser;
    assert.equal(container?.securityContext?.runAsNonRoot, true);
    assert.equal(mirrorPod?.securityContext?.fsGroup, user);
    assert.equal(volume.secret?.defaultMode, 0o440);
  });

  test("the mirror's clusters config is valid, reads its credentials from the mounted Secret, and names the daemons' clusters", () => {
    const raw = mountedConfig(fleet, mirrorPod);
    const result = parseClustersConfigText(JSON.stringify(raw));
    assert.ok(result.ok, result.ok ? '' : result.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
    for (const remote of result.config.remotes) {
      assert.ok(remote.access, `${remote.name}: the mirror has access to it`);
      const file = remote.access.kind === 'token' ? remote.access.tokenPath : remote.access.path;
      assert.ok(isUnder(file, TOKENS_MOUNT_PATH), `${remote.name}: ${file} is in the ${TOKENS_SECRET} mount`);
    }
    const daemons = mountedConfig(fleet, daemonPod);
    assert.equal(raw.local.name, daemons.local.name);
    assert.deepEqual(raw.remotes.map((r) => r.name), daemons.remotes.map((r) => r.name), 'the mirror mirrors every remote the daemons read');
  });

  test('only the mirror pods mount the remote Secret', () => {
    const pods = fleet.flatMap((m) => {
      const spec = (m as Manifest & { spec?: { template?: { spec?: IPodSpec } } }).spec?.template?.spec;
      return spec === undefined ? [] : [{ name: `${m.kind} ${m.metadata?.name ?? ''}`, spec }];
    });
    assert.deepEqual(pods.filter((p) => JSON.stringify(p.spec).includes(TOKENS_SECRET)).map((p) => p.name), ['Deployment clusterwire-mirror']);
    assert.equal(fleet.find((m) => m.kind === 'Secret'), undefined, 'no credential in git: the Secret is made by `clusterwire connect` or by hand');
  });

  test('the PodDisruptionBudget keeps one mirror replica up and selects the mirror pods only', () => {
    const budget = workload<IPodDisruptionBudget>(fleet, 'PodDisruptionBudget', 'clusterwire-mirror');
    assert.equal(budget.spec?.minAvailable, 1);
    assert.ok((deployment?.spec?.replicas ?? 0) > 1, 'a budget of 1 leaves evictions possible');
    const selector = budget.spec?.selector?.matchLabels ?? {};
    const matches = (labels: Record<string, string> = {}) => Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
    assert.ok(matches(deployment?.spec?.template.metadata?.labels), 'it selects the mirror pods');
    assert.ok(!matches(daemonSet?.spec?.template.metadata?.labels), 'not the daemon pods');
    assert.equal(budget.metadata?.namespace, deployment?.metadata?.namespace);
  });

  test('RBAC: exactly what each service account needs, nothing else bound', () => {
    const granted = grantsBySubject(fleet);
    assert.deepEqual([...granted.keys()].sort(), ['clusterwire/clusterwire', 'clusterwire/clusterwire-mirror']);
    assert.deepEqual(granted.get('clusterwire/clusterwire'), [
      'cluster: /nodes [get list patch watch]',
      'clusterwire: clusterwire.io/peerslices [get list watch]',
      'clusterwire: coordination.k8s.io/leases clusterwire-mirror [get]',
    ]);
    assert.deepEqual(granted.get('clusterwire/clusterwire-mirror'), [
      'cluster: /nodes [get list watch]',
      'clusterwire: clusterwire.io/peerslices [create delete get list patch update watch]',
      'clusterwire: coordination.k8s.io/leases [create]',
      'clusterwire: coordination.k8s.io/leases clusterwire-mirror [get patch update]',
    ]);
    assert.equal(daemonPod?.serviceAccountName, 'clusterwire');
    assert.equal(mirrorPod?.serviceAccountName, 'clusterwire-mirror');
  });

  test('kubectl auth can-i, against the emulated apiserver with the manifests applied', async (t) => {
    const emulator = await startTestEmulator(t);
    const dir = await mkdtemp(join(tmpdir(), 'cw-fleet-rbac-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const kubectlArgs = ['--kubeconfig', emulator.kubeconfigPath, '--cache-dir', join(dir, 'cache')];
    const manifests = join(dir, 'all.yaml');
    // The emulator serves no workloads: the objects RBAC is made of, and the namespace.
    const served = [...(await render('crds')), ...fleet].filter((m) => !['DaemonSet', 'Deployment', 'PodDisruptionBudget'].includes(m.kind));
    await writeFile(manifests, served.map((m) => stringifyYaml(m)).join('---\n'));
    await execCommand('kubectl', [...kubectlArgs, 'apply', '-f', manifests], { timeoutMs: 30_000 });
    /** `kubectl auth can-i --quiet` answers by its exit code: 0 yes, 1 no. */
    const canI = async (as: string, args: string[]) => {
      try {
        await execCommand('kubectl', [...kubectlArgs, 'auth', 'can-i', '--quiet', `--as=system:serviceaccount:clusterwire:${as}`, ...args], { timeoutMs: 30_000 });
        return 'yes';
      } catch (error) {
        if (error instanceof CommandError && error.exitCode === 1) return 'no';
        throw error;
      }
    };
    const cases: [as: string, args: string[], answer: 'yes' | 'no'][] = [
      ['clusterwire', ['watch', 'peerslices.clusterwire.io', '-n', 'clusterwire'], 'yes'],
      ['clusterwire', ['list', 'peerslices.clusterwire.io', '-n', 'default'], 'no'],
      ['clusterwire', ['create', 'peerslices.clusterwire.io', '-n', 'clusterwire'], 'no'],
      ['clusterwire', ['get', 'leases.coordination.k8s.io/clusterwire-mirror', '-n', 'clusterwire'], 'yes'],
      ['clusterwire', ['update', 'leases.coordination.k8s.io/clusterwire-mirror', '-n', 'clusterwire'], 'no'],
      ['clusterwire', ['get', 'leases.coordination.k8s.io/other', '-n', 'clusterwire'], 'no'],
      ['clusterwire', ['patch', 'nodes'], 'yes'],
      ['clusterwire', ['get', 'secrets', '-n', 'clusterwire'], 'no'],
      ['clusterwire-mirror', ['update', 'peerslices.clusterwire.io', '-n', 'clusterwire'], 'yes'],
      ['clusterwire-mirror', ['update', 'leases.coordination.k8s.io/clusterwire-mirror', '-n', 'clusterwire'], 'yes'],
      ['clusterwire-mirror', ['watch', 'nodes'], 'yes'],
      ['clusterwire-mirror', ['patch', 'nodes'], 'no'],
      ['clusterwire-mirror', ['get', 'secrets', '-n', 'clusterwire'], 'no'],
    ];
    const answers = await Promise.all(cases.map(([as, args]) => canI(as, args)));
    assert.deepEqual(
      cases.map(([as, args], i) => `${as} ${args.join(' ')}: ${answers[i]}`),
      cases.map(([as, args, answer]) => `${as} ${args.join(' ')}: ${answer}`),
    );
  });
});

/** Per bound ServiceAccount (`namespace/name`), every rule it is granted, one line per resource, sorted: `<scope>: <group>/<resource> [names] [verbs]`. */
function grantsBySubject(rendered: readonly Manifest[]): Map<string, string[]> {
  type Binding = Manifest & { roleRef: { kind: string; name: string }; subjects?: { kind: string; name: string; namespace?: string }[] };
  type RoleManifest = Manifest & { rules?: IPolicyRule[] };
  const grants = new Map<string, string[]>();
  for (const binding of rendered.filter((m): m is Binding => m.kind === 'RoleBinding' || m.kind === 'ClusterRoleBinding')) {
    const role = rendered.find((m): m is RoleManifest => m.kind === binding.roleRef.kind && m.metadata?.name === binding.roleRef.name && (m.kind === 'ClusterRole' || m.metadata.namespace === binding.metadata?.namespace));
    assert.ok(role, `${binding.kind} ${binding.metadata?.name ?? ''} names a ${binding.roleRef.kind} that exists`);
    const scope = binding.kind === 'ClusterRoleBinding' ? 'cluster' : (binding.metadata?.namespace ?? '');
    const lines = (role.rules ?? []).flatMap((rule) =>
      (rule.apiGroups ?? []).flatMap((group) =>
        (rule.resources ?? []).map((resource) => `${scope}: ${group}/${resource}${rule.resourceNames ? ` ${rule.resourceNames.join(',')}` : ''} [${[...rule.verbs].sort().join(' ')}]`),
      ),
    );
    for (const subject of binding.subjects ?? []) {
      assert.equal(subject.kind, 'ServiceAccount', `${binding.metadata?.name ?? ''} binds a ServiceAccount`);
      const key = `${subject.namespace ?? ''}/${subject.name}`;
      grants.set(key, [...(grants.get(key) ?? []), ...lines].sort());
    }
  }
  return grants;
}
