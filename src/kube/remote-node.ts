/**
 * What peering needs of a remote Node, and nothing more: a full Node is
 * ~16 KB of JSON, this is ~0.45 KB (../shared/PERF-FACTS.md).
 */
export interface RemoteNode {
  name: string;
  /** `spec.podCIDRs`, else `[spec.podCIDR]`, else []. Unvalidated text. */
  podCIDRs: string[];
  /** `status.addresses` of type InternalIP, in order. */
  internalIPs: string[];
  /** `<local>.<domain>/pubKey`, unvalidated. */
  publicKey: string | null;
  /** `<local>.<domain>/endpoint`, unvalidated. */
  endpoint: string | null;
}
