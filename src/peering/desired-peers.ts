import type { RemoteNode } from '../kube/remote-node.ts';
import { cidrContains, cidrsOverlap, formatCidr, parseCidr, type Cidr } from '../net/cidr.ts';
import type { DesiredPeer } from '../wireguard/types.ts';
import { isValidWireGuardKey } from '../wireguard/keys.ts';
import { ClaimedCidrs } from './claimed-cidrs.ts';
import { parseEndpoint } from './endpoint.ts';
import type { SkippedNode } from './remote-status.ts';

export interface PeeringInput {
  /** The remote's declared pod subnets (validated config). */
  podSubnets: readonly string[];
  persistentKeepaliveSeconds: number;
  nodes: Iterable<RemoteNode>;
}

export interface PeeringDecision {
  /** Sorted by node name. */
  peers: DesiredPeer[];
  skipped: SkippedNode[];
}

/** What can be said of a node on its own, before it is compared with the others. */
type NodeCheck =
  | { ok: false; reason: SkippedNode['reason']; detail: string }
  | { ok: true; publicKey: string; endpoint: string; cidrs: CheckedCidr[]; outside: string[] };

/** A pod CIDR inside the remote's subnets, with its canonical text (as `wg` prints it). */
interface CheckedCidr {
  text: string;
  cidr: Cidr;
  canonical: string;
}

/**
 * Remembers each node's own check between passes. The node store replaces
 * a node's object when it changes, so an object seen before needs no new
 * check: at 5,000 nodes this is most of a pass. One cache per remote (the
 * check depends on the remote's subnets).
 */
export type NodeCheckCache = WeakMap<RemoteNode, NodeCheck>;

/**
 * Decides the peers of one device from the remote cluster's nodes. Every
 * remote node is untrusted input: a bad one is skipped with a reason and
 * never blocks the others. Nodes are taken in name order, so when two
 * nodes clash (same key, overlapping pod CIDRs) the same one wins on every
 * node of the local cluster and on every pass.
 */
export function desiredPeers(input: PeeringInput, cache: NodeCheckCache = new WeakMap()): PeeringDecision {
  const subnets = input.podSubnets.map(mustParse);
  const nodes = [...input.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const peers: DesiredPeer[] = [];
  const skipped: SkippedNode[] = [];
  const keyOwners = new Map<string, string>();
  const claimed = new ClaimedCidrs();

  for (const node of nodes) {
    let check = cache.get(node);
    if (!check) {
      check = checkNode(node, subnets);
      cache.set(node, check);
    }
    if (!check.ok) {
      skipped.push({ node: node.name, reason: check.reason, peered: false, detail: check.detail });
      continue;
    }
    const owner = keyOwners.get(check.publicKey);
    if (owner !== undefined) {
      skipped.push({ node: node.name, reason: 'duplicate-public-key', peered: false, detail: `same public key as node ${owner}, which is kept` });
      continue;
    }

    const allowed: CheckedCidr[] = [];
    const dropped: SkippedNode[] = check.outside.map((text) => ({
      node: node.name,
      reason: 'pod-cidr-outside-subnets',
      peered: false,
      detail: `pod CIDR ${text} is not inside the declared pod subnets ${input.podSubnets.join(', ')}`,
    }));
    for (const checked of check.cidrs) {
      const clash = claimed.clash(checked.cidr);
      if (clash) {
        dropped.push({ node: node.name, reason: 'pod-cidr-conflict', peered: false, detail: `pod CIDR ${checked.text} overlaps ${formatCidr(clash.cidr)} of node ${clash.owner}, which is kept` });
        continue;
      }
      if (!allowed.some((a) => cidrsOverlap(a.cidr, checked.cidr))) allowed.push(checked);
    }
    if (allowed.length === 0) {
      skipped.push(...dropped);
      continue;
    }
    const allowedIPs = allowed.map((a) => a.canonical);
    skipped.push(...dropped.map((d) => ({ ...d, peered: true, detail: `${d.detail}; peered with ${allowedIPs.join(', ')}` })));
    keyOwners.set(check.publicKey, node.name);
    for (const a of allowed) claimed.claim(a.cidr, node.name);
    peers.push({ publicKey: check.publicKey, endpoint: check.endpoint, allowedIPs, persistentKeepaliveSeconds: input.persistentKeepaliveSeconds });
  }
  return { peers, skipped };
}

/** The checks that need no other node: annotations, key, endpoint, pod CIDRs and the remote's subnets. */
function checkNode(node: RemoteNode, subnets: readonly Cidr[]): NodeCheck {
  if (node.publicKey === null || node.endpoint === null) {
    const missing = [node.publicKey === null && 'pubKey', node.endpoint === null && 'endpoint'].filter(Boolean).join(' and ');
    return { ok: false, reason: 'missing-annotation', detail: `no ${missing} annotation` };
  }
  if (!isValidWireGuardKey(node.publicKey)) {
    return { ok: false, reason: 'bad-public-key', detail: 'pubKey annotation is not a base64 WireGuard key of 32 bytes' };
  }
  const endpoint = parseEndpoint(node.endpoint);
  if (typeof endpoint === 'string') return { ok: false, reason: 'bad-endpoint', detail: `endpoint annotation: ${endpoint}` };
  if (node.podCIDRs.length === 0) return { ok: false, reason: 'no-pod-cidr', detail: 'spec.podCIDR(s) is empty' };
  const cidrs: CheckedCidr[] = [];
  const outside: string[] = [];
  for (const text of node.podCIDRs) {
    const result = parseCidr(text);
    if (!result.ok) return { ok: false, reason: 'bad-pod-cidr', detail: `pod CIDR '${text}': ${result.reason}` };
    if (subnets.some((subnet) => cidrContains(subnet, result.cidr))) cidrs.push({ text, cidr: result.cidr, canonical: formatCidr(result.cidr) });
    else outside.push(text);
  }
  return { ok: true, publicKey: node.publicKey, endpoint: node.endpoint, cidrs, outside };
}

function mustParse(subnet: string): Cidr {
  const result = parseCidr(subnet);
  if (!result.ok) throw new Error(`pod subnet ${subnet} passed config validation but does not parse: ${result.reason}`);
  return result.cidr;
}
