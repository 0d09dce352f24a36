/**
 * What a remote Node may send, in sizes (docs/how-it-works.md, "Bounds").
 * A remote apiserver is untrusted: values over these bounds are refused
 * when a Node is projected, before anything is kept, and only a short copy
 * of a refused value is ever kept, for logs and /status.
 */

/** `metadata.name` is a DNS subdomain: the apiserver refuses longer names. */
export const MAX_NODE_NAME_LENGTH = 253;
/** `metadata.uid` is a UUID (36 characters); a longer one is not kept. */
export const MAX_UID_LENGTH = 64;
/** A WireGuard key: 32 bytes of base64. */
export const PUBLIC_KEY_LENGTH = 44;
/** A 253-character hostname, `:` and a 5-digit port, or a bracketed IPv6 address; with room to spare. */
export const MAX_ENDPOINT_LENGTH = 261;
/** One per family, as the apiserver validates `spec.podCIDRs`. */
export const MAX_POD_CIDRS = 2;
/** The longest real CIDR text is 49 characters (an IPv6 address with an embedded dotted quad, /128). */
export const MAX_POD_CIDR_LENGTH = 64;
/**
 * How many nodes of one remote are kept at most: twice `maxNodes`. Past
 * `maxNodes` nodes are kept but skipped (the last by name), so the choice
 * is the same on every node of the local cluster; past this, a remote
 * that streams millions of distinct nodes is sending garbage, and new
 * names are dropped (counted, logged once) so memory stays bounded.
 */
export function nodeStoreLimit(maxNodes: number): number {
  return 2 * maxNodes;
}

/** The most of a refused value that is kept. */
export const MAX_SHOWN_LENGTH = 128;

/**
 * A refused value as it may be logged and shown: at most MAX_SHOWN_LENGTH
 * characters, cut with `…`, control characters escaped (a value is shown
 * by `clusterwire status` on a terminal too).
 */
export function shown(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped here
  const escaped = value.slice(0, MAX_SHOWN_LENGTH).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (value.length <= MAX_SHOWN_LENGTH && escaped.length <= MAX_SHOWN_LENGTH) return escaped;
  let cut = escaped.slice(0, MAX_SHOWN_LENGTH - 1);
  // A lone high surrogate left by the cut would not survive JSON.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}
