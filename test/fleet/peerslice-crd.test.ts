import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ApiError } from '../../lab/emulator/status.ts';
import { entryProblem, newSliceObject, sliceLabels, type SliceEntry } from '../../src/fleet/peer-slice.ts';
import { CommandError, execCommand } from '../../src/process/exec.ts';
import { hasKubectl } from '../deploy/support/manifests.ts';
import { DEPLOY_DIR } from '../deploy/support/repo.ts';
import { startTestEmulator } from '../emulator/helpers.ts';

const CRD_FILE = join(DEPLOY_DIR, 'crds', 'peerslices.yaml');
const KEY = `${'c'.repeat(42)}I=`;
const ok: SliceEntry = { node: 'n1', publicKey: KEY, endpoint: '198.18.0.2:51821', podCIDRs: ['10.2.1.0/24'] };
const kubectl = await hasKubectl();

describe('the PeerSlice CRD of deploy/crds', () => {
  test('the apiserver refuses exactly the entries entryProblem refuses', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.create(parseYaml(await readFile(CRD_FILE, 'utf8')) as object);
    emulator.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'clusterwire' } });
    const entries: SliceEntry[] = [
      ok,
      { ...ok, podCIDRs: [] },
      { ...ok, podCIDRs: ['10.2.1.0/24', 'fd02:0:0:1::/64'] },
      { ...ok, node: 'n'.repeat(253), endpoint: `${'h'.repeat(255)}:51820`, podCIDRs: ['1'.repeat(64)] },
      { ...ok, node: '' },
      { ...ok, node: 'n'.repeat(254) },
      { ...ok, publicKey: KEY.slice(1) },
      { ...ok, publicKey: `${KEY}x` },
      { ...ok, publicKey: `${'c'.repeat(42)}J=` },
      { ...ok, publicKey: `${'c'.repeat(42)}I-` },
      { ...ok, endpoint: '' },
      { ...ok, endpoint: `${'h'.repeat(256)}:51820` },
      { ...ok, podCIDRs: ['10.0.0.0/24', '10.0.1.0/24', 'fd00::/64'] },
      { ...ok, podCIDRs: [''] },
      { ...ok, podCIDRs: ['1'.repeat(65)] },
    ];
    let refused = 0;
    for (const [i, entry] of entries.entries()) {
      const problem = entryProblem(entry);
      const slice = newSliceObject('clusterwire', `s-${i}`, sliceLabels('c1', 'c2'), [entry]);
      try {
        emulator.create(slice);
        assert.equal(problem, null, `the apiserver took entry ${i}, which entryProblem refuses: ${problem}`);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        assert.equal(error.code, 422, error.message);
        assert.notEqual(problem, null, `the apiserver refused entry ${i}, which entryProblem accepts: ${error.message}`);
        refused++;
      }
    }
    t.diagnostic(`${refused} of ${entries.length} entries refused by both`);
    assert.equal(refused, 11);
  });

  test('a slice holds at most 100 entries, each with node, publicKey and endpoint', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.create(parseYaml(await readFile(CRD_FILE, 'utf8')) as object);
    const many = (count: number) => Array.from({ length: count }, (_, i) => ({ ...ok, node: `n${i}` }));
    emulator.create(newSliceObject('default', 'full', sliceLabels('c1', 'c2'), many(100)));
    assert.throws(() => emulator.create(newSliceObject('default', 'over', sliceLabels('c1', 'c2'), many(101))), (e: ApiError) => e.code === 422 && /must have at most 100 items/.test(e.message));
    for (const missing of ['node', 'publicKey', 'endpoint'] as const) {
      const partial: Partial<SliceEntry> = { ...ok };
      delete partial[missing];
      assert.throws(() => emulator.create(newSliceObject('default', `no-${missing.toLowerCase()}`, {}, [partial as SliceEntry])), (e: ApiError) => e.code === 422 && e.message.includes(`entries[0].${missing}: Required value`));
    }
    assert.throws(() => emulator.create({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', metadata: { name: 'none', namespace: 'default' } }), (e: ApiError) => e.code === 422);
  });

  test('kubectl applies it and lists slices with their source and peer clusters', { skip: kubectl ? false : 'kubectl is not installed here' }, async (t) => {
    const emulator = await startTestEmulator(t);
    const cache = await mkdtemp(join(tmpdir(), 'cw-crd-kubectl-'));
    t.after(() => rm(cache, { recursive: true, force: true }));
    const run = async (...args: string[]) => {
      try {
        return (await execCommand('kubectl', ['--kubeconfig', emulator.kubeconfigPath, '--cache-dir', cache, ...args], { timeoutMs: 30_000 })).stdout;
      } catch (error) {
        throw error instanceof CommandError ? new Error(`kubectl ${args.join(' ')}: ${error.stderr}`, { cause: error }) : error;
      }
    };
    assert.match(await run('apply', '-k', join(DEPLOY_DIR, 'crds')), /customresourcedefinition.apiextensions.k8s.io\/peerslices.clusterwire.io created/);
    assert.match(await run('wait', '--for', 'condition=established', '--timeout=20s', 'crd/peerslices.clusterwire.io'), /condition met/);
    emulator.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'clusterwire' } });
    emulator.create(newSliceObject('clusterwire', 'c1-for-c2-0', sliceLabels('c1', 'c2'), [ok]));
    emulator.create(newSliceObject('clusterwire', 'c1-for-c3-0', sliceLabels('c1', 'c3'), [ok]));

    const table = await run('get', 'peerslices', '-n', 'clusterwire');
    t.diagnostic(`kubectl get peerslices:\n${table}`);
    assert.match(table, /^NAME\s+SOURCE\s+PEER\s+AGE\n/);
    assert.match(table, /\nc1-for-c2-0\s+c1\s+c2\s+\d+s\n/);
    assert.match(table, /\nc1-for-c3-0\s+c1\s+c3\s+\d+s\n/);
    const selected = await run('get', 'pslice', '-n', 'clusterwire', '-l', 'clusterwire.io/peer-cluster=c3', '-o', 'name');
    assert.equal(selected, 'peerslice.clusterwire.io/c1-for-c3-0\n');
    assert.match(await run('get', 'clusterwire', '-A'), /c1-for-c2-0/, 'found by its category');
    assert.match(await run('apply', '-k', join(DEPLOY_DIR, 'crds')), /unchanged/);
  });
});
