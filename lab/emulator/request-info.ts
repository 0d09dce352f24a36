import { exactFieldValue } from './selectors.ts';

/**
 * What a request addresses, as kube-apiserver's RequestInfoFactory reads
 * it: a verb on a resource (`/api/v1/...` or `/apis/<group>/<version>/...`,
 * optionally in a namespace, optionally one object and a subresource), or
 * a non-resource path (discovery, health, OpenAPI).
 */
export interface ResourceRequest {
  kind: 'resource';
  /** get, list, watch, create, update, patch, delete, deletecollection. */
  verb: string;
  group: string;
  version: string;
  namespace: string;
  resource: string;
  name: string;
  subresource: string;
  /** More path segments than resource/name/subresource: nothing serves those. */
  tooDeep: boolean;
}

export interface NonResourceRequest {
  kind: 'nonResource';
  path: string;
  verb: string;
}

export type RequestInfo = ResourceRequest | NonResourceRequest;

const METHOD_VERBS: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
/** Subresources of a namespace itself (`/namespaces/x/status`), not resources inside it. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

function isWatch(query: URLSearchParams): boolean {
  const watch = query.get('watch');
  return watch === 'true' || watch === '1';
}

/** null for a malformed %-escape: no resource has such a name. */
function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

export function requestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const nonResource: NonResourceRequest = { kind: 'nonResource', path, verb: method.toLowerCase() };
  const decoded = path.split('/').filter((part) => part !== '').map(decodeSegment);
  if (decoded.includes(null)) return nonResource;
  let parts = decoded as string[];
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return nonResource;
  let group = '';
  if (parts[0] === 'apis') {
    if (parts.length < 4) return nonResource;
    group = parts[1] ?? '';
    parts = parts.slice(2);
  } else {
    parts = parts.slice(1);
  }
  const version = parts[0] ?? '';
  parts = parts.slice(1);
  const methodVerb = METHOD_VERBS[method];
  let verb = methodVerb ?? method.toLowerCase();
  let namespace = '';
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1] ?? '';
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] ?? '')) parts = parts.slice(2);
  }
  const [resource = '', name = '', subresource = '', ...rest] = parts;
  if (name === '' && verb === 'get') {
    verb = isWatch(query) ? 'watch' : 'list';
  }
  if (name === '' && verb === 'delete') verb = 'deletecollection';
  // A list or watch of one object by field selector is authorized as that object (resourceNames).
  const selected = name === '' && (verb === 'list' || verb === 'watch') ? exactFieldValue(query.get('fieldSelector') ?? '', 'metadata.name') : null;
  return {
    kind: 'resource',
    verb,
    group,
    version,
    namespace,
    resource,
    name: selected !== null && selected !== '' && !selected.includes('/') ? selected : name,
    subresource,
    tooDeep: rest.length > 0,
  };
}
