import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import type { Emulator } from '../../lab/emulator/emulator.ts';
import { seedNode } from '../../lab/emulator/nodes.ts';
import { systemClock } from '../../src/clock/clock.ts';
import type { SliceEntry } from '../../src/fleet/peer-slice.ts';
import { KubeSliceApi } from '../../src/fleet/slice-api.ts';
import { SlicePublisher } from '../../src/fleet/slice-publisher.ts';
import { NodeWatcher } from '../../src/kube/node-watcher.ts';
import { createMirrorMetrics, publishedSetMetrics, type MirrorMetrics } from '../../src/mirror/mirror-metrics.ts';
import { DEPLOY_DIR } from '../deploy/support/repo.ts';
import { startTestEmulator } from '../emulator/helpers.ts';
import { clientFor } from '../kube/helpers/emulator.ts';
import { memoryLogger } from '../support/memory-logger.ts';

const D = 'wireguard.semaphore.uw.io';
const NS = 'clusterwire';
const SLICE = { apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', namespace: NS };
const ANNOTATIONS = { [`c2.${D}/pubKey`]: '{key}', [`c2.${D}/endpoint`]: '{internalIP}:51821' };
const KEY = (c: string) => `${c.repeat(42)}A=`;

interface WireSlice {
  metadata: { name: string; resourceVersion: string; labels: Record<string, string> };
  entries: SliceEntry[];
}

/** An emulated local cluster c1 with the CRD, the namespace and `count` nodes annotated for peer c2. */
async function cluster(t: TestContext, count: number): Promise<Emulator> {
  const emulator = await startTestEmulator(t, { bookmarkIntervalMs: 1000 });
  emulator.create(parseYaml(await readFile(join(DEPLOY_DIR, 'crds', 'peerslices.yaml'), 'utf8')) as object);
  emulator.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  emulator.seedNodes(count, (i) => seedNode({ annotations: ANNOTATIONS }, i));
  return emulator;
}

function publisher(t: TestContext, emulator: Emulator, options: { resyncIntervalMs?: number } = {}): { publisher: SlicePublisher; metrics: MirrorMetrics } {
  const { client } = clientFor(t, { kind: 'kubeconfig', path: emulator.kubeconfigPath }, 'c1');
  const metrics = createMirrorMetrics(new Registry());
  const { logger } = memoryLogger();
  const p = new SlicePublisher({
    set: { source: 'c1', peer: 'c2', mirrored: false },
    api: new KubeSliceApi(client, NS),
    createNodeSource: (onChange) => new NodeWatcher({ client, localClusterName: 'c2', annotationDomain: D, logger, metrics, onChange, clock: systemClock, random: Math.random, maxNodes: 20_000 }),
    clock: systemClock,
    logger,
    metrics: publishedSetMetrics(metrics, 'c2'),
    resyncIntervalMs: options.resyncIntervalMs ?? 60_000,
  });
  p.start();
  t.after(() => p.stop());
  return { publisher: p, metrics };
}

function slices(emulator: Emulator): WireSlice[] {
  return emulator.list({ ...SLICE, labelSelector: 'clusterwire.io/source-cluster=c1,clusterwire.io/peer-cluster=c2' }) as WireSlice[];
}

/** The writes to PeerSlices served after `mark`, as "verb name". */
function sliceWrites(emulator: Emulator, mark: number): string[] {
  return emulator
    .requestLog(mark)
    .filter((r) => r.resource === 'peerslices' && ['create', 'update', 'patch', 'delete'].includes(r.verb))
    .map((r) => `${r.verb} ${r.name} ${r.code}`);
}

const lastSeq = (emulator: Emulator) => emulator.requestLog().at(-1)?.seq ?? 0;

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await delay(20);
  }
}

const entryOf = (emulator: Emulator, node: string) => slices(emulator).flatMap((s) => s.entries.map((e) => ({ slice: s.metadata.name, ...e }))).find((e) => e.node === node);

describe('publishing the local nodes as PeerSlices (emulated apiserver)', () => {
  test('250 nodes in 3 slices; heartbeats write nothing; a change rewrites one slice; a new leader adopts without a write', async (t) => {
    const emulator = await cluster(t, 250);
    emulator.createNode(seedNode({ namePrefix: 'bare-' }, 0));
    emulator.createNode(seedNode({ namePrefix: 'bad-', annotations: { ...ANNOTATIONS, [`c2.${D}/pubKey`]: 'not-a-key' } }, 0));
    const a = publisher(t, emulator);
    await until('a sees the nodes', () => a.publisher.status().nodes.synced);
    a.publisher.lead();
    await until('a published', () => a.publisher.status().lastPublishAt !== null);
    assert.deepEqual(
      slices(emulator).map((s) => [s.metadata.name, s.entries.length, s.metadata.labels]),
      [0, 1, 2].map((i) => [`c1-for-c2-${i}`, i < 2 ? 100 : 50, { 'clusterwire.io/source-cluster': 'c1', 'clusterwire.io/peer-cluster': 'c2' }]),
    );
    const status = a.publisher.status();
    assert.deepEqual({ slices: status.slices, entries: status.entries, due: status.due }, { slices: 3, entries: 250, due: 0 });
    assert.deepEqual(status.skipped, { 'missing-annotation': 1, 'bad-public-key': 1, 'value-too-long': 0, 'too-many-pod-cidrs': 0 });
    assert.deepEqual(status.skippedNodes.map((s) => [s.node, s.reason]), [['bad-00000', 'bad-public-key'], ['bare-00000', 'missing-annotation']]);
    const node = emulator.getNode('node-00007') as { metadata: { annotations: Record<string, string> } };
    assert.deepEqual(entryOf(emulator, 'node-00007'), {
      slice: 'c1-for-c2-0',
      node: 'node-00007',
      publicKey: node.metadata.annotations[`c2.${D}/pubKey`],
      endpoint: node.metadata.annotations[`c2.${D}/endpoint`],
      podCIDRs: ['10.128.7.0/24'],
    });

    let mark = lastSeq(emulator);
    const watched = () => emulator.requestLog().filter((r) => r.resource === 'nodes' && r.watch).reduce((sum, r) => sum + r.bytesSent, 0);
    const bytesBefore = watched();
    emulator.startHeartbeats(500);
    await delay(3_000);
    emulator.stopHeartbeats();
    await delay(300);
    const heartbeatBytes = watched() - bytesBefore;
    assert.ok(heartbeatBytes > 1_000_000, `the heartbeats reached the publisher's node watch (${heartbeatBytes} bytes)`);
    assert.deepEqual(sliceWrites(emulator, mark), [], 'kubelet heartbeats: no slice written');
    t.diagnostic(`3 s of heartbeats at 500/s: ${(heartbeatBytes / 1e6).toFixed(1)} MB of node events watched, 0 slice writes`);

    mark = lastSeq(emulator);
    emulator.patchNode('node-00007', { metadata: { annotations: { [`c2.${D}/pubKey`]: KEY('Q') } } });
    await until('the new key is published', () => entryOf(emulator, 'node-00007')?.publicKey === KEY('Q'));
    await a.publisher.idle();
    assert.deepEqual(sliceWrites(emulator, mark), ['patch c1-for-c2-0 200'], 'one key change, one slice written');

    mark = lastSeq(emulator);
    emulator.deleteNode('node-00010');
    await until('node-00010 is gone', () => entryOf(emulator, 'node-00010') === undefined);
    emulator.createNode(seedNode({ namePrefix: 'new-', annotations: ANNOTATIONS }, 0));
    await until('new-00000 is published', () => entryOf(emulator, 'new-00000') !== undefined);
    await a.publisher.idle();
    assert.equal(entryOf(emulator, 'new-00000')?.slice, 'c1-for-c2-0', 'the new node took the hole');
    assert.deepEqual(sliceWrites(emulator, mark), ['patch c1-for-c2-0 200', 'patch c1-for-c2-0 200']);

    const before = slices(emulator).map((s) => [s.metadata.name, s.metadata.resourceVersion]);
    mark = lastSeq(emulator);
    a.publisher.standBy();
    const b = publisher(t, emulator);
    await until('b sees the nodes', () => b.publisher.status().nodes.synced);
    b.publisher.lead();
    await until('b published', () => b.publisher.status().lastPublishAt !== null);
    assert.deepEqual(sliceWrites(emulator, mark), [], 'the new leader writes nothing');
    assert.deepEqual(slices(emulator).map((s) => [s.metadata.name, s.metadata.resourceVersion]), before);
  });

  test('a slice changed by someone else: 409, read again, written; a deleted one comes back at the next resync', async (t) => {
    const emulator = await cluster(t, 5);
    const a = publisher(t, emulator, { resyncIntervalMs: 1_000 });
    await until('a sees the nodes', () => a.publisher.status().nodes.synced);
    a.publisher.lead();
    await until('a published', () => a.publisher.status().lastPublishAt !== null);
    emulator.patch({ ...SLICE, name: 'c1-for-c2-0' }, { metadata: { labels: { 'example.com/touched': 'yes' } } });
    const mark = lastSeq(emulator);
    emulator.patchNode('node-00001', { metadata: { annotations: { [`c2.${D}/endpoint`]: '198.19.9.9:51821' } } });
    await until('the endpoint is published', () => entryOf(emulator, 'node-00001')?.endpoint === '198.19.9.9:51821');
    assert.deepEqual(sliceWrites(emulator, mark), ['patch c1-for-c2-0 409', 'patch c1-for-c2-0 200'], 'conflict, read again, written');
    assert.ok(emulator.requestLog(mark).some((r) => r.resource === 'peerslices' && r.verb === 'list'), 'the slices were read again');
    assert.equal((await a.metrics.published.conflicts.get()).values[0]?.value, 1);
    assert.equal(slices(emulator)[0]?.metadata.labels['example.com/touched'], 'yes', 'the label someone added is kept');

    emulator.delete({ ...SLICE, name: 'c1-for-c2-0' });
    await until('the slice is back', () => slices(emulator).length === 1, 5_000);
    assert.equal(slices(emulator)[0]?.entries.length, 5);
  });

  test('a standby writes nothing', async (t) => {
    const emulator = await cluster(t, 3);
    const mark = lastSeq(emulator);
    const a = publisher(t, emulator);
    await until('a sees the nodes', () => a.publisher.status().nodes.synced);
    emulator.patchNode('node-00001', { metadata: { annotations: { [`c2.${D}/pubKey`]: KEY('R') } } });
    await delay(500);
    assert.deepEqual(sliceWrites(emulator, mark), []);
    assert.deepEqual(slices(emulator), []);
    assert.equal(a.publisher.status().slices, null);
  });
});
