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

/**
 * Decides the peers of one device from the remote cluster's nodes. Every
 * remote node is untrusted input: a bad one is skipped with a reason and
 * never blocks the others. Nodes are taken in name order, so when two
 * nodes clash (same key, overlapping pod CIDRs) the same one wins on every
 * node of the local cluster and on every pass.
 */
export function desiredPeers(input: PeeringInput): PeeringDecision {
  const subnets = input.podSubnets.map(mustParse);
  const nodes = [...input.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const peers: DesiredPeer[] = [];
  const skipped: SkippedNode[] = [];
  const keyOwners = new Map<string, string>();
  const claimed = new ClaimedCidrs();

  for (const node of nodes) {
    const skip = (reason: SkippedNode['reason'], detail: string) => skipped.push({ node: node.name, reason, peered: false, detail });
    if (node.publicKey === null || node.endpoint === null) {
      const missing = [node.publicKey === null && 'pubKey', node.endpoint === null && 'endpoint'].filter(Boolean).join(' and ');
      skip('missing-annotation', `no ${missing} annotation`);
      continue;
    }
    if (!isValidWireGuardKey(node.publicKey)) {
      skip('bad-public-key', 'pubKey annotation is not a base64 WireGuard key of 32 bytes');
      continue;
    }
    const endpoint = parseEndpoint(node.endpoint);
    if (typeof endpoint === 'string') {
      skip('bad-endpoint', `endpoint annotation: ${endpoint}`);
      continue;
    }
    const owner = keyOwners.get(node.publicKey);
    if (owner !== undefined) {
      skip('duplicate-public-key', `same public key as node ${owner}, which is kept`);
      continue;
    }
    if (node.podCIDRs.length === 0) {
      skip('no-pod-cidr', 'spec.podCIDR(s) is empty');
      continue;
    }
    const parsed = node.podCIDRs.map((text) => ({ text, result: parseCidr(text) }));
    const malformed = parsed.find((p) => !p.result.ok);
    if (malformed && !malformed.result.ok) {
      skip('bad-pod-cidr', `pod CIDR '${malformed.text}': ${malformed.result.reason}`);
      continue;
    }

    const allowed: Cidr[] = [];
    const dropped: SkippedNode[] = [];
    for (const { text, result } of parsed) {
      if (!result.ok) continue;
      const cidr = result.cidr;
      if (!subnets.some((subnet) => cidrContains(subnet, cidr))) {
        dropped.push({ node: node.name, reason: 'pod-cidr-outside-subnets', peered: false, detail: `pod CIDR ${text} is not inside the declared pod subnets ${input.podSubnets.join(', ')}` });
        continue;
      }
      const clash = claimed.clash(cidr);
      if (clash) {
        dropped.push({ node: node.name, reason: 'pod-cidr-conflict', peered: false, detail: `pod CIDR ${text} overlaps ${formatCidr(clash.cidr)} of node ${clash.owner}, which is kept` });
        continue;
      }
      if (!allowed.some((a) => cidrsOverlap(a, cidr))) allowed.push(cidr);
    }
    if (allowed.length === 0) {
      skipped.push(...dropped);
      continue;
    }
    const allowedIPs = allowed.map(formatCidr);
    skipped.push(...dropped.map((d) => ({ ...d, peered: true, detail: `${d.detail}; peered with ${allowedIPs.join(', ')}` })));
    keyOwners.set(node.publicKey, node.name);
    for (const cidr of allowed) claimed.claim(cidr, node.name);
    peers.push({ publicKey: node.publicKey, endpoint: node.endpoint, allowedIPs, persistentKeepaliveSeconds: input.persistentKeepaliveSeconds });
  }
  return { peers, skipped };
}

function mustParse(subnet: string): Cidr {
  const result = parseCidr(subnet);
  if (!result.ok) throw new Error(`pod subnet ${subnet} passed config validation but does not parse: ${result.reason}`);
  return result.cidr;
}
