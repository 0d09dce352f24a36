import assert from 'node:assert/strict';
import { test } from 'node:test';
import { realisticNode, seedNode } from '../../lab/emulator/nodes.ts';
import type { NodeChange } from '../../src/kube/node-changes.ts';
import { systemClock } from '../../src/clock/clock.ts';
import { NodeWatcher, type NodeWatcherOptions } from '../../src/kube/node-watcher.ts';
import { DEFAULT_PAGE_SIZE } from '../../src/kube/informer.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { collectGarbage } from '../support/gc.ts';
import { eventually } from './helpers/fake-client.ts';
import { clientFor, emulatorFor } from './helpers/emulator.ts';
import { captureLogs } from './helpers/log-capture.ts';

/* Integration: the watcher against the emulated apiserver, over real TLS with node:https. */

const D = 'wireguard.semaphore.uw.io';
const KEY = `c1.${D}/pubKey`;
const ENDPOINT = `c1.${D}/endpoint`;
const summary = (changes: NodeChange[]) => changes.map((c) => `${c.type} ${c.node.name}`);

type Setup = Awaited<ReturnType<typeof emulatorFor>>;

function watcherFor(t: Parameters<typeof clientFor>[0], emulator: Setup['emulator'], options: Partial<NodeWatcherOptions> = {}, wrap = (client: KubeClient) => client) {
  const { client: real, metrics } = clientFor(t, { kind: 'kubeconfig', path: emulator.kubeconfigPath });
  const client = wrap(real);
  const changes: NodeChange[] = [];
  const { logger, lines } = captureLogs();
  const watcher = new NodeWatcher({
    client,
    localClusterName: 'c1',
    annotationDomain: D,
    logger,
    metrics,
    onChange: (c) => changes.push(c),
    maxNodes: 20_000,
    clock: systemClock,
    random: Math.random,
    ...options,
  });
  t.after(() => watcher.stop());
  return { watcher, changes, metrics, lines };
}

function peerNode(name: string, ip: string, key: string): object {
  return realisticNode({ name, podCIDR: '10.4.200.0/24', internalIP: ip, annotations: { [KEY]: key, [ENDPOINT]: `${ip}:51820` } });
}

test('1,000 realistic nodes: paged list, then adds, updates and deletes in order; heartbeats produce nothing', async (t) => {
  const { emulator } = await emulatorFor(t, { bookmarkIntervalMs: 1000 });
  emulator.seedNodes(1000, (i) => seedNode({ annotations: { [KEY]: '{key}', [ENDPOINT]: '{internalIP}:51820' } }, i));
  const { watcher, changes } = watcherFor(t, emulator);

  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  watcher.start();
  await watcher.whenSynced();
  t.diagnostic(`initial list of 1,000 realistic nodes: ${Math.round(performance.now() - started)} ms, heap +${Math.round((process.memoryUsage().heapUsed - heapBefore) / 1e6)} MB (not asserted)`);
  assert.equal(watcher.nodes.size, 1000);
  assert.equal(changes.length, 1000);
  assert.equal(emulator.counters().byVerb.list, Math.ceil(1000 / DEFAULT_PAGE_SIZE), `pages of ${DEFAULT_PAGE_SIZE}`);
  const sample = watcher.nodes.get('node-00007');
  const wire = emulator.getNode('node-00007') as { spec: { podCIDR: string }; metadata: { annotations: Record<string, string> } };
  assert.deepEqual(sample?.podCIDRs, [wire.spec.podCIDR]);
  assert.equal(sample?.publicKey, wire.metadata.annotations[KEY]);
  assert.match(sample?.endpoint ?? '', /^198\.19\.\d+\.\d+:51820$/);

  await eventually(() => watcher.status().state === 'connected', 5000, 'watch connected');
  changes.length = 0;
  const reads = () => emulator.requestLog(0).filter((r) => r.verb === 'get' && r.resource === 'nodes').map((r) => r.name);
  emulator.createNode(peerNode('new-1', '198.18.9.1', 'NEWKEY1'));
  emulator.patchNode('node-00001', { metadata: { annotations: { [KEY]: 'ROTATED' } } });
  emulator.deleteNode('node-00002');
  // A node created without a pod CIDR, given one by the node IPAM controller, then annotated by its daemon.
  emulator.createNode(realisticNode({ name: 'new-2', internalIP: '198.18.9.2' }));
  emulator.patchNode('new-2', { spec: { podCIDRs: ['10.4.201.0/24'], podCIDR: '10.4.201.0/24' } });
  emulator.patchNode('new-2', { metadata: { annotations: { [KEY]: 'NEWKEY2', [ENDPOINT]: '198.18.9.2:51820' } } });
  await eventually(() => changes.length >= 5, 5000, 'five changes');
  assert.deepEqual(summary(changes), ['added new-1', 'updated node-00001', 'deleted node-00002', 'added new-2', 'updated new-2']);
  assert.equal(watcher.nodes.get('node-00001')?.publicKey, 'ROTATED');
  assert.deepEqual(watcher.nodes.get('new-1')?.podCIDRs, ['10.4.200.0/24']);
  assert.deepEqual(watcher.nodes.get('new-2')?.podCIDRs, ['10.4.201.0/24']);
  assert.equal(watcher.nodes.get('new-2')?.publicKey, 'NEWKEY2');
  assert.deepEqual(reads(), ['new-1', 'new-2'], 'a new would-be peer is read once for its pod CIDRs; nothing else is read');

  // Status-only heartbeats reach the watcher as metadata (~1 KB, not ~15 KB) but change no projection and read nothing.
  changes.length = 0;
  const before = watcher.status().lastEventAt ?? 0;
  const bytesBefore = emulator.counters().bytesSent;
  emulator.startHeartbeats(300);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  emulator.stopHeartbeats();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok((watcher.status().lastEventAt ?? 0) > before, 'heartbeat events were received');
  assert.deepEqual(changes, []);
  assert.deepEqual(reads(), ['new-1', 'new-2']);
  t.diagnostic(`~300 heartbeats sent ${Math.round((emulator.counters().bytesSent - bytesBefore) / 1024)} KiB to the watcher (not asserted)`);
});

test('410 after a gap: relist reports what changed, a node deleted during the gap included', async (t) => {
  const { emulator } = await emulatorFor(t, { bookmarkIntervalMs: 500 });
  for (const [i, name] of ['a', 'b', 'c'].entries()) emulator.createNode(peerNode(name, `198.18.9.${i + 1}`, `KEY-${name}`));
  const { watcher, changes, metrics, lines } = watcherFor(t, emulator, { backoff: { baseMs: 100, capMs: 500 } });
  watcher.start();
  await watcher.whenSynced();
  await eventually(() => watcher.status().state === 'connected', 5000, 'watch connected');

  // expireWatches: ERROR 410 to the open watch; the relist finds nothing new.
  changes.length = 0;
  emulator.expireWatches();
  await eventually(() => emulator.counters().byVerb.list === 2, 5000, 'relist');
  await eventually(() => emulator.counters().watchesOpen === 1, 5000, 'watch again');
  assert.deepEqual(changes, []);

  // A gap the watch cannot bridge: changes while the apiserver is down, history compacted.
  const outage = emulator.outage(800);
  await eventually(() => watcher.status().state === 'disconnected', 5000, 'disconnected');
  emulator.deleteNode('b');
  emulator.patchNode('c', { metadata: { annotations: { [KEY]: 'KEY-c2' } } });
  emulator.createNode(peerNode('d', '198.18.9.4', 'KEY-d'));
  emulator.compactHistory();
  await outage;
  await eventually(() => changes.length >= 3, 8000, 'relist diff');
  assert.deepEqual(summary(changes), ['updated c', 'added d', 'deleted b']);
  assert.deepEqual([...watcher.nodes.keys()].sort(), ['a', 'c', 'd']);
  assert.ok(lines.filter((l) => l.msg === 'resourceVersion expired (410), relisting nodes').length >= 2);
  const failures = (await metrics.nodeWatcherFailures.get()).values.map((v) => `${v.labels.verb}=${v.value}`);
  t.diagnostic(`failures counted during the outage: ${failures.join(', ')}`);
  assert.ok(failures.length > 0);
});

test('an outage longer than the backoff cap: reconnect within the cap, no event lost or repeated', async (t) => {
  const capMs = 1000;
  const { emulator } = await emulatorFor(t, { bookmarkIntervalMs: 500 });
  emulator.seedNodes(20);
  const { watcher, changes, lines } = watcherFor(t, emulator, { backoff: { baseMs: 100, capMs } });
  watcher.start();
  await watcher.whenSynced();
  await eventually(() => watcher.status().state === 'connected', 5000, 'watch connected');
  changes.length = 0;

  emulator.createNode(peerNode('before', '198.18.9.1', 'K-before'));
  await eventually(() => changes.length === 1, 5000, 'event before the outage');
  const outage = emulator.outage(2500);
  await eventually(() => watcher.status().state === 'disconnected', 5000, 'disconnected');
  // History is kept: the watch resumes from its resourceVersion, no relist needed.
  emulator.createNode(peerNode('during', '198.18.9.2', 'K-during'));
  emulator.patchNode('node-00003', { metadata: { annotations: { [KEY]: 'K3' } } });
  emulator.deleteNode('node-00004');
  await outage;
  const back = Date.now();
  await eventually(() => watcher.status().state === 'connected', capMs + 5000, 'reconnected');
  const reconnectMs = Date.now() - back;
  t.diagnostic(`reconnected ${reconnectMs} ms after the apiserver came back (cap ${capMs} ms)`);
  assert.ok(reconnectMs <= capMs + 1500, `reconnected after ${reconnectMs} ms`);
  emulator.createNode(peerNode('after', '198.18.9.3', 'K-after'));
  await eventually(() => changes.length >= 5, 5000, 'all events');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(summary(changes), ['added before', 'added during', 'updated node-00003', 'deleted node-00004', 'added after']);
  assert.equal(lines.filter((l) => l.msg === 'node watch disconnected, retrying with backoff').length, 1);
  assert.equal(emulator.counters().byVerb.list, 1, 'resumed from the resourceVersion, no relist');
});

test('through the real client, each list page is unreachable by the time the next one is asked for', async (t) => {
  const { emulator } = await emulatorFor(t);
  emulator.seedNodes(400, (i) => seedNode({ annotations: { [KEY]: '{key}', [ENDPOINT]: '{internalIP}:51820' } }, i));
  const pages: WeakRef<object>[] = [];
  const reachableWhenAsked: number[] = [];
  const reachable = () => pages.filter((page) => page.deref() !== undefined).length;
  const { watcher } = watcherFor(t, emulator, {}, (client) => ({
    cluster: client.cluster,
    host: client.host,
    stream: (request) => client.stream(request),
    close: () => client.close(),
    async json(request) {
      await new Promise((resolve) => setImmediate(resolve));
      collectGarbage();
      reachableWhenAsked.push(reachable());
      const page = (await client.json(request)) as object;
      pages.push(new WeakRef(page));
      return page;
    },
  }));
  watcher.start();
  await watcher.whenSynced();
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  assert.equal(watcher.nodes.size, 400);
  assert.deepEqual(reachableWhenAsked, [0, 0, 0, 0], `${400 / DEFAULT_PAGE_SIZE} pages`);
  assert.equal(reachable(), 0, 'nor once the list is done');
});
