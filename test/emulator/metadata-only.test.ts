import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { realisticNode } from '../../lab/emulator/nodes.ts';
import { api, openWatch, openWatchAt, peerSliceCrd, smallNode, startTestEmulator, type WireList, type WireStatus } from './helpers.ts';

/*
 * `Accept: application/json;as=PartialObjectMetadata(List);g=meta.k8s.io;v=v1`
 * as kube-apiserver serves it (endpoints/handlers/response.go): objects
 * reduced to kind PartialObjectMetadata, apiVersion meta.k8s.io/v1 and
 * their whole metadata; 406 when the form does not fit the request.
 */

const AS = (kind: string, version = 'v1') => `application/json;as=${kind};g=meta.k8s.io;v=${version}`;

interface Partial {
  kind: string;
  apiVersion: string;
  metadata: Record<string, unknown>;
  [field: string]: unknown;
}

describe('PartialObjectMetadata', () => {
  it('lists as PartialObjectMetadataList: metadata only, pages and resourceVersion as the full list', async (t) => {
    const emulator = await startTestEmulator(t);
    for (const name of ['a', 'b', 'c']) emulator.createNode(realisticNode({ name, podCIDR: '10.4.1.0/24', annotations: { 'x/y': name } }));
    const full = await api<WireList>(emulator, 'GET', '/api/v1/nodes?limit=2');
    const partial = await api<{ kind: string; apiVersion: string; metadata: WireList['metadata']; items: Partial[] }>(emulator, 'GET', '/api/v1/nodes?limit=2', {
      accept: AS('PartialObjectMetadataList'),
    });
    assert.equal(partial.status, 200);
    assert.equal(partial.body.kind, 'PartialObjectMetadataList');
    assert.equal(partial.body.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(partial.body.metadata, full.body.metadata);
    assert.deepEqual(
      partial.body.items,
      full.body.items.map((node) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: node.metadata })),
    );
    t.diagnostic(`a page of 2 realistic nodes: ${full.text.length} bytes whole, ${partial.text.length} as metadata`);
    const rest = await api<{ items: Partial[] }>(emulator, 'GET', `/api/v1/nodes?limit=2&continue=${encodeURIComponent(full.body.metadata.continue ?? '')}`, {
      accept: AS('PartialObjectMetadataList', 'v1beta1'),
    });
    assert.deepEqual(rest.body.items.map((item) => [item.apiVersion, item.metadata.name]), [['meta.k8s.io/v1beta1', 'c']]);
  });

  it('refuses the object form for a list and the list form for an object, with 406 and kube\'s messages', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.createNode(smallNode('a'));
    const list = await api<WireStatus>(emulator, 'GET', '/api/v1/nodes', { accept: AS('PartialObjectMetadata') });
    assert.equal(list.status, 406);
    assert.deepEqual([list.body.reason, list.body.message], ['NotAcceptable', 'you requested PartialObjectMetadata, but the requested object is a list (*core.NodeList)']);
    const get = await api<WireStatus>(emulator, 'GET', '/api/v1/nodes/a', { accept: AS('PartialObjectMetadataList') });
    assert.equal(get.status, 406);
    assert.equal(get.body.message, 'you requested PartialObjectMetadataList, but the requested object is not a list (*core.Node)');
    for (const accept of [AS('PartialObjectMetadata', 'v2'), 'application/json;as=PartialObjectMetadata;g=example.com;v=v1', AS('Unknown')]) {
      const refused = await api<WireStatus>(emulator, 'GET', '/api/v1/nodes/a', { accept });
      assert.equal(refused.status, 406, accept);
      assert.equal(refused.body.message, 'only the following media types are accepted: application/json');
    }
  });

  it('gets an object, and answers a write, as PartialObjectMetadata', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.createNode(smallNode('a', { podCIDR: '10.4.1.0/24' }));
    const get = await api<Partial>(emulator, 'GET', '/api/v1/nodes/a', { accept: AS('PartialObjectMetadata') });
    const whole = await api(emulator, 'GET', '/api/v1/nodes/a');
    assert.deepEqual(get.body, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: whole.body.metadata });
    const patched = await api<Partial>(emulator, 'PATCH', '/api/v1/nodes/a', {
      accept: AS('PartialObjectMetadata'),
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { k: 'v' } } },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.kind, 'PartialObjectMetadata');
    assert.deepEqual(patched.body.metadata.annotations, { k: 'v' });
    assert.equal(patched.body.spec, undefined);
    // The list form does not fit an object: the write is done, its answer refused, as kube transforms after writing.
    const refused = await api<WireStatus>(emulator, 'PATCH', '/api/v1/nodes/a', {
      accept: AS('PartialObjectMetadataList'),
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { k: 'w' } } },
    });
    assert.equal(refused.status, 406);
    assert.equal((emulator.getNode('a') as { metadata: { annotations: Record<string, string> } }).metadata.annotations.k, 'w');
  });

  it('watches as PartialObjectMetadata: every event and bookmark in metadata form, initial events and selectors included', async (t) => {
    const emulator = await startTestEmulator(t, { bookmarkIntervalMs: 100 });
    emulator.createNode(smallNode('a', { labels: { role: 'x' } }));
    const rv = (await api<WireList>(emulator, 'GET', '/api/v1/nodes')).body.metadata.resourceVersion;
    const watch = await openWatchAt(emulator, '/api/v1/nodes', `resourceVersion=${rv}&allowWatchBookmarks=true`, t, undefined, AS('PartialObjectMetadata'));
    const whole = await openWatch(emulator, `resourceVersion=${rv}`, t);
    emulator.createNode(smallNode('b', { podCIDR: '10.4.2.0/24' }));
    emulator.patchNode('b', { status: { conditions: [{ type: 'Ready', status: 'False', lastHeartbeatTime: '2025-01-01T00:01:00Z' }] } });
    emulator.deleteNode('b');
    // Bookmarks come every 100 ms: one may come before any of these on a busy machine.
    const change = () => watch.until((event) => event.type !== 'BOOKMARK');
    const events = [await change(), await change(), await change()];
    const wholeEvents = [await whole.next(), await whole.next(), await whole.next()];
    assert.deepEqual(
      events,
      wholeEvents.map((event) => ({ type: event.type, object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: event.object.metadata } })),
    );
    const bookmark = await watch.until((event) => event.type === 'BOOKMARK', 2000);
    assert.deepEqual(Object.keys(bookmark.object), ['kind', 'apiVersion', 'metadata']);
    assert.equal(bookmark.object.kind, 'PartialObjectMetadata');

    const initial = await openWatchAt(emulator, '/api/v1/nodes', 'resourceVersion=0&labelSelector=role%3Dx', t, undefined, AS('PartialObjectMetadata'));
    const added = await initial.next();
    assert.deepEqual([added.type, added.object.kind, added.object.metadata.name, added.object.spec], ['ADDED', 'PartialObjectMetadata', 'a', undefined]);
    emulator.patchNode('a', { metadata: { labels: { role: null } } });
    const left = await initial.next();
    assert.deepEqual([left.type, left.object.kind, left.object.metadata.name], ['DELETED', 'PartialObjectMetadata', 'a']);
  });

  it('a watch asked for the list form gets whole objects (kube cannot transform them and sends them as they are)', async (t) => {
    const emulator = await startTestEmulator(t);
    const rv = (await api<WireList>(emulator, 'GET', '/api/v1/nodes')).body.metadata.resourceVersion;
    const watch = await openWatchAt(emulator, '/api/v1/nodes', `resourceVersion=${rv}`, t, undefined, AS('PartialObjectMetadataList'));
    emulator.createNode(smallNode('a', { podCIDR: '10.4.1.0/24' }));
    const event = await watch.next();
    assert.equal(event.object.kind, 'Node');
    assert.deepEqual(event.object.spec.podCIDR, '10.4.1.0/24');
  });

  it('lets a node get its pod CIDRs once and never change them, as kube validates (what metadata-only clients rely on)', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.createNode(smallNode('a'));
    const patch = (spec: object) => api<WireStatus>(emulator, 'PATCH', '/api/v1/nodes/a', { contentType: 'application/merge-patch+json', body: { spec } });
    assert.equal((await patch({ podCIDR: '10.4.1.0/24', podCIDRs: ['10.4.1.0/24'] })).status, 200, 'from "" to valid');
    assert.equal((await patch({ unschedulable: true })).status, 200, 'other spec fields still change');
    for (const spec of [{ podCIDR: '10.4.2.0/24', podCIDRs: ['10.4.2.0/24'] }, { podCIDRs: ['10.4.1.0/24', 'fd00::/64'] }, { podCIDR: null, podCIDRs: null }]) {
      const refused = await patch(spec);
      assert.equal(refused.status, 422, JSON.stringify(spec));
      assert.equal(refused.body.message, 'Node "a" is invalid: spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid');
    }
  });

  it('serves custom resources in metadata form too', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.create(await peerSliceCrd());
    emulator.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fleet' } });
    emulator.create({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', metadata: { name: 's', namespace: 'fleet', labels: { a: 'b' } }, entries: [] });
    const list = await api<{ kind: string; items: Partial[] }>(emulator, 'GET', '/apis/clusterwire.io/v1alpha1/namespaces/fleet/peerslices', { accept: AS('PartialObjectMetadataList') });
    assert.equal(list.body.kind, 'PartialObjectMetadataList');
    assert.deepEqual(list.body.items.map((item) => [item.kind, item.metadata.name, item.metadata.labels, item.entries]), [['PartialObjectMetadata', 's', { a: 'b' }, undefined]]);
    const refused = await api<WireStatus>(emulator, 'GET', '/apis/clusterwire.io/v1alpha1/namespaces/fleet/peerslices', { accept: AS('PartialObjectMetadata') });
    assert.equal(refused.body.message, 'you requested PartialObjectMetadata, but the requested object is a list (*unstructured.UnstructuredList)');
  });
});
