import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeFor, diffStores } from '../../src/kube/node-changes.ts';
import type { RemoteNode } from '../../src/kube/remote-node.ts';

function node(name: string, patch: Partial<RemoteNode> = {}): RemoteNode {
  return { name, podCIDRs: ['10.4.0.0/24'], refused: null, publicKey: 'K', endpoint: '198.18.0.1:51820', ...patch };
}

test('changeFor reports additions and real changes only', () => {
  assert.deepEqual(changeFor(undefined, node('a')), { type: 'added', node: node('a') });
  assert.equal(changeFor(node('a'), node('a')), null);
  for (const patch of [{ publicKey: 'K2' }, { endpoint: null }, { podCIDRs: ['10.4.0.0/24', 'fd00::/64'] }, { refused: { reason: 'value-too-long' as const, detail: 'x' } }]) {
    const next = node('a', patch);
    assert.deepEqual(changeFor(node('a'), next), { type: 'updated', node: next, previous: node('a') }, JSON.stringify(patch));
  }
});

test('diffStores: list order for adds and updates, then deletions', () => {
  const current = new Map([node('a'), node('b'), node('c')].map((n) => [n.name, n]));
  const listed = new Map([node('d'), node('a'), node('c', { publicKey: 'NEW' })].map((n) => [n.name, n]));
  assert.deepEqual(diffStores(current, listed), [
    { type: 'added', node: node('d') },
    { type: 'updated', node: node('c', { publicKey: 'NEW' }), previous: node('c') },
    { type: 'deleted', node: node('b') },
  ]);
  assert.deepEqual(diffStores(listed, listed), []);
  assert.deepEqual(diffStores(new Map(), new Map()), []);
});
