import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeContinue, encodeContinue } from '../../lab/emulator/continue-token.ts';
import type { StoreEvent } from '../../lab/emulator/history.ts';
import type { JsonObject } from '../../lab/emulator/json.ts';
import { listObjects, type ListQuery } from '../../lab/emulator/list-objects.ts';
import { ObjectStore } from '../../lab/emulator/object-store.ts';
import { Revision } from '../../lab/emulator/revision.ts';
import { ApiError } from '../../lab/emulator/status.ts';

function makeStore(historyLimit = 100, revision = new Revision(), resource = 'nodes'): ObjectStore {
  return new ObjectStore({ resource: { group: '', resource }, historyLimit, now: () => 1_700_000_000_000, revision });
}

const node = (name: string, labels: Record<string, string> = {}): JsonObject => ({ metadata: { name, labels }, spec: {}, status: { phase: 'x' } });
const inNamespace = (namespace: string, name: string): JsonObject => ({ metadata: { name, namespace }, data: {} });

const listNodes = (store: ObjectStore, q: ListQuery) => listObjects(store, q);

function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  assert.fail('expected an ApiError');
}

const query = (overrides: Partial<ListQuery> = {}): ListQuery => ({
  namespace: '',
  resourceVersion: '',
  resourceVersionMatch: '',
  limit: null,
  continueToken: '',
  predicate: null,
  ...overrides,
});

describe('ObjectStore writes', () => {
  it('bumps one global resourceVersion per write and stamps it on the node', () => {
    const store = makeStore();
    const start = store.resourceVersion;
    const a = store.create(node('a'));
    const b = store.create(node('b'));
    assert.equal(a.resourceVersion, start + 1);
    assert.equal(b.resourceVersion, start + 2);
    assert.equal((a.object.metadata as JsonObject).resourceVersion, String(start + 1));
    const a2 = store.update('', 'a', { ...a.object, spec: { unschedulable: true } });
    assert.equal(a2.resourceVersion, start + 3);
    assert.equal(a2.uid, a.uid);
    assert.equal((a2.object.metadata as JsonObject).creationTimestamp, (a.object.metadata as JsonObject).creationTimestamp);
    const gone = store.delete('', 'b');
    assert.equal(gone.resourceVersion, start + 4);
    assert.equal(store.resourceVersion, start + 4);
    assert.equal(store.get('', 'b'), undefined);
  });

  it('refuses a stale resourceVersion with 409 Conflict and accepts an unconditional update', () => {
    const store = makeStore();
    const a = store.create(node('a'));
    store.update('', 'a', { ...a.object, spec: { x: 1 } });
    const conflict = apiError(() => store.update('', 'a', { ...a.object, spec: { x: 2 } }));
    assert.equal(conflict.code, 409);
    assert.equal(conflict.status.reason, 'Conflict');
    const metadata = { ...(a.object.metadata as JsonObject) };
    delete metadata.resourceVersion;
    const updated = store.update('', 'a', { ...a.object, metadata, spec: { x: 2 } });
    assert.deepEqual(updated.object.spec, { x: 2 });
  });

  it('does not write (no new resourceVersion, no event) when nothing changes', () => {
    const store = makeStore();
    const events: StoreEvent[] = [];
    store.subscribe((event) => events.push(event));
    const a = store.create(node('a'));
    const same = store.update('', 'a', { ...a.object });
    assert.equal(same, a);
    assert.equal(events.length, 1);
  });

  it('refuses duplicates, preset resourceVersions, missing objects and stale preconditions like the apiserver', () => {
    const store = makeStore();
    store.create(node('a'));
    const duplicate = apiError(() => store.create(node('a')));
    assert.equal(duplicate.status.reason, 'AlreadyExists');
    assert.equal(duplicate.message, 'nodes "a" already exists');
    assert.equal(apiError(() => store.create({ metadata: { name: 'x', resourceVersion: '5' } })).code, 500);
    assert.equal(apiError(() => store.update('', 'nope', node('nope'))).code, 404);
    assert.equal(apiError(() => store.delete('', 'nope')).code, 404);
    const stale = apiError(() => store.delete('', 'a', 1));
    assert.equal(stale.code, 409);
    assert.match(stale.message, /Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: \d+/);
  });

  it('shares one resourceVersion between resources, as etcd has one revision', () => {
    const revision = new Revision();
    const nodes = makeStore(100, revision, 'nodes');
    const maps = makeStore(100, revision, 'configmaps');
    const a = nodes.create(node('a'));
    const m = maps.create(inNamespace('default', 'm'));
    const b = nodes.create(node('b'));
    assert.deepEqual([a.resourceVersion, m.resourceVersion, b.resourceVersion], [a.resourceVersion, a.resourceVersion + 1, a.resourceVersion + 2]);
    assert.equal(nodes.resourceVersion, maps.resourceVersion);
    assert.deepEqual(nodes.eventsSince(a.resourceVersion)?.map((e) => e.record.name), ['b'], 'a resource sees only its own events');
    assert.deepEqual(nodes.snapshotAt(m.resourceVersion)?.map((r) => r.name), ['a'], 'a snapshot at another resource’s version');
  });

  it('keys namespaced objects by namespace/name and lists one namespace or all, in etcd key order', () => {
    const store = makeStore(100, new Revision(), 'configmaps');
    for (const [namespace, name] of [['b', 'x'], ['a-x', 'c'], ['a', 'z'], ['a', 'b'], ['ab', 'a']]) store.create(inNamespace(namespace ?? '', name ?? ''));
    assert.deepEqual(store.list().map((r) => r.key), ['a-x/c', 'a/b', 'a/z', 'ab/a', 'b/x']);
    assert.deepEqual(store.list('a').map((r) => r.name), ['b', 'z']);
    assert.equal(store.get('a', 'z')?.namespace, 'a');
    assert.equal(store.get('b', 'z'), undefined);
    assert.equal(apiError(() => store.create(inNamespace('a', 'b'))).code, 409);
    store.create(inNamespace('b', 'b'));
  });

  it('keeps the last events for watch resume and forgets older ones', () => {
    const store = makeStore(3);
    const start = store.resourceVersion;
    for (const name of ['a', 'b', 'c', 'd', 'e']) store.create(node(name));
    assert.deepEqual(store.eventsSince(start + 2)?.map((e) => e.record.name), ['c', 'd', 'e']);
    assert.deepEqual(store.eventsSince(start + 4)?.map((e) => e.record.name), ['e']);
    assert.deepEqual(store.eventsSince(start + 5), []);
    assert.equal(store.eventsSince(start + 1), null);
    store.compact();
    assert.equal(store.eventsSince(start + 4), null);
    assert.deepEqual(store.eventsSince(store.resourceVersion), []);
  });

  it('rebuilds the state at an older resourceVersion from history', () => {
    const store = makeStore();
    const a = store.create(node('a'));
    const b = store.create(node('b'));
    const at = store.resourceVersion;
    store.update('', 'a', { ...a.object, spec: { changed: true } });
    store.delete('', 'b');
    store.create(node('c'));
    const then = store.snapshotAt(at);
    assert.deepEqual(then?.map((r) => [r.name, r.resourceVersion]), [
      ['a', a.resourceVersion],
      ['b', b.resourceVersion],
    ]);
    store.compact();
    assert.equal(store.snapshotAt(at), undefined);
  });
});

describe('listObjects', () => {
  function seeded(count: number): ObjectStore {
    const store = makeStore(1000);
    for (let i = 0; i < count; i++) store.create(node(`n-${String(i).padStart(2, '0')}`, { parity: i % 2 === 0 ? 'even' : 'odd' }));
    return store;
  }

  it('pages in name order with continue tokens and remainingItemCount', () => {
    const store = seeded(25);
    const rv = store.resourceVersion;
    const names: string[] = [];
    let token = '';
    const remaining: (number | null)[] = [];
    do {
      const page = listNodes(store, query({ limit: 10, continueToken: token }));
      assert.equal(page.resourceVersion, rv);
      names.push(...page.items.map((r) => r.name));
      remaining.push(page.remainingItemCount);
      token = page.continueToken ?? '';
    } while (token !== '');
    assert.equal(names.length, 25);
    assert.deepEqual(names, [...names].sort());
    assert.deepEqual(remaining, [15, 5, null]);
  });

  it('serves every page from the state of the first one, whatever is written in between', () => {
    const store = seeded(6);
    const first = listNodes(store, query({ limit: 2 }));
    const listRV = first.resourceVersion;
    const target = store.get('', 'n-04');
    assert.ok(target);
    store.update('', 'n-04', { ...target.object, spec: { changed: true } });
    store.delete('', 'n-05');
    store.create(node('n-03a'));
    const rest = listNodes(store, query({ limit: 10, continueToken: first.continueToken ?? '' }));
    assert.equal(rest.resourceVersion, listRV);
    assert.deepEqual(rest.items.map((r) => r.name), ['n-02', 'n-03', 'n-04', 'n-05']);
    assert.equal(rest.items.find((r) => r.name === 'n-04')?.resourceVersion, target.resourceVersion);
  });

  it('fills pages with selected objects only, and gives no remaining count with a selector', () => {
    const store = seeded(10);
    const even = (n: JsonObject) => ((n.metadata as JsonObject).labels as JsonObject).parity === 'even';
    const page = listNodes(store, query({ limit: 3, predicate: even }));
    assert.deepEqual(page.items.map((r) => r.name), ['n-00', 'n-02', 'n-04']);
    assert.equal(page.remainingItemCount, null);
    const next = listNodes(store, query({ limit: 3, predicate: even, continueToken: page.continueToken ?? '' }));
    assert.deepEqual(next.items.map((r) => r.name), ['n-06', 'n-08']);
    assert.equal(next.continueToken, null);
  });

  it('answers 410 with an inconsistent-continue token once the list state is compacted', () => {
    const store = seeded(5);
    const first = listNodes(store, query({ limit: 2 }));
    store.create(node('n-99'));
    store.compact();
    const expired = apiError(() => listNodes(store, query({ limit: 2, continueToken: first.continueToken ?? '' })));
    assert.equal(expired.code, 410);
    assert.equal(expired.status.reason, 'Expired');
    const fresh = (expired.status.metadata as JsonObject).continue;
    assert.equal(typeof fresh, 'string');
    assert.equal(decodeContinue(fresh as string).resourceVersion, -1);
    const rest = listNodes(store, query({ limit: 10, continueToken: fresh as string }));
    assert.deepEqual(rest.items.map((r) => r.name), ['n-02', 'n-03', 'n-04', 'n-99']);
  });

  it('follows the resourceVersion rules: exact reads when limited, 410 when too old, 504 when in the future', () => {
    const store = seeded(3);
    const old = store.resourceVersion;
    store.create(node('late'));
    assert.equal(listNodes(store, query({ resourceVersion: String(old), limit: 10 })).items.length, 3);
    assert.equal(listNodes(store, query({ resourceVersion: String(old) })).items.length, 4);
    assert.equal(listNodes(store, query({ resourceVersion: '0', limit: 10 })).items.length, 4);
    store.compact();
    assert.equal(apiError(() => listNodes(store, query({ resourceVersion: String(old), limit: 10 }))).code, 410);
    assert.equal(apiError(() => listNodes(store, query({ resourceVersion: String(old), resourceVersionMatch: 'Exact' }))).code, 410);
    assert.equal(apiError(() => listNodes(store, query({ resourceVersion: String(store.resourceVersion + 5) }))).code, 504);
    assert.equal(apiError(() => listNodes(store, query({ resourceVersionMatch: 'Exact' }))).code, 400);
    assert.equal(apiError(() => listNodes(store, query({ continueToken: 'garbage' }))).code, 400);
    const token = encodeContinue({ resourceVersion: store.resourceVersion, start: 'a' });
    assert.equal(apiError(() => listNodes(store, query({ continueToken: token, resourceVersion: '7' }))).code, 400);
  });

  it('pages one namespace with continue tokens relative to it, as etcd keys below the namespace prefix', () => {
    const store = makeStore(100, new Revision(), 'configmaps');
    for (const namespace of ['a', 'b', 'c']) for (const name of ['m1', 'm2', 'm3']) store.create(inNamespace(namespace, name));
    const first = listObjects(store, query({ namespace: 'b', limit: 2 }));
    assert.deepEqual(first.items.map((r) => r.key), ['b/m1', 'b/m2']);
    assert.equal(first.remainingItemCount, 1);
    assert.equal(decodeContinue(first.continueToken ?? '').start, 'm2\u0000');
    const rest = listObjects(store, query({ namespace: 'b', limit: 2, continueToken: first.continueToken ?? '' }));
    assert.deepEqual(rest.items.map((r) => r.key), ['b/m3']);
    assert.equal(rest.continueToken, null);
    const all = listObjects(store, query({ limit: 4 }));
    assert.equal(decodeContinue(all.continueToken ?? '').start, 'b/m1\u0000');
  });
});
