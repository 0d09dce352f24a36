import { canonicalCidr } from '../net/cidr.ts';
import type { Route, RoutePlan } from './route-plan.ts';
import type { Routes } from './routes.ts';

/** In-memory routes for unit tests of the layers above. */
export class FakeRoutes implements Routes {
  readonly #byDevice = new Map<string, Map<string, Route>>();
  /** Every applied plan, in order. */
  readonly applied: Array<{ device: string; plan: RoutePlan }> = [];
  /** Destinations the "kernel" refuses to route, with its reason. */
  readonly #refused = new Map<string, string>();

  list(device: string): Promise<Route[]> {
    return Promise.resolve([...(this.#byDevice.get(device)?.values() ?? [])]);
  }

  /** Like IpRoutes: every route is tried, and the apply fails if the kernel refused any. */
  apply(device: string, plan: RoutePlan): Promise<void> {
    const routes = this.#byDevice.get(device) ?? new Map<string, Route>();
    const refused: string[] = [];
    for (const cidr of plan.remove) routes.delete(canonicalCidr(cidr));
    for (const cidr of plan.replace) {
      const destination = canonicalCidr(cidr);
      const reason = this.#refused.get(destination);
      if (reason !== undefined) refused.push(`${cidr}: ${reason}`);
      else routes.set(destination, { destination, protocol: null, scope: destination.includes(':') ? null : 'link' });
    }
    this.#byDevice.set(device, routes);
    this.applied.push({ device, plan });
    if (refused.length > 0) return Promise.reject(new Error(`updating routes through ${device} failed: ${refused.join('; ')}`));
    return Promise.resolve();
  }

  /** From now on the kernel refuses `cidr` (null: accepts it again), e.g. an IPv6 route where IPv6 is disabled. */
  refuse(cidr: string, reason: string | null): void {
    if (reason === null) this.#refused.delete(canonicalCidr(cidr));
    else this.#refused.set(canonicalCidr(cidr), reason);
  }

  /** Drops a route behind our back, as an operator or another agent would. */
  deleteRoute(device: string, cidr: string): void {
    this.#byDevice.get(device)?.delete(canonicalCidr(cidr));
  }

  /** What the kernel does when a link goes: its routes go with it. */
  dropDevice(device: string): void {
    this.#byDevice.delete(device);
  }
}
