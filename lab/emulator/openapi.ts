import { createHash } from 'node:crypto';
import { SERVER_VERSION, type GroupVersions } from './discovery.ts';

/**
 * OpenAPI v3 documents with paths and operations but no schemas: enough
 * for kubectl, which reads them to learn that the server validates fields
 * itself (the fieldValidation parameter of each PATCH) and which patch
 * types a kind takes, and otherwise falls back to its compiled-in types.
 * `kubectl explain` has nothing to explain from them.
 */

const QUERY = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
const WRITE_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation'].map(QUERY);
const PATCH_PARAMETERS = [...WRITE_PARAMETERS, { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } }];
const RESPONSES = { '200': { description: 'OK' }, '401': { description: 'Unauthorized' } };

function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function content(types: string[]): object {
  return Object.fromEntries(types.map((type) => [type, { schema: { type: 'object' } }]));
}

/** The OpenAPI v3 document of one group version; null when it serves nothing. */
export function groupVersionDocument(group: GroupVersions, version: string): object | null {
  const paths: Record<string, object> = {};
  for (const r of group.resources) {
    if (!r.versions.includes(version) || !r.stored) continue;
    const gvk = { group: r.group, version, kind: r.kind };
    const base = `/${gvPath(r.group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}`;
    const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', ...(r.custom ? [] : ['application/strategic-merge-patch+json'])];
    const operation = (action: string, id: string, extra: object) => ({
      operationId: `${id}${r.kind}`,
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      responses: RESPONSES,
      ...extra,
    });
    paths[base] = {
      get: operation('list', 'list', {}),
      post: operation('post', 'create', { parameters: WRITE_PARAMETERS, requestBody: { content: content(['*/*']) } }),
    };
    paths[`${base}/{name}`] = {
      get: operation('get', 'read', {}),
      put: operation('put', 'replace', { parameters: WRITE_PARAMETERS, requestBody: { content: content(['*/*']) } }),
      patch: operation('patch', 'patch', { parameters: PATCH_PARAMETERS, requestBody: { content: content(patchTypes) } }),
      delete: operation('delete', 'delete', {}),
    };
  }
  if (Object.keys(paths).length === 0) return null;
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion }, paths, components: { schemas: {} } };
}

function documentHash(document: object): string {
  return createHash('sha512').update(JSON.stringify(document)).digest('hex').toUpperCase();
}

/** /openapi/v3: where each group version's document is. */
export function openApiIndex(groups: GroupVersions[]): object {
  const paths: Record<string, object> = {};
  for (const group of groups) {
    for (const version of group.versions) {
      const document = groupVersionDocument(group, version);
      if (document === null) continue;
      const path = gvPath(group.group, version);
      paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${documentHash(document)}` };
    }
  }
  return { paths };
}

/** The group and version an /openapi/v3/<gv> path names. */
export function parseOpenApiPath(path: string): { group: string; version: string } | null {
  const m = /^\/openapi\/v3\/(?:api\/([^/]+)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (m === null) return null;
  return m[1] !== undefined ? { group: '', version: m[1] } : { group: m[2] ?? '', version: m[3] ?? '' };
}
