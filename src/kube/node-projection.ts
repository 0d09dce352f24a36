import { createHash } from 'node:crypto';
import { field, stringOrNull } from './json-value.ts';
import { MAX_ENDPOINT_LENGTH, MAX_NODE_NAME_LENGTH, MAX_POD_CIDR_LENGTH, MAX_POD_CIDRS, MAX_UID_LENGTH, PUBLIC_KEY_LENGTH, shown } from './node-bounds.ts';
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
 *
 * The object may be metadata only (a `PartialObjectMetadata` watch event,
 * which has no `spec`): the pod CIDRs, which the apiserver lets a node set
 * once and never change, are then those of `known`, the projection of the
 * same object (same uid); without it they are empty until the informer
 * reads the node (`needsWholeNode`).
 */
export function projectNode(obj: unknown, localClusterName: string, annotationDomain: string, known?: RemoteNode): RemoteNode | null {
  const metadata = field(obj, 'metadata');
  const name = stringOrNull(field(metadata, 'name'));
  if (!name) return null;
  const uid = boundedUid(field(metadata, 'uid'));
  if (name.length > MAX_NODE_NAME_LENGTH) return refused(standInName(name), uid, 'value-too-long', tooLong('metadata.name', name, MAX_NODE_NAME_LENGTH));

  const annotations = field(metadata, 'annotations');
  const keys = annotationKeys(localClusterName, annotationDomain);
  const publicKey = stringOrNull(field(annotations, keys.publicKey));
  if (publicKey !== null && publicKey.length > PUBLIC_KEY_LENGTH) return refused(name, uid, 'value-too-long', tooLong('pubKey annotation', publicKey, PUBLIC_KEY_LENGTH));
  const endpoint = stringOrNull(field(annotations, keys.endpoint));
  if (endpoint !== null && endpoint.length > MAX_ENDPOINT_LENGTH) return refused(name, uid, 'value-too-long', tooLong('endpoint annotation', endpoint, MAX_ENDPOINT_LENGTH));

  const spec = field(obj, 'spec');
  const cidrs = spec !== undefined ? podCIDRs(spec) : knownPodCIDRs(known, uid);
  if (!Array.isArray(cidrs)) return refusedInSpec(name, uid, cidrs);
  return withUid({ name, podCIDRs: cidrs, publicKey, endpoint, refused: null }, uid);
}

/**
 * A projection made from metadata alone that lacks what only the whole
 * Node has: a would-be peer (both annotations) without pod CIDRs. The
 * informer then reads the node once; a node whose CIDRs are really empty
 * is read again on its next event, so only annotated nodes without CIDRs
 * (skipped as `no-pod-cidr` anyway) cost a read per status write.
 */
export function needsWholeNode(node: RemoteNode): boolean {
  return node.refused === null && node.podCIDRs.length === 0 && node.publicKey !== null && node.endpoint !== null;
}

/** `node` (from metadata) with the pod CIDRs of `object`, the whole Node read by name; unchanged if that is another object of the same name. */
export function withWholeNode(node: RemoteNode, object: unknown): RemoteNode {
  if (node.uid === undefined || boundedUid(field(field(object, 'metadata'), 'uid')) !== node.uid) return node;
  const cidrs = podCIDRs(field(object, 'spec'));
  if (!Array.isArray(cidrs)) return refusedInSpec(node.name, node.uid, cidrs);
  return { ...node, podCIDRs: cidrs };
}

/** The spec part of the known projection of the same object: its pod CIDRs, or its refusal when that came from them. */
function knownPodCIDRs(known: RemoteNode | undefined, uid: string | null): string[] | NodeRefusal {
  if (known === undefined || uid === null || known.uid !== uid) return [];
  if (known.refused && known.refusedInSpec) return known.refused;
  return known.podCIDRs;
}

/** A uid is a UUID (36 characters); anything longer is not kept. */
function boundedUid(value: unknown): string | null {
  return typeof value === 'string' && value !== '' && value.length <= MAX_UID_LENGTH ? value : null;
}

function withUid(node: RemoteNode, uid: string | null): RemoteNode {
  return uid === null ? node : { ...node, uid };
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

function refused(name: string, uid: string | null, reason: NodeRefusal['reason'], detail: string): RemoteNode {
  return withUid({ name, podCIDRs: [], publicKey: null, endpoint: null, refused: { reason, detail } }, uid);
}

function refusedInSpec(name: string, uid: string | null, refusal: NodeRefusal): RemoteNode {
  return { ...refused(name, uid, refusal.reason, refusal.detail), refusedInSpec: true };
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
