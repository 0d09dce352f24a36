import { shown } from '../kube/node-bounds.ts';
import type { RemoteNode } from '../kube/remote-node.ts';
import { isValidWireGuardKey } from '../wireguard/keys.ts';
import { entryProblem, type SliceEntry } from './peer-slice.ts';

/** Why a local node is not published for a peer cluster: the closed list, label values of `clusterwire_publisher_nodes_skipped`. */
export const PUBLISH_SKIP_REASONS = ['missing-annotation', 'bad-public-key', 'value-too-long', 'too-many-pod-cidrs'] as const;
export type PublishSkipReason = (typeof PUBLISH_SKIP_REASONS)[number];

export type EntryDecision = { ok: true; entry: SliceEntry } | { ok: false; reason: PublishSkipReason; detail: string };

/**
 * A local node, projected for one peer cluster (its `<peer>.<domain>/pubKey`
 * and `/endpoint` annotations and pod CIDRs, bounded as every Node is:
 * src/kube/node-projection.ts), as a slice entry, or why it is left out.
 * What the daemons judge against their own config (endpoint addresses, pod
 * CIDRs inside the declared subnets) is published as is and judged there,
 * exactly as when they read the Node; what the CRD schema would refuse is
 * left out here, so it never blocks the other entries of its slice.
 */
export function sliceEntryFor(node: RemoteNode): EntryDecision {
  if (node.refused) return { ok: false, reason: node.refused.reason, detail: node.refused.detail };
  const missing = [node.publicKey ? null : 'pubKey', node.endpoint ? null : 'endpoint'].filter((m) => m !== null);
  if (missing.length > 0 || node.publicKey === null || node.endpoint === null) {
    return { ok: false, reason: 'missing-annotation', detail: `no ${missing.join(' or ')} annotation for this peer cluster (is the daemon running on the node?)` };
  }
  if (!isValidWireGuardKey(node.publicKey)) return { ok: false, reason: 'bad-public-key', detail: `'${shown(node.publicKey)}' is not a WireGuard public key` };
  const entry: SliceEntry = { node: node.name, publicKey: node.publicKey, endpoint: node.endpoint, podCIDRs: node.podCIDRs };
  // The projection's bounds are the schema's: only a bug gets here.
  const problem = entryProblem(entry);
  if (problem !== null) return { ok: false, reason: 'value-too-long', detail: problem };
  return { ok: true, entry };
}
