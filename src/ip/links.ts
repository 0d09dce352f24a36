import { isSafeInterfaceName } from '../config/interface-name.ts';
import { CommandError, type Runner } from '../process/exec.ts';

/** A network link as `ip -d -j link show` reports it, reduced to what we use. */
export interface Link {
  name: string;
  index: number;
  /** `linkinfo.info_kind`: `wireguard` (kernel), `tun` (wireguard-go), ...; null for plain devices. */
  kind: string | null;
  alias: string | null;
  mtu: number;
  txQueueLength: number;
  up: boolean;
}

/** What clusterwire sets on a WireGuard link it owns (SPEC §3.1). */
export interface LinkSettings {
  alias: string;
  mtu: number;
  txQueueLength: number;
}

/** Links of the host (or of a namespace, through the runner). */
export interface Links {
  list(): Promise<Link[]>;
  /** The link, or null when there is none by that name. */
  get(name: string): Promise<Link | null>;
  /** `ip link add NAME type wireguard`; see `isKernelWireGuardMissing` for its failure without the module. */
  addWireGuard(name: string): Promise<void>;
  /** Alias, MTU, queue length, no addresses, up: in one `ip -batch`. Harmless to repeat. */
  configure(name: string, settings: LinkSettings): Promise<void>;
  /** Deletes the link; false when it did not exist. */
  remove(name: string): Promise<boolean>;
}

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

/**
 * True when `ip link add ... type wireguard` failed because the kernel has no
 * WireGuard: then the userspace implementation is the way (backend `auto`).
 */
export function isKernelWireGuardMissing(error: unknown): boolean {
  return error instanceof CommandError && /Unknown device type|Operation not supported/i.test(error.stderr);
}

interface IpLinkJson {
  ifindex: number;
  ifname: string;
  ifalias?: string;
  mtu: number;
  txqlen?: number;
  flags?: string[];
  linkinfo?: { info_kind?: string };
}

/** Parses `ip -d -j link show`. */
export function parseIpLinks(json: string): Link[] {
  const entries = JSON.parse(json) as IpLinkJson[];
  if (!Array.isArray(entries)) throw new Error('ip -j link show did not print a JSON array');
  return entries.map((entry) => ({
    name: entry.ifname,
    index: entry.ifindex,
    kind: entry.linkinfo?.info_kind ?? null,
    alias: entry.ifalias || null,
    mtu: entry.mtu,
    txQueueLength: entry.txqlen ?? 0,
    up: entry.flags?.includes('UP') ?? false,
  }));
}

/**
 * The `ip -batch` text that brings a link to its settings. The config
 * already refuses such names; this guards the batch itself, where `#`
 * starts a comment and a space splits arguments (`eth0#x` would flush eth0).
 */
export function linkSetupBatch(name: string, settings: LinkSettings): string {
  if (!isSafeInterfaceName(name)) throw new Error(`refusing to write an ip batch for link name ${JSON.stringify(name)}: only letters, digits, '_', '.' and '-' are safe there`);
  if (!/^[A-Za-z0-9_.:-]+$/.test(settings.alias)) throw new Error(`refusing to write an ip batch with alias ${JSON.stringify(settings.alias)}`);
  return [
    `link set dev ${name} alias ${settings.alias} mtu ${settings.mtu} txqueuelen ${settings.txQueueLength}`,
    // Addresses have no use on the link (routes point at it) and may confuse
    // the peering of pod traffic: SPEC §3.1 flushes them.
    `address flush dev ${name}`,
    `link set dev ${name} up`,
    '',
  ].join('\n');
}

const TIMEOUT_MS = 10_000;

/** `Links` through iproute2. */
export class IpLinks implements Links {
  readonly #run: Runner;
  readonly #ip: string;

  constructor(run: Runner, ip = 'ip') {
    this.#run = run;
    this.#ip = ip;
  }

  async list(): Promise<Link[]> {
    const { stdout } = await this.#run(this.#ip, ['-d', '-j', 'link', 'show'], { timeoutMs: TIMEOUT_MS });
    return parseIpLinks(stdout);
  }

  async get(name: string): Promise<Link | null> {
    try {
      const { stdout } = await this.#run(this.#ip, ['-d', '-j', 'link', 'show', 'dev', name], { timeoutMs: TIMEOUT_MS });
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

  async configure(name: string, settings: LinkSettings): Promise<void> {
    try {
      await this.#run(this.#ip, ['-batch', '-'], { input: linkSetupBatch(name, settings), timeoutMs: TIMEOUT_MS });
    } catch (error) {
      throw new Error(`setting up link ${name} (alias ${settings.alias}, mtu ${settings.mtu}) failed`, { cause: error });
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
