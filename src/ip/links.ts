import { CommandError, type Runner } from '../process/exec.ts';
import { linkChangeBatch, parseIpLinks, type Link, type LinkChange } from './link-settings.ts';

/** Links of the host (or of a namespace, through the runner). */
export interface Links {
  list(): Promise<Link[]>;
  /** The link, or null when there is none by that name. */
  get(name: string): Promise<Link | null>;
  /** `ip link add NAME type wireguard`; see `isKernelWireGuardMissing` for its failure without the module. */
  addWireGuard(name: string): Promise<void>;
  /** Writes what differs (planLinkSettings), in one `ip -batch`. */
  apply(name: string, change: LinkChange): Promise<void>;
  /** Deletes the link; false when it did not exist. */
  remove(name: string): Promise<boolean>;
}

/**
 * True when `ip link add ... type wireguard` failed because the kernel has no
 * WireGuard: then the userspace implementation is the way (backend `auto`).
 */
export function isKernelWireGuardMissing(error: unknown): boolean {
  return error instanceof CommandError && /Unknown device type|Operation not supported/i.test(error.stderr);
}

const TIMEOUT_MS = 10_000;

/** `Links` through iproute2. Reads are `address show`: one call gives a link's settings and whether it has addresses. */
export class IpLinks implements Links {
  readonly #run: Runner;
  readonly #ip: string;

  constructor(run: Runner, ip = 'ip') {
    this.#run = run;
    this.#ip = ip;
  }

  async list(): Promise<Link[]> {
    const { stdout } = await this.#run(this.#ip, ['-d', '-j', 'address', 'show'], { timeoutMs: TIMEOUT_MS });
    return parseIpLinks(stdout);
  }

  async get(name: string): Promise<Link | null> {
    try {
      const { stdout } = await this.#run(this.#ip, ['-d', '-j', 'address', 'show', 'dev', name], { timeoutMs: TIMEOUT_MS });
      return parseIpLinks(stdout)[0] ?? null;
    } catch (error) {
      if (error instanceof CommandError && /does not exist/.test(error.stderr)) return null;
      throw new Error(`reading link ${name} failed`, { cause: error });
    }
  }

  async addWireGuard(name: string): Promise<void> {
    // Unwrapped: callers test the CommandError with isKernelWireGuardMissing.
    await this.#run(this.#ip, ['link', 'add', name, 'type', 'wireguard'], { timeoutMs: TIMEOUT_MS });
  }

  async apply(name: string, change: LinkChange): Promise<void> {
    try {
      await this.#run(this.#ip, ['-batch', '-'], { input: linkChangeBatch(name, change), timeoutMs: TIMEOUT_MS });
    } catch (error) {
      throw new Error(`setting up link ${name} (${describeChange(change)}) failed`, { cause: error });
    }
  }

  async remove(name: string): Promise<boolean> {
    try {
      await this.#run(this.#ip, ['link', 'delete', 'dev', name], { timeoutMs: TIMEOUT_MS });
      return true;
    } catch (error) {
      if (error instanceof CommandError && /Cannot find device|does not exist/.test(error.stderr)) return false;
      throw new Error(`deleting link ${name} failed`, { cause: error });
    }
  }
}

function describeChange(change: LinkChange): string {
  const parts = [
    change.alias === undefined ? null : `alias ${change.alias}`,
    change.mtu === undefined ? null : `mtu ${change.mtu}`,
    change.txQueueLength === undefined ? null : `txqueuelen ${change.txQueueLength}`,
    change.flushAddresses ? 'flush addresses' : null,
    change.up ? 'up' : null,
  ];
  return parts.filter((part) => part !== null).join(', ');
}
