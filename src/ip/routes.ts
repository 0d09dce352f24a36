import type { Runner } from '../process/exec.ts';
import { canonicalCidr } from './cidr.ts';

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

/** Routes of the host (or of a namespace, through the runner). */
export interface Routes {
  /** IPv4 and IPv6 routes of the main table through `device`. */
  list(device: string): Promise<Route[]>;
  /** Applies a plan in one `ip -batch` run; every route is tried, and the run fails if any failed. */
  apply(device: string, plan: RoutePlan): Promise<void>;
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

/**
 * Brings the routes through `device` to `desired` (SPEC §3.3, and drift
 * repair §3.8). Returns what it did; an empty plan means nothing had drifted.
 */
export async function syncRoutes(routes: Routes, device: string, desired: readonly string[]): Promise<RoutePlan> {
  const plan = planRoutes(desired, await routes.list(device));
  if (plan.replace.length > 0 || plan.remove.length > 0) await routes.apply(device, plan);
  return plan;
}

const TIMEOUT_MS = 10_000;

/** `Routes` through iproute2. */
export class IpRoutes implements Routes {
  readonly #run: Runner;
  readonly #ip: string;

  constructor(run: Runner, ip = 'ip') {
    this.#run = run;
    this.#ip = ip;
  }

  async list(device: string): Promise<Route[]> {
    try {
      const [v4, v6] = await Promise.all([
        this.#run(this.#ip, ['-j', 'route', 'show', 'dev', device], { timeoutMs: TIMEOUT_MS }),
        this.#run(this.#ip, ['-j', '-6', 'route', 'show', 'dev', device], { timeoutMs: TIMEOUT_MS }),
      ]);
      return [...parseIpRoutes(v4.stdout), ...parseIpRoutes(v6.stdout)];
    } catch (error) {
      throw new Error(`reading routes through ${device} failed`, { cause: error });
    }
  }

  async apply(device: string, plan: RoutePlan): Promise<void> {
    const batch = routeBatch(device, plan);
    if (batch === '') return;
    try {
      // -force: a route the kernel refuses (an IPv6 one where the node has
      // IPv6 disabled) must not stop the lines after it, as -batch alone does.
      await this.#run(this.#ip, ['-force', '-batch', '-'], { input: batch, timeoutMs: TIMEOUT_MS });
    } catch (error) {
      throw new Error(
        `updating routes through ${device} failed (replace ${plan.replace.join(' ') || 'none'}, remove ${plan.remove.join(' ') || 'none'})`,
        { cause: error },
      );
    }
  }
}
