import { createHash } from 'node:crypto';
import type { Registry } from './registry.ts';
import { apiVersionOf, type ResourceType, type Subresource } from './resource-type.ts';

/**
 * Discovery documents built from what the registry serves (CRDs
 * included): legacy discovery (/api, /api/v1, /apis, /apis/<group>,
 * /apis/<group>/<version>) and aggregated discovery
 * (apidiscovery.k8s.io/v2, what kubectl 1.30+ asks for first).
 */
export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4',
  gitCommit: '59526cd4867447956156ae3a602fcbac10a2c335',
  gitTreeState: 'clean',
  buildDate: '2025-04-22T16:02:27Z',
  goVersion: 'go1.23.6',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** A resource as discovery lists it; stored resources and the create-only reviews alike. */
export interface DiscoveredResource {
  group: string;
  versions: readonly string[];
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  verbs: readonly string[];
  shortNames: readonly string[];
  categories: readonly string[];
  subresources: readonly Subresource[];
  /** Stored resources have a storage version hash and OpenAPI paths. */
  stored: boolean;
  /** Custom resources take no strategic merge patches. */
  custom: boolean;
}

function discovered(type: ResourceType): DiscoveredResource {
  return { ...type, stored: true };
}

/** Built-in groups in kube-apiserver's priority order; CRD groups follow by name. */
const GROUP_ORDER = ['', 'authentication.k8s.io', 'authorization.k8s.io', 'rbac.authorization.k8s.io', 'apiextensions.k8s.io', 'coordination.k8s.io'];

function groupRank(group: string): number {
  const rank = GROUP_ORDER.indexOf(group);
  return rank < 0 ? GROUP_ORDER.length : rank;
}

export function storageVersionHash(group: string, version: string, kind: string): string {
  return createHash('sha256').update(`${group}/${version}/${kind}`).digest().subarray(0, 8).toString('base64');
}

export interface GroupVersions {
  group: string;
  /** Preferred first. */
  versions: string[];
  resources: DiscoveredResource[];
}

/** Every served group with its versions and resources, in discovery order. */
export function servedGroups(registry: Registry, extra: readonly DiscoveredResource[]): GroupVersions[] {
  const groups = new Map<string, GroupVersions>();
  for (const resource of [...registry.all().map((r) => discovered(r.type)), ...extra]) {
    let entry = groups.get(resource.group);
    if (entry === undefined) {
      entry = { group: resource.group, versions: [], resources: [] };
      groups.set(resource.group, entry);
    }
    for (const version of resource.versions) if (!entry.versions.includes(version)) entry.versions.push(version);
    entry.resources.push(resource);
  }
  return [...groups.values()].sort((a, b) => groupRank(a.group) - groupRank(b.group) || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDocument(group: GroupVersions): object {
  const versions = group.versions.map((version) => ({ groupVersion: apiVersionOf(group.group, version), version }));
  return { name: group.group, versions, preferredVersion: versions[0] };
}

/** /apis */
export function apiGroupList(groups: GroupVersions[]): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.filter((g) => g.group !== '').map(groupDocument) };
}

/** /apis/<group> */
export function apiGroup(group: GroupVersions): object {
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(group) };
}

/** /api/v1 or /apis/<group>/<version> */
export function apiResourceList(group: GroupVersions, version: string): object {
  const resources: object[] = [];
  for (const r of group.resources) {
    if (!r.versions.includes(version)) continue;
    resources.push({
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length > 0 ? { categories: r.categories } : {}),
      ...(r.stored ? { storageVersionHash: storageVersionHash(r.group, version, r.kind) } : {}),
    });
    for (const s of r.subresources) {
      resources.push({
        name: `${r.resource}/${s.name}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(s.kind === undefined ? { kind: r.kind } : { group: s.kind.group, version: s.kind.version, kind: s.kind.kind }),
        verbs: s.verbs,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(group.group, version), resources };
}

/** An APIGroupDiscoveryList for /api (the core group) or /apis (the others). */
export function aggregatedDiscovery(groups: GroupVersions[], core: boolean, format: 'v2' | 'v2beta1'): object {
  const items = groups
    .filter((g) => (g.group === '') === core)
    .map((g) => ({
      metadata: { name: g.group, creationTimestamp: null },
      versions: g.versions.map((version) => ({
        version,
        resources: g.resources
          .filter((r) => r.versions.includes(version))
          .map((r) => ({
            resource: r.resource,
            responseKind: { group: r.group, version, kind: r.kind },
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: r.singular,
            verbs: r.verbs,
            ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
            ...(r.categories.length > 0 ? { categories: r.categories } : {}),
            ...(r.subresources.length > 0
              ? {
                  subresources: r.subresources.map((s) => ({
                    subresource: s.name,
                    responseKind: s.kind ?? { group: r.group, version, kind: r.kind },
                    verbs: s.verbs,
                  })),
                }
              : {}),
          })),
        freshness: 'Current',
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${format}`, metadata: {}, items };
}
