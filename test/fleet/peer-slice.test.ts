import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entryProblem, mirrorSets, sliceIndex, sliceName, sliceNameClash, storedSlice, type SliceEntry, type SliceSet } from '../../src/fleet/peer-slice.ts';

const KEY = `${'b'.repeat(42)}E=`;
const ok: SliceEntry = { node: 'n1', publicKey: KEY, endpoint: '198.18.0.2:51821', podCIDRs: ['10.2.1.0/24'] };

test('entryProblem says what the CRD schema refuses', async (t) => {
  const cases: { name: string; entry: SliceEntry; problem: RegExp | null }[] = [
    { name: 'a good entry', entry: ok, problem: null },
    { name: 'no pod CIDRs', entry: { ...ok, podCIDRs: [] }, problem: null },
    { name: 'a 253-character name', entry: { ...ok, node: 'n'.repeat(253) }, problem: null },
    { name: 'a 261-character endpoint', entry: { ...ok, endpoint: `${'h'.repeat(255)}:51820` }, problem: null },
    { name: 'an empty name', entry: { ...ok, node: '' }, problem: /node name is 0 characters/ },
    { name: 'a 254-character name', entry: { ...ok, node: 'n'.repeat(254) }, problem: /node name is 254 characters/ },
    { name: 'a key of 43 characters', entry: { ...ok, publicKey: KEY.slice(1) }, problem: /public key/ },
    { name: 'a key whose last character is not canonical', entry: { ...ok, publicKey: `${'b'.repeat(42)}F=` }, problem: /public key/ },
    { name: 'an empty endpoint', entry: { ...ok, endpoint: '' }, problem: /endpoint is 0 characters/ },
    { name: 'a 262-character endpoint', entry: { ...ok, endpoint: `${'h'.repeat(256)}:51820` }, problem: /endpoint is 262 characters/ },
    { name: 'three pod CIDRs', entry: { ...ok, podCIDRs: ['10.0.0.0/24', '10.0.1.0/24', 'fd00::/64'] }, problem: /3 pod CIDRs/ },
    { name: 'an empty pod CIDR', entry: { ...ok, podCIDRs: [''] }, problem: /pod CIDR is empty/ },
    { name: 'a 65-character pod CIDR', entry: { ...ok, podCIDRs: ['1'.repeat(65)] }, problem: /longer than 64/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const problem = entryProblem(c.entry);
      if (c.problem === null) assert.equal(problem, null);
      else assert.match(problem ?? '', c.problem);
    });
  }
});

test('slice names carry an index the publisher reads back, and no other name does', () => {
  assert.equal(sliceName('c1', 'c2', 0), 'c1-for-c2-0');
  assert.equal(sliceIndex('c1', 'c2', 'c1-for-c2-17'), 17);
  for (const name of ['c1-for-c2-', 'c1-for-c2-01', 'c1-for-c2-x', 'c1-for-c3-1', 'c10-for-c2-1', 'c1-for-c2-1-2', 'c1-for-c2-12345678901']) {
    assert.equal(sliceIndex('c1', 'c2', name), null, name);
  }
});

test('sliceNameClash finds two sets of one namespace whose slices would share names', () => {
  // A mirror's sets: published (local for each remote) and mirrored (each remote for local).
  const sets = (local: string, remotes: string[]): SliceSet[] => [
    ...remotes.map((remote) => mirrorSets(local, remote).published),
    ...remotes.map((remote) => mirrorSets(local, remote).mirrored),
  ];
  const cases: { name: string; sets: SliceSet[]; clash: [string, string] | null }[] = [
    { name: 'plain names', sets: sets('c1', ['c2', 'c3']), clash: null },
    { name: 'names with -for- that do not meet', sets: sets('a', ['b-for-c', 'for']), clash: null },
    { name: 'a-for-b-for-a, published and mirrored', sets: sets('a', ['b-for-a', 'a-for-b']), clash: ['a-for-b-for-a', 'a-for-b-for-a'] },
    { name: 'one set given twice', sets: [...sets('c1', ['c2']), mirrorSets('c1', 'c2').published], clash: ['c1-for-c2', 'c1-for-c2'] },
  ];
  for (const c of cases) {
    const clash = sliceNameClash(c.sets);
    const names = clash && (clash.map((set) => sliceName(set.source, set.peer, 0).slice(0, -2)) as [string, string]);
    assert.deepEqual(names, c.clash, c.name);
    if (clash) assert.notEqual(clash[0], clash[1], `${c.name}: two sets, not one found twice`);
  }
});

test('storedSlice keeps the valid, distinct entries of a listed slice', () => {
  const listed = {
    apiVersion: 'clusterwire.io/v1alpha1',
    kind: 'PeerSlice',
    metadata: { name: 'c1-for-c2-0', resourceVersion: '42', labels: {} },
    entries: [ok, { ...ok, endpoint: '198.18.0.9:1' }, { node: 'n2', publicKey: KEY, endpoint: 'x:1' }, { node: 'n3', publicKey: 5, endpoint: 'x:1' }, 'junk', { ...ok, node: 'n4', publicKey: 'short' }],
  };
  assert.deepEqual(storedSlice(listed), {
    name: 'c1-for-c2-0',
    resourceVersion: '42',
    entries: [ok, { node: 'n2', publicKey: KEY, endpoint: 'x:1', podCIDRs: [] }],
  });
  assert.deepEqual(storedSlice({ metadata: { name: 'x', resourceVersion: '1' } }), { name: 'x', resourceVersion: '1', entries: [] });
  assert.equal(storedSlice({ metadata: { name: 'x' } }), null);
  assert.equal(storedSlice('x'), null);
});
