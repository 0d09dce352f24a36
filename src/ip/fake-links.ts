import { CommandError } from '../process/exec.ts';
import type { Link, LinkChange } from './link-settings.ts';
import type { Links } from './links.ts';

export interface FakeLinksOptions {
  /** Whether `addWireGuard` works, as with a kernel that has the module. */
  kernelWireGuard?: boolean;
  /** Called when a WireGuard link appears or disappears (to keep a fake WireGuard in step). */
  onAdded?: (name: string) => void;
  onRemoved?: (name: string) => void;
}

/** In-memory links for unit tests of the layers above. */
export class FakeLinks implements Links {
  readonly #links = new Map<string, Link>();
  readonly #options: FakeLinksOptions;
  #nextIndex = 2;
  /** Every applied change, in order. */
  readonly applied: Array<{ name: string; change: LinkChange }> = [];

  constructor(options: FakeLinksOptions = {}) {
    this.#options = options;
  }

  /** Adds a link as another program (or a userspace WireGuard) would. */
  addLink(name: string, kind: string | null, alias: string | null = null): Link {
    if (this.#links.has(name)) throw new Error(`fake links: ${name} exists`);
    const link: Link = { name, index: this.#nextIndex++, kind, alias, mtu: 1420, txQueueLength: 500, up: false, addresses: [] };
    this.#links.set(name, link);
    this.#options.onAdded?.(name);
    return link;
  }

  list(): Promise<Link[]> {
    return Promise.resolve([...this.#links.values()].map((link) => ({ ...link })));
  }

  get(name: string): Promise<Link | null> {
    const link = this.#links.get(name);
    return Promise.resolve(link ? { ...link } : null);
  }

  addWireGuard(name: string): Promise<void> {
    const command = `ip link add ${name} type wireguard`;
    if (this.#options.kernelWireGuard === false) {
      return Promise.reject(new CommandError(command, 2, 'Error: Unknown device type.\n'));
    }
    if (this.#links.has(name)) return Promise.reject(new CommandError(command, 2, 'RTNETLINK answers: File exists\n'));
    this.addLink(name, 'wireguard');
    return Promise.resolve();
  }

  apply(name: string, change: LinkChange): Promise<void> {
    const link = this.#links.get(name);
    if (!link) return Promise.reject(new Error(`setting up link ${name} failed: no such link`));
    Object.assign(link, {
      alias: change.alias ?? link.alias,
      mtu: change.mtu ?? link.mtu,
      txQueueLength: change.txQueueLength ?? link.txQueueLength,
      up: link.up || change.up,
      addresses: change.flushAddresses ? [] : link.addresses,
    });
    this.applied.push({ name, change });
    return Promise.resolve();
  }

  /** Changes a link behind our back, as an operator or another program would. */
  alter(name: string, fields: Partial<Omit<Link, 'name' | 'index' | 'kind'>>): void {
    const link = this.#links.get(name);
    if (!link) throw new Error(`fake links: no ${name}`);
    Object.assign(link, fields);
  }

  remove(name: string): Promise<boolean> {
    const existed = this.#links.delete(name);
    if (existed) this.#options.onRemoved?.(name);
    return Promise.resolve(existed);
  }
}
