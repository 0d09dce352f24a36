import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeChange, sameProjection } from '../../src/kube/node-changes.ts';
import { objectPath } from '../../src/kube/object-path.ts';
import type { RemoteNode } from '../../src/kube/remote-node.ts';
import { changeFor, diffStores } from '../../src/kube/store-changes.ts';

function node(name: string, patch: Partial<RemoteNode> = {}): RemoteNode {
  return { name, podCIDRs: ['10.4.0.0/24'], refused: null, publicKey: 'K', endpoint: '198.18.0.1:51820', ...patch };
}

test('changeFor reports additions and real changes only', () => {
  assert.deepEqual(changeFor('a', undefined, node('a'), sameProjection), { type: 'added', key: 'a', value: node('a') });
  assert.equal(changeFor('a', node('a'), node('a'), sameProjection), null);
  const patches: Partial<RemoteNode>[] = [
    { publicKey: 'K2' },
    { endpoint: null },
    { podCIDRs: ['10.4.0.0/24', 'fd00::/64'] },
    { refused: { reason: 'value-too-long', detail: 'x' } },
    // Another object of the same name: its CIDRs must not be taken for the old one's.
    { uid: 'u2' },
  ];
  for (const patch of patches) {
    const next = node('a', patch);
    assert.deepEqual(changeFor('a', node('a'), next, sameProjection), { type: 'updated', key: 'a', value: next, previous: node('a') }, JSON.stringify(patch));
  }
});

test('diffStores: list order for adds and updates, then deletions', () => {
  const store = (...nodes: RemoteNode[]) => new Map(nodes.map((n) => [n.name, n]));
  const current = store(node('a'), node('b'), node('c'));
  const listed = store(node('d'), node('a'), node('c', { publicKey: 'NEW' }));
  assert.deepEqual(diffStores(current, listed, sameProjection), [
    { type: 'added', key: 'd', value: node('d') },
    { type: 'updated', key: 'c', value: node('c', { publicKey: 'NEW' }), previous: node('c') },
    { type: 'deleted', key: 'b', value: node('b') },
  ]);
  assert.deepEqual(diffStores(listed, listed, sameProjection), []);
  assert.deepEqual(diffStores(new Map(), new Map(), sameProjection), []);
});

test('nodeChange: a store change as peering reads it', () => {
  assert.deepEqual(nodeChange({ type: 'added', key: 'a', value: node('a') }), { type: 'added', node: node('a') });
  assert.deepEqual(nodeChange({ type: 'updated', key: 'a', value: node('a', { publicKey: 'K2' }), previous: node('a') }), {
    type: 'updated',
    node: node('a', { publicKey: 'K2' }),
    previous: node('a'),
  });
  assert.deepEqual(nodeChange({ type: 'deleted', key: 'a', value: node('a') }), { type: 'deleted', node: node('a') });
});

test('objectPath: an object of a collection, under its namespace when the collection spans namespaces', () => {
  assert.equal(objectPath('/api/v1/nodes', null, 'n1'), '/api/v1/nodes/n1');
  assert.equal(objectPath('/api/v1/nodes', '', 'a/b'), '/api/v1/nodes/a%2Fb');
  assert.equal(objectPath('/apis/clusterwire.io/v1alpha1/namespaces/fleet/peerslices', 'fleet', 's1'), '/apis/clusterwire.io/v1alpha1/namespaces/fleet/peerslices/s1');
  assert.equal(objectPath('/apis/clusterwire.io/v1alpha1/peerslices', 'fleet', 's1'), '/apis/clusterwire.io/v1alpha1/namespaces/fleet/peerslices/s1');
  assert.equal(objectPath('/api/v1/configmaps', 'kube-system', 'x'), '/api/v1/namespaces/kube-system/configmaps/x');
});
