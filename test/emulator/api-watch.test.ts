import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { api, asNode, openWatch, smallNode, startTestEmulator, type WatchEvent, type WireList, type WireNode } from './helpers.ts';

const rvOf = (event: WatchEvent) => Number(event.object.metadata.resourceVersion);

describe('emulator watches', () => {
  it('stream every change after the list resourceVersion, in order, deletion included', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.createNode(smallNode('a'));
    const list = await api<WireList>(emulator, 'GET', '/api/v1/nodes');
    const listRV = Number(list.body.metadata.resourceVersion);
    const watch = await openWatch(emulator, `resourceVersion=${listRV}&allowWatchBookmarks=true`, t);
    emulator.createNode(smallNode('b'));
    emulator.patchNode('a', { metadata: { annotations: { x: 'y' } } });
    emulator.deleteNode('b');
    const events = [await watch.next(), await watch.next(), await watch.next()];
    assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name]), [
      ['ADDED', 'b'],
      ['MODIFIED', 'a'],
      ['DELETED', 'b'],
    ]);
    assert.deepEqual(events.map(rvOf), [listRV + 1, listRV + 2, listRV + 3]);
    assert.equal(events[0]?.object.kind, 'Node');
    assert.equal(events[1]?.object.metadata.annotations?.x, 'y');
  });

  it('resume from any resourceVersion still in history, and start with ADDED for everything at 0', async (t) => {
    const emulator = await startTestEmulator(t);
    const created = ['a', 'b', 'c'].map((name) => asNode(emulator.createNode(smallNode(name))));
    const middle = created[0]?.metadata.resourceVersion ?? '';
    const resumed = await openWatch(emulator, `resourceVersion=${middle}`, t);
    assert.deepEqual([(await resumed.next()).object.metadata.name, (await resumed.next()).object.metadata.name], ['b', 'c']);
    const fromZero = await openWatch(emulator, 'resourceVersion=0', t);
    const initial = [await fromZero.next(), await fromZero.next(), await fromZero.next()];
    assert.deepEqual(initial.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED a', 'ADDED b', 'ADDED c']);
    emulator.deleteNode('a');
    assert.equal((await fromZero.next()).type, 'DELETED');
  });

  it('send bookmarks carrying only the current resourceVersion, and one when timeoutSeconds ends the watch', async (t) => {
    const emulator = await startTestEmulator(t, { bookmarkIntervalMs: 100 });
    emulator.createNode(smallNode('a'));
    const rv = asNode(emulator.getNode('a')).metadata.resourceVersion;
    const plain = await openWatch(emulator, `resourceVersion=${rv}`, t);
    const started = Date.now();
    const watch = await openWatch(emulator, `resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=1`, t);
    const bookmark = await watch.next(2000);
    assert.deepEqual(bookmark, { type: 'BOOKMARK', object: { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: rv } } });
    emulator.createNode(smallNode('b'));
    const later = await watch.until((e) => e.type === 'BOOKMARK', 2000);
    assert.equal(Number(later.object.metadata.resourceVersion), Number(rv) + 1);
    await watch.ended;
    const elapsed = Date.now() - started;
    t.diagnostic(`timeoutSeconds=1 watch lasted ${elapsed} ms`);
    assert.ok(elapsed >= 900 && elapsed < 5000, `lasted ${elapsed} ms`);
    assert.equal(watch.events.at(-1)?.type, 'BOOKMARK');
    assert.ok(plain.events.every((e) => e.type !== 'BOOKMARK'), 'no bookmarks unless asked for');
  });

  it('answer a resourceVersion older than history with ERROR 410 Expired and close', async (t) => {
    const emulator = await startTestEmulator(t, { historyLimit: 3 });
    const first = asNode(emulator.createNode(smallNode('a')));
    // History keeps the 3 events after b's: resuming from a's resourceVersion needs b's, which is gone.
    for (const name of ['b', 'c', 'd', 'e']) emulator.createNode(smallNode(name));
    const evicted = await openWatch(emulator, `resourceVersion=${first.metadata.resourceVersion}`, t);
    const error = await evicted.next();
    assert.equal(error.type, 'ERROR');
    assert.equal(error.object.kind, 'Status');
    assert.equal(error.object.code, 410);
    assert.equal(error.object.reason, 'Expired');
    assert.match(error.object.message ?? '', /^too old resource version: \d+ \(\d+\)$/);
    await evicted.ended;

    const current = Number(asNode(emulator.getNode('e')).metadata.resourceVersion);
    const oldestKept = await openWatch(emulator, `resourceVersion=${current - 3}`, t);
    const replayed = [await oldestKept.next(), await oldestKept.next(), await oldestKept.next()];
    assert.deepEqual(replayed.map((e) => e.object.metadata.name), ['c', 'd', 'e']);
    emulator.compactHistory();
    const compacted = await openWatch(emulator, `resourceVersion=${current - 1}`, t);
    assert.equal((await compacted.next()).object.code, 410);
    const future = await openWatch(emulator, `resourceVersion=${current + 100}`, t);
    assert.equal((await future.next()).object.code, 504);
  });

  it('expireWatches sends every open watch ERROR 410 and closes it', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.createNode(smallNode('a'));
    const watches = await Promise.all([openWatch(emulator, 'resourceVersion=0', t), openWatch(emulator, 'resourceVersion=0', t)]);
    for (const watch of watches) assert.equal((await watch.next()).type, 'ADDED');
    assert.equal(emulator.counters().watchesOpen, 2);
    const before = emulator.counters().requests;
    emulator.expireWatches();
    for (const watch of watches) {
      const error = await watch.next();
      assert.deepEqual([error.type, error.object.code, error.object.reason], ['ERROR', 410, 'Expired']);
      await watch.ended;
    }
    assert.equal(emulator.counters().watchesOpen, 0);
    const rv = asNode(emulator.getNode('a')).metadata.resourceVersion;
    const resumedBefore = await openWatch(emulator, `resourceVersion=${Number(rv) - 1}`, t);
    assert.equal((await resumedBefore.next()).object.code, 410, 'expiring compacts history too');
    assert.equal(emulator.counters().requests, before + 1);
  });

  it('show a label-selecting watcher nodes entering the selection as ADDED and leaving it as DELETED', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.createNode(smallNode('a'));
    const watch = await openWatch(emulator, 'resourceVersion=0&labelSelector=peer%3Dyes', t);
    emulator.patchNode('a', { metadata: { labels: { peer: 'yes' } } });
    emulator.patchNode('a', { metadata: { annotations: { note: '1' } } });
    emulator.patchNode('a', { metadata: { labels: { peer: null } } });
    emulator.createNode(smallNode('other'));
    const events = [await watch.next(), await watch.next(), await watch.next()];
    assert.deepEqual(events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    assert.equal(events[2]?.object.metadata.labels?.peer, 'yes', 'DELETED carries the last matching content');
    const byName = await openWatch(emulator, 'resourceVersion=0&fieldSelector=metadata.name%3Dother', t);
    assert.equal((await byName.next()).object.metadata.name, 'other');
  });

  it('get status-only MODIFIED events from heartbeats', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.seedNodes(5);
    const versions = new Map(emulator.listNodes().map((node) => [asNode(node).metadata.name, asNode(node)]));
    const list = await api<WireList>(emulator, 'GET', '/api/v1/nodes');
    const watch = await openWatch(emulator, `resourceVersion=${list.body.metadata.resourceVersion}`, t);
    emulator.startHeartbeats(200);
    t.after(() => emulator.stopHeartbeats());
    const events: WatchEvent[] = [];
    while (events.length < 20) events.push(await watch.next(3000));
    emulator.stopHeartbeats();
    for (const event of events) {
      assert.equal(event.type, 'MODIFIED');
      const previous = asNode(versions.get(event.object.metadata.name));
      const strip = (node: WireNode) => ({
        ...node,
        metadata: { ...node.metadata, resourceVersion: '' },
        status: { ...node.status, conditions: node.status.conditions.map((c) => ({ ...c, lastHeartbeatTime: '' })) },
      });
      assert.ok(isDeepStrictEqual(strip(event.object), strip(previous)), 'only heartbeat times and resourceVersion change');
      assert.ok((event.object.status.conditions[0]?.lastHeartbeatTime ?? '') > (previous.status.conditions[0]?.lastHeartbeatTime ?? ''));
      versions.set(event.object.metadata.name, event.object);
    }
    const rvs = events.map(rvOf);
    assert.deepEqual(rvs, [...rvs].sort((x, y) => x - y));
  });
});
