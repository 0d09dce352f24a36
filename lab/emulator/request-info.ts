/**
 * What a request addresses, as kube-apiserver's RequestInfo resolver sees
 * it: a verb on nodes (optionally one node, optionally its status), or a
 * non-resource path.
 */
export type NodeVerb = 'list' | 'watch' | 'get' | 'create' | 'update' | 'patch' | 'delete';

export type RequestInfo =
  | { kind: 'nodes'; verb: NodeVerb; name?: string; subresource?: 'status' }
  | { kind: 'nonResource'; path: string; verb: string }
  | { kind: 'notAllowed'; verb: string; name?: string }
  | { kind: 'notFound'; verb: string };

const COLLECTION = '/api/v1/nodes';

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
  const verb = method.toLowerCase();
  if (path === COLLECTION) {
    if (method === 'GET') return { kind: 'nodes', verb: isWatch(query) ? 'watch' : 'list' };
    if (method === 'POST') return { kind: 'nodes', verb: 'create' };
    return { kind: 'notAllowed', verb: method === 'DELETE' ? 'deletecollection' : verb };
  }
  if (path.startsWith(`${COLLECTION}/`)) {
    const segments = path.slice(COLLECTION.length + 1).split('/').map(decodeSegment);
    if (segments.includes(null)) return { kind: 'notFound', verb };
    const [name = '', subresource, ...rest] = segments as string[];
    if (name === '' || rest.length > 0 || (subresource !== undefined && subresource !== 'status')) {
      return { kind: 'notFound', verb };
    }
    const verbs: Record<string, NodeVerb> = { GET: 'get', PUT: 'update', PATCH: 'patch' };
    if (subresource === undefined) {
      verbs.DELETE = 'delete';
      const nodeVerb = verbs[method];
      return nodeVerb === undefined ? { kind: 'notAllowed', verb, name } : { kind: 'nodes', verb: nodeVerb, name };
    }
    const nodeVerb = verbs[method];
    return nodeVerb === undefined ? { kind: 'notAllowed', verb, name } : { kind: 'nodes', verb: nodeVerb, name, subresource: 'status' };
  }
  return { kind: 'nonResource', path, verb };
}
