import { canonicalCidr } from './cidr.ts';
import type { Route, RoutePlan, Routes } from './routes.ts';

/** In-memory routes for unit tests of the layers above. */
export class FakeRoutes implements Routes {
  readonly #byDevice = new Map<string, Map<string, Route>>();
  /** Every applied plan, in order. */
  readonly applied: Array<{ device: string; plan: RoutePlan }> = [];

  list(device: string): Promise<Route[]> {
    return Promise.resolve([...(this.#byDevice.get(device)?.values() ?? [])]);
  }

  apply(device: string, plan: RoutePlan): Promise<void> {
    const routes = this.#byDevice.get(device) ?? new Map<string, Route>();
    for (const cidr of plan.remove) routes.delete(canonicalCidr(cidr));
    for (const cidr of plan.replace) {
      const destination = canonicalCidr(cidr);
      routes.set(destination, { destination, protocol: null, scope: destination.includes(':') ? null : 'link' });
    }
    this.#byDevice.set(device, routes);
    this.applied.push({ device, plan });
    return Promise.resolve();
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
