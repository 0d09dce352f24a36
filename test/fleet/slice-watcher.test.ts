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
import { KubeLeaseLock } from '../../src/election/lease-lock.ts';
import { PUBLISHER_LEASE_NAME } from '../../src/fleet/peer-slice.ts';
import { KubeSliceApi } from '../../src/fleet/slice-api.ts';
import { SlicePublisher } from '../../src/fleet/slice-publisher.ts';
import { SliceWatcher } from '../../src/fleet/slice-watcher.ts';
import type { NodeChange } from '../../src/kube/node-changes.ts';
import { NodeWatcher } from '../../src/kube/node-watcher.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createMirrorMetrics, publishedSetMetrics } from '../../src/mirror/mirror-metrics.ts';
import { DEPLOY_DIR } from '../deploy/support/repo.ts';
import { startTestEmulator } from '../emulator/helpers.ts';
import { clientFor } from '../kube/helpers/emulator.ts';
import { memoryLogger } from '../support/memory-logger.ts';

const D = 'wireguard.semaphore.uw.io';
const NS = 'clusterwire';
const ANNOTATIONS = { [`c2.${D}/pubKey`]: '{key}', [`c2.${D}/endpoint`]: '{internalIP}:51821' };
const KEY = (c: string) => `${c.repeat(43)}=`;

async function cluster(t: TestContext, count: number): Promise<Emulator> {
  const emulator = await startTestEmulator(t, { bookmarkIntervalMs: 1000 });
  emulator.create(parseYaml(await readFile(join(DEPLOY_DIR, 'crds', 'peerslices.yaml'), 'utf8')) as object);
  emulator.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  emulator.seedNodes(count, (i) => seedNode({ annotations: ANNOTATIONS }, i));
  return emulator;
}

/** c1's publisher for c2, leading at once. */
function publishing(t: TestContext, emulator: Emulator): SlicePublisher {
  const { client } = clientFor(t, { kind: 'kubeconfig', path: emulator.kubeconfigPath }, 'c1');
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
  return publisher;
}

/** A c2 daemon's view of c1, reading its slices. */
function reading(t: TestContext, emulator: Emulator, maxNodes = 20_000) {
  const { client } = clientFor(t, { kind: 'kubeconfig', path: emulator.kubeconfigPath }, 'c1');
  const changes: NodeChange[] = [];
  const { logger, lines } = memoryLogger();
  const metrics = createMetrics(new Registry());
  const watcher = new SliceWatcher({
    client,
    remoteClusterName: 'c1',
    localClusterName: 'c2',
    namespace: NS,
    mirrored: false,
    lease: { kind: 'slices', lock: new KubeLeaseLock(client, NS, PUBLISHER_LEASE_NAME), intervalMs: 200 },
    logger,
    metrics,
    maxNodes,
    onChange: (change) => changes.push(change),
    clock: systemClock,
    random: Math.random,
  });
  watcher.start();
  t.after(() => watcher.stop());
  return { watcher, changes, metrics, lines };
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await delay(20);
  }
}

describe('reading a remote cluster from its PeerSlices (emulated apiserver)', () => {
  test('the published nodes, as the node watcher projects them; heartbeats reach nothing; one key change is one node change', async (t) => {
    const emulator = await cluster(t, 150);
    const publisher = publishing(t, emulator);
    const { watcher, changes } = reading(t, emulator);
    // The same cluster read as Nodes: the projection the slices must reproduce.
    const { client } = clientFor(t, { kind: 'kubeconfig', path: emulator.kubeconfigPath }, 'c1');
    const nodes = new NodeWatcher({ client, localClusterName: 'c2', annotationDomain: D, logger: memoryLogger().logger, metrics: createMetrics(new Registry()), onChange: () => {}, clock: systemClock, random: Math.random, maxNodes: 20_000 });
    nodes.start();
    t.after(() => nodes.stop());
    await nodes.whenSynced();
    await until('every node read from the slices', () => watcher.nodes.size === 150);
    for (const [name, node] of nodes.nodes) {
      const fromSlice = watcher.nodes.get(name);
      assert.deepEqual(fromSlice && { ...fromSlice }, { name, podCIDRs: node.podCIDRs, publicKey: node.publicKey, endpoint: node.endpoint, refused: null });
    }
    assert.equal(changes.filter((c) => c.type === 'added').length, 150);
    const source = watcher.source();
    assert.equal(source.kind === 'slices' && source.slices, 2);

    changes.length = 0;
    emulator.startHeartbeats(300);
    await delay(2_000);
    emulator.stopHeartbeats();
    await delay(300);
    await publisher.idle();
    const seen = (): string[] => changes.map((c) => `${c.type} ${c.node.name}`);
    assert.deepEqual(seen(), [], 'no node change from heartbeats');

    emulator.patchNode('node-00042', { metadata: { annotations: { [`c2.${D}/pubKey`]: KEY('Q') } } });
    await until('the new key is read', () => watcher.nodes.get('node-00042')?.publicKey === KEY('Q'));
    assert.deepEqual(seen(), ['updated node-00042']);

    emulator.deleteNode('node-00001');
    await until('the deleted node is gone', () => !watcher.nodes.has('node-00001'));
    assert.deepEqual(seen(), ['updated node-00042', 'deleted node-00001']);
  });

  test("only the slices published by this remote for this cluster; the publisher's Lease renew time", async (t) => {
    const emulator = await cluster(t, 0);
    const entry = { node: 'n1', publicKey: KEY('A'), endpoint: '198.18.1.1:51821', podCIDRs: ['10.2.1.0/24'] };
    const labels = (source: string, peer: string) => ({ 'clusterwire.io/source-cluster': source, 'clusterwire.io/peer-cluster': peer });
    emulator.create({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', metadata: { name: 'c1-for-c2-0', namespace: NS, labels: labels('c1', 'c2') }, entries: [entry, { ...entry, endpoint: 'other:1' }] });
    emulator.create({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', metadata: { name: 'c1-for-c3-0', namespace: NS, labels: labels('c1', 'c3') }, entries: [{ ...entry, node: 'other' }] });
    emulator.create({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', metadata: { name: 'c9-for-c2-0', namespace: NS, labels: labels('c9', 'c2') }, entries: [{ ...entry, node: 'third' }] });
    const { watcher, lines } = reading(t, emulator);
    await watcher.whenSynced();
    assert.deepEqual([...watcher.nodes.keys()], ['n1']);
    assert.equal(watcher.nodes.get('n1')?.endpoint, entry.endpoint, 'the first of a repeated entry counts');
    const status = watcher.source();
    assert.ok(status.kind === 'slices' && status.ignoredEntries === 1, 'the repeated entry is counted');
    assert.ok(lines().some((l) => l.slice === 'c1-for-c2-0' && l.ignored === 1), 'the ignored entry is logged');
    await until('the missing Lease is reported', () => watcher.source().kind === 'slices' && (watcher.source() as { publisher: { lastError: string | null } }).publisher.lastError !== null);

    const renewTime = '2026-11-30T12:00:01.000000Z';
    emulator.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: PUBLISHER_LEASE_NAME, namespace: NS }, spec: { holderIdentity: 'mirror-a', leaseDurationSeconds: 15, renewTime } });
    await until('the Lease is read', () => {
      const source = watcher.source();
      return source.kind === 'slices' && source.publisher.renewedAt !== null;
    });
    const source = watcher.source();
    assert.ok(source.kind === 'slices');
    assert.deepEqual({ holder: source.publisher.holder, renewedAt: source.publisher.renewedAt, lastError: source.publisher.lastError }, { holder: 'mirror-a', renewedAt: Date.parse(renewTime), lastError: null });
  });

  test('a remote that publishes more slices than maxNodes needs: the rest are dropped and counted', async (t) => {
    const emulator = await cluster(t, 0);
    for (let i = 0; i < 4; i++) {
      const labels = { 'clusterwire.io/source-cluster': 'c1', 'clusterwire.io/peer-cluster': 'c2' };
      emulator.create({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', metadata: { name: `c1-for-c2-${i}`, namespace: NS, labels }, entries: [{ node: `n${i}`, publicKey: KEY('A'), endpoint: 'e:1' }] });
    }
    // maxNodes 50: 100 nodes kept at most, one slice of them and one for a node in two slices.
    const { watcher, metrics } = reading(t, emulator, 50);
    await watcher.whenSynced();
    assert.equal(watcher.nodes.size, 2);
    assert.equal((await metrics.nodesDropped.get()).values[0]?.value, 2);
  });
});
