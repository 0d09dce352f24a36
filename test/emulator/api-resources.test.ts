import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Emulator } from '../../lab/emulator/emulator.ts';
import { KubeRequestError } from '../../src/kube/kube-request-error.ts';
import { api, openWatchAt, peerSliceCrd, projectClient, projectWatch, suiteEmulator, type WireStatus } from './helpers.ts';

/** Objects of any kind, as tests read them. */
interface Wire {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    generation?: number;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    finalizers?: string[];
  };
  [field: string]: unknown;
}
interface WireList {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; continue?: string };
  items: Wire[];
}
interface InvalidStatus extends WireStatus {
  details: { name: string; group?: string; kind: string; causes: { reason: string; message: string; field: string }[] };
}

const SLICES = '/apis/clusterwire.io/v1alpha1';
/** WireGuard-shaped public keys (base64 of 32 bytes: the last character before '=' is one of 16). */
const KEY = (n: number) => `${String.fromCharCode(65 + (n % 26)).repeat(42)}A=`;

function slice(name: string, namespace: string, labels: Record<string, string>, nodes = 1): object {
  return {
    apiVersion: 'clusterwire.io/v1alpha1',
    kind: 'PeerSlice',
    metadata: { name, namespace, labels },
    entries: Array.from({ length: nodes }, (_, i) => ({ node: `${name}-node-${i}`, publicKey: KEY(i % 26), endpoint: `198.18.1.${i + 1}:51820`, podCIDRs: [`10.4.${i}.0/24`] })),
  };
}

async function created<T = Wire>(emulator: Emulator, path: string, body: object): Promise<T> {
  const response = await api<T>(emulator, 'POST', path, { body });
  assert.equal(response.status, 201, `POST ${path}: ${response.text}`);
  return response.body;
}

async function namespace(emulator: Emulator, name: string): Promise<void> {
  await created(emulator, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

function rejects(status: number, reason: string): (error: unknown) => boolean {
  return (error) => error instanceof KubeRequestError && error.status === status && error.reason === reason;
}

describe('custom resources over HTTPS (PeerSlices), with the project client', () => {
  const started = suiteEmulator({ bookmarkIntervalMs: 200 });
  let emulator: Emulator;
  before(async () => {
    emulator = started();
    await created(emulator, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', await peerSliceCrd());
  });

  it('serves a CRD once it is established, in discovery too', async () => {
    const crd = await api<Wire & { status: { conditions: { type: string; status: string }[]; storedVersions: string[] } }>(
      emulator,
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/peerslices.clusterwire.io',
    );
    assert.deepEqual(crd.body.status.conditions.map((c) => `${c.type}=${c.status}`), ['NamesAccepted=True', 'Established=True']);
    assert.deepEqual(crd.body.status.storedVersions, ['v1alpha1']);
    const resources = await api<{ resources: { name: string; namespaced: boolean; kind: string }[] }>(emulator, 'GET', SLICES);
    assert.deepEqual(resources.body.resources.map((r) => [r.name, r.namespaced, r.kind]), [['peerslices', true, 'PeerSlice']]);
    const aggregated = await api<{ items: { metadata: { name: string } }[] }>(emulator, 'GET', '/apis', {
      accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
    });
    assert.equal(aggregated.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    assert.ok(aggregated.body.items.some((g) => g.metadata.name === 'clusterwire.io'));
    const legacy = await api<{ groups: { name: string }[] }>(emulator, 'GET', '/apis');
    assert.ok(legacy.body.groups.some((g) => g.name === 'clusterwire.io'));
  });

  it('creates, lists by label in a namespace or across all, pages, gets, patches and deletes slices', async (t) => {
    await namespace(emulator, 'c1-slices');
    await namespace(emulator, 'c3-slices');
    const client = await projectClient(t, emulator);
    for (let i = 0; i < 3; i++) await created(emulator, `${SLICES}/namespaces/c1-slices/peerslices`, slice(`c2-for-c1-${i}`, 'c1-slices', { 'clusterwire.io/cluster': 'c2', 'clusterwire.io/for-cluster': 'c1' }, 2));
    await created(emulator, `${SLICES}/namespaces/c1-slices/peerslices`, slice('c4-for-c1-0', 'c1-slices', { 'clusterwire.io/cluster': 'c4', 'clusterwire.io/for-cluster': 'c1' }));
    await created(emulator, `${SLICES}/namespaces/c3-slices/peerslices`, slice('c2-for-c3-0', 'c3-slices', { 'clusterwire.io/cluster': 'c2', 'clusterwire.io/for-cluster': 'c3' }));

    const fromC2 = (await client.json({ method: 'GET', path: `${SLICES}/namespaces/c1-slices/peerslices`, query: { labelSelector: 'clusterwire.io/cluster=c2' } })) as WireList;
    assert.equal(fromC2.kind, 'PeerSliceList');
    assert.equal(fromC2.apiVersion, 'clusterwire.io/v1alpha1');
    assert.deepEqual(fromC2.items.map((s) => s.metadata.name), ['c2-for-c1-0', 'c2-for-c1-1', 'c2-for-c1-2']);
    assert.equal(fromC2.items[0]?.kind, 'PeerSlice', 'items of custom resource lists carry their kind');
    const everywhere = (await client.json({ method: 'GET', path: `${SLICES}/peerslices`, query: { labelSelector: 'clusterwire.io/cluster=c2' } })) as WireList;
    assert.deepEqual(everywhere.items.map((s) => `${s.metadata.namespace}/${s.metadata.name}`), ['c1-slices/c2-for-c1-0', 'c1-slices/c2-for-c1-1', 'c1-slices/c2-for-c1-2', 'c3-slices/c2-for-c3-0']);
    const byName = (await client.json({ method: 'GET', path: `${SLICES}/peerslices`, query: { fieldSelector: 'metadata.namespace=c3-slices' } })) as WireList;
    assert.deepEqual(byName.items.map((s) => s.metadata.name), ['c2-for-c3-0']);

    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = (await client.json({ method: 'GET', path: `${SLICES}/namespaces/c1-slices/peerslices`, query: { limit: '3', continue: token } })) as WireList;
      names.push(...page.items.map((s) => s.metadata.name));
      token = page.metadata.continue;
    } while (token !== undefined);
    assert.deepEqual(names, ['c2-for-c1-0', 'c2-for-c1-1', 'c2-for-c1-2', 'c4-for-c1-0']);

    const one = (await client.json({ method: 'GET', path: `${SLICES}/namespaces/c1-slices/peerslices/c2-for-c1-1` })) as Wire;
    assert.equal(one.metadata.generation, 1);
    const patched = (await client.json({
      method: 'PATCH',
      path: `${SLICES}/namespaces/c1-slices/peerslices/c2-for-c1-1`,
      body: { contentType: 'application/merge-patch+json', value: { metadata: { resourceVersion: one.metadata.resourceVersion }, entries: [{ node: 'n', publicKey: KEY(1) }] } },
    })) as Wire & { entries: unknown[] };
    assert.equal(patched.entries.length, 1);
    assert.equal(patched.metadata.generation, 2, 'a change outside metadata bumps generation');
    const relabelled = (await client.json({
      method: 'PATCH',
      path: `${SLICES}/namespaces/c1-slices/peerslices/c2-for-c1-1`,
      body: { contentType: 'application/json-patch+json', value: [{ op: 'add', path: '/metadata/labels/extra', value: 'yes' }] },
    })) as Wire;
    assert.equal(relabelled.metadata.generation, 2, 'metadata changes do not');
    await assert.rejects(
      client.json({
        method: 'PATCH',
        path: `${SLICES}/namespaces/c1-slices/peerslices/c2-for-c1-1`,
        body: { contentType: 'application/merge-patch+json', value: { metadata: { resourceVersion: one.metadata.resourceVersion }, entries: [] } },
      }),
      rejects(409, 'Conflict'),
      'a stale metadata.resourceVersion is a 409',
    );
    await assert.rejects(
      client.json({ method: 'PATCH', path: `${SLICES}/namespaces/c1-slices/peerslices/c2-for-c1-1`, body: { contentType: 'application/strategic-merge-patch+json', value: {} } }),
      rejects(415, 'UnsupportedMediaType'),
    );
    await assert.rejects(client.json({ method: 'GET', path: `${SLICES}/namespaces/c3-slices/peerslices/c2-for-c1-1` }), rejects(404, 'NotFound'));

    const c4 = (await client.json({ method: 'GET', path: `${SLICES}/namespaces/c1-slices/peerslices/c4-for-c1-0` })) as Wire;
    const precondition = (resourceVersion: string) => ({ body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: c4.metadata.uid, resourceVersion } } });
    const refused = await api<WireStatus>(emulator, 'DELETE', `${SLICES}/namespaces/c1-slices/peerslices/c4-for-c1-0`, precondition('1'));
    assert.equal(refused.status, 409);
    assert.equal(refused.body.message, `Operation cannot be fulfilled on peerslices.clusterwire.io "c4-for-c1-0": Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: ${c4.metadata.resourceVersion}`);
    const deleted = await api<WireStatus>(emulator, 'DELETE', `${SLICES}/namespaces/c1-slices/peerslices/c4-for-c1-0`, precondition(c4.metadata.resourceVersion));
    assert.deepEqual(deleted.body.details, { name: 'c4-for-c1-0', group: 'clusterwire.io', kind: 'peerslices', uid: (deleted.body.details as { uid: string }).uid });
  });

  it('answers 409 AlreadyExists, 404 for a missing namespace, and names objects from generateName', async () => {
    await namespace(emulator, 'gen');
    const path = `${SLICES}/namespaces/gen/peerslices`;
    await created(emulator, path, slice('one', 'gen', {}));
    const again = await api<WireStatus>(emulator, 'POST', path, { body: slice('one', 'gen', {}) });
    assert.equal(again.status, 409);
    assert.equal(again.body.message, 'peerslices.clusterwire.io "one" already exists');
    const nowhere = await api<WireStatus>(emulator, 'POST', `${SLICES}/namespaces/nope/peerslices`, { body: slice('x', 'nope', {}) });
    assert.equal(nowhere.status, 404);
    assert.equal(nowhere.body.message, 'namespaces "nope" not found');
    const elsewhere = await api<WireStatus>(emulator, 'POST', path, { body: slice('x', 'other', {}) });
    assert.equal(elsewhere.status, 400);
    const generated = await created(emulator, path, { ...slice('', 'gen', {}), metadata: { generateName: 'c2-for-c1-', namespace: 'gen' } });
    assert.match(generated.metadata.name, /^c2-for-c1-[a-z0-9]{5}$/);
    const unconditional = await api<WireStatus>(emulator, 'PUT', `${path}/one`, { body: slice('one', 'gen', { x: 'y' }) });
    assert.equal(unconditional.status, 422, 'custom resources need metadata.resourceVersion on update');
    assert.equal(unconditional.body.message, 'PeerSlice.clusterwire.io "one" is invalid: metadata.resourceVersion: Invalid value: "0x0": must be specified for an update');
  });

  it('validates against the schema (422 with causes) and prunes unknown fields (warning, or 400 when strict)', async () => {
    await namespace(emulator, 'checked');
    const path = `${SLICES}/namespaces/checked/peerslices`;
    const bad = { ...slice('bad', 'checked', {}, 101) } as { entries: { publicKey: string }[] };
    (bad.entries[0] as { publicKey: string }).publicKey = 'short';
    const invalid = await api<InvalidStatus>(emulator, 'POST', path, { body: bad });
    assert.equal(invalid.status, 422);
    assert.equal(invalid.body.reason, 'Invalid');
    assert.equal(
      invalid.body.message,
      "PeerSlice.clusterwire.io \"bad\" is invalid: [entries: Too many: 101: must have at most 100 items, entries[0].publicKey: Invalid value: \"short\": entries[0].publicKey in body should match '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$']",
    );
    assert.deepEqual(invalid.body.details.causes.map((c) => [c.reason, c.field]), [
      ['FieldValueTooMany', 'entries'],
      ['FieldValueInvalid', 'entries[0].publicKey'],
    ]);
    const noEntries = await api<InvalidStatus>(emulator, 'POST', path, { body: { apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', metadata: { name: 'empty' } } });
    assert.equal(noEntries.body.message, 'PeerSlice.clusterwire.io "empty" is invalid: entries: Required value');

    const extra = { ...slice('extra', 'checked', {}), spec: { nope: true } };
    const warned = await api<Wire>(emulator, 'POST', path, { body: extra });
    assert.equal(warned.status, 201);
    assert.equal(warned.headers.warning, '299 - "unknown field \\"spec\\""');
    assert.equal(warned.body.spec, undefined, 'pruned');
    const strict = await api<WireStatus>(emulator, 'POST', `${path}?fieldValidation=Strict`, { body: { ...extra, metadata: { name: 'strict' } } });
    assert.equal(strict.status, 400);
    assert.equal(strict.body.message, 'strict decoding error: unknown field "spec"');
  });

  it('watches a namespace by label from a list resourceVersion, with bookmarks, through the project client', async (t) => {
    await namespace(emulator, 'watched');
    const client = await projectClient(t, emulator);
    const path = `${SLICES}/namespaces/watched/peerslices`;
    await created(emulator, path, slice('before', 'watched', { 'clusterwire.io/cluster': 'c2' }));
    const list = (await client.json({ method: 'GET', path, query: { labelSelector: 'clusterwire.io/cluster=c2' } })) as WireList;
    const watch = await projectWatch(t, client, path, { resourceVersion: list.metadata.resourceVersion, labelSelector: 'clusterwire.io/cluster=c2', allowWatchBookmarks: 'true' });
    await created(emulator, path, slice('other-cluster', 'watched', { 'clusterwire.io/cluster': 'c9' }));
    await created(emulator, `${SLICES}/namespaces/c1-slices/peerslices`, slice('other-namespace', 'c1-slices', { 'clusterwire.io/cluster': 'c2' }));
    await created(emulator, path, slice('after', 'watched', { 'clusterwire.io/cluster': 'c2' }));
    await client.json({ method: 'PATCH', path: `${path}/before`, body: { contentType: 'application/merge-patch+json', value: { metadata: { labels: { 'clusterwire.io/cluster': 'c9' } } } } });
    const seen = [await watch.until((e) => e.type !== 'BOOKMARK'), await watch.until((e) => e.type !== 'BOOKMARK')];
    assert.deepEqual(seen.map((e) => `${e.type} ${e.object.metadata.name} ${e.object.kind ?? ''}`), ['ADDED after PeerSlice', 'DELETED before PeerSlice']);
    const bookmark = await watch.until((e) => e.type === 'BOOKMARK', 2000);
    assert.deepEqual(Object.keys(bookmark.object.metadata), ['resourceVersion']);
    assert.equal(bookmark.object.apiVersion, 'clusterwire.io/v1alpha1');
    emulator.expireWatches();
    const expired = await watch.until((e) => e.type !== 'BOOKMARK');
    assert.deepEqual([expired.type, expired.object.code], ['ERROR', 410]);
    await watch.ended;
    const resumed = await projectWatch(t, client, path, { resourceVersion: list.metadata.resourceVersion });
    const refused = await resumed.next();
    assert.deepEqual([refused.type, refused.object.code, refused.object.reason], ['ERROR', 410, 'Expired'], 'a resume from before the compaction is refused');
  });

  it('deleting a CRD deletes its objects, ends their watches and stops serving it', async (t) => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.example.io' },
      spec: {
        group: 'example.io',
        scope: 'Cluster',
        names: { plural: 'gadgets', kind: 'Gadget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    };
    await created(emulator, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    await created(emulator, '/apis/example.io/v1/gadgets', { apiVersion: 'example.io/v1', kind: 'Gadget', metadata: { name: 'g1' }, anything: { goes: [1] } });
    const watch = await openWatchAt(emulator, '/apis/example.io/v1/gadgets', 'resourceVersion=0', t);
    assert.equal((await watch.next()).object.metadata.name, 'g1');
    const deleted = await api<Wire>(emulator, 'DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.io');
    assert.equal(deleted.status, 200);
    assert.ok(deleted.body.metadata.deletionTimestamp, 'answered with the CRD marked for deletion');
    assert.deepEqual(deleted.body.metadata.finalizers, ['customresourcecleanup.apiextensions.k8s.io']);
    const conditions = (deleted.body.status as { conditions: { type: string; status: string }[] }).conditions;
    assert.deepEqual(conditions.map((c) => `${c.type}=${c.status}`), ['NamesAccepted=True', 'Established=True', 'Terminating=True']);
    const gone = await watch.next();
    assert.deepEqual([gone.type, gone.object.metadata.name], ['DELETED', 'g1']);
    await watch.ended;
    assert.equal((await api(emulator, 'GET', '/apis/example.io/v1/gadgets')).status, 404);
    assert.equal((await api(emulator, 'GET', '/apis/example.io/v1')).status, 404);
    assert.equal((await api(emulator, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.io')).status, 404);
  });

  it('serves the status subresource a CRD declares: create drops status, /status writes only status, generation follows spec', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.io' },
      spec: {
        group: 'example.io',
        scope: 'Namespaced',
        names: { plural: 'widgets', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: { spec: { type: 'object', properties: { size: { type: 'integer', default: 1 } } }, status: { type: 'object', properties: { ready: { type: 'boolean' } } } },
              },
            },
          },
        ],
      },
    };
    await created(emulator, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    const path = '/apis/example.io/v1/namespaces/default/widgets';
    const widget = await created(emulator, path, { apiVersion: 'example.io/v1', kind: 'Widget', metadata: { name: 'w' }, spec: {}, status: { ready: true } });
    assert.deepEqual([widget.spec, widget.status, widget.metadata.generation], [{ size: 1 }, undefined, 1]);
    const status = await api<Wire>(emulator, 'PUT', `${path}/w/status`, { body: { ...widget, spec: { size: 9 }, status: { ready: true } } });
    assert.deepEqual([status.body.spec, status.body.status, status.body.metadata.generation], [{ size: 1 }, { ready: true }, 1]);
    const main = await api<Wire>(emulator, 'PATCH', `${path}/w`, { contentType: 'application/merge-patch+json', body: { spec: { size: 2 }, status: { ready: false } } });
    assert.deepEqual([main.body.spec, main.body.status, main.body.metadata.generation], [{ size: 2 }, { ready: true }, 2]);
  });
});

describe('built-in resources over HTTPS', () => {
  const started = suiteEmulator();
  let emulator: Emulator;
  before(() => {
    emulator = started();
  });

  it('starts with default, kube-system and their default ServiceAccount and kube-root-ca.crt; a new namespace gets them too', async () => {
    const namespaces = await api<WireList>(emulator, 'GET', '/api/v1/namespaces');
    assert.deepEqual(namespaces.body.items.map((n) => n.metadata.name), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    assert.deepEqual(namespaces.body.items[0]?.status, { phase: 'Active' });
    await namespace(emulator, 'fresh');
    const accounts = await api<WireList>(emulator, 'GET', '/api/v1/namespaces/fresh/serviceaccounts');
    assert.deepEqual(accounts.body.items.map((a) => a.metadata.name), ['default']);
    const ca = await api<Wire & { data: Record<string, string> }>(emulator, 'GET', '/api/v1/namespaces/fresh/configmaps/kube-root-ca.crt');
    assert.equal(ca.body.data['ca.crt'], emulator.caPem);
    const fresh = await api<Wire & { spec: object }>(emulator, 'GET', '/api/v1/namespaces/fresh');
    assert.deepEqual(fresh.body.spec, { finalizers: ['kubernetes'] });
    assert.equal(fresh.body.metadata.labels?.['kubernetes.io/metadata.name'], 'fresh');
    const invalid = await api<WireStatus>(emulator, 'POST', '/api/v1/namespaces', { body: { metadata: { name: 'Not_A_Label' } } });
    assert.equal(invalid.status, 422);
    assert.match(invalid.body.message, /^Namespace "Not_A_Label" is invalid: metadata.name: Invalid value: "Not_A_Label": a lowercase RFC 1123 label must consist of/);
  });

  it('deletes a namespace with everything in it, and refuses to delete default', async (t) => {
    await namespace(emulator, 'doomed');
    await created(emulator, '/api/v1/namespaces/doomed/configmaps', { metadata: { name: 'c' }, data: { a: 'b' } });
    const watch = await openWatchAt(emulator, '/api/v1/namespaces/doomed/configmaps', 'resourceVersion=0', t);
    await watch.next();
    await watch.next();
    const deleted = await api<Wire & { status: { phase: string } }>(emulator, 'DELETE', '/api/v1/namespaces/doomed');
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.status.phase, 'Terminating');
    const gone = [await watch.next(), await watch.next()];
    assert.deepEqual(gone.map((e) => `${e.type} ${e.object.metadata.name}`).sort(), ['DELETED c', 'DELETED kube-root-ca.crt']);
    assert.equal((await api(emulator, 'GET', '/api/v1/namespaces/doomed')).status, 404);
    assert.equal((await api(emulator, 'GET', '/api/v1/namespaces/doomed/serviceaccounts/default')).status, 404);
    const protectedNamespace = await api<WireStatus>(emulator, 'DELETE', '/api/v1/namespaces/default');
    assert.equal(protectedNamespace.status, 403);
    assert.equal(protectedNamespace.body.message, 'namespaces "default" is forbidden: this namespace may not be deleted');
  });

  it('keeps an object with finalizers until they are removed, and deletes collections by selector', async () => {
    const path = '/api/v1/namespaces/default/configmaps';
    await created(emulator, path, { metadata: { name: 'held', finalizers: ['example.io/hold'] } });
    const marked = await api<Wire>(emulator, 'DELETE', `${path}/held`);
    assert.equal(marked.status, 200);
    assert.ok(marked.body.metadata.deletionTimestamp);
    assert.equal((await api(emulator, 'GET', `${path}/held`)).status, 200, 'still there');
    const released = await api<Wire>(emulator, 'PATCH', `${path}/held`, { contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } });
    assert.equal(released.status, 200);
    assert.equal((await api(emulator, 'GET', `${path}/held`)).status, 404);

    for (const [name, tier] of [['a', 'x'], ['b', 'x'], ['c', 'y']]) await created(emulator, path, { metadata: { name: `dc-${name}`, labels: { tier } } });
    const removed = await api<WireList>(emulator, 'DELETE', `${path}?labelSelector=tier%3Dx`);
    assert.equal(removed.status, 200);
    assert.equal(removed.body.kind, 'ConfigMapList');
    assert.deepEqual(removed.body.items.map((m) => m.metadata.name), ['dc-a', 'dc-b']);
    const left = await api<WireList>(emulator, 'GET', `${path}?labelSelector=tier`);
    assert.deepEqual(left.body.items.map((m) => m.metadata.name), ['dc-c']);
  });

  it('elects a leader through a Lease: one create wins, renewals need the current resourceVersion', async (t) => {
    const client = await projectClient(t, emulator);
    const path = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases';
    const lease = (holder: string, extra: object = {}, renewTime = '2026-01-01T00:00:00.000000Z') => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'clusterwire-mirror', ...extra },
      spec: { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: '2026-01-01T00:00:00.000000Z', renewTime, leaseTransitions: 0 },
    });
    const [first, second] = await Promise.all([api<Wire>(emulator, 'POST', path, { body: lease('mirror-0') }), api<WireStatus>(emulator, 'POST', path, { body: lease('mirror-1') })]);
    const codes = [first.status, second.status].sort();
    assert.deepEqual(codes, [201, 409], 'one candidate creates the lease, the other gets AlreadyExists');
    const current = (await client.json({ method: 'GET', path: `${path}/clusterwire-mirror` })) as Wire & { spec: { holderIdentity: string } };
    const holder = current.spec.holderIdentity;
    const renewed = await api<Wire>(emulator, 'PUT', `${path}/clusterwire-mirror`, {
      body: lease(holder, { resourceVersion: current.metadata.resourceVersion }, '2026-01-01T00:00:10.000000Z'),
    });
    assert.equal(renewed.status, 200);
    assert.notEqual(renewed.body.metadata.resourceVersion, current.metadata.resourceVersion);
    const stale = await api<WireStatus>(emulator, 'PUT', `${path}/clusterwire-mirror`, {
      body: lease('usurper', { resourceVersion: current.metadata.resourceVersion }),
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.message, 'Operation cannot be fulfilled on leases.coordination.k8s.io "clusterwire-mirror": the object has been modified; please apply your changes to the latest version and try again');
    const table = await api<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }>(emulator, 'GET', path, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    assert.deepEqual(table.body.columnDefinitions.map((c) => c.name), ['Name', 'Holder', 'Age']);
    assert.deepEqual(table.body.rows[0]?.cells.slice(0, 2), ['clusterwire-mirror', holder]);
    const invalid = await api<WireStatus>(emulator, 'POST', path, { body: { ...lease('x'), metadata: { name: 'bad' }, spec: { leaseDurationSeconds: 0 } } });
    assert.equal(invalid.body.message, 'Lease.coordination.k8s.io "bad" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0');
  });

  it('stores Secrets as kube does: stringData merged into base64 data, immutable data, valid keys', async () => {
    const path = '/api/v1/namespaces/default/secrets';
    const secret = await created<Wire & { data: Record<string, string>; type: string }>(emulator, path, {
      metadata: { name: 's' },
      data: { a: Buffer.from('x').toString('base64') },
      stringData: { b: 'plain' },
      immutable: true,
    });
    assert.deepEqual(secret.data, { a: 'eA==', b: 'cGxhaW4=' });
    assert.equal(secret.type, 'Opaque');
    assert.equal(secret.stringData, undefined);
    const changed = await api<WireStatus>(emulator, 'PATCH', `${path}/s`, { contentType: 'application/merge-patch+json', body: { data: { a: 'eQ==' } } });
    assert.equal(changed.body.message, 'Secret "s" is invalid: data: Forbidden: field is immutable when `immutable` is set');
    const badKey = await api<WireStatus>(emulator, 'POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: 'k' }, data: { 'bad key': 'v' } } });
    assert.equal(badKey.status, 422);
    assert.match(badKey.body.message, /^ConfigMap "k" is invalid: data\[bad key\]: Invalid value: "bad key": a valid config key must consist of alphanumeric characters/);
    const notBase64 = await api<WireStatus>(emulator, 'POST', path, { body: { metadata: { name: 'b64' }, data: { a: 'not base64!' } } });
    assert.equal(notBase64.status, 400);
  });

  it('keeps RBAC objects with their defaults and refuses a changed roleRef', async () => {
    const path = '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings';
    const binding = await created<Wire & { subjects: { apiGroup: string }[]; roleRef: object }>(emulator, path, {
      metadata: { name: 'b' },
      roleRef: { kind: 'Role', name: 'r' },
      subjects: [{ kind: 'User', name: 'alice' }, { kind: 'ServiceAccount', name: 'sa' }],
    });
    assert.deepEqual(binding.subjects.map((s) => s.apiGroup), ['rbac.authorization.k8s.io', '']);
    const changed = await api<WireStatus>(emulator, 'PATCH', `${path}/b`, { contentType: 'application/merge-patch+json', body: { roleRef: { name: 'other' } } });
    assert.equal(changed.status, 422);
    assert.match(changed.body.message, /^RoleBinding.rbac.authorization.k8s.io "b" is invalid: roleRef: Invalid value: .*: cannot change roleRef$/);
    const role = await api<WireStatus>(emulator, 'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', { body: { metadata: { name: 'r' }, rules: [{ nonResourceURLs: ['/x'] }] } });
    assert.equal(
      role.body.message,
      'Role.rbac.authorization.k8s.io "r" is invalid: [rules[0].verbs: Required value: verbs must contain at least one value, rules[0].nonResourceURLs: Invalid value: ["/x"]: namespaced rules cannot apply to non-resource URLs]',
    );
  });
});
