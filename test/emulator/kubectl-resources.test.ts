import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Emulator } from '../../lab/emulator/emulator.ts';
import { renderKubeconfig } from '../../lab/emulator/kubeconfig.ts';
import { CommandError, execCommand } from '../../src/process/exec.ts';
import { startTestEmulator, type Cleanups } from './helpers.ts';

async function kubectlVersion(): Promise<string | null> {
  try {
    return (await execCommand('kubectl', ['version', '--client'], { timeoutMs: 20_000 })).stdout.split('\n')[0] ?? '';
  } catch {
    return null;
  }
}

const version = await kubectlVersion();
const FIXTURES = join(import.meta.dirname, 'fixtures');
const CRD = join(FIXTURES, 'peerslices-crd.yaml');
const READER = join(FIXTURES, 'peerslice-reader.yaml');
/** A WireGuard-shaped public key (the last character before '=' is one of 16). */
const KEY = (c: string) => `${c.repeat(42)}A=`;

type Kubectl = (args: string[], input?: string) => Promise<string>;

interface Session {
  emulator: Emulator;
  dir: string;
  /** kubectl as the emulator's admin (system:masters). */
  admin: Kubectl;
  /** kubectl with a kubeconfig whose user is `token` (kept in a file: tokens stay off command lines). */
  as: (name: string, token: string) => Promise<Kubectl>;
}

async function session(t: Cleanups): Promise<Session> {
  const emulator = await startTestEmulator(t);
  const dir = await mkdtemp(join(tmpdir(), 'cw-kubectl-resources-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const runner = (kubeconfig: string, cache: string): Kubectl => async (args, input) =>
    (await execCommand('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, cache), ...args], { timeoutMs: 30_000, ...(input === undefined ? {} : { input }) })).stdout;
  return {
    emulator,
    dir,
    admin: runner(emulator.kubeconfigPath, 'admin-cache'),
    as: async (name, token) => {
      const tokenFile = join(dir, `${name}.token`);
      await writeFile(tokenFile, token, { mode: 0o600 });
      const kubeconfig = join(dir, `${name}.kubeconfig`);
      await writeFile(kubeconfig, renderKubeconfig({ clusterName: name, server: emulator.url, caFile: emulator.caFile, tokenFile }), { mode: 0o600 });
      return runner(kubeconfig, `${name}-cache`);
    },
  };
}

/** What a failed kubectl printed on stderr (its exit code must not be 0). */
async function failure(run: Promise<string>): Promise<{ exitCode: number | null; stderr: string }> {
  try {
    await run;
  } catch (error) {
    if (error instanceof CommandError) return { exitCode: error.exitCode, stderr: error.stderr };
    throw error;
  }
  assert.fail('kubectl succeeded');
}

function peerSlice(name: string, namespace: string, cluster: string, entries: object[]): string {
  return JSON.stringify({
    apiVersion: 'clusterwire.io/v1alpha1',
    kind: 'PeerSlice',
    metadata: { name, namespace, labels: { 'clusterwire.io/cluster': cluster, 'clusterwire.io/for-cluster': 'c1' } },
    entries,
  });
}

async function waitForWatch(emulator: Emulator, resource: string): Promise<void> {
  for (let i = 0; i < 500 && !emulator.openWatches().some((w) => w.resource === resource); i++) await delay(10);
  assert.ok(emulator.openWatches().some((w) => w.resource === resource), `kubectl opened a watch of ${resource}`);
}

describe('kubectl with custom resources, leases and RBAC', { skip: version === null ? 'kubectl is not installed here' : false }, () => {
  it('applies the PeerSlice CRD, then creates, lists, watches, patches and deletes PeerSlices', async (t) => {
    t.diagnostic(`kubectl: ${version}`);
    const { emulator, admin } = await session(t);
    assert.match(await admin(['apply', '-f', CRD]), /^customresourcedefinition.apiextensions.k8s.io\/peerslices.clusterwire.io created\n/);
    assert.match(await admin(['wait', '--for', 'condition=established', '--timeout=20s', 'crd/peerslices.clusterwire.io']), /condition met/);
    await admin(['create', 'namespace', 'c1']);
    const c2 = [{ node: 'c2-node-a', publicKey: KEY('B'), endpoint: '198.18.2.10:51820', podCIDRs: ['10.2.1.0/24'] }];
    const c4 = [{ node: 'c4-node-a', publicKey: KEY('C') }];
    assert.match(await admin(['apply', '-f', '-'], `${peerSlice('c2-for-c1', 'c1', 'c2', c2)}\n${peerSlice('c4-for-c1', 'c1', 'c4', c4)}`), /peerslice.clusterwire.io\/c2-for-c1 created\npeerslice.clusterwire.io\/c4-for-c1 created/);

    const table = await admin(['get', 'peerslices', '-n', 'c1']);
    t.diagnostic(`kubectl get peerslices:\n${table}`);
    assert.match(table, /^NAME\s+CLUSTER\s+FOR\s+AGE\n/);
    assert.match(table, /\nc2-for-c1\s+c2\s+c1\s+\d+s\n/);
    const selected = JSON.parse(await admin(['get', 'peerslices', '-n', 'c1', '-l', 'clusterwire.io/cluster=c2', '-o', 'json'])) as { items: { metadata: { name: string }; entries: unknown[] }[] };
    assert.deepEqual(selected.items.map((s) => s.metadata.name), ['c2-for-c1']);
    assert.deepEqual(selected.items[0]?.entries, c2);
    assert.match(await admin(['get', 'pslice', '-A']), /^NAMESPACE\s+NAME\s+CLUSTER\s+FOR\s+AGE\nc1\s+c2-for-c1\s+/);
    assert.match(await admin(['get', 'clusterwire', '-n', 'c1']), /c4-for-c1/, 'found by its category');

    const watching = admin(['get', 'peerslices', '-n', 'c1', '--watch', '--output-watch-events', '--request-timeout=5s']);
    await waitForWatch(emulator, 'peerslices');
    await admin(['patch', 'peerslice', 'c2-for-c1', '-n', 'c1', '--type', 'merge', '-p', JSON.stringify({ entries: [...c2, { node: 'c2-node-b', publicKey: KEY('D') }] })]);
    await admin(['delete', 'peerslice', 'c4-for-c1', '-n', 'c1']);
    const watched = await watching;
    t.diagnostic(`kubectl get --watch printed:\n${watched}`);
    assert.match(watched, /^EVENT\s+NAME\s+CLUSTER\s+FOR\s+AGE\n/);
    assert.match(watched, /\nMODIFIED\s+c2-for-c1\s+c2\s+c1\s+/);
    assert.match(watched, /\nDELETED\s+c4-for-c1\s+c4\s+c1\s+/);
    const patched = emulator.get({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', namespace: 'c1', name: 'c2-for-c1' }) as { entries: unknown[]; metadata: { generation: number } };
    assert.equal(patched.entries.length, 2);
    assert.equal(patched.metadata.generation, 2);

    const strategic = await failure(admin(['patch', 'peerslice', 'c2-for-c1', '-n', 'c1', '--type', 'strategic', '-p', '{"metadata":{"labels":{"x":"y"}}}']));
    assert.match(strategic.stderr, /application\/strategic-merge-patch\+json is not supported by clusterwire.io\/v1alpha1, Kind=PeerSlice/);
    const stale = await admin(['get', 'peerslice', 'c2-for-c1', '-n', 'c1', '-o', 'json']);
    await admin(['label', 'peerslice', 'c2-for-c1', '-n', 'c1', 'touched=yes']);
    const conflict = await failure(admin(['replace', '-f', '-'], stale));
    assert.match(conflict.stderr, /Error from server \(Conflict\): error when replacing "STDIN": Operation cannot be fulfilled on peerslices.clusterwire.io "c2-for-c1": the object has been modified; please apply your changes to the latest version and try again/);
    const unknown = await failure(admin(['apply', '-f', '-'], peerSlice('odd', 'c1', 'c2', [{ node: 'n', publicKey: KEY('E'), bogus: 1 }])));
    assert.match(unknown.stderr, /strict decoding error: unknown field "entries\[0\].bogus"/);
    const invalid = await failure(admin(['apply', '-f', '-'], peerSlice('bad', 'c1', 'c2', [{ node: 'n', publicKey: 'not-a-key' }])));
    assert.match(invalid.stderr, /The PeerSlice "bad" is invalid: entries\[0\].publicKey: Invalid value: "not-a-key": entries\[0\].publicKey in body should match/);

    assert.match(await admin(['delete', '-f', CRD]), /customresourcedefinition.apiextensions.k8s.io "peerslices.clusterwire.io" deleted/);
    assert.deepEqual(emulator.list({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' }), []);
    const gone = await failure(admin(['get', 'peerslices', '-n', 'c1']));
    assert.match(gone.stderr, /NotFound|doesn't have a resource type "peerslices"/);
  });

  it('holds a Lease: create, renew from the current resourceVersion, refuse a stale renewal', async (t) => {
    const { admin } = await session(t);
    const lease = (holder: string, renewTime: string, resourceVersion?: string) =>
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'clusterwire-mirror', namespace: 'kube-system', ...(resourceVersion === undefined ? {} : { resourceVersion }) },
        spec: { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: '2026-01-01T00:00:00.000000Z', renewTime, leaseTransitions: 0 },
      });
    assert.match(await admin(['create', '-f', '-'], lease('mirror-0', '2026-01-01T00:00:00.000000Z')), /lease.coordination.k8s.io\/clusterwire-mirror created/);
    const acquired = (await admin(['get', 'lease', 'clusterwire-mirror', '-n', 'kube-system', '-o', 'jsonpath={.metadata.resourceVersion}'])).trim();
    assert.match(await admin(['replace', '-f', '-'], lease('mirror-0', '2026-01-01T00:00:10.000000Z', acquired)), /replaced/);
    const stale = await failure(admin(['replace', '-f', '-'], lease('mirror-1', '2026-01-01T00:00:20.000000Z', acquired)));
    assert.match(stale.stderr, /Operation cannot be fulfilled on leases.coordination.k8s.io "clusterwire-mirror": the object has been modified/);
    const table = await admin(['get', 'leases', '-n', 'kube-system']);
    assert.match(table, /^NAME\s+HOLDER\s+AGE\nclusterwire-mirror\s+mirror-0\s+\d+s\n$/);
  });

  it("gives a service account's token its Role and no more; auth can-i, create token and auth whoami agree", async (t) => {
    const { admin, as } = await session(t);
    await admin(['apply', '-f', CRD]);
    await admin(['wait', '--for', 'condition=established', '--timeout=20s', 'crd/peerslices.clusterwire.io']);
    await admin(['apply', '-f', READER]);
    const token = Buffer.from(await admin(['get', 'secret', 'slice-reader-token', '-n', 'fleet', '-o', 'jsonpath={.data.token}']), 'base64').toString();
    const reader = await as('reader', token);
    assert.match(await reader(['get', 'peerslices', '-n', 'fleet']), /^$/, 'an empty list (kubectl says so on stderr)');
    const nodes = await failure(reader(['get', 'nodes']));
    assert.match(nodes.stderr, /Error from server \(Forbidden\): nodes is forbidden: User "system:serviceaccount:fleet:slice-reader" cannot list resource "nodes" in API group "" at the cluster scope/);
    const elsewhere = await failure(reader(['get', 'peerslices', '-n', 'default']));
    assert.match(elsewhere.stderr, /cannot list resource "peerslices" in API group "clusterwire.io" in the namespace "default"/);

    assert.equal((await reader(['auth', 'can-i', 'watch', 'peerslices', '-n', 'fleet'])).trim(), 'yes');
    assert.equal((await reader(['auth', 'can-i', 'get', 'leases/clusterwire-mirror', '-n', 'fleet'])).trim(), 'yes');
    assert.equal((await failure(reader(['auth', 'can-i', 'get', 'leases/other', '-n', 'fleet']))).exitCode, 1, 'no');
    assert.equal((await failure(reader(['auth', 'can-i', 'create', 'peerslices', '-n', 'fleet']))).exitCode, 1, 'no');
    assert.equal((await admin(['auth', 'can-i', 'list', 'peerslices', '-n', 'fleet', '--as', 'system:serviceaccount:fleet:slice-reader'])).trim(), 'yes');
    assert.equal((await failure(admin(['auth', 'can-i', 'list', 'nodes', '--as', 'system:serviceaccount:fleet:slice-reader']))).exitCode, 1);
    const rules = await reader(['auth', 'can-i', '--list', '-n', 'fleet']);
    assert.match(rules, /\npeerslices.clusterwire.io\s+\[\]\s+\[\]\s+\[get list watch\]\n/);
    assert.match(rules, /\nleases.coordination.k8s.io\s+\[\]\s+\[clusterwire-mirror\]\s+\[get\]\n/);

    const bound = (await admin(['create', 'token', 'slice-reader', '-n', 'fleet', '--duration=15m'])).trim();
    assert.match(bound, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const whoami = await (await as('bound', bound))(['auth', 'whoami']);
    assert.match(whoami, /Username\s+system:serviceaccount:fleet:slice-reader\n/);
    assert.match(whoami, /Groups\s+\[system:serviceaccounts system:serviceaccounts:fleet system:authenticated\]/);
  });
});
