import type { Runner } from '../process/exec.ts';
import { parseIpRoutes, planRoutes, routeBatch, type Route, type RoutePlan } from './route-plan.ts';

/** Routes of the host (or of a namespace, through the runner). */
export interface Routes {
  /** IPv4 and IPv6 routes of the main table through `device`. */
  list(device: string): Promise<Route[]>;
  /** Applies a plan in one `ip -batch` run; every route is tried, and the run fails if any failed. */
  apply(device: string, plan: RoutePlan): Promise<void>;
}

/**
 * Brings the routes through `device` to `desired` (docs/how-it-works.md,
 * "Route" and "Drift"): read, compare, and write only a difference.
 * Returns what it did; an empty plan means nothing had drifted.
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
