import { isIPv6 } from 'node:net';

/**
 * One spelling per prefix, so text from annotations, config, `wg` and `ip`
 * compares equal: IPv6 lowercased and zero-compressed (RFC 5952, as
 * WireGuard and iproute2 print it), and the prefix length that `ip` leaves
 * out of host routes added back.
 */
export function canonicalCidr(text: string): string {
  const [address = '', prefix] = text.split('/');
  if (!isIPv6(address)) return `${address}/${prefix ?? 32}`;
  return `${new URL(`http://[${address}]`).hostname.slice(1, -1)}/${prefix ?? 128}`;
}
