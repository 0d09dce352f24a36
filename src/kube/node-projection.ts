import { field, isObject, stringOrNull } from './json-value.ts';
import type { RemoteNode } from './remote-node.ts';

/** The two annotations a remote node carries for one peer cluster (SPEC §3.4). */
export function annotationKeys(cluster: string, domain: string): { publicKey: string; endpoint: string } {
  return { publicKey: `${cluster}.${domain}/pubKey`, endpoint: `${cluster}.${domain}/endpoint` };
}

/**
 * Keeps of a Node object (parsed JSON, unchecked) only what peering with
 * `localClusterName` needs. Returns null for something without a name,
 * which no apiserver sends for a Node.
 */
export function projectNode(obj: unknown, localClusterName: string, annotationDomain: string): RemoteNode | null {
  const metadata = field(obj, 'metadata');
  const name = stringOrNull(field(metadata, 'name'));
  if (!name) return null;
  const annotations = field(metadata, 'annotations');
  const keys = annotationKeys(localClusterName, annotationDomain);
  return {
    name,
    podCIDRs: podCIDRs(field(obj, 'spec')),
    internalIPs: internalIPs(field(field(obj, 'status'), 'addresses')),
    publicKey: stringOrNull(field(annotations, keys.publicKey)),
    endpoint: stringOrNull(field(annotations, keys.endpoint)),
  };
}

/** `spec.podCIDRs` when set (dual stack), else the single `spec.podCIDR`. */
function podCIDRs(spec: unknown): string[] {
  const list = field(spec, 'podCIDRs');
  if (Array.isArray(list)) {
    const cidrs = list.filter((c): c is string => typeof c === 'string' && c !== '');
    if (cidrs.length > 0) return cidrs;
  }
  const single = field(spec, 'podCIDR');
  return typeof single === 'string' && single !== '' ? [single] : [];
}

function internalIPs(addresses: unknown): string[] {
  if (!Array.isArray(addresses)) return [];
  const ips: string[] = [];
  for (const a of addresses) {
    if (isObject(a) && a.type === 'InternalIP' && typeof a.address === 'string' && a.address !== '') ips.push(a.address);
  }
  return ips;
}
