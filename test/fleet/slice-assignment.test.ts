import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SliceEntry, StoredSlice } from '../../src/fleet/peer-slice.ts';
import { SliceAssignment, type SliceWrite } from '../../src/fleet/slice-assignment.ts';

const KEY = (n: number) => `${String(n % 10).repeat(42)}A=`;
const entry = (node: string, key = 1, endpoint = `198.18.0.${key}:51820`): SliceEntry => ({ node, publicKey: KEY(key), endpoint, podCIDRs: [`10.2.${key}.0/24`] });
const nodes = (prefix: string, count: number, from = 0) => Array.from({ length: count }, (_, i) => entry(`${prefix}${String(from + i).padStart(4, '0')}`));
const stored = (name: string, resourceVersion: string, entries: SliceEntry[]): StoredSlice => ({ name, resourceVersion, entries });
const OPTIONS = { source: 'c1', peer: 'c2', maxEntries: 3 };

/** A write as "kind name[nodes]", short enough for tables. */
function shown(write: SliceWrite): string {
  return write.kind === 'delete' ? `delete ${write.name}` : `${write.kind} ${write.name}[${write.entries.map((e) => e.node).join(',')}]`;
}

/** Applies every write as a perfect apiserver would, returning the slices it then holds. */
function applyAll(assignment: SliceAssignment, server: Map<string, StoredSlice>): string[] {
  const writes = assignment.plan();
  let rv = 100;
  for (const write of writes) {
    const resourceVersion = String(++rv);
    if (write.kind === 'delete') server.delete(write.name);
    else server.set(write.name, stored(write.name, resourceVersion, write.entries));
    assignment.written(write, write.kind === 'delete' ? null : resourceVersion);
  }
  return writes.map(shown);
}

describe('slice assignment', () => {
  test('new nodes fill slices of at most maxEntries, in name order', () => {
    const assignment = SliceAssignment.adopt(OPTIONS, [], nodes('n', 7));
    assert.deepEqual(assignment.plan().map(shown), ['create c1-for-c2-0[n0000,n0001,n0002]', 'create c1-for-c2-1[n0003,n0004,n0005]', 'create c1-for-c2-2[n0006]']);
  });

  test('the default bound is 100 entries, as EndpointSlice', () => {
    const assignment = SliceAssignment.adopt({ source: 'c1', peer: 'c2' }, [], nodes('n', 250));
    assert.deepEqual(
      assignment.plan().map((w) => (w.kind === 'delete' ? 0 : w.entries.length)),
      [100, 100, 50],
    );
    assert.deepEqual(assignment.counts(), { slices: 3, due: 3 });
    assert.equal(assignment.entryCount, 250);
  });

  test('changes: only the slice of the changed node is written, and nothing for an unchanged entry', async (t) => {
    const cases: { name: string; change: (a: SliceAssignment) => void; writes: string[] }[] = [
      { name: 'the same entry again (a kubelet heartbeat)', change: (a) => a.set(entry('n0004')), writes: [] },
      { name: 'a key change', change: (a) => a.set(entry('n0004', 9)), writes: ['update c1-for-c2-1[n0003,n0004,n0005]'] },
      { name: 'an endpoint change', change: (a) => a.set(entry('n0000', 1, '198.18.9.9:51820')), writes: ['update c1-for-c2-0[n0000,n0001,n0002]'] },
      { name: 'a pod CIDR change', change: (a) => a.set({ ...entry('n0006'), podCIDRs: ['10.2.1.0/24', 'fd02::/64'] }), writes: ['update c1-for-c2-2[n0006]'] },
      { name: 'a delete leaves a hole', change: (a) => a.remove('n0001'), writes: ['update c1-for-c2-0[n0000,n0002]'] },
      { name: 'removing a node never placed', change: (a) => a.remove('nope'), writes: [] },
      { name: 'a new node fills the slice with room', change: (a) => a.set(entry('n0100')), writes: ['update c1-for-c2-2[n0006,n0100]'] },
      {
        name: 'a new node goes into a slice written anyway',
        change: (a) => {
          a.remove('n0001');
          a.set(entry('n0100'));
        },
        writes: ['update c1-for-c2-0[n0000,n0002,n0100]'],
      },
      {
        name: 'a delete and a new node elsewhere: the hole is filled, one write',
        change: (a) => {
          a.remove('n0004');
          a.set(entry('n0200'));
          a.set(entry('n0201'));
        },
        writes: ['update c1-for-c2-1[n0003,n0005,n0200]', 'update c1-for-c2-2[n0006,n0201]'],
      },
      { name: 'the last node of a slice gone: the slice is deleted', change: (a) => a.remove('n0006'), writes: ['delete c1-for-c2-2'] },
      {
        name: 'a full set: a new slice under the lowest free index',
        change: (a) => ['n0300', 'n0301', 'n0302'].forEach((n) => a.set(entry(n))),
        writes: ['update c1-for-c2-2[n0006,n0300,n0301]', 'create c1-for-c2-3[n0302]'],
      },
    ];
    for (const c of cases) {
      await t.test(c.name, () => {
        const server = new Map<string, StoredSlice>();
        const assignment = SliceAssignment.adopt(OPTIONS, [], nodes('n', 7));
        applyAll(assignment, server);
        assert.deepEqual(assignment.plan(), [], 'nothing is due after the writes');
        c.change(assignment);
        assert.deepEqual(applyAll(assignment, server), c.writes);
        assert.deepEqual(assignment.plan(), []);
      });
    }
  });

  test('a freed index is used again by the next new slice', () => {
    const server = new Map<string, StoredSlice>();
    const assignment = SliceAssignment.adopt(OPTIONS, [], nodes('n', 9));
    applyAll(assignment, server);
    for (const n of ['n0000', 'n0001', 'n0002']) assignment.remove(n);
    assert.deepEqual(applyAll(assignment, server), ['delete c1-for-c2-0']);
    for (const n of ['n0010', 'n0011', 'n0012']) assignment.set(entry(n));
    assert.deepEqual(applyAll(assignment, server), ['create c1-for-c2-0[n0010,n0011,n0012]']);
  });

  test('adopting slices as they exist moves no node', async (t) => {
    const existing = [
      stored('c1-for-c2-1', '11', [entry('b'), entry('a')]),
      stored('c1-for-c2-0', '10', [entry('c'), entry('d'), entry('e')]),
    ];
    const cases: { name: string; existing: StoredSlice[]; desired: SliceEntry[]; writes: string[] }[] = [
      { name: 'the same nodes: nothing to write, whatever the order of entries', existing, desired: ['a', 'b', 'c', 'd', 'e'].map((n) => entry(n)), writes: [] },
      {
        name: 'a node gone while no one led: only its slice',
        existing,
        desired: ['a', 'b', 'c', 'e'].map((n) => entry(n)),
        writes: ['update c1-for-c2-0[c,e]'],
      },
      {
        name: 'a node changed while no one led',
        existing,
        desired: [entry('a', 7), ...['b', 'c', 'd', 'e'].map((n) => entry(n))],
        writes: ['update c1-for-c2-1[a,b]'],
      },
      {
        name: 'new nodes fill the slices with room, then new ones',
        existing,
        desired: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((n) => entry(n)),
        writes: ['update c1-for-c2-1[a,b,f]', 'create c1-for-c2-2[g,h]'],
      },
      {
        name: 'every node gone: every slice deleted',
        existing,
        desired: [],
        writes: ['delete c1-for-c2-0', 'delete c1-for-c2-1'],
      },
      {
        name: 'a node in two slices stays in the first by name',
        existing: [stored('c1-for-c2-0', '10', [entry('a'), entry('b')]), stored('c1-for-c2-1', '11', [entry('b'), entry('c')])],
        desired: ['a', 'b', 'c'].map((n) => entry(n)),
        writes: ['update c1-for-c2-1[c]'],
      },
      {
        name: 'a slice over the bound keeps maxEntries, the rest are placed again',
        existing: [stored('c1-for-c2-0', '10', ['a', 'b', 'c', 'd', 'e'].map((n) => entry(n)))],
        desired: ['a', 'b', 'c', 'd', 'e'].map((n) => entry(n)),
        writes: ['update c1-for-c2-0[a,b,c]', 'create c1-for-c2-1[d,e]'],
      },
      {
        name: 'an empty slice is deleted',
        existing: [stored('c1-for-c2-0', '10', [entry('a')]), stored('c1-for-c2-5', '15', [])],
        desired: [entry('a')],
        writes: ['delete c1-for-c2-5'],
      },
      {
        name: 'a slice someone else named is adopted, and new slices take free indexes',
        existing: [stored('hand-made', '10', ['a', 'b', 'c'].map((n) => entry(n))), stored('c1-for-c2-0', '11', ['d', 'e', 'f'].map((n) => entry(n)))],
        desired: ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => entry(n)),
        writes: ['create c1-for-c2-1[g]'],
      },
    ];
    for (const c of cases) {
      await t.test(c.name, () => {
        const assignment = SliceAssignment.adopt(OPTIONS, c.existing, c.desired);
        assert.deepEqual(assignment.plan().map(shown), c.writes);
      });
    }
  });

  test('a new leader adopting what the last one wrote writes nothing, and moves no node', () => {
    const server = new Map<string, StoredSlice>();
    const first = SliceAssignment.adopt({ source: 'c1', peer: 'c2' }, [], nodes('n', 1234));
    applyAll(first, server);
    for (const n of ['n0007', 'n0500', 'n0501', 'n1200']) first.remove(n);
    for (const n of nodes('m', 5)) first.set(n);
    applyAll(first, server);
    const before = first.slices();
    const second = SliceAssignment.adopt({ source: 'c1', peer: 'c2' }, [...server.values()], [...nodes('n', 1234).filter((e) => !['n0007', 'n0500', 'n0501', 'n1200'].includes(e.node)), ...nodes('m', 5)]);
    assert.deepEqual(second.plan(), []);
    assert.deepEqual(second.slices(), before);
  });

  test('a change while a write is in flight keeps the slice due', async (t) => {
    const cases: { name: string; before: (a: SliceAssignment) => void; planned: string[]; during: (a: SliceAssignment) => void; next: string[] }[] = [
      { name: 'nothing changes', before: (a) => a.remove('n0002'), planned: ['update c1-for-c2-0[n0000,n0001]'], during: () => undefined, next: [] },
      {
        name: 'an entry of the slice being updated changes',
        before: (a) => a.remove('n0002'),
        planned: ['update c1-for-c2-0[n0000,n0001]'],
        during: (a) => a.set(entry('n0001', 5)),
        next: ['update c1-for-c2-0[n0000,n0001]'],
      },
      {
        name: 'a new node goes into the slice being deleted',
        before: (a) => a.remove('n0003'),
        planned: ['delete c1-for-c2-1'],
        during: (a) => a.set(entry('n0009')),
        next: ['create c1-for-c2-1[n0009]'],
      },
    ];
    for (const c of cases) {
      await t.test(c.name, () => {
        const assignment = SliceAssignment.adopt(OPTIONS, [], nodes('n', 4));
        applyAll(assignment, new Map());
        c.before(assignment);
        const writes = assignment.plan();
        assert.deepEqual(writes.map(shown), c.planned);
        c.during(assignment);
        for (const write of writes) assignment.written(write, write.kind === 'delete' ? null : '500');
        assert.deepEqual(assignment.plan().map(shown), c.next);
      });
    }
  });

  test('a write that failed is planned again, and a stale plan does not mark a slice written', () => {
    const assignment = SliceAssignment.adopt(OPTIONS, [], nodes('n', 2));
    const failed = assignment.plan();
    assert.deepEqual(failed.map(shown), ['create c1-for-c2-0[n0000,n0001]']);
    assert.deepEqual(assignment.plan(), failed, 'nothing was written: the same write again');
    assignment.set(entry('n0002'));
    const [stale] = failed;
    assert.ok(stale);
    assignment.written(stale, '7');
    assert.deepEqual(assignment.plan().map(shown), ['update c1-for-c2-0[n0000,n0001,n0002]'], 'created at 7, then due for the entry added meanwhile');
    assert.equal(assignment.entryCount, 3);
  });
});
