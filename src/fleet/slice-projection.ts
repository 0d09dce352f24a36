import { field, isObject, stringOrNull } from '../kube/json-value.ts';
import { MAX_ENDPOINT_LENGTH, MAX_NODE_NAME_LENGTH, MAX_POD_CIDR_LENGTH, MAX_POD_CIDRS, PUBLIC_KEY_LENGTH, shown } from '../kube/node-bounds.ts';
import { sameProjection } from '../kube/node-changes.ts';
import type { RemoteNode } from '../kube/remote-node.ts';
import { MAX_SLICE_ENTRIES } from './peer-slice.ts';

/**
 * What a reading daemon keeps of one remote PeerSlice: its entries as the
 * same RemoteNode projection a Node gets (src/kube/node-projection.ts), so
 * everything after the projection (desired peers, device, routes) is the
 * same whichever source a remote uses (docs/fleet-mode.md).
 */
export interface SliceProjection {
  name: string;
  /** By node name, in the slice's order. */
  nodes: ReadonlyMap<string, RemoteNode>;
  /** Entries left out: past MAX_SLICE_ENTRIES, without a usable node name, or repeated. */
  ignored: number;
}

/**
 * A remote PeerSlice (unchecked JSON: the remote apiserver is as untrusted
 * as it is for Nodes) as a SliceProjection; null without a name. Each
 * entry is bounded as a Node is: a value over its bound keeps none of the
 * entry's values, only why it is refused. At most MAX_SLICE_ENTRIES
 * entries are read (the CRD's own bound), so a slice costs at most that
 * many projections whatever the remote sends.
 */
export function projectSlice(object: unknown): SliceProjection | null {
  const name = stringOrNull(field(field(object, 'metadata'), 'name'));
  if (!name) return null;
  const raw = field(object, 'entries');
  const items = Array.isArray(raw) ? raw : [];
  const nodes = new Map<string, RemoteNode>();
  let ignored = Math.max(0, items.length - MAX_SLICE_ENTRIES);
  for (const item of items.slice(0, MAX_SLICE_ENTRIES)) {
    const node = projectEntry(item);
    if (node === null || nodes.has(node.name)) ignored++;
    else nodes.set(node.name, node);
  }
  return { name, nodes, ignored };
}

/** One entry as a RemoteNode; null without a node name within its bound (it cannot be named, so it cannot be skipped by name). */
export function projectEntry(item: unknown): RemoteNode | null {
  if (!isObject(item)) return null;
  const name = item.node;
  if (typeof name !== 'string' || name === '' || name.length > MAX_NODE_NAME_LENGTH) return null;
  const publicKey = typeof item.publicKey === 'string' && item.publicKey !== '' ? item.publicKey : null;
  const endpoint = typeof item.endpoint === 'string' && item.endpoint !== '' ? item.endpoint : null;
  if (publicKey !== null && publicKey.length > PUBLIC_KEY_LENGTH) return refused(name, 'value-too-long', tooLong('publicKey', publicKey, PUBLIC_KEY_LENGTH));
  if (endpoint !== null && endpoint.length > MAX_ENDPOINT_LENGTH) return refused(name, 'value-too-long', tooLong('endpoint', endpoint, MAX_ENDPOINT_LENGTH));
  const list = Array.isArray(item.podCIDRs) ? item.podCIDRs : [];
  if (list.length > MAX_POD_CIDRS) return refused(name, 'too-many-pod-cidrs', `podCIDRs has ${list.length} entries, more than ${MAX_POD_CIDRS} (one per family)`);
  const podCIDRs = list.filter((c): c is string => typeof c === 'string' && c !== '');
  const long = podCIDRs.find((c) => c.length > MAX_POD_CIDR_LENGTH);
  if (long !== undefined) return refused(name, 'value-too-long', tooLong('a pod CIDR', long, MAX_POD_CIDR_LENGTH));
  return { name, podCIDRs, publicKey, endpoint, refused: null };
}

/** Equal slices are no change: an edit of a slice's labels or annotations costs nothing past the projection. */
export function sameSlice(a: SliceProjection, b: SliceProjection): boolean {
  if (a.name !== b.name || a.ignored !== b.ignored || a.nodes.size !== b.nodes.size) return false;
  const bs = [...b.nodes.values()];
  let i = 0;
  for (const node of a.nodes.values()) {
    const other = bs[i++];
    if (other === undefined || !sameProjection(node, other)) return false;
  }
  return true;
}

function refused(name: string, reason: 'value-too-long' | 'too-many-pod-cidrs', detail: string): RemoteNode {
  return { name, podCIDRs: [], publicKey: null, endpoint: null, refused: { reason, detail } };
}

function tooLong(what: string, value: string, bound: number): string {
  return `${what} is ${value.length} characters, more than ${bound}: '${shown(value)}'`;
}
