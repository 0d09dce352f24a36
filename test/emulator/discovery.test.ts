import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CONFIGMAPS, NAMESPACES, NODES, SERVICE_ACCOUNTS } from '../../lab/emulator/core-types.ts';
import { CUSTOM_RESOURCE_DEFINITIONS } from '../../lab/emulator/crd-type.ts';
import { customResourceType } from '../../lab/emulator/custom-resource-type.ts';
import { aggregatedDiscovery, apiGroupList, apiResourceList, servedGroups, storageVersionHash } from '../../lab/emulator/discovery.ts';
import type { JsonObject } from '../../lab/emulator/json.ts';
import { LEASES } from '../../lab/emulator/lease-type.ts';
import { groupVersionDocument, openApiIndex, parseOpenApiPath } from '../../lab/emulator/openapi.ts';
import { Registry } from '../../lab/emulator/registry.ts';
import { Revision } from '../../lab/emulator/revision.ts';
import { REVIEW_RESOURCES } from '../../lab/emulator/reviews.ts';

interface Resource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  group?: string;
  version?: string;
  storageVersionHash?: string;
}

async function registry(): Promise<Registry> {
  const served = new Registry({ revision: new Revision(), historyLimit: 10, now: Date.now, watch: { bookmarkIntervalMs: 60_000, maxQueuedBytes: 1024 } });
  for (const type of [NODES, NAMESPACES, CONFIGMAPS, SERVICE_ACCOUNTS, LEASES, CUSTOM_RESOURCE_DEFINITIONS]) served.register(type);
  const crd = parse(await readFile(join(import.meta.dirname, 'fixtures', 'peerslices-crd.yaml'), 'utf8')) as JsonObject;
  served.register(customResourceType(crd));
  return served;
}

describe('discovery documents', () => {
  it('list groups in kube priority order, CRD groups last, each with its preferred version', async () => {
    const served = await registry();
    const groups = servedGroups(served, REVIEW_RESOURCES);
    assert.deepEqual(groups.map((g) => g.group), ['', 'authentication.k8s.io', 'authorization.k8s.io', 'apiextensions.k8s.io', 'coordination.k8s.io', 'clusterwire.io']);
    const list = apiGroupList(groups) as { groups: { name: string; preferredVersion: { groupVersion: string } }[] };
    assert.deepEqual(list.groups.find((g) => g.name === 'clusterwire.io')?.preferredVersion, { groupVersion: 'clusterwire.io/v1alpha1', version: 'v1alpha1' });
    served.stop();
  });

  it('describe resources and subresources in legacy APIResourceLists', async () => {
    const served = await registry();
    const groups = servedGroups(served, REVIEW_RESOURCES);
    const core = apiResourceList(groups[0] as (typeof groups)[0], 'v1') as { groupVersion: string; resources: Resource[] };
    assert.equal(core.groupVersion, 'v1');
    const byName = new Map(core.resources.map((r) => [r.name, r]));
    assert.deepEqual(byName.get('nodes'), {
      name: 'nodes',
      singularName: 'node',
      namespaced: false,
      kind: 'Node',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['no'],
      storageVersionHash: 'XwShjMxG9Fs=',
    });
    assert.deepEqual(byName.get('serviceaccounts/token'), { name: 'serviceaccounts/token', singularName: '', namespaced: true, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] });
    assert.equal(byName.get('configmaps')?.namespaced, true);
    const slices = apiResourceList(groups.find((g) => g.group === 'clusterwire.io') as (typeof groups)[0], 'v1alpha1') as { resources: (Resource & { categories?: string[] })[] };
    assert.deepEqual(slices.resources.map((r) => [r.name, r.kind, r.shortNames, r.categories]), [['peerslices', 'PeerSlice', ['pslice'], ['clusterwire']]]);
    served.stop();
  });

  it('serve the same in aggregated form (apidiscovery.k8s.io/v2), core and groups apart', async () => {
    const served = await registry();
    const groups = servedGroups(served, REVIEW_RESOURCES);
    const core = aggregatedDiscovery(groups, true, 'v2') as { apiVersion: string; items: { metadata: { name: string }; versions: { version: string; resources: { resource: string; scope: string; subresources?: { subresource: string }[] }[] }[] }[] };
    assert.equal(core.apiVersion, 'apidiscovery.k8s.io/v2');
    assert.deepEqual(core.items.map((i) => i.metadata.name), ['']);
    const nodes = core.items[0]?.versions[0]?.resources.find((r) => r.resource === 'nodes');
    assert.equal(nodes?.scope, 'Cluster');
    assert.deepEqual(nodes?.subresources?.map((s) => s.subresource), ['status']);
    const others = aggregatedDiscovery(groups, false, 'v2beta1') as { apiVersion: string; items: { metadata: { name: string } }[] };
    assert.equal(others.apiVersion, 'apidiscovery.k8s.io/v2beta1');
    assert.deepEqual(others.items.map((i) => i.metadata.name), ['authentication.k8s.io', 'authorization.k8s.io', 'apiextensions.k8s.io', 'coordination.k8s.io', 'clusterwire.io']);
    served.stop();
  });

  it('compute storage version hashes as kube does', () => {
    assert.equal(storageVersionHash('', 'v1', 'Node'), 'XwShjMxG9Fs=');
    assert.equal(storageVersionHash('coordination.k8s.io', 'v1', 'Lease'), storageVersionHash('coordination.k8s.io', 'v1', 'Lease'));
    assert.notEqual(storageVersionHash('coordination.k8s.io', 'v1', 'Lease'), storageVersionHash('', 'v1', 'Lease'));
  });
});

describe('OpenAPI v3 documents', () => {
  it('give every stored kind PATCH operations with fieldValidation, strategic merge for built-in kinds only', async () => {
    const served = await registry();
    const groups = servedGroups(served, REVIEW_RESOURCES);
    const index = openApiIndex(groups) as { paths: Record<string, { serverRelativeURL: string }> };
    assert.deepEqual(Object.keys(index.paths), ['api/v1', 'apis/apiextensions.k8s.io/v1', 'apis/coordination.k8s.io/v1', 'apis/clusterwire.io/v1alpha1']);
    assert.match(index.paths['apis/clusterwire.io/v1alpha1']?.serverRelativeURL ?? '', /^\/openapi\/v3\/apis\/clusterwire.io\/v1alpha1\?hash=[0-9A-F]{128}$/);
    type Patch = { 'x-kubernetes-group-version-kind': object; parameters: { name: string }[]; requestBody: { content: Record<string, unknown> } };
    const slices = groupVersionDocument(groups.find((g) => g.group === 'clusterwire.io') as (typeof groups)[0], 'v1alpha1') as { paths: Record<string, { patch?: Patch }> };
    const patch = slices.paths['/apis/clusterwire.io/v1alpha1/namespaces/{namespace}/peerslices/{name}']?.patch;
    assert.deepEqual(patch?.['x-kubernetes-group-version-kind'], { group: 'clusterwire.io', version: 'v1alpha1', kind: 'PeerSlice' });
    assert.ok(patch?.parameters.some((p) => p.name === 'fieldValidation'));
    assert.deepEqual(Object.keys(patch?.requestBody.content ?? {}), ['application/json-patch+json', 'application/merge-patch+json']);
    const core = groupVersionDocument(groups[0] as (typeof groups)[0], 'v1') as { paths: Record<string, { patch?: Patch }> };
    assert.ok('application/strategic-merge-patch+json' in (core.paths['/api/v1/nodes/{name}']?.patch?.requestBody.content ?? {}));
    assert.deepEqual(parseOpenApiPath('/openapi/v3/apis/clusterwire.io/v1alpha1'), { group: 'clusterwire.io', version: 'v1alpha1' });
    assert.deepEqual(parseOpenApiPath('/openapi/v3/api/v1'), { group: '', version: 'v1' });
    served.stop();
  });
});
