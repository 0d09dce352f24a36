import type { Link } from './link-settings.ts';

/**
 * Which links are clusterwire's: the rules, apart from the `ip` runner
 * (links.ts). A link is ours when its alias says so, for one remote.
 */
const OWNER_PREFIX = 'clusterwire:';

/** The alias that marks a link as clusterwire's, for one remote cluster. */
export function ownerAlias(remote: string): string {
  return `${OWNER_PREFIX}${remote}`;
}

/** The remote cluster a link belongs to, or null when clusterwire does not own it. */
export function linkOwner(link: Pick<Link, 'alias'>): string | null {
  return link.alias?.startsWith(OWNER_PREFIX) ? link.alias.slice(OWNER_PREFIX.length) : null;
}

/** The links clusterwire marked as its own. */
export function ownedLinks(links: readonly Link[]): Link[] {
  return links.filter((link) => linkOwner(link) !== null);
}

/** A configured remote and the name of its device. */
export interface RemoteDevice {
  remote: string;
  device: string;
}

/**
 * Links we own that are not a configured (remote, device) pair: garbage
 * (docs/how-it-works.md). Matching the remote alone would keep the old
 * link of a renamed device, which still holds the remote's UDP port.
 */
export function staleLinks(links: readonly Link[], configured: readonly RemoteDevice[]): Link[] {
  const pairs = new Set(configured.map(({ remote, device }) => JSON.stringify([remote, device])));
  return ownedLinks(links).filter((link) => !pairs.has(JSON.stringify([linkOwner(link), link.name])));
}
