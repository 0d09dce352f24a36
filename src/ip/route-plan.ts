import { canonicalCidr } from '../net/cidr.ts';

/** A route of the main table through one device, as `ip -j route show dev` reports it. */
export interface Route {
  /** CIDR text, always with its prefix length. */
  destination: string;
  /** `kernel` for routes the kernel made itself (link-local, connected); null for ours (`boot`). */
  protocol: string | null;
  /** `link` for ours; IPv6 routes have no scope (null). */
  scope: string | null;
}

/** What to do so the device carries exactly the desired subnets. */
export interface RoutePlan {
  /** `ip route replace <cidr> dev <device> scope link`. */
  replace: string[];
  remove: string[];
}

/**
 * Compares desired subnets with the routes a device has. A desired route is
 * replaced when missing or not link-scoped; a route of ours that is not
 * desired is removed; the kernel's own routes (IPv6 link-local) are left be.
 */
export function planRoutes(desired: readonly string[], observed: readonly Route[]): RoutePlan {
  const wanted = new Set(desired.map(canonicalCidr));
  const present = new Map(observed.map((route) => [route.destination, route]));
  const replace = [...wanted].filter((cidr) => {
    const route = present.get(cidr);
    return route === undefined || (route.scope !== null && route.scope !== 'link');
  });
  const remove = observed
    .filter((route) => route.protocol !== 'kernel' && !wanted.has(route.destination))
    .map((route) => route.destination);
  return { replace, remove };
}

/** The `ip -batch` text of a plan; the address family follows from each CIDR. */
export function routeBatch(device: string, plan: RoutePlan): string {
  const lines = [
    ...plan.remove.map((cidr) => `route delete ${cidr} dev ${device}`),
    ...plan.replace.map((cidr) => `route replace ${cidr} dev ${device} scope link`),
  ];
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

interface IpRouteJson {
  dst: string;
  protocol?: string;
  scope?: string;
}

/** Parses `ip -j route show dev <device>` (either family). */
export function parseIpRoutes(json: string): Route[] {
  const entries = JSON.parse(json) as IpRouteJson[];
  if (!Array.isArray(entries)) throw new Error('ip -j route show did not print a JSON array');
  return entries
    .filter((entry) => entry.dst !== 'default')
    .map((entry) => ({
      destination: canonicalCidr(entry.dst),
      protocol: entry.protocol ?? null,
      scope: entry.scope ?? null,
    }));
}
