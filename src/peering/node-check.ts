import { shown } from '../kube/node-bounds.ts';
import type { RemoteNode } from '../kube/remote-node.ts';
import { cidrContains, formatCidr, parseCidr, type Cidr } from '../net/cidr.ts';
import { isValidWireGuardKey } from '../wireguard/keys.ts';
import { parseEndpoint, type Endpoint } from './endpoint.ts';
import type { SkippedNode } from './remote-status.ts';

/** What can be said of a node on its own, before it is compared with the others. */
export type NodeCheck =
  | { ok: false; reason: SkippedNode['reason']; detail: string }
  | { ok: true; publicKey: string; endpoint: Endpoint; cidrs: CheckedCidr[]; outside: string[] };

/** A pod CIDR inside the remote's subnets, with its canonical text (as `wg` prints it). */
export interface CheckedCidr {
  text: string;
  cidr: Cidr;
  canonical: string;
}

/** The checks that need no other node: annotations, key, endpoint, pod CIDRs and the remote's subnets. */
export function checkNode(node: RemoteNode, subnets: readonly Cidr[]): NodeCheck {
  if (node.refused) return { ok: false, ...node.refused };
  if (node.publicKey === null || node.endpoint === null) {
    const missing = [node.publicKey === null && 'pubKey', node.endpoint === null && 'endpoint'].filter(Boolean).join(' and ');
    return { ok: false, reason: 'missing-annotation', detail: `no ${missing} annotation` };
  }
  if (!isValidWireGuardKey(node.publicKey)) {
    return { ok: false, reason: 'bad-public-key', detail: 'pubKey annotation is not a base64 WireGuard key of 32 bytes' };
  }
  const endpoint = parseEndpoint(node.endpoint);
  if (!endpoint.ok) return { ok: false, reason: 'bad-endpoint', detail: `endpoint annotation: ${endpoint.reason}` };
  if (node.podCIDRs.length === 0) return { ok: false, reason: 'no-pod-cidr', detail: 'spec.podCIDR(s) is empty' };
  const cidrs: CheckedCidr[] = [];
  const outside: string[] = [];
  const families = new Set<4 | 6>();
  for (const text of node.podCIDRs) {
    const result = parseCidr(text);
    // The parser's reason quotes the text, which is at most MAX_POD_CIDR_LENGTH characters.
    if (!result.ok) return { ok: false, reason: 'bad-pod-cidr', detail: `pod CIDR '${shown(text)}': ${shown(result.reason)}` };
    if (families.has(result.cidr.family)) return { ok: false, reason: 'bad-pod-cidr', detail: `two IPv${result.cidr.family} pod CIDRs: at most one per family` };
    families.add(result.cidr.family);
    if (subnets.some((subnet) => cidrContains(subnet, result.cidr))) cidrs.push({ text, cidr: result.cidr, canonical: formatCidr(result.cidr) });
    else outside.push(text);
  }
  return { ok: true, publicKey: node.publicKey, endpoint: endpoint.endpoint, cidrs, outside };
}

/** The remote's pod subnets, validated by the config already. */
export function parseSubnets(podSubnets: readonly string[]): Cidr[] {
  return podSubnets.map((subnet) => {
    const result = parseCidr(subnet);
    if (!result.ok) throw new Error(`pod subnet ${subnet} passed config validation but does not parse: ${result.reason}`);
    return result.cidr;
  });
}
