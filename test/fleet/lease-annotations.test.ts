import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mirroredRemote, mirroredRemotesAnnotation, publishedPeer, publishedPeersAnnotation } from '../../src/fleet/lease-annotations.ts';

test('the leader says what it publishes and mirrors; a reader takes its own entry, and nothing from a malformed annotation', () => {
  const published = publishedPeersAnnotation(new Map([['c2', { synced: true }], ['c3', { synced: false }]]));
  assert.equal(published, '{"c2":{"synced":true},"c3":{"synced":false}}');
  assert.deepEqual(publishedPeer(published, 'c2'), { synced: true });
  assert.deepEqual(publishedPeer(published, 'c3'), { synced: false });
  assert.equal(publishedPeer(published, 'c4'), null);

  const mirrored = mirroredRemotesAnnotation(new Map([['c1', { source: 'slices', synced: true, since: '2026-01-01T00:00:00.000000Z' }]]));
  assert.deepEqual(mirroredRemote(mirrored, 'c1'), { source: 'slices', synced: true, since: '2026-01-01T00:00:00.000000Z' });

  const malformed: [string | undefined, string][] = [
    [undefined, 'absent'],
    ['not json', 'not JSON'],
    ['[{"synced":true}]', 'an array'],
    ['{"c1":true}', 'an entry that is not an object'],
    ['{"c1":{"synced":"yes"}}', 'synced not a boolean'],
    [`{"c1":{"synced":true},"pad":"${'x'.repeat(70_000)}"}`, 'over the size bound'],
  ];
  for (const [text, what] of malformed) {
    assert.equal(mirroredRemote(text, 'c1'), null, what);
    assert.equal(publishedPeer(text, 'c1'), null, what);
  }
  assert.deepEqual(mirroredRemote('{"c1":{"synced":false,"source":"etcd","since":7}}', 'c1'), { source: null, synced: false, since: null }, 'unknown values are dropped, not trusted');
});
