/**
 * CIDR blocks for IPv4 and IPv6 as plain data: the address is a bigint so
 * both families share one set of mask arithmetic.
 */
export interface Cidr {
  readonly family: 4 | 6;
  /** The network address; host bits are always zero. */
  readonly address: bigint;
  readonly prefixLength: number;
}

export type CidrParseResult = { ok: true; cidr: Cidr } | { ok: false; reason: string };

type AddressParseResult = { ok: true; family: 4 | 6; address: bigint } | { ok: false; reason: string };

const BITS = { 4: 32, 6: 128 } as const;

/**
 * Parses `address/prefix` strictly: the prefix length is required and host
 * bits must be zero, because a route or an allowed-IP range with host bits
 * set means something other than what was probably intended.
 */
export function parseCidr(text: string): CidrParseResult {
  const parts = text.split('/');
  if (parts.length === 1) return { ok: false, reason: 'missing the prefix length (e.g. /16)' };
  if (parts.length > 2) return { ok: false, reason: "more than one '/'" };
  const [addressText = '', prefixText = ''] = parts;
  const address = parseIpAddress(addressText);
  if (!address.ok) return address;
  const bits = BITS[address.family];
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
    return { ok: false, reason: `prefix length '${prefixText}' is not a number from 0 to ${bits} (IPv${address.family})` };
  }
  const prefixLength = Number(prefixText);
  const network = address.address & networkMask(address.family, prefixLength);
  if (network !== address.address) {
    const suggestion = formatCidr({ family: address.family, address: network, prefixLength });
    return { ok: false, reason: `host bits must be zero (did you mean ${suggestion}?)` };
  }
  return { ok: true, cidr: { family: address.family, address: network, prefixLength } };
}

/** Canonical text: dotted quad for IPv4, RFC 5952 (lowercase, longest zero run as `::`) for IPv6. */
export function formatCidr(cidr: Cidr): string {
  const address = cidr.family === 4 ? formatIPv4(cidr.address) : formatIPv6(cidr.address);
  return `${address}/${cidr.prefixLength}`;
}

/** True when every address of `inner` is in `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    outer.prefixLength <= inner.prefixLength &&
    (inner.address & networkMask(outer.family, outer.prefixLength)) === outer.address
  );
}

/** Two CIDR blocks share addresses exactly when one contains the other. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** The last address of a block (its first is `address`). */
export function lastAddress(cidr: Cidr): bigint {
  return cidr.address | ((1n << BigInt(BITS[cidr.family] - cidr.prefixLength)) - 1n);
}

/** The block of `prefixLength` that contains `cidr` (its ancestor, or itself); `prefixLength` ≤ cidr's. */
export function enclosingCidr(cidr: Cidr, prefixLength: number): Cidr {
  return { family: cidr.family, address: cidr.address & networkMask(cidr.family, prefixLength), prefixLength };
}

/**
 * One spelling per prefix, so text from annotations, config, `wg` and `ip`
 * compares equal: IPv6 lowercased and zero-compressed (RFC 5952, as
 * WireGuard and iproute2 print it), and the prefix length that `ip` leaves
 * out of host routes added back. Text that is not a CIDR (host bits set,
 * say) comes back as it is, with the prefix length added: it then compares
 * equal only to itself.
 */
export function canonicalCidr(text: string): string {
  const withPrefix = text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`;
  const parsed = parseCidr(withPrefix);
  return parsed.ok ? formatCidr(parsed.cidr) : withPrefix;
}

const MASKS = {
  4: Array.from({ length: BITS[4] + 1 }, (_, length) => maskOf(BITS[4], length)),
  6: Array.from({ length: BITS[6] + 1 }, (_, length) => maskOf(BITS[6], length)),
} as const;

function networkMask(family: 4 | 6, prefixLength: number): bigint {
  return MASKS[family][prefixLength] as bigint;
}

function maskOf(bits: number, prefixLength: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  const host = (1n << BigInt(bits - prefixLength)) - 1n;
  return all ^ host;
}

function parseIpAddress(text: string): AddressParseResult {
  if (text.includes(':')) return parseIPv6(text);
  const v4 = parseIPv4(text);
  return v4 === null ? { ok: false, reason: `'${text}' is not an IPv4 or IPv6 address` } : { ok: true, family: 4, address: v4 };
}

/** Dotted quad only; leading zeros are rejected as Go does, since some parsers read them as octal. */
function parseIPv4(text: string): bigint | null {
  const octets = text.split('.');
  if (octets.length !== 4) return null;
  let address = 0n;
  for (const octet of octets) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(octet) || Number(octet) > 255) return null;
    address = (address << 8n) | BigInt(octet);
  }
  return address;
}

function parseIPv6(text: string): AddressParseResult {
  const invalid = { ok: false, reason: `'${text}' is not a valid IPv6 address` } as const;
  if (text.includes('%')) return { ok: false, reason: `'${text}': zone indexes (%name) are not allowed in a CIDR` };
  const hex = withEmbeddedIPv4AsHex(text);
  if (hex === null) return invalid;
  const halves = hex.split('::');
  if (halves.length > 2) return invalid;
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (head === null || tail === null) return invalid;
  const compressed = halves.length === 2;
  const count = head.length + tail.length;
  if (compressed ? count > 7 : count !== 8) return invalid;
  const groups = [...head, ...zeros(8 - count), ...tail];
  if (!groups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return invalid;
  const address = groups.reduce((acc, group) => (acc << 16n) | BigInt(`0x${group}`), 0n);
  return { ok: true, family: 6, address };
}

/** `::ffff:10.1.2.3` → `::ffff:a01:203`; a dotted quad may only be the last part. Null when malformed. */
function withEmbeddedIPv4AsHex(text: string): string | null {
  if (!text.includes('.')) return text;
  const cut = text.lastIndexOf(':') + 1;
  const v4 = parseIPv4(text.slice(cut));
  if (v4 === null) return null;
  return `${text.slice(0, cut)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
}

/** Colon-separated groups; null when a group is empty (a stray ':'). */
function groupsOf(text: string): string[] | null {
  if (text === '') return [];
  const groups = text.split(':');
  return groups.includes('') ? null : groups;
}

function zeros(count: number): string[] {
  return Array.from({ length: count }, () => '0');
}

function formatIPv4(address: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => ((address >> shift) & 0xffn).toString()).join('.');
}

function formatIPv6(address: bigint): string {
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => ((address >> shift) & 0xffffn).toString(16));
  const run = longestZeroRun(groups);
  if (run.length < 2) return groups.join(':');
  return `${groups.slice(0, run.start).join(':')}::${groups.slice(run.start + run.length).join(':')}`;
}

/** The first longest run of '0' groups (RFC 5952 §4.2.3). */
function longestZeroRun(groups: readonly string[]): { start: number; length: number } {
  let best = { start: 0, length: 0 };
  let start = -1;
  groups.forEach((group, index) => {
    if (group !== '0') {
      start = -1;
      return;
    }
    if (start < 0) start = index;
    const length = index - start + 1;
    if (length > best.length) best = { start, length };
  });
  return best;
}
