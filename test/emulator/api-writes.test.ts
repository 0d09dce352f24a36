import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Emulator } from '../../lab/emulator/emulator.ts';
import { api, asNode, smallNode, suiteEmulator, type WireStatus } from './helpers.ts';

interface WireTable {
  kind: string;
  columnDefinitions: { name: string }[];
  rows: { cells: unknown[]; object: { kind: string } }[];
}

describe('emulator writes over HTTPS', () => {
  const started = suiteEmulator();
  let emulator: Emulator;
  beforeEach(() => {
    emulator = started();
  });

  it('answers a missing node with a NotFound Status', async () => {
    const response = await api<WireStatus>(emulator, 'GET', '/api/v1/nodes/ghost');
    assert.equal(response.status, 404);
    assert.deepEqual(response.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'nodes "ghost" not found',
      reason: 'NotFound',
      details: { name: 'ghost', kind: 'nodes' },
      code: 404,
    });
  });

  it('creates with 201 and server-set fields, and refuses a duplicate with 409 AlreadyExists', async () => {
    const created = await api(emulator, 'POST', '/api/v1/nodes', { body: { kind: 'Node', apiVersion: 'v1', ...smallNode('w-create') } });
    assert.equal(created.status, 201);
    assert.equal(created.body.kind, 'Node');
    assert.match(created.body.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(created.body.metadata.resourceVersion, /^\d+$/);
    assert.match(created.body.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const again = await api<WireStatus>(emulator, 'POST', '/api/v1/nodes', { body: smallNode('w-create') });
    assert.equal(again.status, 409);
    assert.equal(again.body.reason, 'AlreadyExists');
    const bad = await api(emulator, 'POST', '/api/v1/nodes', { body: { kind: 'Pod', metadata: { name: 'x' } } });
    assert.equal(bad.status, 400);
  });

  it('updates only from the current resourceVersion (409 Conflict otherwise)', async () => {
    const node = asNode(emulator.createNode(smallNode('w-update')));
    const first = await api(emulator, 'PUT', '/api/v1/nodes/w-update', { body: { ...node, spec: { unschedulable: true } } });
    assert.equal(first.status, 200);
    assert.notEqual(first.body.metadata.resourceVersion, node.metadata.resourceVersion);
    const stale = await api<WireStatus>(emulator, 'PUT', '/api/v1/nodes/w-update', { body: { ...node, spec: { podCIDR: '10.0.0.0/24' } } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');
    assert.match(stale.body.message, /the object has been modified; please apply your changes to the latest version/);
    const wrongName = await api(emulator, 'PUT', '/api/v1/nodes/w-update', { body: smallNode('other') });
    assert.equal(wrongName.status, 400);
  });

  it('keeps status on main-resource writes and spec on /status writes', async () => {
    const node = asNode(emulator.createNode(smallNode('w-scope')));
    const main = await api(emulator, 'PUT', '/api/v1/nodes/w-scope', {
      body: { metadata: { name: 'w-scope' }, spec: { unschedulable: true }, status: { phase: 'changed' } },
    });
    assert.deepEqual(main.body.status, node.status);
    assert.deepEqual(main.body.spec, { unschedulable: true });
    const status = await api(emulator, 'PATCH', '/api/v1/nodes/w-scope/status', {
      contentType: 'application/merge-patch+json',
      body: { spec: { unschedulable: false }, status: { phase: 'Running' } },
    });
    assert.equal(status.status, 200);
    assert.equal(status.body.status.phase, 'Running');
    assert.deepEqual(status.body.spec, { unschedulable: true });
  });

  it('applies merge, strategic and JSON patches', async () => {
    emulator.createNode(smallNode('w-patch', { labels: { keep: 'yes', drop: 'me' } }));
    const merge = await api(emulator, 'PATCH', '/api/v1/nodes/w-patch', {
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { 'c1.wireguard.semaphore.uw.io/pubKey': 'k=' } } },
    });
    assert.equal(merge.status, 200);
    assert.equal(merge.body.metadata.annotations?.['c1.wireguard.semaphore.uw.io/pubKey'], 'k=');
    const strategic = await api(emulator, 'PATCH', '/api/v1/nodes/w-patch', {
      contentType: 'application/strategic-merge-patch+json',
      body: { metadata: { labels: { drop: null, added: 'x' } }, status: { conditions: [{ type: 'Ready', status: 'False' }] } },
    });
    assert.equal(strategic.status, 200);
    assert.deepEqual(strategic.body.metadata.labels, { keep: 'yes', added: 'x' });
    assert.equal(strategic.body.status.conditions[0]?.status, 'True', 'the main resource does not write status');
    const json = await api(emulator, 'PATCH', '/api/v1/nodes/w-patch', {
      contentType: 'application/json-patch+json',
      body: [
        { op: 'test', path: '/metadata/labels/keep', value: 'yes' },
        { op: 'add', path: '/metadata/annotations/c1.wireguard.semaphore.uw.io~1endpoint', value: '198.18.0.1:51820' },
      ],
    });
    assert.equal(json.status, 200);
    assert.equal(json.body.metadata.annotations?.['c1.wireguard.semaphore.uw.io/endpoint'], '198.18.0.1:51820');
    const failed = await api(emulator, 'PATCH', '/api/v1/nodes/w-patch', {
      contentType: 'application/json-patch+json',
      body: [{ op: 'test', path: '/metadata/labels/keep', value: 'no' }],
    });
    assert.equal(failed.status, 422);
    const apply = await api(emulator, 'PATCH', '/api/v1/nodes/w-patch', { contentType: 'application/apply-patch+yaml', body: {} });
    assert.equal(apply.status, 415);
  });

  it('refuses a patch carrying a stale resourceVersion, and does not write a patch that changes nothing', async () => {
    const node = asNode(emulator.createNode(smallNode('w-rv')));
    const changed = await api(emulator, 'PATCH', '/api/v1/nodes/w-rv', {
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { a: 'b' } } },
    });
    const stale = await api(emulator, 'PATCH', '/api/v1/nodes/w-rv', {
      contentType: 'application/merge-patch+json',
      body: { metadata: { resourceVersion: node.metadata.resourceVersion, labels: { a: 'c' } } },
    });
    assert.equal(stale.status, 409);
    const noop = await api(emulator, 'PATCH', '/api/v1/nodes/w-rv', {
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { a: 'b' } } },
    });
    assert.equal(noop.body.metadata.resourceVersion, changed.body.metadata.resourceVersion);
  });

  it('deletes with a Success Status and honours preconditions', async () => {
    const node = asNode(emulator.createNode(smallNode('w-delete')));
    emulator.patchNode('w-delete', { metadata: { labels: { touched: 'yes' } } });
    const stale = await api(emulator, 'DELETE', '/api/v1/nodes/w-delete', {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: node.metadata.resourceVersion } },
    });
    assert.equal(stale.status, 409);
    const deleted = await api<WireStatus>(emulator, 'DELETE', '/api/v1/nodes/w-delete');
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 'w-delete', kind: 'nodes', uid: node.metadata.uid },
    });
    assert.equal((await api(emulator, 'GET', '/api/v1/nodes/w-delete')).status, 404);
  });

  it('answers malformed requests with 400/405/406 Status objects', async () => {
    const cases: [string, string, Parameters<typeof api>[3], number][] = [
      ['POST', '/api/v1/nodes', { raw: '{"metadata":' }, 400],
      ['POST', '/api/v1/nodes', { body: ['not', 'a', 'node'] }, 400],
      ['GET', '/api/v1/nodes?labelSelector=a%20b', {}, 400],
      ['GET', '/api/v1/nodes?fieldSelector=status.phase%3DRunning', {}, 400],
      ['GET', '/api/v1/nodes?limit=-1', {}, 400],
      ['GET', '/api/v1/nodes?watch=1&resourceVersion=abc', {}, 400],
      ['PUT', '/api/v1/nodes', { body: smallNode('x') }, 405],
      ['POST', '/api/v1/nodes/x', { body: smallNode('x') }, 405],
      ['DELETE', '/api/v1/nodes/x/status', {}, 405],
      ['GET', '/api/v1/nodes', { accept: 'application/vnd.kubernetes.protobuf' }, 406],
      ['GET', '/api/v1/pods', {}, 404],
    ];
    for (const [method, path, options, code] of cases) {
      const response = await api<WireStatus>(emulator, method, path, options);
      assert.equal(response.status, code, `${method} ${path}`);
      assert.equal(response.body.kind, 'Status', `${method} ${path}`);
      assert.equal(response.body.code, code);
    }
  });

  it('serves discovery and Tables for kubectl', async () => {
    assert.equal((await api<{ gitVersion: string }>(emulator, 'GET', '/version', { token: null })).body.gitVersion, 'v1.32.4');
    assert.deepEqual((await api<{ versions: string[] }>(emulator, 'GET', '/api')).body.versions, ['v1']);
    const resources = (await api<{ resources: { name: string; verbs: string[] }[] }>(emulator, 'GET', '/api/v1')).body.resources;
    assert.ok(resources.find((r) => r.name === 'nodes')?.verbs.includes('watch'));
    emulator.createNode(smallNode('w-table'));
    const table = await api<WireTable>(emulator, 'GET', '/api/v1/nodes?fieldSelector=metadata.name%3Dw-table', {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    assert.equal(table.body.kind, 'Table');
    assert.deepEqual(table.body.columnDefinitions.slice(0, 5).map((c) => c.name), ['Name', 'Status', 'Roles', 'Age', 'Version']);
    assert.deepEqual(table.body.rows[0]?.cells.slice(0, 3), ['w-table', 'Ready', '<none>']);
    assert.equal(table.body.rows[0]?.object.kind, 'PartialObjectMetadata');
  });
});
