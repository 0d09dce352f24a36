import { createHash } from 'node:crypto';
import { field, stringOrNull } from './json-value.ts';
import { MAX_ENDPOINT_LENGTH, MAX_NODE_NAME_LENGTH, MAX_POD_CIDR_LENGTH, MAX_POD_CIDRS, PUBLIC_KEY_LENGTH, shown } from './node-bounds.ts';
import type { NodeRefusal, RemoteNode } from './remote-node.ts';

/** The two annotations a remote node carries for one peer cluster (docs/how-it-works.md). */
export function annotationKeys(cluster: string, domain: string): { publicKey: string; endpoint: string } {
  return { publicKey: `${cluster}.${domain}/pubKey`, endpoint: `${cluster}.${domain}/endpoint` };
}

/**
 * Keeps of a Node object (parsed JSON, unchecked) only what peering with
 * `localClusterName` needs, within the bounds of node-bounds.ts: a node
 * with a value over its bound keeps none of its values, only why it is
 * refused. Returns null for something without a name, which no apiserver
 * sends for a Node.
 */
export function projectNode(obj: unknown, localClusterName: string, annotationDomain: string): RemoteNode | null {
  const metadata = field(obj, 'metadata');
  const name = stringOrNull(field(metadata, 'name'));
  if (!name) return null;
  if (name.length > MAX_NODE_NAME_LENGTH) return refused(standInName(name), 'value-too-long', tooLong('metadata.name', name, MAX_NODE_NAME_LENGTH));

  const annotations = field(metadata, 'annotations');
  const keys = annotationKeys(localClusterName, annotationDomain);
  const publicKey = stringOrNull(field(annotations, keys.publicKey));
  if (publicKey !== null && publicKey.length > PUBLIC_KEY_LENGTH) return refused(name, 'value-too-long', tooLong('pubKey annotation', publicKey, PUBLIC_KEY_LENGTH));
  const endpoint = stringOrNull(field(annotations, keys.endpoint));
  if (endpoint !== null && endpoint.length > MAX_ENDPOINT_LENGTH) return refused(name, 'value-too-long', tooLong('endpoint annotation', endpoint, MAX_ENDPOINT_LENGTH));

  const cidrs = podCIDRs(field(obj, 'spec'));
  if (!Array.isArray(cidrs)) return refused(name, cidrs.reason, cidrs.detail);
  return { name, podCIDRs: cidrs, publicKey, endpoint, refused: null };
}

/** `spec.podCIDRs` when set (dual stack), else the single `spec.podCIDR`; or why they are refused. */
function podCIDRs(spec: unknown): string[] | NodeRefusal {
  const list = field(spec, 'podCIDRs');
  if (Array.isArray(list)) {
    if (list.length > MAX_POD_CIDRS) {
      return { reason: 'too-many-pod-cidrs', detail: `spec.podCIDRs has ${list.length} entries, more than ${MAX_POD_CIDRS} (one per family)` };
    }
    const cidrs = list.filter((c): c is string => typeof c === 'string' && c !== '');
    const long = cidrs.find((c) => c.length > MAX_POD_CIDR_LENGTH);
    if (long !== undefined) return { reason: 'value-too-long', detail: tooLong('a pod CIDR', long, MAX_POD_CIDR_LENGTH) };
    if (cidrs.length > 0) return cidrs;
  }
  const single = field(spec, 'podCIDR');
  if (typeof single !== 'string' || single === '') return [];
  if (single.length > MAX_POD_CIDR_LENGTH) return { reason: 'value-too-long', detail: tooLong('spec.podCIDR', single, MAX_POD_CIDR_LENGTH) };
  return [single];
}

function refused(name: string, reason: NodeRefusal['reason'], detail: string): RemoteNode {
  return { name, podCIDRs: [], publicKey: null, endpoint: null, refused: { reason, detail } };
}

function tooLong(what: string, value: string, bound: number): string {
  return `${what} is ${value.length} characters, more than ${bound}: '${shown(value)}'`;
}

/**
 * A name over the bound is replaced by its start and a hash: bounded, the
 * same for every event of that node (so updates and deletes find it), and
 * never a valid Node name (`…` is not allowed in one).
 */
function standInName(name: string): string {
  return `${name.slice(0, 64)}…${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}
