import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RemoteNode } from '../../src/kube/remote-node.ts';
import { changeFor } from '../../src/kube/store-changes.ts';
import { SliceNodes } from '../../src/fleet/slice-nodes.ts';
import { projectEntry, projectSlice, sameSlice, type SliceProjection } from '../../src/fleet/slice-projection.ts';

const KEY = (c: string) => `${c.repeat(43)}=`;

function entry(node: string, key = 'A', endpoint = `198.18.1.1:51821`, podCIDRs = ['10.2.1.0/24']) {
  return { node, publicKey: KEY(key), endpoint, podCIDRs };
}

function slice(name: string, entries: unknown[]): SliceProjection {
  return projectSlice({ metadata: { name }, entries }) as SliceProjection;
}

describe('projectEntry: a slice entry bounded as a Node is', () => {
  const cases: [string, unknown, Partial<RemoteNode> | null][] = [
    ['a full entry', entry('n1'), { name: 'n1', publicKey: KEY('A'), endpoint: '198.18.1.1:51821', podCIDRs: ['10.2.1.0/24'], refused: null }],
    ['no pod CIDRs', { node: 'n1', publicKey: KEY('A'), endpoint: 'e:1' }, { podCIDRs: [], refused: null }],
    ['no key: kept, judged by the decision (missing annotation)', { node: 'n1', endpoint: 'e:1' }, { publicKey: null, refused: null }],
    ['a key over 44 characters', { ...entry('n1'), publicKey: 'k'.repeat(45) }, { publicKey: null, endpoint: null, refused: { reason: 'value-too-long', detail: `publicKey is 45 characters, more than 44: '${'k'.repeat(45)}'` } }],
    ['an endpoint over 261 characters', { ...entry('n1'), endpoint: 'e'.repeat(262) }, { refused: { reason: 'value-too-long', detail: `endpoint is 262 characters, more than 261: '${'e'.repeat(127)}…'` } }],
    ['three pod CIDRs', { ...entry('n1'), podCIDRs: ['a', 'b', 'c'] }, { refused: { reason: 'too-many-pod-cidrs', detail: 'podCIDRs has 3 entries, more than 2 (one per family)' } }],
    ['a pod CIDR over 64 characters', { ...entry('n1'), podCIDRs: ['c'.repeat(65)] }, { podCIDRs: [], refused: { reason: 'value-too-long', detail: `a pod CIDR is 65 characters, more than 64: '${'c'.repeat(65)}'` } }],
    ['no node name', { publicKey: KEY('A') }, null],
    ['a node name over 253 characters', entry('n'.repeat(254)), null],
    ['not an object', 'n1', null],
  ];
  for (const [name, item, expected] of cases) {
    test(name, () => {
      const node = projectEntry(item);
      if (expected === null) assert.equal(node, null);
      else assert.deepEqual(node && Object.fromEntries(Object.keys(expected).map((k) => [k, node[k as keyof RemoteNode]])), expected);
    });
  }
});

describe('projectSlice', () => {
  test('entries by name in order; unusable, repeated and past-100 entries are counted, not kept', () => {
    const entries = [entry('b'), entry('a'), { node: '' }, entry('b', 'B'), ...Array.from({ length: 100 }, (_, i) => entry(`x${i}`))];
    const projected = projectSlice({ metadata: { name: 's' }, entries }) as SliceProjection;
    assert.deepEqual([...projected.nodes.keys()].slice(0, 3), ['b', 'a', 'x0']);
    assert.equal(projected.nodes.size, 98);
    assert.equal(projected.nodes.get('b')?.publicKey, KEY('A'));
    assert.equal(projected.ignored, 6);
  });
  test('no name: null; no entries: an empty slice', () => {
    assert.equal(projectSlice({ entries: [] }), null);
    assert.equal(projectSlice({ metadata: { name: 's' } })?.nodes.size, 0);
  });
  test('sameSlice: equal entries in the same order only', () => {
    assert.equal(sameSlice(slice('s', [entry('a'), entry('b')]), slice('s', [entry('a'), entry('b')])), true);
    assert.equal(sameSlice(slice('s', [entry('a'), entry('b')]), slice('s', [entry('b'), entry('a')])), false);
    assert.equal(sameSlice(slice('s', [entry('a')]), slice('s', [entry('a', 'B')])), false);
    assert.equal(sameSlice(slice('s', [entry('a')]), slice('s', [entry('a'), entry('b')])), false);
  });
});

/** Applies slice store changes in order, as the informer would, and returns the node changes as text. */
function run(steps: [string, unknown[] | null][]): { log: string[]; index: SliceNodes } {
  const store = new Map<string, SliceProjection>();
  const index = new SliceNodes();
  const log: string[] = [];
  for (const [name, entries] of steps) {
    const current = store.get(name);
    let change;
    if (entries === null) {
      if (!current) continue;
      store.delete(name);
      change = { type: 'deleted' as const, key: name, value: current };
    } else {
      const next = slice(name, entries);
      change = changeFor(name, current, next, sameSlice);
      if (!change) continue;
      store.set(name, next);
    }
    for (const c of index.apply(change, store)) log.push(`${c.type} ${c.node.name} ${c.node.publicKey?.[0] ?? '-'}`);
  }
  return { log, index };
}

describe('SliceNodes: the node store of a remote, from changes of its slices', () => {
  const cases: [string, [string, unknown[] | null][], string[], string[]][] = [
    ['a new slice adds its nodes', [['s0', [entry('a'), entry('b')]]], ['added a A', 'added b A'], ['a', 'b']],
    ['one changed entry changes one node', [['s0', [entry('a'), entry('b')]], ['s0', [entry('a'), entry('b', 'B')]]], ['added a A', 'added b A', 'updated b B'], ['a', 'b']],
    ['an entry removed deletes its node', [['s0', [entry('a'), entry('b')]], ['s0', [entry('a')]]], ['added a A', 'added b A', 'deleted b A'], ['a']],
    ['a slice deleted deletes its nodes', [['s0', [entry('a')]], ['s1', [entry('b')]], ['s0', null]], ['added a A', 'added b A', 'deleted a A'], ['b']],
    [
      'a node moved between slices, the new one written first: no delete, no change',
      [['s0', [entry('a')]], ['s1', [entry('a')]], ['s0', []]],
      ['added a A'],
      ['a'],
    ],
    [
      'a node moved, the old one emptied first: deleted, then added again',
      [['s0', [entry('a')]], ['s0', []], ['s1', [entry('a')]]],
      ['added a A', 'deleted a A', 'added a A'],
      ['a'],
    ],
    [
      'a node in two slices: the first slice by name counts, on every reading node',
      [['s1', [entry('a', 'B')]], ['s0', [entry('a', 'C')]], ['s1', [entry('a', 'D')]], ['s0', null]],
      ['added a B', 'updated a C', 'updated a D'],
      ['a'],
    ],
  ];
  for (const [name, steps, expected, nodes] of cases) {
    test(name, () => {
      const { log, index } = run(steps);
      assert.deepEqual(log, expected);
      assert.deepEqual([...index.nodes.keys()].sort(), nodes);
    });
  }

  test('an unchanged entry keeps its projection object (the decision cache holds across slice writes)', () => {
    const store = new Map<string, SliceProjection>();
    const index = new SliceNodes();
    const first = slice('s0', [entry('a'), entry('b')]);
    store.set('s0', first);
    index.apply({ type: 'added', key: 's0', value: first }, store);
    const kept = index.nodes.get('a');
    const second = slice('s0', [entry('a'), entry('b', 'B')]);
    store.set('s0', second);
    const changes = index.apply({ type: 'updated', key: 's0', value: second, previous: first }, store);
    assert.equal(changes.length, 1);
    assert.equal(index.nodes.get('a'), kept);
  });
});
