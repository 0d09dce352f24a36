import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeRequest } from '../../src/kube/client.ts';
import { Informer, type InformerOptions, type InformerVerb } from '../../src/kube/informer.ts';
import { KubeRequestError } from '../../src/kube/kube-request-error.ts';
import type { StoreChange } from '../../src/kube/store-changes.ts';
import { collectGarbage } from '../support/gc.ts';
import { ManualClock } from '../support/manual-clock.ts';
import { eventually, FakeKubeClient } from './helpers/fake-client.ts';
import { captureLogs } from './helpers/log-capture.ts';

/*
 * The informer on its own, over a namespaced custom resource rather than
 * Nodes (the node watcher's tests cover Nodes and metadata-only watches):
 * path, selectors, projection and equality are the caller's, time is the
 * injected clock.
 */

const PATH = '/apis/clusterwire.io/v1alpha1/namespaces/fleet/peerslices';
const LABELS = 'clusterwire.io/cluster=c2';
const FIELDS = 'metadata.name!=ignored';
const IDLE_MS = 120_000;

/** What the test keeps of a slice: its name and entries; its generation is not compared. */
interface Slice {
  name: string;
  generation: number;
  entries: string[];
}

function slice(name: string, entries: string[], rv = '1', generation = 1): Record<string, unknown> {
  return { apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', metadata: { name, namespace: 'fleet', resourceVersion: rv, generation }, entries };
}

function project(object: unknown): Slice | null {
  const o = object as { metadata?: { name?: unknown; generation?: unknown }; entries?: unknown };
  if (typeof o.metadata?.name !== 'string') return null;
  const entries = Array.isArray(o.entries) ? o.entries.filter((e): e is string => typeof e === 'string') : [];
  return { name: o.metadata.name, generation: Number(o.metadata.generation ?? 0), entries };
}

/** A paged list answer over `items()`, `limit` at a time, numeric continue tokens. */
function pagedList(items: () => unknown[], rv: () => string) {
  return (req: KubeRequest) => {
    const limit = Number(req.query?.limit);
    const from = Number(req.query?.continue ?? '0');
    const all = items();
    const next = from + limit < all.length ? String(from + limit) : undefined;
    return { kind: 'PeerSliceList', metadata: { resourceVersion: rv(), continue: next }, items: all.slice(from, from + limit) };
  };
}

function setup(options: Partial<InformerOptions<Slice>> = {}) {
  const client = new FakeKubeClient();
  const clock = new ManualClock(1_000_000);
  const changes: StoreChange<Slice>[] = [];
  const failed: InformerVerb[] = [];
  const connected: boolean[] = [];
  const { logger, lines } = captureLogs();
  const informer = new Informer<Slice>({
    client,
    path: PATH,
    labelSelector: LABELS,
    fieldSelector: FIELDS,
    names: { singular: 'peer slice', plural: 'peer slices' },
    project,
    keyOf: (s) => s.name,
    same: (a, b) => a.entries.join() === b.entries.join(),
    maxObjects: 100,
    onChange: (change) => changes.push(change),
    logger,
    metrics: { failed: (verb) => failed.push(verb), connected: (up) => connected.push(up), dropped: () => {} },
    clock,
    random: () => 0.5,
    backoff: { baseMs: 100, capMs: 1000 },
    pageSize: 2,
    ...options,
  });
  return { client, clock, changes, failed, connected, lines, informer };
}

const summary = (changes: StoreChange<Slice>[]) => changes.map((c) => `${c.type} ${c.key}${c.type === 'deleted' ? '' : ` ${c.value.entries.join('+')}`}`);
const lists = (client: FakeKubeClient) => client.requests.filter((r) => r.query?.watch === undefined && r.path === PATH);
/** Sleeps the informer waits in (the watch's idle timer is always scheduled while a watch is open). */
const sleeping = (clock: ManualClock) => clock.pending.filter((ms) => ms !== IDLE_MS);
/** Lets the fake client's promises and the informer's loop run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

test('lists page by page with its selectors, keeps projections, then watches from the list with bookmarks', async (t) => {
  const { client, clock, changes, connected, informer } = setup();
  t.after(() => informer.stop());
  const items = [slice('s1', ['a']), slice('s2', ['b']), slice('s3', ['c']), { metadata: {} }, slice('s4', [])];
  client.onJson = pagedList(() => items, () => '40');
  informer.start();
  await informer.whenSynced();

  assert.deepEqual(
    lists(client).map((r) => [r.query?.labelSelector, r.query?.fieldSelector, r.query?.limit, r.query?.continue]),
    [[LABELS, FIELDS, '2', undefined], [LABELS, FIELDS, '2', '2'], [LABELS, FIELDS, '2', '4']],
  );
  assert.deepEqual(summary(changes), ['added s1 a', 'added s2 b', 'added s3 c', 'added s4 '], 'the item without a name is skipped');
  assert.deepEqual([...informer.objects.keys()], ['s1', 's2', 's3', 's4']);
  assert.equal(informer.status().lastEventAt, 1_000_000, 'times come from the injected clock');

  const watch = await client.watchAt(0);
  assert.equal(watch.request.path, PATH);
  assert.deepEqual(
    [watch.request.query?.labelSelector, watch.request.query?.fieldSelector, watch.request.query?.resourceVersion, watch.request.query?.allowWatchBookmarks],
    [LABELS, FIELDS, '40', 'true'],
  );
  assert.equal(watch.request.accept, undefined, 'whole objects unless metadataOnly is given');
  assert.deepEqual(connected, [true]);
  assert.equal(informer.status().state, 'connected');

  changes.length = 0;
  watch.send('MODIFIED', slice('s1', ['a'], '41', 2)); // the same to `same`: no change
  watch.send('MODIFIED', slice('s2', ['b', 'x'], '42'));
  watch.send('ADDED', slice('s5', ['e'], '43'));
  watch.send('DELETED', slice('s3', ['c'], '44'));
  watch.send('BOOKMARK', { kind: 'PeerSlice', apiVersion: 'clusterwire.io/v1alpha1', metadata: { resourceVersion: '50' } });
  await eventually(() => changes.length === 3);
  assert.deepEqual(summary(changes), ['updated s2 b+x', 'added s5 e', 'deleted s3']);
  assert.equal(informer.objects.get('s1')?.generation, 1, 'an unchanged projection is not replaced');

  // The server ends the watch: the next one starts from the bookmark, without a list or a pause.
  clock.advance(5);
  watch.send('BOOKMARK', { metadata: { resourceVersion: '51' } });
  watch.end();
  const next = await client.watchAt(1);
  assert.equal(next.request.query?.resourceVersion, '51');
  assert.equal(lists(client).length, 3);
  assert.deepEqual(sleeping(clock), []);
  assert.equal(informer.status().lastEventAt, 1_000_005);
});

test('410: relists at once after events, reporting the gap as a diff; without events since the list, only after a backoff', async (t) => {
  const { client, clock, changes, failed, lines, informer } = setup();
  t.after(() => informer.stop());
  let items = [slice('s1', ['a']), slice('s2', ['b']), slice('s3', ['c'])];
  let rv = '10';
  client.onJson = pagedList(() => items, () => rv);
  informer.start();
  const first = await client.watchAt(0);
  first.send('MODIFIED', slice('s1', ['a1'], '11'));
  await eventually(() => changes.length === 4);

  // During the gap: s2 deleted, s3 changed, s4 added.
  items = [slice('s1', ['a1']), slice('s3', ['c2']), slice('s4', ['d'])];
  rv = '60';
  changes.length = 0;
  first.send('ERROR', { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 11 (50)', reason: 'Expired', code: 410 });
  const second = await client.watchAt(1);
  assert.equal(second.request.query?.resourceVersion, '60');
  assert.deepEqual(summary(changes), ['updated s3 c2', 'added s4 d', 'deleted s2']);
  assert.deepEqual([...informer.objects.keys()], ['s1', 's3', 's4']);
  assert.equal(lists(client).length, 4, 'two pages, then two pages');
  assert.deepEqual(sleeping(clock), [], 'no pause: events came since the list');

  // 410 again with no event since that list: the relist waits for the backoff, on the injected clock.
  items = [slice('s1', ['a1'])];
  rv = '70';
  changes.length = 0;
  second.send('ERROR', { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410, message: 'too old' });
  await eventually(() => sleeping(clock).length === 1);
  assert.deepEqual(sleeping(clock), [75]);
  await turn();
  assert.equal(lists(client).length, 4, 'not relisted before the pause ends');
  clock.advance(75);
  const third = await client.watchAt(2);
  assert.equal(third.request.query?.resourceVersion, '70');
  assert.deepEqual(summary(changes), ['deleted s3', 'deleted s4']);
  assert.deepEqual(failed, [], 'an expired resourceVersion is not a failure');
  assert.equal(lines.filter((l) => l.msg === 'resourceVersion expired (410), relisting peer slices').length, 2);
});

test('other errors restart the same request after a capped, jittered backoff on the injected clock; a watch that delivers resets it', async (t) => {
  const { client, clock, failed, lines, informer } = setup();
  t.after(() => informer.stop());
  const unavailable = (req: KubeRequest) => new KubeRequestError({ cluster: 'c2', method: 'GET', path: req.path }, 503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
  let listDown = true;
  let watchDown = false;
  client.onJson = (req) => {
    if (listDown) throw unavailable(req);
    return pagedList(() => [slice('s1', ['a'])], () => '10')(req);
  };
  client.onStream = (req) => {
    if (watchDown) throw unavailable(req);
  };
  informer.start();
  // random 0.5: three quarters of 100, 200, 400, 800, then of the 1000 cap.
  const pauses: number[] = [];
  for (let i = 0; i < 6; i++) {
    await eventually(() => sleeping(clock).length === 1, 2000, `pause ${i}`);
    pauses.push(...sleeping(clock));
    clock.advance(sleeping(clock)[0] ?? 0);
  }
  assert.deepEqual(pauses, [75, 150, 300, 600, 750, 750]);
  assert.equal(informer.status().state, 'disconnected');
  assert.match(informer.status().lastError ?? '', /unable to handle the request/);

  await eventually(() => sleeping(clock).length === 1);
  listDown = false;
  clock.advance(750);
  const first = await client.watchAt(0);
  assert.deepEqual(failed, Array(7).fill('list'));

  // An ERROR event that is not 410 ends the watch: it resumes from the same resourceVersion after a pause, without a relist.
  first.send('ERROR', { kind: 'Status', status: 'Failure', reason: 'InternalError', code: 500, message: 'etcd leader changed' });
  await eventually(() => sleeping(clock).length === 1);
  assert.deepEqual(sleeping(clock), [750], 'still backing off: that watch delivered nothing');
  watchDown = true; // and the watch request itself fails once
  clock.advance(750);
  await eventually(() => failed.length === 9);
  watchDown = false;
  await eventually(() => sleeping(clock).length === 1);
  clock.advance(sleeping(clock)[0] ?? 0);
  const second = await client.watchAt(1);
  assert.equal(second.request.query?.resourceVersion, '10');
  assert.equal(lists(client).length, 8, 'no relist');
  assert.deepEqual(failed.slice(7), ['watch', 'watch']);

  // A watch that delivered something then broke starts the backoff over.
  second.send('BOOKMARK', { metadata: { resourceVersion: '12' } });
  await eventually(() => informer.status().lastEventAt === clock.now());
  second.body.destroy(new Error('socket hang up'));
  await eventually(() => sleeping(clock).length === 1);
  assert.deepEqual(sleeping(clock), [75]);
  clock.advance(75);
  const third = await client.watchAt(2);
  assert.equal(third.request.query?.resourceVersion, '12');
  assert.match(informer.status().lastError ?? '', /watch stream broke: socket hang up/);
  assert.deepEqual(
    lines.filter((l) => l.level !== 'debug').map((l) => l.msg),
    ['peer slice watch disconnected, retrying with backoff', 'first list of peer slices complete', 'watching peer slices', 'peer slice watch disconnected, retrying with backoff', 'watching peer slices', 'peer slice watch disconnected, retrying with backoff', 'watching peer slices'],
    'a line per state change, not per retry',
  );
});

test('stop() is prompt whatever the informer waits for: a backoff pause, a list, an open watch', async () => {
  const pausing = setup();
  pausing.client.onJson = (req) => {
    throw new KubeRequestError({ cluster: 'c2', method: 'GET', path: req.path }, null, null, 'connect ECONNREFUSED');
  };
  pausing.informer.start();
  await eventually(() => sleeping(pausing.clock).length === 1);
  const synced = pausing.informer.whenSynced();
  await pausing.informer.stop(); // the clock never moves: only the abort ends the pause
  await assert.rejects(synced, /peer slice watcher of cluster c2 stopped before its first list/);
  assert.deepEqual(pausing.clock.pending, [], 'the pause was cancelled');
  assert.equal(pausing.client.requests.length, 1);
  assert.deepEqual(pausing.connected.at(-1), false);

  const listing = setup();
  listing.client.onJson = () => new Promise(() => {});
  listing.informer.start();
  await eventually(() => listing.client.requests.length === 1);
  await listing.informer.stop();
  assert.ok(listing.client.requests[0]?.signal?.aborted, 'the list request was aborted');

  const watching = setup();
  watching.client.onJson = pagedList(() => [slice('s1', [])], () => '5');
  watching.informer.start();
  const watch = await watching.client.watchAt(0);
  await watching.informer.stop();
  assert.ok(watch.closed);
  assert.deepEqual(watching.clock.pending, [], 'the idle timer is gone with the watch');
  await assert.rejects(Promise.resolve().then(() => watching.informer.start()), /already started/);
});

test('list pages are dropped once projected: none is reachable when the next page is asked for', async (t) => {
  const { client, informer } = setup({ pageSize: 10 });
  t.after(() => informer.stop());
  const items = Array.from({ length: 50 }, (_, i) => slice(`s${i}`, [`e${i}`]));
  const pages: WeakRef<object>[] = [];
  const reachableWhenAsked: number[] = [];
  const list = pagedList(() => items.map((item) => structuredClone(item)), () => '9');
  // Each page is answered on a later turn of the event loop: WeakRefs keep their targets until the turn ends.
  client.onJson = (req) =>
    new Promise((resolve) =>
      setImmediate(() => {
        collectGarbage();
        reachableWhenAsked.push(pages.filter((page) => page.deref() !== undefined).length);
        const page = list(req);
        pages.push(new WeakRef(page));
        resolve(page);
      }),
    );
  informer.start();
  await client.watchAt(0);
  await turn();
  collectGarbage();
  assert.equal(informer.objects.size, 50);
  assert.deepEqual(reachableWhenAsked, [0, 0, 0, 0, 0]);
  assert.equal(pages.filter((page) => page.deref() !== undefined).length, 0, 'nor once the list is done');
});
