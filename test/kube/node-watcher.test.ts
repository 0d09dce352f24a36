import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { KubeRequest } from '../../src/kube/client.ts';
import { KubeRequestError } from '../../src/kube/kube-request-error.ts';
import type { NodeChange } from '../../src/kube/node-changes.ts';
import { NodeWatcher, type NodeWatcherOptions } from '../../src/kube/node-watcher.ts';
import { DEFAULT_PAGE_SIZE, READ_AGAIN_MS, smallerPage } from '../../src/kube/informer.ts';
import { ResponseTooLargeError } from '../../src/kube/client.ts';
import { systemClock, type Clock } from '../../src/clock/clock.ts';
import { createMetrics } from '../../src/metrics.ts';
import { eventually, FakeKubeClient, metadataOf, nodeObject } from './helpers/fake-client.ts';
import { captureLogs } from './helpers/log-capture.ts';

const D = 'wireguard.semaphore.uw.io';
const KEY = `c1.${D}/pubKey`;

/** A paged list answer: all `items`, served `limit` at a time with numeric continue tokens. */
function pagedList(items: () => unknown[], rv: () => string) {
  return (req: KubeRequest) => {
    const limit = Number(req.query?.limit);
    const from = Number(req.query?.continue ?? '0');
    const all = items();
    const next = from + limit < all.length ? String(from + limit) : undefined;
    return { kind: 'NodeList', metadata: { resourceVersion: rv(), continue: next }, items: all.slice(from, from + limit) };
  };
}

/** The system clock, except that sleeps are recorded and end on the next turn of the event loop, so tests run at full speed. */
function recordingClock(now: () => number = Date.now): { clock: Clock; sleeps: number[] } {
  const sleeps: number[] = [];
  const clock: Clock = {
    now,
    schedule: (fn, ms) => systemClock.schedule(fn, ms),
    sleep: (ms) => {
      sleeps.push(ms);
      return new Promise((resolve) => setImmediate(resolve));
    },
  };
  return { clock, sleeps };
}

function setup(options: Partial<NodeWatcherOptions> = {}, now?: () => number) {
  const client = new FakeKubeClient();
  const changes: NodeChange[] = [];
  const { clock, sleeps } = recordingClock(now);
  const metrics = createMetrics(new Registry());
  const { logger, lines } = captureLogs();
  const watcher = new NodeWatcher({
    client,
    localClusterName: 'c1',
    annotationDomain: D,
    logger,
    metrics,
    onChange: (c) => changes.push(c),
    maxNodes: 20_000,
    backoff: { baseMs: 100, capMs: 1000 },
    random: () => 0.5,
    clock,
    ...options,
  });
  return { client, changes, sleeps, metrics, lines, watcher };
}

const summary = (changes: NodeChange[]) => changes.map((c) => `${c.type} ${c.node.name}`);

async function failures(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.nodeWatcherFailures.get()).values) out[String(v.labels.verb)] = v.value;
  return out;
}

test(`lists in pages of ${DEFAULT_PAGE_SIZE}, then watches from the list resourceVersion; events arrive in order`, async (t) => {
  const { client, changes, watcher, metrics, lines } = setup();
  t.after(() => watcher.stop());
  const nodes = Array.from({ length: 1001 }, (_, i) => nodeObject(`n${i}`));
  client.onJson = pagedList(() => nodes, () => '100');
  watcher.start();
  await watcher.whenSynced();

  const lists = client.requests.filter((r) => r.query?.watch === undefined);
  const size = DEFAULT_PAGE_SIZE;
  assert.deepEqual(
    lists.map((r) => [r.path, r.query?.limit, r.query?.continue]),
    Array.from({ length: Math.ceil(1001 / size) }, (_, i) => ['/api/v1/nodes', String(size), i === 0 ? undefined : String(i * size)]),
  );
  assert.equal(changes.length, 1001);
  assert.ok(changes.every((c) => c.type === 'added'));
  assert.equal(watcher.nodes.size, 1001);
  assert.equal(watcher.status().synced, true);

  const watch = await client.watchAt(0);
  assert.equal(watch.request.query?.watch, '1');
  assert.equal(watch.request.query?.resourceVersion, '100');
  assert.equal(watch.request.query?.allowWatchBookmarks, 'true');
  assert.ok(Number(watch.request.query?.timeoutSeconds) >= 300);
  await eventually(() => watcher.status().state === 'connected');
  assert.equal((await metrics.watchConnected.get()).values[0]?.value, 1);

  changes.length = 0;
  watch.send('ADDED', nodeObject('n2000', { rv: '101' }));
  watch.send('MODIFIED', nodeObject('n1', { rv: '102', annotations: { [KEY]: 'K1' } }));
  watch.send('MODIFIED', nodeObject('n2', { rv: '103', heartbeat: '2024-01-01T00:05:00Z' }));
  watch.send('DELETED', nodeObject('n3', { rv: '104' }));
  watch.send('DELETED', nodeObject('never-seen', { rv: '105' }));
  watch.send('BOOKMARK', { kind: 'Node', metadata: { resourceVersion: '110' } });
  await eventually(() => watcher.status().lastEventAt !== null && changes.length === 3);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(summary(changes), ['added n2000', 'updated n1', 'deleted n3']);
  assert.equal(watcher.nodes.get('n1')?.publicKey, 'K1');
  assert.equal(watcher.nodes.has('n3'), false);

  // The server ends the watch (timeoutSeconds): resume from the last bookmark, no relist, no backoff.
  watch.end();
  const next = await client.watchAt(1);
  assert.equal(next.request.query?.resourceVersion, '110');
  assert.equal(client.requests.filter((r) => r.query?.watch === undefined).length, lists.length);
  assert.deepEqual(await failures(metrics), {});
  const messages = lines.map((l) => l.msg);
  assert.deepEqual(messages, ['first list of nodes complete', 'watching nodes'], 'one line per state change, none per event');
});

test('410 Expired: relist and report the difference, nodes deleted during the gap included', async (t) => {
  const { client, changes, watcher, metrics, lines } = setup();
  t.after(() => watcher.stop());
  let nodes = [nodeObject('a'), nodeObject('b'), nodeObject('c')];
  let rv = '10';
  client.onJson = pagedList(() => nodes, () => rv);
  watcher.start();
  const first = await client.watchAt(0);
  first.send('BOOKMARK', { metadata: { resourceVersion: '11' } });

  // During the gap: b deleted, c changed, d added, a untouched.
  nodes = [nodeObject('a'), nodeObject('c', { annotations: { [KEY]: 'KC' } }), nodeObject('d')];
  rv = '50';
  changes.length = 0;
  first.send('ERROR', { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 11 (40)', reason: 'Expired', code: 410 });
  const second = await client.watchAt(1);
  assert.equal(second.request.query?.resourceVersion, '50');
  assert.deepEqual(summary(changes), ['updated c', 'added d', 'deleted b']);
  assert.deepEqual([...watcher.nodes.keys()].sort(), ['a', 'c', 'd']);
  assert.deepEqual(await failures(metrics), {});
  assert.ok(lines.some((l) => l.msg === 'resourceVersion expired (410), relisting nodes'));

  // The same through an HTTP 410 on the watch request itself.
  nodes = [nodeObject('a')];
  rv = '60';
  changes.length = 0;
  let refuse = true;
  client.onStream = () => {
    if (refuse) {
      refuse = false;
      throw new KubeRequestError({ cluster: 'c2', method: 'GET', path: '/api/v1/nodes' }, 410, 'Expired', 'too old');
    }
  };
  second.send('BOOKMARK', { metadata: { resourceVersion: '51' } });
  second.end();
  const third = await client.watchAt(2);
  assert.equal(third.request.query?.resourceVersion, '60');
  assert.deepEqual(summary(changes), ['deleted c', 'deleted d']);
});

test('failures back off exponentially up to the cap, logged once, reset by a watch that delivers', async (t) => {
  let tick = 0;
  const { client, watcher, sleeps, metrics, lines } = setup({}, () => ++tick);
  t.after(() => watcher.stop());
  let down = true;
  client.onJson = (req) => {
    if (down) throw new KubeRequestError({ cluster: 'c2', method: 'GET', path: req.path }, null, null, 'connect ECONNREFUSED 198.18.0.1:6443');
    return pagedList(() => [nodeObject('a')], () => '5')(req);
  };
  watcher.start();
  await eventually(() => sleeps.length >= 6);
  assert.equal(watcher.status().state, 'disconnected');
  assert.match(watcher.status().lastError ?? '', /ECONNREFUSED/);
  down = false;
  const watch = await client.watchAt(0);
  // random 0.5 → three quarters of 100, 200, 400, 800, then the 1000 cap.
  assert.deepEqual(sleeps.slice(0, 6), [75, 150, 300, 600, 750, 750]);
  const failed = sleeps.length;
  assert.deepEqual(await failures(metrics), { list: failed });
  await eventually(() => watcher.status().state === 'connected');
  assert.deepEqual(
    lines.filter((l) => l.level !== 'debug').map((l) => l.msg),
    ['node watch disconnected, retrying with backoff', 'first list of nodes complete', 'watching nodes'],
  );

  // A watch that delivered an event then broke starts the backoff over.
  const listedAt = watcher.status().lastEventAt;
  watch.send('BOOKMARK', { metadata: { resourceVersion: '6' } });
  await eventually(() => watcher.status().lastEventAt !== listedAt);
  watch.body.destroy(new Error('socket hang up'));
  const again = await client.watchAt(1);
  assert.equal(sleeps.at(-1), 75);
  assert.equal(again.request.query?.resourceVersion, '6');
  assert.deepEqual(await failures(metrics), { list: failed, watch: 1 });
  assert.match(watcher.status().lastError ?? '', /watch stream broke: socket hang up/);
});

test('a silent connection is dropped after the idle timeout and the watch resumes', async (t) => {
  const { client, watcher, metrics } = setup({ idleTimeoutMs: 60 });
  t.after(() => watcher.stop());
  client.onJson = pagedList(() => [nodeObject('a')], () => '7');
  watcher.start();
  const silent = await client.watchAt(0);
  const next = await client.watchAt(1);
  assert.ok(silent.closed);
  assert.equal(next.request.query?.resourceVersion, '7');
  assert.deepEqual(await failures(metrics), { watch: 1 });
  assert.match(watcher.status().lastError ?? '', /no data for 60 ms/);
});

test('a malformed event or an empty watch counts as a watch failure', async (t) => {
  const { client, watcher, metrics, sleeps } = setup();
  t.after(() => watcher.stop());
  client.onJson = pagedList(() => [nodeObject('a')], () => '7');
  watcher.start();
  const first = await client.watchAt(0);
  first.body.write('{"type":"ADDED","object":\n');
  const second = await client.watchAt(1);
  second.end();
  await client.watchAt(2);
  assert.deepEqual(await failures(metrics), { watch: 2 });
  assert.deepEqual(sleeps, [75, 150]);
  assert.match(watcher.status().lastError ?? '', /closed the watch without sending anything/);
});

test('a failing listener does not stop the watch', async (t) => {
  const { client, watcher, lines } = setup({
    onChange: () => {
      throw new Error('listener bug');
    },
  });
  t.after(() => watcher.stop());
  client.onJson = pagedList(() => [nodeObject('a')], () => '7');
  watcher.start();
  const watch = await client.watchAt(0);
  watch.send('ADDED', nodeObject('b', { rv: '8' }));
  await eventually(() => watcher.nodes.has('b'));
  assert.equal(lines.filter((l) => l.msg === 'node change listener failed').length, 2);
  assert.equal(client.watches.length, 1);
});

test('stop() ends an open watch promptly; whenSynced rejects when stopped first', async () => {
  const { client, watcher, metrics } = setup();
  client.onJson = pagedList(() => [nodeObject('a')], () => '7');
  watcher.start();
  const watch = await client.watchAt(0);
  const started = Date.now();
  await watcher.stop();
  assert.ok(Date.now() - started < 500);
  assert.ok(watch.closed);
  assert.equal((await metrics.watchConnected.get()).values[0]?.value, 0);

  const never = setup();
  never.client.onJson = () => new Promise(() => {});
  never.watcher.start();
  const synced = never.watcher.whenSynced();
  await never.watcher.stop().catch(() => {});
  await assert.rejects(synced, /stopped before its first list/);
});

test('the store holds at most twice maxNodes: further new nodes are dropped, counted, logged once', async (t) => {
  const { client, changes, watcher, metrics, lines } = setup({ maxNodes: 2 });
  t.after(() => watcher.stop());
  const nodes = Array.from({ length: 6 }, (_, i) => nodeObject(`n${i}`));
  client.onJson = pagedList(() => nodes, () => '100');
  watcher.start();
  await watcher.whenSynced();
  assert.deepEqual([...watcher.nodes.keys()], ['n0', 'n1', 'n2', 'n3'], 'the first four as listed (an apiserver lists by name)');
  const dropped = async () => (await metrics.nodesDropped.get()).values.find((v) => v.labels.cluster === 'c2')?.value;
  assert.equal(await dropped(), 2);

  const watch = await client.watchAt(0);
  changes.length = 0;
  watch.send('ADDED', nodeObject('n7', { rv: '101' }));
  watch.send('MODIFIED', nodeObject('n1', { rv: '102', annotations: { [KEY]: 'K1' } }));
  await eventually(() => changes.length === 1);
  assert.deepEqual(summary(changes), ['updated n1'], 'a node already kept is still updated');
  assert.equal(await dropped(), 3);
  assert.equal(lines.filter((l) => /more nodes than the store holds/.test(String(l.msg))).length, 1, 'logged once');

  watch.send('DELETED', nodeObject('n0', { rv: '103' }));
  watch.send('ADDED', nodeObject('n8', { rv: '104' }));
  await eventually(() => changes.length === 3);
  assert.deepEqual(summary(changes), ['updated n1', 'deleted n0', 'added n8']);
  assert.ok(lines.some((l) => l.msg === 'the node store has room again'));
});

test('the store starts the dropped count at 0', async () => {
  const { metrics } = setup();
  assert.deepEqual((await metrics.nodesDropped.get()).values.map((v) => [v.labels.cluster, v.value]), [['c2', 0]]);
});

test('a list page over the body cap is asked for again in smaller pages; too large at 10 nodes, the list fails and backs off', async (t) => {
  const { client, watcher, sleeps, metrics } = setup({ pageSize: 500 });
  t.after(() => watcher.stop());
  const nodes = Array.from({ length: 300 }, (_, i) => nodeObject(`n${i}`));
  let maxPage = 100;
  const list = pagedList(() => nodes, () => '100');
  client.onJson = (req) => {
    if (Number(req.query?.limit) > maxPage) {
      throw new KubeRequestError({ cluster: 'c2', method: 'GET', path: '/api/v1/nodes' }, null, null, 'response body larger than 33554432 bytes', new ResponseTooLargeError('response body larger than 33554432 bytes'));
    }
    return list(req);
  };
  watcher.start();
  await watcher.whenSynced();
  assert.equal(watcher.nodes.size, 300);
  const limits = client.requests.filter((r) => r.query?.watch === undefined).map((r) => [r.query?.limit, r.query?.continue ?? '']);
  assert.deepEqual(limits, [['500', ''], ['250', ''], ['125', ''], ['62', ''], ['62', '62'], ['62', '124'], ['62', '186'], ['62', '248']]);
  assert.deepEqual(sleeps, [], 'no backoff while pages shrink');

  assert.equal(smallerPage(20), 10);
  assert.equal(smallerPage(19), null);
  maxPage = 5;
  const { client: client2, watcher: watcher2, sleeps: sleeps2, metrics: metrics2 } = setup({ pageSize: 500 });
  t.after(() => watcher2.stop());
  client2.onJson = client.onJson;
  watcher2.start();
  await eventually(() => sleeps2.length >= 1);
  assert.equal(watcher2.status().synced, false);
  assert.match(watcher2.status().lastError ?? '', /response body larger than/);
  assert.ok(((await failures(metrics2)).list ?? 0) >= 1);
  assert.deepEqual(await failures(metrics), {});
});

const ENDPOINT = `c1.${D}/endpoint`;
const peerAnnotations = (key: string) => ({ [KEY]: key, [ENDPOINT]: '198.18.0.9:51820' });
const gets = (client: FakeKubeClient) => client.requests.filter((r) => r.method === 'GET' && r.path !== '/api/v1/nodes').map((r) => r.path);

test('the watch asks for metadata only; pod CIDRs come from the list, and a would-be peer without them is read once', async (t) => {
  const { client, changes, watcher, metrics } = setup();
  t.after(() => watcher.stop());
  const listed = nodeObject('a', { podCIDRs: ['10.4.1.0/24'], annotations: peerAnnotations('KA') });
  const whole = new Map<string, Record<string, unknown>>();
  client.onJson = (req) => {
    if (req.path === '/api/v1/nodes') return pagedList(() => [listed], () => '10')(req);
    const node = whole.get(req.path.slice('/api/v1/nodes/'.length));
    if (!node) throw new KubeRequestError({ cluster: 'c2', method: 'GET', path: req.path }, 404, 'NotFound', 'nodes not found');
    return node;
  };
  watcher.start();
  const watch = await client.watchAt(0);
  assert.equal(watch.request.accept, 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1');
  assert.equal(client.requests.find((r) => r.path === '/api/v1/nodes')?.accept, undefined, 'the list is of whole Nodes');
  changes.length = 0;

  // A key rotation seen in metadata: the CIDRs of the same object are kept, nothing is read.
  watch.send('MODIFIED', metadataOf(nodeObject('a', { rv: '11', annotations: peerAnnotations('KA2') })));
  // A heartbeat: nothing at all.
  watch.send('MODIFIED', metadataOf(nodeObject('a', { rv: '12', annotations: peerAnnotations('KA2') })));
  // A new node without annotations yet: kept without CIDRs, not read.
  watch.send('ADDED', metadataOf(nodeObject('b', { rv: '13' })));
  await eventually(() => changes.length === 2);
  assert.deepEqual(summary(changes), ['updated a', 'added b']);
  assert.deepEqual(watcher.nodes.get('a')?.podCIDRs, ['10.4.1.0/24']);
  assert.equal(watcher.nodes.get('a')?.publicKey, 'KA2');
  assert.deepEqual(gets(client), []);

  // Its daemon annotates it: now a would-be peer, read once for its CIDRs.
  whole.set('b', nodeObject('b', { rv: '15', podCIDRs: ['10.4.2.0/24'], annotations: peerAnnotations('KB') }));
  watch.send('MODIFIED', metadataOf(nodeObject('b', { rv: '14', annotations: peerAnnotations('KB') })));
  await eventually(() => changes.length === 3);
  assert.deepEqual(watcher.nodes.get('b'), { name: 'b', uid: 'uid-b', podCIDRs: ['10.4.2.0/24'], publicKey: 'KB', endpoint: '198.18.0.9:51820', refused: null });
  assert.deepEqual(gets(client), ['/api/v1/nodes/b']);
  watch.send('MODIFIED', metadataOf(nodeObject('b', { rv: '16', annotations: peerAnnotations('KB') })));

  // Deleted and created again under the same name: the old CIDRs are not the new node's.
  watch.send('DELETED', metadataOf(nodeObject('a', { rv: '17', annotations: peerAnnotations('KA2') })));
  whole.set('a', nodeObject('a', { rv: '18', uid: 'uid-a2', podCIDRs: ['10.4.9.0/24'], annotations: peerAnnotations('KA3') }));
  watch.send('ADDED', metadataOf(nodeObject('a', { rv: '18', uid: 'uid-a2', annotations: peerAnnotations('KA3') })));
  await eventually(() => changes.length === 5);
  assert.deepEqual(summary(changes.slice(3)), ['deleted a', 'added a']);
  assert.deepEqual(watcher.nodes.get('a')?.podCIDRs, ['10.4.9.0/24']);
  assert.deepEqual(gets(client), ['/api/v1/nodes/b', '/api/v1/nodes/a']);

  // Gone by the time it is read (404): kept without CIDRs (skipped by peering) until its DELETED event.
  watch.send('ADDED', metadataOf(nodeObject('c', { rv: '19', annotations: peerAnnotations('KC') })));
  await eventually(() => changes.length === 6);
  assert.deepEqual(watcher.nodes.get('c')?.podCIDRs, []);
  // The read found another node of that name (another uid): its CIDRs are not taken.
  whole.set('d', nodeObject('d', { rv: '21', uid: 'uid-d2', podCIDRs: ['10.4.4.0/24'] }));
  watch.send('ADDED', metadataOf(nodeObject('d', { rv: '20', annotations: peerAnnotations('KD') })));
  await eventually(() => changes.length === 7);
  assert.deepEqual(watcher.nodes.get('d')?.podCIDRs, []);
  assert.deepEqual(await failures(metrics), {});
});

test('a would-be peer still without pod CIDRs once read is read again at most every READ_AGAIN_MS, not on each of its events', async (t) => {
  let now = 1_000_000;
  const { client, changes, watcher } = setup({}, () => now);
  t.after(() => watcher.stop());
  let whole = nodeObject('b', { rv: '11', annotations: peerAnnotations('KB') });
  client.onJson = (req) => (req.path === '/api/v1/nodes' ? pagedList(() => [], () => '10')(req) : whole);
  watcher.start();
  const watch = await client.watchAt(0);
  // Annotated before the node IPAM controller gave it pod CIDRs (or in a cluster that never does).
  watch.send('ADDED', metadataOf(nodeObject('b', { rv: '11', annotations: peerAnnotations('KB') })));
  await eventually(() => changes.length === 1);
  assert.deepEqual(gets(client), ['/api/v1/nodes/b']);
  // Its status writes: no read each time.
  for (let rv = 12; rv < 20; rv++) watch.send('MODIFIED', metadataOf(nodeObject('b', { rv: String(rv), annotations: peerAnnotations('KB') })));
  watch.send('BOOKMARK', { metadata: { resourceVersion: '20' } });
  await eventually(() => watcher.status().lastEventAt === now && client.requests.length > 0);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(gets(client), ['/api/v1/nodes/b']);
  assert.deepEqual(watcher.nodes.get('b')?.podCIDRs, []);

  // A minute on, its next event reads it again, and finds the CIDRs it got meanwhile.
  whole = nodeObject('b', { rv: '21', podCIDRs: ['10.4.2.0/24'], annotations: peerAnnotations('KB') });
  now += READ_AGAIN_MS;
  watch.send('MODIFIED', metadataOf(nodeObject('b', { rv: '21', annotations: peerAnnotations('KB') })));
  await eventually(() => changes.length === 2);
  assert.deepEqual(watcher.nodes.get('b')?.podCIDRs, ['10.4.2.0/24']);
  assert.deepEqual(gets(client), ['/api/v1/nodes/b', '/api/v1/nodes/b']);

  // Deleted and created again: the new node is read at once.
  watch.send('DELETED', metadataOf(nodeObject('b', { rv: '22', annotations: peerAnnotations('KB') })));
  whole = nodeObject('b', { rv: '23', uid: 'uid-b2', annotations: peerAnnotations('KB2') });
  watch.send('ADDED', metadataOf(nodeObject('b', { rv: '23', uid: 'uid-b2', annotations: peerAnnotations('KB2') })));
  await eventually(() => changes.length === 4);
  assert.equal(gets(client).length, 3);
});

test('a failed read of a node fails the watch (verb get), which resumes before that event', async (t) => {
  const { client, changes, watcher, metrics } = setup();
  t.after(() => watcher.stop());
  let down = true;
  client.onJson = (req) => {
    if (req.path === '/api/v1/nodes') return pagedList(() => [], () => '10')(req);
    if (down) throw new KubeRequestError({ cluster: 'c2', method: 'GET', path: req.path }, 503, null, 'unavailable');
    return nodeObject('b', { rv: '12', podCIDRs: ['10.4.2.0/24'], annotations: peerAnnotations('KB') });
  };
  watcher.start();
  const watch = await client.watchAt(0);
  watch.send('BOOKMARK', { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: '11' } });
  watch.send('ADDED', metadataOf(nodeObject('b', { rv: '12', annotations: peerAnnotations('KB') })));
  const again = await client.watchAt(1);
  assert.equal(again.request.query?.resourceVersion, '11', 'the event whose read failed is not skipped');
  assert.deepEqual(await failures(metrics), { get: 1 });
  assert.deepEqual(changes, []);
  down = false;
  again.send('ADDED', metadataOf(nodeObject('b', { rv: '12', annotations: peerAnnotations('KB') })));
  await eventually(() => changes.length === 1);
  assert.deepEqual(watcher.nodes.get('b')?.podCIDRs, ['10.4.2.0/24']);
});

test('an apiserver that refuses PartialObjectMetadata (406) is watched for whole Nodes; one that ignores it works as is', async (t) => {
  const { client, changes, watcher, metrics, lines, sleeps } = setup();
  t.after(() => watcher.stop());
  client.onJson = pagedList(() => [nodeObject('a', { podCIDRs: ['10.4.1.0/24'] })], () => '10');
  client.onStream = (req) => {
    if (req.accept !== undefined) throw new KubeRequestError({ cluster: 'c2', method: 'GET', path: req.path }, 406, 'NotAcceptable', 'only the following media types are accepted: application/json');
  };
  watcher.start();
  const watch = await client.watchAt(0);
  assert.equal(watch.request.accept, undefined);
  assert.equal(watch.request.query?.resourceVersion, '10');
  assert.deepEqual(sleeps, [], 'no backoff');
  assert.deepEqual(await failures(metrics), {}, 'not a failure');
  assert.ok(lines.some((l) => l.msg === 'the apiserver does not serve PartialObjectMetadata: watching whole nodes'));

  // Whole Nodes carry their CIDRs: an annotated node is not read.
  watch.send('ADDED', nodeObject('b', { rv: '11', podCIDRs: ['10.4.2.0/24'], annotations: peerAnnotations('KB') }));
  await eventually(() => changes.length === 2);
  assert.deepEqual(watcher.nodes.get('b')?.podCIDRs, ['10.4.2.0/24']);
  assert.deepEqual(gets(client), []);
});
