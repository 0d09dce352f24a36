import type { RemoteNode } from '../kube/remote-node.ts';
import type { DesiredPeer } from '../wireguard/types.ts';
import { decideInOrder, tooManyNodes, type DecisionContext } from './decide-in-order.ts';
import { checkNode, parseSubnets } from './node-check.ts';
import type { SkippedNode } from './remote-status.ts';

export interface PeeringInput extends DecisionContext {
  nodes: Iterable<RemoteNode>;
  /** Nodes past this many, by name, are skipped (`maxNodes` of the remote). */
  maxNodes: number;
}

export interface PeeringDecision {
  /** Sorted by node name; endpoints are `ip:port`, hostnames resolved. */
  peers: DesiredPeer[];
  skipped: SkippedNode[];
  /** The node each peer stands for, by public key. */
  nodeOf: ReadonlyMap<string, string>;
}

/**
 * Decides the peers of one device from all of the remote cluster's nodes
 * at once: every node checked, all sorted by name, the first `maxNodes`
 * taken in that order (decide-in-order.ts). Every remote node is untrusted
 * input: a bad one is skipped with a reason and never blocks the others.
 *
 * This is the reference: the daemon keeps the same decision up to date
 * node by node (peer-decisions.ts), and a property test holds the two
 * equal after every event.
 */
export function desiredPeers(input: PeeringInput): PeeringDecision {
  const subnets = parseSubnets(input.podSubnets);
  const all = [...input.nodes].sort((a, b) => compareNames(a.name, b.name));
  const decisions = decideInOrder(
    all.slice(0, input.maxNodes).map((node) => ({ name: node.name, check: checkNode(node, subnets) })),
    input,
  );
  const peers: DesiredPeer[] = [];
  const nodeOf = new Map<string, string>();
  const skipped = all.slice(input.maxNodes).flatMap((node) => tooManyNodes(node.name, input.maxNodes).skips);
  decisions.forEach((decision, i) => {
    if (decision.peer) {
      peers.push(decision.peer);
      nodeOf.set(decision.peer.publicKey, (all[i] as RemoteNode).name);
    }
    skipped.push(...decision.skips);
  });
  return { peers, skipped, nodeOf };
}

/** Name order: UTF-16 code units, as every node of the local cluster sorts them. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
