import { shown } from '../kube/node-bounds.ts';
import { formatCidr } from '../net/cidr.ts';
import type { DesiredPeer } from '../wireguard/types.ts';
import { ClaimedCidrs } from './claimed-cidrs.ts';
import { formatEndpoint, type Endpoint } from './endpoint.ts';
import type { Resolution } from './endpoint-resolver.ts';
import type { CheckedCidr, NodeCheck } from './node-check.ts';
import type { SkippedNode } from './remote-status.ts';

/** What the decision of one node takes from outside the nodes. */
export interface DecisionContext {
  /** The remote's declared pod subnets, as configured (for the reasons). */
  podSubnets: readonly string[];
  persistentKeepaliveSeconds: number;
  /** This device's own public key: WireGuard silently ignores a peer with it. */
  ownPublicKey: string | null;
  /** What is known now of a hostname endpoint's address; never waits. */
  resolve: (host: string) => Resolution;
  /** The endpoint the device has for a key, if any: kept while the node's hostname does not resolve. */
  deviceEndpoint: (publicKey: string) => string | null;
}

/** A node and its own check. */
export interface CheckedNode {
  name: string;
  check: NodeCheck;
}

/** What became of one node: its peer, if it is one, and why it is (partly) skipped. */
export interface NodeDecision {
  peer: DesiredPeer | null;
  skips: SkippedNode[];
}

/**
 * The peering rule for nodes that may clash: taken in the given order
 * (callers give name order), a node keeps its key and pod CIDRs unless an
 * earlier node that became a peer has the same key or an overlapping
 * block. So when two nodes clash, the same one wins on every node of the
 * local cluster and on every pass. Nodes only affect each other through a
 * shared key or overlapping blocks, so this may run on all nodes or on any
 * set closed under those relations, with the same result for each node.
 */
export function decideInOrder(nodes: readonly CheckedNode[], context: DecisionContext): NodeDecision[] {
  const keyOwners = new Map<string, string>();
  const claimed = new ClaimedCidrs();
  return nodes.map(({ name, check }) => {
    if (!check.ok) return skippedAs({ node: name, reason: check.reason, peered: false, detail: check.detail });
    if (check.publicKey === context.ownPublicKey) {
      return skippedAs({ node: name, reason: 'duplicate-public-key', peered: false, detail: 'same public key as this device: WireGuard would ignore the peer' });
    }
    const owner = keyOwners.get(check.publicKey);
    if (owner !== undefined) return skippedAs({ node: name, reason: 'duplicate-public-key', peered: false, detail: `same public key as node ${owner}, which is kept` });
    const endpoint = peerEndpoint(check.endpoint, check.publicKey, context);
    if (!endpoint.ok) return skippedAs({ node: name, ...endpoint.skip, peered: false });

    const allowed: CheckedCidr[] = [];
    const dropped: SkippedNode[] = check.outside.map((text) => ({
      node: name,
      reason: 'pod-cidr-outside-subnets',
      peered: false,
      detail: `pod CIDR ${shown(text)} is not inside the declared pod subnets ${context.podSubnets.join(', ')}`,
    }));
    for (const checked of check.cidrs) {
      const clash = claimed.clash(checked.cidr);
      if (clash) {
        dropped.push({ node: name, reason: 'pod-cidr-conflict', peered: false, detail: `pod CIDR ${shown(checked.text)} overlaps ${formatCidr(clash.cidr)} of node ${clash.owner}, which is kept` });
        continue;
      }
      allowed.push(checked);
    }
    if (allowed.length === 0) return { peer: null, skips: dropped };
    const allowedIPs = allowed.map((a) => a.canonical);
    const skips = dropped.map((d) => ({ ...d, peered: true, detail: `${d.detail}; peered with ${allowedIPs.join(', ')}` }));
    if (endpoint.skip) skips.push({ node: name, ...endpoint.skip, peered: true });
    keyOwners.set(check.publicKey, name);
    for (const a of allowed) claimed.claim(a.cidr, name);
    return { peer: { publicKey: check.publicKey, endpoint: endpoint.text, allowedIPs, persistentKeepaliveSeconds: context.persistentKeepaliveSeconds }, skips };
  });
}

/** A node past the remote's `maxNodes`, by name. */
export function tooManyNodes(name: string, maxNodes: number): NodeDecision {
  return skippedAs({ node: name, reason: 'too-many-nodes', peered: false, detail: `maxNodes is ${maxNodes}: the nodes past it by name are not peered` });
}

/** A node whose own check failed: skipped, whatever the others are. */
export function refusedNode(name: string, check: Extract<NodeCheck, { ok: false }>): NodeDecision {
  return skippedAs({ node: name, reason: check.reason, peered: false, detail: check.detail });
}

function skippedAs(skip: SkippedNode): NodeDecision {
  return { peer: null, skips: [skip] };
}

type EndpointSkip = Pick<SkippedNode, 'reason' | 'detail'>;

/**
 * The `ip:port` to give the device. A hostname uses what the resolver knows
 * now; while it has no address, the endpoint the device already has for
 * the key is kept (a restart or a DNS outage does not drop a working
 * peer), and without one the node is skipped until the look-up succeeds.
 */
function peerEndpoint(
  endpoint: Endpoint,
  publicKey: string,
  context: DecisionContext,
): { ok: true; text: string; skip?: EndpointSkip } | { ok: false; skip: EndpointSkip } {
  if (endpoint.kind !== 'hostname') return { ok: true, text: formatEndpoint(endpoint) };
  const resolution = context.resolve(endpoint.host);
  if (resolution.state === 'resolved') return { ok: true, text: formatEndpoint({ host: resolution.address, port: endpoint.port }) };
  const skip: EndpointSkip =
    resolution.state === 'pending'
      ? { reason: 'resolving-endpoint', detail: `looking up ${shown(endpoint.host)}` }
      : { reason: resolution.reason, detail: `${shown(endpoint.host)}: ${shown(resolution.detail)}` };
  const kept = context.deviceEndpoint(publicKey);
  if (kept === null) return { ok: false, skip };
  return { ok: true, text: kept, skip: { ...skip, detail: `${skip.detail}; the device keeps ${kept}` } };
}
