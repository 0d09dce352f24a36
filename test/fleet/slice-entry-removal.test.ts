import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SliceEntry, StoredSlice } from '../../src/fleet/peer-slice.ts';
import type { SliceApi } from '../../src/fleet/slice-api.ts';
import { entryRemoval, removeNodeFromSlices } from '../../src/fleet/slice-entry-removal.ts';
import { KubeRequestError } from '../../src/kube/kube-request-error.ts';

const entry = (node: string): SliceEntry => ({ node, publicKey: `${'A'.repeat(43)}=`, endpoint: '198.18.1.1:51821', podCIDRs: [] });
const slice = (name: string, nodes: string[], resourceVersion = '1'): StoredSlice => ({ name, resourceVersion, entries: nodes.map(entry) });
const conflict = () => new KubeRequestError({ cluster: 'c1', method: 'PATCH', path: '/x' }, 409, null, 'the object has been modified');

describe('entryRemoval', () => {
  test('not in the slice: nothing; one of several: a rewrite without it; the last: a delete', () => {
    assert.deepEqual(entryRemoval(slice('s', ['a', 'b']), 'x'), { kind: 'none' });
    assert.deepEqual(entryRemoval(slice('s', ['a', 'b']), 'a'), { kind: 'update', slice: slice('s', ['b']) });
    assert.deepEqual(entryRemoval(slice('s', ['a']), 'a'), { kind: 'delete', slice: slice('s', ['a']) });
  });
});

/** PeerSlices in memory with resourceVersion preconditions; `interfere` runs before the first write, as a mirror writing meanwhile would. */
function fakeApi(slices: StoredSlice[], interfere?: (store: Map<string, StoredSlice>) => void) {
  const store = new Map(slices.map((s) => [s.name, s]));
  const writes: string[] = [];
  let version = 10;
  const check = (name: string, resourceVersion: string) => {
    if (interfere) {
      interfere(store);
      interfere = undefined;
    }
    if (store.get(name)?.resourceVersion !== resourceVersion) throw conflict();
  };
  const api: SliceApi = {
    list: () => Promise.resolve([...store.values()]),
    create: () => Promise.reject(new Error('cleanup never creates')),
    update(name, resourceVersion, entries) {
      check(name, resourceVersion);
      writes.push(`update ${name} ${entries.map((e) => e.node).join(',')}`);
      store.set(name, { name, resourceVersion: String(++version), entries: [...entries] });
      return Promise.resolve(String(version));
    },
    delete(name, resourceVersion) {
      check(name, resourceVersion);
      writes.push(`delete ${name}`);
      store.delete(name);
      return Promise.resolve();
    },
  };
  return { api, writes, store };
}

describe('removeNodeFromSlices', () => {
  test('rewrites the slices that have the node, deletes one it was alone in', async () => {
    const { api, writes } = fakeApi([slice('c1-for-c2-0', ['a', 'n1']), slice('c1-for-c3-0', ['n1']), slice('c1-for-c4-0', ['b'])]);
    assert.deepEqual(await removeNodeFromSlices(api, 'c1', 'n1'), ['c1-for-c2-0', 'c1-for-c3-0']);
    assert.deepEqual(writes, ['update c1-for-c2-0 a', 'delete c1-for-c3-0']);
  });
  test('a slice changed meanwhile (a mirror still running): read again and written on the fresh version', async () => {
    const { api, writes, store } = fakeApi([slice('c1-for-c2-0', ['a', 'n1'])], (s) => s.set('c1-for-c2-0', slice('c1-for-c2-0', ['a', 'n1', 'c'], '7')));
    assert.deepEqual(await removeNodeFromSlices(api, 'c1', 'n1'), ['c1-for-c2-0']);
    assert.deepEqual(writes, ['update c1-for-c2-0 a,c']);
    assert.deepEqual(store.get('c1-for-c2-0')?.entries.map((e) => e.node), ['a', 'c']);
  });
  test('no PeerSlice resource (404 on the list): nothing to do', async () => {
    const api: SliceApi = { ...fakeApi([]).api, list: () => Promise.reject(new KubeRequestError({ cluster: 'c1', method: 'GET', path: '/x' }, 404, null, 'not found')) };
    assert.deepEqual(await removeNodeFromSlices(api, 'c1', 'n1'), []);
  });
});
