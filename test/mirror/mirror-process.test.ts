import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import type { Emulator } from '../../lab/emulator/emulator.ts';
import { seedNode } from '../../lab/emulator/nodes.ts';
import { newSliceObject, sliceLabels } from '../../src/fleet/peer-slice.ts';
import type { MirrorStatusReport } from '../../src/mirror/mirror-view.ts';
import { DEPLOY_DIR } from '../deploy/support/repo.ts';
import { startTestEmulator } from '../emulator/helpers.ts';
import { promtoolCheckMetrics } from '../support/promtool.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const D = 'wireguard.semaphore.uw.io';
const NS = 'clusterwire';
const SLICE = { apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', namespace: NS };
const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: NS, name: 'clusterwire-mirror' };
/** Short leader election timings, so a take-over fits a test; kube-controller-manager's are tested in test/election. */
const TIMING = ['-leader-elect-lease-duration', '3s', '-leader-elect-renew-deadline', '2s', '-leader-elect-retry-period', '500ms'];

interface Replica {
  name: string;
  child: ChildProcess;
  url: string;
  lines: () => Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** `clusterwire mirror` as a process, listening on a free port of loopback; killed by pid when the test ends. */
async function replica(t: TestContext, name: string, configPath: string): Promise<Replica> {
  const child = spawn(process.execPath, [join(ROOT, 'src/main.ts'), 'mirror', '-clusters-config', configPath, '-identity', name, '-listen-address', '127.0.0.1:0', ...TIMING], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const lines = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  for (let i = 0; i < 300; i++) {
    const started = lines().find((l) => l.msg === 'clusterwire mirror started') as { listen?: { port: number } } | undefined;
    if (started?.listen) return { name, child, url: `http://127.0.0.1:${started.listen.port}`, lines, exited };
    if (child.exitCode !== null) break;
    await delay(50);
  }
  assert.fail(`mirror ${name} did not start:\n${out}\n${err}`);
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text() };
}

async function status(r: Replica): Promise<MirrorStatusReport> {
  return JSON.parse((await get(`${r.url}/status`)).text) as MirrorStatusReport;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await delay(100);
  }
  return Date.now() - start;
}

async function cluster(t: TestContext, dir: string): Promise<{ emulator: Emulator; configPath: string }> {
  const emulator = await startTestEmulator(t, { bookmarkIntervalMs: 1000 });
  emulator.create(parseYaml(await readFile(join(DEPLOY_DIR, 'crds', 'peerslices.yaml'), 'utf8')) as object);
  emulator.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  emulator.seedNodes(120, (i) =>
    seedNode({ annotations: { [`c2.${D}/pubKey`]: '{key}', [`c2.${D}/endpoint`]: '{internalIP}:51821', [`c3.${D}/pubKey`]: '{key}', [`c3.${D}/endpoint`]: '{internalIP}:51822' } }, i),
  );
  // c2 and c3 are both served by one emulator: enough for the mirror to read them from their Nodes (test/mirror/mirroring.test.ts tests mirroring itself).
  const remotes = await startTestEmulator(t, { bookmarkIntervalMs: 1000 });
  remotes.seedNodes(5, (i) => seedNode({ annotations: { [`c1.${D}/pubKey`]: '{key}', [`c1.${D}/endpoint`]: '{internalIP}:51820' } }, i));
  const configPath = join(dir, 'clusters.json');
  const remote = (name: string, podSubnet: string, port: number) => ({ name, kubeConfigPath: remotes.kubeconfigPath, podSubnet, wgListenPort: port });
  await writeFile(configPath, JSON.stringify({ local: { name: 'c1', kubeConfigPath: emulator.kubeconfigPath }, remotes: [remote('c2', '10.4.0.0/16', 51821), remote('c3', '10.6.0.0/16', 51822)] }));
  return { emulator, configPath };
}

const sliceVersions = (emulator: Emulator) =>
  (emulator.list({ ...SLICE, labelSelector: 'clusterwire.io/source-cluster=c1' }) as { metadata: { name: string; resourceVersion: string } }[]).map((s) => `${s.metadata.name}@${s.metadata.resourceVersion}`);

describe('clusterwire mirror as processes against an emulated apiserver', () => {
  test('two replicas: one publishes; killed, the other takes over without rewriting a slice; SIGTERM releases the lease', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'cw-mirror-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const { emulator, configPath } = await cluster(t, dir);
    // Left by a peer cluster c9 that is no longer in the config.
    emulator.create(newSliceObject(NS, 'c1-for-c9-0', sliceLabels('c1', 'c9'), []));

    const a = await replica(t, 'mirror-a', configPath);
    await until('a leads', async () => (await status(a)).election.leading);
    const b = await replica(t, 'mirror-b', configPath);
    await until('both ready', async () => (await get(`${a.url}/readyz`)).status === 200 && (await get(`${b.url}/readyz`)).status === 200);
    assert.deepEqual(sliceVersions(emulator).map((v) => v.split('@')[0]), ['c1-for-c2-0', 'c1-for-c2-1', 'c1-for-c3-0', 'c1-for-c3-1'], 'two slices per peer; the c9 slice removed');
    const sa = await status(a);
    const sb = await status(b);
    assert.deepEqual(sa.publishers.map((p) => [p.peer, p.slices, p.entries]), [['c2', 2, 120], ['c3', 2, 120]]);
    assert.deepEqual(sb.publishers.map((p) => [p.peer, p.leading, p.slices]), [['c2', false, null], ['c3', false, null]]);
    assert.deepEqual(sa.mirrored.map((m) => [m.remote, m.source.source, m.slices.entries]), [['c2', 'nodes', 5], ['c3', 'nodes', 5]], 'the leader mirrors both remotes from their Nodes');
    assert.deepEqual(sb.mirrored.map((m) => [m.remote, m.source.source, m.source.watch.state]), [['c2', null, 'starting'], ['c3', null, 'starting']], 'the standby reads no remote');
    const mirroredSlices = () => (emulator.list({ ...SLICE, labelSelector: 'clusterwire.io/mirrored=true' }) as { metadata: { name: string } }[]).map((s) => s.metadata.name);
    assert.deepEqual(mirroredSlices(), ['c2-for-c1-0', 'c3-for-c1-0']);
    await until('the Lease says what the leader publishes and mirrors', () => {
      const annotations = (emulator.get(LEASE) as { metadata: { annotations?: Record<string, string> } }).metadata.annotations ?? {};
      const mirrored = JSON.parse(annotations['clusterwire.io/mirrored-remotes'] ?? '{}') as Record<string, { source: string; synced: boolean }>;
      return annotations['clusterwire.io/published-peers'] === '{"c2":{"synced":true},"c3":{"synced":true}}' && mirrored.c2?.synced === true && mirrored.c3?.source === 'nodes';
    });
    assert.equal(sb.election.holder, 'mirror-a');
    assert.equal((await get(`${a.url}/healthz`)).status, 200);

    const metrics = await get(`${a.url}/metrics`);
    assert.match(metrics.text, /^clusterwire_publisher_leader 1$/m);
    assert.match(metrics.text, /^clusterwire_publisher_slice_writes_total\{peer_cluster="c2",verb="create"\} 2$/m);
    assert.match(metrics.text, /^clusterwire_publisher_entries\{peer_cluster="c3"\} 120$/m);
    assert.match(metrics.text, /^clusterwire_mirror_source_info\{remote="c2",source="nodes"\} 1$/m);
    assert.match(metrics.text, /^clusterwire_mirror_entries\{remote="c3"\} 5$/m);
    assert.match(metrics.text, /^clusterwire_mirror_slice_writes_total\{remote="c2",verb="create"\} 1$/m);
    assert.match((await get(`${b.url}/metrics`)).text, /^clusterwire_publisher_leader 0$/m);
    const lint = await promtoolCheckMetrics(t, metrics.text);
    if (lint !== null) assert.deepEqual([lint.code, lint.output.trim()], [0, ''], 'promtool check metrics is clean');

    const before = sliceVersions(emulator);
    const mark = emulator.requestLog().at(-1)?.seq ?? 0;
    a.child.kill('SIGKILL');
    await a.exited;
    const took = await until('b leads', async () => (await status(b)).election.leading);
    t.diagnostic(`b led ${took} ms after a was killed (lease duration 3 s, retry period 0.5 s)`);
    assert.ok(took <= 3_000 + 2.2 * 500 + 1_000);
    await until('b published and mirrored', async () => {
      const sb2 = await status(b);
      return sb2.publishers.every((p) => p.lastPublishAt !== null && p.slices === 2) && sb2.mirrored.every((m) => m.slices.lastPublishAt !== null && m.slices.entries === 5);
    });
    assert.deepEqual(sliceVersions(emulator), before, 'no slice rewritten by the new leader');
    assert.deepEqual(
      emulator.requestLog(mark).filter((r) => r.resource === 'peerslices' && r.verb !== 'list' && r.verb !== 'get').map((r) => r.verb),
      [],
      'no slice writes at all, published or mirrored',
    );
    assert.equal((emulator.get(LEASE) as { spec: { leaseTransitions: number } }).spec.leaseTransitions, 1);

    b.child.kill('SIGTERM');
    assert.equal(await b.exited, 0);
    assert.equal((emulator.get(LEASE) as { spec: { holderIdentity: string } }).spec.holderIdentity, '', 'released on SIGTERM');
    assert.ok(b.lines().some((l) => l.msg === 'released the lease'));
  });
});
