import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoreEvent } from '../../lab/emulator/history.ts';
import { makeRecord, typeMetaPrefix } from '../../lab/emulator/object-record.ts';
import { parseLabelSelector } from '../../lab/emulator/selectors.ts';
import { bookmarkFrame, EncodedEvent, visibleAs } from '../../lab/emulator/watch-frames.ts';

const version = (rv: number, labels: Record<string, string>) =>
  makeRecord('', 'n1', 'uid-1', rv, { metadata: { name: 'n1', uid: 'uid-1', resourceVersion: String(rv), labels } });

const event = (type: StoreEvent['type'], before: Record<string, string> | null, after: Record<string, string>): StoreEvent => ({
  type,
  resourceVersion: 8,
  record: version(8, after),
  previous: before === null ? null : version(7, before),
});

describe('what a selecting watcher sees (cacheWatcher rules)', () => {
  const edge = parseLabelSelector('role=edge');
  const cases: [string, StoreEvent, string | null][] = [
    ['ADDED inside', event('ADDED', null, { role: 'edge' }), 'ADDED'],
    ['ADDED outside', event('ADDED', null, {}), null],
    ['MODIFIED staying inside', event('MODIFIED', { role: 'edge' }, { role: 'edge', x: '1' }), 'MODIFIED'],
    ['MODIFIED entering', event('MODIFIED', {}, { role: 'edge' }), 'ADDED'],
    ['MODIFIED leaving', event('MODIFIED', { role: 'edge' }, {}), 'DELETED'],
    ['MODIFIED staying outside', event('MODIFIED', {}, { x: '1' }), null],
    ['DELETED inside', event('DELETED', { role: 'edge' }, { role: 'edge' }), 'DELETED'],
    ['DELETED outside', event('DELETED', {}, {}), null],
  ];
  for (const [what, e, expected] of cases) {
    it(`${what} → ${expected ?? 'nothing'}`, () => assert.equal(visibleAs(e, edge), expected));
  }
  it('a watcher without selector sees every event as is', () => {
    assert.equal(visibleAs(event('MODIFIED', {}, {}), null), 'MODIFIED');
  });
});

const NODE_META = typeMetaPrefix('v1', 'Node');

describe('EncodedEvent', () => {
  it('encodes each frame once and shares the bytes', () => {
    const encoded = new EncodedEvent(event('MODIFIED', { role: 'edge' }, { role: 'edge' }));
    const first = encoded.frame('MODIFIED', NODE_META);
    assert.equal(encoded.frame('MODIFIED', NODE_META), first);
    const line = JSON.parse(first.toString()) as { type: string; object: { kind: string; apiVersion: string; metadata: { resourceVersion: string } } };
    assert.equal(line.type, 'MODIFIED');
    assert.equal(line.object.kind, 'Node');
    assert.equal(line.object.apiVersion, 'v1');
    assert.equal(line.object.metadata.resourceVersion, '8');
    assert.ok(first.toString().endsWith('}\n'));
    const other = encoded.frame('MODIFIED', typeMetaPrefix('clusterwire.io/v1alpha1', 'PeerSlice'));
    assert.notEqual(other, first, 'each API version has its own frame');
    assert.match(other.toString(), /^\{"type":"MODIFIED","object":\{"kind":"PeerSlice","apiVersion":"clusterwire.io\/v1alpha1","metadata"/);
  });

  it('sends a node leaving the selection as its previous content at the new resourceVersion', () => {
    const encoded = new EncodedEvent(event('MODIFIED', { role: 'edge' }, {}));
    const line = JSON.parse(encoded.frame('DELETED', NODE_META).toString()) as { object: { metadata: { labels: object; resourceVersion: string } } };
    assert.deepEqual(line.object.metadata.labels, { role: 'edge' });
    assert.equal(line.object.metadata.resourceVersion, '8');
  });

  it('bookmarks carry only the resourceVersion', () => {
    assert.deepEqual(JSON.parse(bookmarkFrame(NODE_META, 42).toString()), {
      type: 'BOOKMARK',
      object: { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: '42' } },
    });
  });
});
