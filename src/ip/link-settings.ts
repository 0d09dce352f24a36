import { isSafeInterfaceName } from '../config/interface-name.ts';

/** A network link as `ip -d -j address show` reports it, reduced to what we use. */
export interface Link {
  name: string;
  index: number;
  /** `linkinfo.info_kind`: `wireguard` (kernel), `tun` (wireguard-go), ...; null for plain devices. */
  kind: string | null;
  alias: string | null;
  mtu: number;
  txQueueLength: number;
  up: boolean;
  /** Its addresses, without prefix length. */
  addresses: string[];
}

/** What clusterwire sets on a WireGuard link it owns (docs/how-it-works.md, "Device"). */
export interface LinkSettings {
  alias: string;
  mtu: number;
  txQueueLength: number;
}

/** What differs between a link and its settings; only these are written. */
export interface LinkChange {
  alias?: string;
  mtu?: number;
  txQueueLength?: number;
  /**
   * The link has an address of its own: it has no use there (routes point
   * at the link) and may confuse the peering of pod traffic. The IPv6
   * link-local address the kernel gives every link it brings up does not
   * count: flushed, it came back as a repair 30 s after every start.
   */
  flushAddresses: boolean;
  up: boolean;
}

/** fe80::/10: the kernel's own address for a link that is up (net.ipv6.conf.<link>.addr_gen_mode). */
export function isIpv6LinkLocal(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

/**
 * The change that brings a link to its settings, or null when it has them:
 * a reconcile tick that finds the link as it should be writes nothing.
 */
export function planLinkSettings(link: Link, settings: LinkSettings): LinkChange | null {
  const change: LinkChange = {
    ...(link.alias === settings.alias ? {} : { alias: settings.alias }),
    ...(link.mtu === settings.mtu ? {} : { mtu: settings.mtu }),
    ...(link.txQueueLength === settings.txQueueLength ? {} : { txQueueLength: settings.txQueueLength }),
    flushAddresses: link.addresses.some((address) => !isIpv6LinkLocal(address)),
    up: !link.up,
  };
  const nothing = change.alias === undefined && change.mtu === undefined && change.txQueueLength === undefined && !change.flushAddresses && !change.up;
  return nothing ? null : change;
}

/**
 * The `ip -batch` text of a change. The config already refuses unsafe
 * names; this guards the batch itself, where `#` starts a comment and a
 * space splits arguments (`eth0#x` would flush eth0).
 */
export function linkChangeBatch(name: string, change: LinkChange): string {
  if (!isSafeInterfaceName(name)) throw new Error(`refusing to write an ip batch for link name ${JSON.stringify(name)}: only letters, digits, '_', '.' and '-' are safe there`);
  if (change.alias !== undefined && !/^[A-Za-z0-9_.:-]+$/.test(change.alias)) throw new Error(`refusing to write an ip batch with alias ${JSON.stringify(change.alias)}`);
  const settings = [
    change.alias === undefined ? '' : ` alias ${change.alias}`,
    change.mtu === undefined ? '' : ` mtu ${change.mtu}`,
    change.txQueueLength === undefined ? '' : ` txqueuelen ${change.txQueueLength}`,
  ].join('');
  const lines = [settings === '' ? null : `link set dev ${name}${settings}`, change.flushAddresses ? `address flush dev ${name}` : null, change.up ? `link set dev ${name} up` : null];
  return lines.filter((line) => line !== null).map((line) => `${line}\n`).join('');
}

interface IpLinkJson {
  ifindex: number;
  ifname: string;
  ifalias?: string;
  mtu: number;
  txqlen?: number;
  flags?: string[];
  linkinfo?: { info_kind?: string };
  addr_info?: { local?: string }[];
}

/** Parses `ip -d -j address show` (or `link show`, which has no addresses). */
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
    addresses: (entry.addr_info ?? []).flatMap((info) => (info.local === undefined ? [] : [info.local])),
  }));
}
