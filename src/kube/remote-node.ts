/**
 * What peering needs of a remote Node, and nothing more: a full Node is
 * ~16 KB of JSON, this is a few hundred bytes, and every field is bounded
 * (node-bounds.ts) whatever the remote apiserver sends.
 */
export interface RemoteNode {
  /** `metadata.name`; a stand-in of bounded length when the name is over its bound (see `refused`). */
  name: string;
  /** `spec.podCIDRs`, else `[spec.podCIDR]`, else []. Unvalidated text. */
  podCIDRs: string[];
  /** `<local>.<domain>/pubKey`, unvalidated. */
  publicKey: string | null;
  /** `<local>.<domain>/endpoint`, unvalidated. */
  endpoint: string | null;
  /**
   * Set when the Node sent a value over its bound: the node is skipped for
   * this reason, and none of its values were kept (podCIDRs is empty, key
   * and endpoint are null).
   */
  refused: NodeRefusal | null;
  /**
   * `metadata.uid`, when the apiserver sent one: a metadata-only watch event
   * takes the pod CIDRs (which cannot change once set) from the projection
   * of the same object only, never from a deleted node of the same name.
   */
  uid?: string;
  /** `refused` is about `spec.podCIDR(s)`, which a metadata-only event does not show: such an event of the same object keeps it. */
  refusedInSpec?: true;
}

export interface NodeRefusal {
  reason: 'value-too-long' | 'too-many-pod-cidrs';
  /** Names the field and its size; a refused value appears only as a short copy. */
  detail: string;
}
