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
import type { RemoteCluster } from '../../src/config/types.ts';
import { KubeLeaseLock } from '../../src/election/lease-lock.ts';
import { PUBLISHED_PEERS_ANNOTATION } from '../../src/fleet/lease-annotations.ts';
import { newSliceObject, PUBLISHER_LEASE_NAME, sliceSetLabels, type SliceEntry } from '../../src/fleet/peer-slice.ts';
import { KubeSliceApi } from '../../src/fleet/slice-api.ts';
import { SlicePruner } from '../../src/fleet/slice-pruner.ts';
import { SlicePublisher } from '../../src/fleet/slice-publisher.ts';
import { SliceWatcher } from '../../src/fleet/slice-watcher.ts';
import type { NodeChange } from '../../src/kube/node-changes.ts';
import { NodeWatcher } from '../../src/kube/node-watcher.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createMirrorMetrics, publishedSetMetrics, type MirrorMetrics } from '../../src/mirror/mirror-metrics.ts';
import { mirrorRemote, type MirroredRemote } from '../../src/mirror/mirrored-remote.ts';
import { DEPLOY_DIR } from '../deploy/support/repo.ts';
import { startTestEmulator } from '../emulator/helpers.ts';
import { clientFor } from '../kube/helpers/emulator.ts';
import { memoryLogger } from '../support/memory-logger.ts';

/**
 * `clusterwire mirror`'s mirroring against emulated apiservers: the remote
 * cluster c1 (whose nodes are mirrored) and the local cluster c2 (whose
 * mirror writes the mirrored slices its daemons read).
 */

const D = 'wireguard.semaphore.uw.io';
const NS = 'clusterwire';
const SLICE = { apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', namespace: NS };
const FOR_C2 = { [`c2.${D}/pubKey`]: '{key}', [`c2.${D}/endpoint`]: '{internalIP}:51821' };
const KEY = (c: string) => `${c.repeat(42)}A=`;

interface WireSlice {
  metadata: { name: string; resourceVersion: string; labels: Record<string, string> };
  entries: SliceEntry[];
}

async function withCrd(emulator: Emulator): Promise<void> {
  emulator.create(parseYaml(await readFile(join(DEPLOY_DIR, 'crds', 'peerslices.yaml'), 'utf8')) as object);
  emulator.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
}

/** The remote c1: `count` nodes annotated by their c2 daemons; the PeerSlice CRD only if asked. */
async function remoteCluster(t: TestContext, count: number, crd: boolean): Promise<Emulator> {
  const emulator = await startTestEmulator(t, { bookmarkIntervalMs: 1000 });
  if (crd) await withCrd(emulator);
  emulator.seedNodes(count, (i) => seedNode({ annotations: FOR_C2 }, i));
  return emulator;
}

async function localCluster(t: TestContext): Promise<Emulator> {
  const emulator = await startTestEmulator(t, { bookmarkIntervalMs: 1000 });
  await withCrd(emulator);
  return emulator;
}

/** c1's own publisher for c2, leading, and its Lease saying so once the slices are complete (as its elector's renewals would). */
async function publishOnRemote(t: TestContext, remote: Emulator): Promise<SlicePublisher> {
  const { client } = clientFor(t, { kind: 'kubeconfig', path: remote.kubeconfigPath }, 'c1');
  const metrics = createMirrorMetrics(new Registry());
  const { logger } = memoryLogger();
  const publisher = new SlicePublisher({
    set: { source: 'c1', peer: 'c2', mirrored: false },
    api: new KubeSliceApi(client, NS),
    createNodeSource: (onChange) => new NodeWatcher({ client, localClusterName: 'c2', annotationDomain: D, logger, metrics, onChange, clock: systemClock, random: Math.random, maxNodes: 20_000 }),
    clock: systemClock,
    logger,
    metrics: publishedSetMetrics(metrics, 'c2'),
    resyncIntervalMs: 60_000,
  });
  publisher.start();
  publisher.lead();
  t.after(() => publisher.stop());
  await until('the remote published', () => publisher.status().lastPublishAt !== null);
  remote.create({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: PUBLISHER_LEASE_NAME, namespace: NS, annotations: { [PUBLISHED_PEERS_ANNOTATION]: JSON.stringify({ c2: { synced: true } }) } },
    spec: { holderIdentity: 'c1-mirror-a', leaseDurationSeconds: 15 },
  });
  return publisher;
}

/** c2's mirroring of c1 (the wiring of `clusterwire mirror`), not leading yet. */
function mirrorOfC1(t: TestContext, local: Emulator, remote: Emulator, resyncIntervalMs = 60_000): { mirror: MirroredRemote; metrics: MirrorMetrics } {
  const { client: localClient } = clientFor(t, { kind: 'kubeconfig', path: local.kubeconfigPath }, 'c2');
  const { client: remoteClient } = clientFor(t, { kind: 'kubeconfig', path: remote.kubeconfigPath }, 'c1');
  const metrics = createMirrorMetrics(new Registry());
  const { logger } = memoryLogger();
  const c1: RemoteCluster = {
    name: 'c1',
    access: { kind: 'kubeconfig', path: remote.kubeconfigPath },
    podSubnets: ['10.128.0.0/9'],
    mtu: 1420,
    listenPort: 51821,
    deviceName: 'wireguard.c1',
    persistentKeepaliveSeconds: 25,
    reconcileIntervalMs: null,
    maxNodes: 20_000,
    source: { kind: 'nodes' },
    slicesNamespace: NS,
  };
  const mirror = mirrorRemote({
    remote: c1,
    client: remoteClient,
    localCluster: 'c2',
    annotationDomain: D,
    api: new KubeSliceApi(localClient, NS),
    metrics,
    clock: systemClock,
    logger,
    resyncIntervalMs,
    backoff: { baseMs: 100, capMs: 1_000 },
  });
  mirror.start();
  t.after(() => mirror.stop());
  return { mirror, metrics };
}

/** A c2 daemon reading c1 through the local mirror (source mirror): no access to c1 at all. */
function daemonView(t: TestContext, local: Emulator): { watcher: SliceWatcher; changes: NodeChange[] } {
  const { client } = clientFor(t, { kind: 'kubeconfig', path: local.kubeconfigPath }, 'c2');
  const changes: NodeChange[] = [];
  const { logger } = memoryLogger();
  const watcher = new SliceWatcher({
    client,
    remoteClusterName: 'c1',
    localClusterName: 'c2',
    namespace: NS,
    mirrored: true,
    lease: { kind: 'mirror', lock: new KubeLeaseLock(client, NS, PUBLISHER_LEASE_NAME), intervalMs: 500 },
    logger,
    metrics: createMetrics(new Registry()),
    maxNodes: 20_000,
    onChange: (change) => changes.push(change),
    clock: systemClock,
    random: Math.random,
  });
  watcher.start();
  t.after(() => watcher.stop());
  return { watcher, changes };
}

const mirroredSlices = (local: Emulator) => local.list({ ...SLICE, labelSelector: 'clusterwire.io/mirrored=true' }) as WireSlice[];
const publishedSlices = (remote: Emulator) => remote.list({ ...SLICE, labelSelector: 'clusterwire.io/source-cluster=c1,clusterwire.io/peer-cluster=c2' }) as WireSlice[];
const entries = (slices: WireSlice[]) => slices.flatMap((s) => s.entries).sort((a, b) => (a.node < b.node ? -1 : 1));

/** Writes to PeerSlices served after `mark`, as "verb name code". */
function sliceWrites(emulator: Emulator, mark: number): string[] {
  return emulator
    .requestLog(mark)
    .filter((r) => r.resource === 'peerslices' && ['create', 'update', 'patch', 'delete'].includes(r.verb))
    .map((r) => `${r.verb} ${r.name} ${r.code}`);
}

/** Watch requests made since `mark`, by resource. */
function watches(emulator: Emulator, mark = 0): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of emulator.requestLog(mark)) if (r.watch) counts[r.resource] = (counts[r.resource] ?? 0) + 1;
  return counts;
}

const lastSeq = (emulator: Emulator) => emulator.requestLog().at(-1)?.seq ?? 0;

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await delay(20);
  }
}

describe('mirroring a remote into local PeerSlices (emulated apiservers)', () => {
  test('a remote that publishes: mirrored from its slices with one watch; heartbeats write nothing; daemons see add, delete and key change', async (t) => {
    const remote = await remoteCluster(t, 150, true);
    await publishOnRemote(t, remote);
    const local = await localCluster(t);
    const remoteMark = lastSeq(remote);
    const { mirror } = mirrorOfC1(t, local, remote);
    mirror.lead();
    await until('mirrored', () => mirror.status().slices.lastPublishAt !== null);
    assert.equal(mirror.status().source.source, 'slices');
    assert.deepEqual(entries(mirroredSlices(local)), entries(publishedSlices(remote)), 'the entries the remote publishes, as they are');
    assert.deepEqual(
      mirroredSlices(local).map((s) => [s.metadata.name, s.entries.length, s.metadata.labels]),
      [0, 1].map((i) => [`c1-for-c2-${i}`, i === 0 ? 100 : 50, { 'clusterwire.io/source-cluster': 'c1', 'clusterwire.io/peer-cluster': 'c2', 'clusterwire.io/mirrored': 'true' }]),
    );

    const daemons = [daemonView(t, local), daemonView(t, local), daemonView(t, local)];
    await until('the daemons read the mirrored slices', () => daemons.every((d) => d.watcher.nodes.size === 150));
    assert.deepEqual(watches(remote, remoteMark), { peerslices: 1 }, 'the remote sees one watch (of its slices) for the whole cluster, none of its Nodes');
    assert.deepEqual(watches(local, 0).peerslices, 3, 'the daemons watch the local apiserver');

    let localMark = lastSeq(local);
    remote.startHeartbeats(300);
    await delay(2_000);
    remote.stopHeartbeats();
    await delay(300);
    assert.deepEqual(sliceWrites(local, localMark), [], 'remote heartbeats: no mirrored slice written');
    assert.ok(daemons.every((d) => d.changes.length === 150), 'and no change reached the daemons after their first list');

    localMark = lastSeq(local);
    remote.patchNode('node-00007', { metadata: { annotations: { [`c2.${D}/pubKey`]: KEY('Q') } } });
    await until('the daemons see the new key', () => daemons.every((d) => d.watcher.nodes.get('node-00007')?.publicKey === KEY('Q')));
    await mirror.idle();
    assert.deepEqual(sliceWrites(local, localMark), ['patch c1-for-c2-0 200'], 'one key change, one mirrored slice written');
    assert.deepEqual(daemons[0]?.changes.at(-1), { type: 'updated', node: daemons[0]?.watcher.nodes.get('node-00007'), previous: daemons[0]?.changes.find((c) => c.node.name === 'node-00007')?.node });

    remote.createNode(seedNode({ namePrefix: 'new-', annotations: FOR_C2 }, 0));
    await until('the daemons see the new node', () => daemons.every((d) => d.watcher.nodes.has('new-00000')));
    remote.deleteNode('node-00010');
    await until('the daemons see the node gone', () => daemons.every((d) => !d.watcher.nodes.has('node-00010')));
    assert.deepEqual(
      daemons[1]?.changes.slice(-2).map((c) => [c.type, c.node.name]),
      [
        ['added', 'new-00000'],
        ['deleted', 'node-00010'],
      ],
    );
    const fresh = daemons[2]?.watcher.source();
    assert.ok(fresh?.kind === 'mirror');
    assert.equal(fresh.slices, 2);
  });

  test('a remote without a publisher is mirrored from its Nodes; when it starts publishing, the switch writes nothing', async (t) => {
    const remote = await remoteCluster(t, 20, false);
    remote.createNode(seedNode({ namePrefix: 'bare-' }, 0));
    const local = await localCluster(t);
    const remoteMark = lastSeq(remote);
    const { mirror } = mirrorOfC1(t, local, remote, 300);
    mirror.lead();
    await until('mirrored', () => mirror.status().slices.lastPublishAt !== null);
    const status = mirror.status();
    assert.deepEqual([status.source.source, status.source.why], ['nodes', 'the remote serves no PeerSlices (no CRD)']);
    assert.equal(status.slices.skipped['missing-annotation'], 1, 'a node without the annotations is left out, as the publisher leaves it out');
    const node = remote.getNode('node-00003') as { metadata: { annotations: Record<string, string> } };
    assert.deepEqual(
      entries(mirroredSlices(local)).find((e) => e.node === 'node-00003'),
      { node: 'node-00003', publicKey: node.metadata.annotations[`c2.${D}/pubKey`], endpoint: node.metadata.annotations[`c2.${D}/endpoint`], podCIDRs: ['10.128.3.0/24'] },
      'the entry the remote would publish',
    );
    assert.equal(entries(mirroredSlices(local)).length, 20);
    assert.deepEqual(watches(remote, remoteMark), { nodes: 1 }, 'one watch of the Nodes');

    let localMark = lastSeq(local);
    remote.startHeartbeats(300);
    await delay(2_000);
    remote.stopHeartbeats();
    await delay(300);
    assert.deepEqual(sliceWrites(local, localMark), [], 'heartbeats on the watched Nodes: no mirrored slice written');

    await withCrd(remote);
    await publishOnRemote(t, remote);
    localMark = lastSeq(local);
    await until('the mirror reads the published slices', () => mirror.status().source.source === 'slices');
    await mirror.idle();
    assert.deepEqual(sliceWrites(local, localMark), [], 'the same entries from the new source: nothing written');
    assert.equal(entries(mirroredSlices(local)).length, 20);
    assert.equal(mirror.status().source.pending, null);
  });

  test('a standby reads no remote and writes nothing; a new leader adopts the mirrored slices without a write', async (t) => {
    const remote = await remoteCluster(t, 120, true);
    await publishOnRemote(t, remote);
    const local = await localCluster(t);
    const a = mirrorOfC1(t, local, remote);
    const b = mirrorOfC1(t, local, remote);
    const remoteMark = lastSeq(remote);
    a.mirror.lead();
    await until('a mirrored', () => a.mirror.status().slices.lastPublishAt !== null);
    remote.patchNode('node-00001', { metadata: { annotations: { [`c2.${D}/pubKey`]: KEY('R') } } });
    await until('a mirrored the change', () => entries(mirroredSlices(local)).find((e) => e.node === 'node-00001')?.publicKey === KEY('R'));
    assert.deepEqual(watches(remote, remoteMark), { peerslices: 1 }, 'one watch: the leader only');
    const standby = b.mirror.status();
    assert.deepEqual([standby.source.source, standby.slices.leading, standby.slices.slices], [null, false, null]);
    assert.equal((await b.metrics.mirrored.writes.get()).values.reduce((sum, v) => sum + v.value, 0), 0, 'the standby wrote nothing');

    const before = mirroredSlices(local).map((s) => `${s.metadata.name}@${s.metadata.resourceVersion}`);
    const localMark = lastSeq(local);
    a.mirror.standBy();
    b.mirror.lead();
    await until('b mirrored', () => b.mirror.status().slices.lastPublishAt !== null);
    assert.deepEqual(sliceWrites(local, localMark), [], 'the new leader writes nothing');
    assert.deepEqual(mirroredSlices(local).map((s) => `${s.metadata.name}@${s.metadata.resourceVersion}`), before);
    await until('a closed its watch of the remote', () => remote.openWatches().filter((w) => w.resource === 'peerslices').reduce((sum, w) => sum + w.count, 0) === 1);
  });

  test('mirrored slices of a remote no longer configured are deleted when a replica starts leading; the others stay', async (t) => {
    const local = await localCluster(t);
    const { client } = clientFor(t, { kind: 'kubeconfig', path: local.kubeconfigPath }, 'c2');
    const set = (source: string, peer: string, mirrored: boolean) => ({ source, peer, mirrored });
    local.create(newSliceObject(NS, 'c9-for-c2-0', sliceSetLabels(set('c9', 'c2', true)), []));
    local.create(newSliceObject(NS, 'c1-for-c2-0', sliceSetLabels(set('c1', 'c2', true)), []));
    local.create(newSliceObject(NS, 'c2-for-c1-0', sliceSetLabels(set('c2', 'c1', false)), []));
    local.create(newSliceObject(NS, 'c2-for-c9-0', sliceSetLabels(set('c2', 'c9', false)), []));
    const { logger } = memoryLogger();
    const pruner = new SlicePruner({ api: new KubeSliceApi(client, NS), local: 'c2', remotes: ['c1'], clock: systemClock, logger });
    t.after(() => pruner.stop());
    pruner.lead();
    const names = () => (local.list(SLICE) as WireSlice[]).map((s) => s.metadata.name).sort();
    await until('the slices of c9 are gone', () => names().length === 2);
    assert.deepEqual(names(), ['c1-for-c2-0', 'c2-for-c1-0']);
  });
});
