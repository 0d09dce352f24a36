import { cidrsOverlap, formatCidr, parseCidr, type Cidr } from '../net/cidr.ts';
import { showValue } from './issue.ts';

/**
 * What a remote pod subnet may be. It becomes `ip route replace <subnet>
 * dev <device>` on every node, so a subnet that is too wide or in special
 * address space takes the node's own traffic into the tunnel: `0.0.0.0/0`
 * replaces the default route, `169.254.0.0/16` the cloud metadata service.
 */

/** The shortest prefix per family: no real pod network is wider (a /8 holds 16 million pods). */
const MIN_PREFIX_LENGTH = { 4: 8, 6: 16 } as const;

/** Address space that is never a pod network. */
const SPECIAL_SPACE: readonly { what: string; cidr: Cidr }[] = [
  { what: 'loopback', cidr: known('127.0.0.0/8') },
  { what: 'loopback', cidr: known('::1/128') },
  { what: 'link-local', cidr: known('169.254.0.0/16') },
  { what: 'link-local', cidr: known('fe80::/10') },
  { what: 'multicast', cidr: known('224.0.0.0/4') },
  { what: 'multicast', cidr: known('ff00::/8') },
];

/** Why `cidr` (written as `text`) cannot be a remote pod subnet, or null. */
export function podSubnetProblem(cidr: Cidr, text: string): string | null {
  const shown = showValue(text);
  if (cidr.prefixLength === 0) {
    return `${shown} is every IPv${cidr.family} address: its route would replace the default route of every node`;
  }
  const min = MIN_PREFIX_LENGTH[cidr.family];
  if (cidr.prefixLength < min) {
    return `${shown} is too wide: a remote pod subnet must be /${min} or longer (IPv${cidr.family}), or its route takes traffic that is not the remote's pods into the tunnel`;
  }
  const special = SPECIAL_SPACE.find((space) => cidrsOverlap(space.cidr, cidr));
  if (special !== undefined) {
    return `${shown} overlaps ${special.what} space (${formatCidr(special.cidr)}): a remote pod subnet must be outside loopback, link-local and multicast space`;
  }
  return null;
}

function known(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(`${text}: ${parsed.reason}`);
  return parsed.cidr;
}
