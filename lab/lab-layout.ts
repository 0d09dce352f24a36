/**
 * Where everything of one lab goes: names, addresses and pod CIDRs, as pure
 * functions of the lab's slot and the clusters asked for. A slot is the
 * third octet of the lab's bridge subnet 198.18.<slot>.0/24 (198.18.0.0/15
 * is reserved for benchmarks and never used by these machines, whose own
 * eth0 is on 192.0.2.0/24), so two labs on one machine never overlap.
 *
 * Dual-stack clusters (`podSubnet6`) also put their nodes on the slot's
 * IPv6 subnet 2001:2:0:<slot>::/64, inside 2001:2::/48, the IPv6
 * benchmarking range (RFC 5180): like 198.18.0.0/15 it is never routed,
 * and it is far from these machines' own fd00::/64. The slot is written
 * with the same digits as in IPv4, so 198.18.64.3 is 2001:2:0:64::3.
 */
import { formatIpv4, nthSubnet, parseIpv4, parseIpv4Cidr } from './emulator/ipv4.ts';
import { clusterNameProblem } from '../src/config/dns-names.ts';
import { MAX_NAME_FOR_DEFAULT_DEVICE } from '../src/config/interface-name.ts';
import { cidrsOverlap, formatCidr, parseCidr, type Cidr } from '../src/net/cidr.ts';

/** Slots a lab may take: 198.18.64.0/24 to 198.18.127.0/24. */
export const FIRST_SLOT = 64;
export const SLOT_COUNT = 64;

/** Every name of a lab starts with this, so leftovers of a crashed run can be found. */
export const LAB_NAME_PREFIX = 'cwlab';

/** Addresses .2 to .254 of the bridge subnet: .1 is the bridge (where the apiservers listen). */
export const MAX_HOSTS = 253;

/** The host part of a node's pod address in its podCIDR: clearly not the gateway-like .1. */
const POD_HOST = 10;
/** The same in an IPv6 pod CIDR, 0x10 so that it reads `::10` as the IPv4 one reads `.10`. */
const POD_HOST_6 = 0x10n;

/** The machine's own IPv6 network (its eth0): no lab address may fall in it. */
const MACHINE_NETWORK_6 = 'fd00::/64';

export interface ClusterSpec {
  name: string;
  /** IPv4: node n gets its n-th /24. */
  podSubnet: string;
  /**
   * Dual stack: an IPv6 pod subnet (node n gets its n-th /64), and every
   * node of the cluster gets an IPv6 address on the lab network too.
   */
  podSubnet6?: string;
  /**
   * The family listed first in each node's InternalIPs and pod CIDRs (the
   * cluster's primary family). The daemon advertises the first InternalIP
   * as its endpoint, so 6 makes `[addr]:port` endpoints. Default 4; 6 needs
   * `podSubnet6`.
   */
  primaryFamily?: 4 | 6;
  nodes: number;
}

export const DEFAULT_CLUSTERS: readonly ClusterSpec[] = [
  { name: 'c1', podSubnet: '10.2.0.0/16', nodes: 2 },
  { name: 'c2', podSubnet: '10.4.0.0/16', nodes: 2 },
];

export interface SlotNames {
  slot: number;
  /** The bridge in the machine's namespace. */
  bridge: string;
  /** Every lab host (network namespace) of this slot starts with it. */
  hostPrefix: string;
  /** 198.18.<slot>.1: the bridge's address, where the emulated apiservers listen. */
  gateway: string;
  subnet: string;
  /** 2001:2:0:<slot>::/64: the IPv6 subnet of dual-stack nodes (the bridge itself has no address in it). */
  subnet6: string;
}

export function slotNames(slot: number): SlotNames {
  if (!Number.isInteger(slot) || slot < FIRST_SLOT || slot >= FIRST_SLOT + SLOT_COUNT) {
    throw new Error(`lab slot ${slot} is outside ${FIRST_SLOT}..${FIRST_SLOT + SLOT_COUNT - 1}`);
  }
  return {
    slot,
    bridge: `${LAB_NAME_PREFIX}${slot}`,
    hostPrefix: `${LAB_NAME_PREFIX}${slot}-`,
    gateway: `198.18.${slot}.1`,
    subnet: `198.18.${slot}.0/24`,
    subnet6: `2001:2:0:${slot}::/64`,
  };
}

/** The slot a lab name (host, bridge or bridge port) belongs to, or null when it is not a lab's. */
export function slotOfName(name: string): number | null {
  const match = new RegExp(`^${LAB_NAME_PREFIX}(\\d+)(-|v\\d+$|$)`).exec(name);
  if (!match) return null;
  const slot = Number(match[1]);
  return slot >= FIRST_SLOT && slot < FIRST_SLOT + SLOT_COUNT ? slot : null;
}

export interface NodePlan {
  /** The Kubernetes Node name, e.g. c1-n2. */
  name: string;
  cluster: string;
  /** Its lab host (network + mount namespace). */
  hostName: string;
  /** The veth end in the machine's namespace, enslaved to the bridge (≤ 15 bytes). */
  bridgePort: string;
  /** 198.18.<slot>.<hostNumber + 1>: the node's IPv4 InternalIP. */
  address: string;
  /** 2001:2:0:<slot>::<hostNumber + 1> in a dual-stack cluster: its IPv6 InternalIP; else null. */
  address6: string | null;
  /** Its InternalIPs, primary family first: the first is its WireGuard endpoint address. */
  internalIPs: string[];
  /** The IPv4 pod CIDR. */
  podCIDR: string;
  /** An address in podCIDR on the node's lo: the "pod" that cross-cluster pings target. */
  podIP: string;
  /** The IPv6 pod CIDR of a dual-stack node, else null. */
  podCIDR6: string | null;
  /** An address in podCIDR6 on the node's lo, else null. */
  podIP6: string | null;
  /** spec.podCIDRs: primary family first, as Kubernetes lists them. */
  podCIDRs: string[];
}

/** The interface inside every lab host that faces the bridge. */
export const HOST_INTERFACE = 'eth0';

/**
 * Node number `ordinal` (1-based, never reused within its cluster) of a
 * cluster, as lab host number `hostNumber` (1-based, never reused within
 * the lab).
 */
export function planNode(slot: number, cluster: ClusterSpec, ordinal: number, hostNumber: number): NodePlan {
  const names = slotNames(slot);
  if (!Number.isInteger(hostNumber) || hostNumber < 1 || hostNumber > MAX_HOSTS) {
    throw new Error(`lab host number ${hostNumber} is outside 1..${MAX_HOSTS}: the lab has no more addresses`);
  }
  const podCIDR = nthSubnet(parseIpv4Cidr(cluster.podSubnet), 24, ordinal);
  const name = `${cluster.name}-n${ordinal}`;
  const address = `198.18.${slot}.${hostNumber + 1}`;
  const pod6 = cluster.podSubnet6 === undefined ? null : nthSubnet6(mustParse6(cluster.podSubnet6), 64, ordinal);
  const address6 = pod6 === null ? null : `2001:2:0:${slot}::${hostNumber + 1}`;
  const podCIDR6 = pod6 === null ? null : formatCidr(pod6);
  const v6First = cluster.primaryFamily === 6;
  const both = <T>(v4: T, v6: T | null): T[] => (v6 === null ? [v4] : v6First ? [v6, v4] : [v4, v6]);
  return {
    name,
    cluster: cluster.name,
    hostName: `${names.hostPrefix}${name}`,
    bridgePort: `${names.bridge}v${hostNumber}`,
    address,
    address6,
    internalIPs: both(address, address6),
    podCIDR,
    podIP: formatIpv4(parseIpv4(podCIDR.split('/')[0] ?? '') + POD_HOST),
    podCIDR6,
    podIP6: pod6 === null ? null : formatCidr({ ...pod6, address: pod6.address + POD_HOST_6, prefixLength: 128 }).split('/')[0] ?? null,
    podCIDRs: both(podCIDR, podCIDR6),
  };
}

/** The `index`-th subnet of length `subnetLength` inside an IPv6 `block`. */
function nthSubnet6(block: Cidr, subnetLength: number, index: number): Cidr {
  if (subnetLength < block.prefixLength || index < 0 || BigInt(index) >= 1n << BigInt(subnetLength - block.prefixLength)) {
    throw new Error(`no /${subnetLength} number ${index} in ${formatCidr(block)}`);
  }
  return { family: 6, address: block.address + (BigInt(index) << BigInt(128 - subnetLength)), prefixLength: subnetLength };
}

function parse6(text: string): Cidr | null {
  const result = parseCidr(text);
  return result.ok && result.cidr.family === 6 ? result.cidr : null;
}

function mustParse6(text: string): Cidr {
  const cidr = parse6(text);
  if (cidr === null) throw new Error(`not an IPv6 CIDR: ${text}`);
  return cidr;
}

/** Every problem with the clusters asked for; empty when the lab can be built. */
export function clusterSpecProblems(clusters: readonly ClusterSpec[]): string[] {
  const problems: string[] = [];
  if (clusters.length < 2) problems.push(`a lab needs at least 2 clusters, got ${clusters.length}`);
  const seen = new Set<string>();
  const blocks: { name: string; first: number; last: number }[] = [];
  const blocks6: { name: string; cidr: Cidr }[] = [];
  let nodes = 0;
  for (const cluster of clusters) {
    const nameProblem = clusterNameProblem(cluster.name);
    if (nameProblem) problems.push(`cluster ${JSON.stringify(cluster.name)}: ${nameProblem}`);
    else if (cluster.name.length > MAX_NAME_FOR_DEFAULT_DEVICE) {
      problems.push(`cluster ${cluster.name}: at most ${MAX_NAME_FOR_DEFAULT_DEVICE} characters, so that its device name fits`);
    }
    if (seen.has(cluster.name)) problems.push(`cluster ${cluster.name} is given twice`);
    seen.add(cluster.name);
    problems.push(...dualStackProblems(cluster, clusters, blocks6));
    if (!Number.isInteger(cluster.nodes) || cluster.nodes < 1) problems.push(`cluster ${cluster.name}: nodes must be a positive integer, got ${cluster.nodes}`);
    else nodes += cluster.nodes;
    let block;
    try {
      block = parseIpv4Cidr(cluster.podSubnet);
    } catch {
      problems.push(`cluster ${cluster.name}: podSubnet ${JSON.stringify(cluster.podSubnet)} is not an IPv4 CIDR`);
      continue;
    }
    if (block.prefixLength > 23) problems.push(`cluster ${cluster.name}: podSubnet ${cluster.podSubnet} must be /23 or larger (one /24 per node)`);
    const first = block.base;
    const last = block.base + 2 ** (32 - block.prefixLength) - 1;
    for (const other of blocks) {
      if (first <= other.last && other.first <= last) problems.push(`cluster ${cluster.name}: podSubnet ${cluster.podSubnet} overlaps cluster ${other.name}'s`);
    }
    blocks.push({ name: cluster.name, first, last });
  }
  if (nodes > MAX_HOSTS) problems.push(`${nodes} nodes in all: a lab holds at most ${MAX_HOSTS}`);
  return problems;
}

/**
 * What is wrong with a cluster's IPv6 side; records its IPv6 pod subnet in
 * `blocks6` to compare it with the next clusters'.
 */
function dualStackProblems(cluster: ClusterSpec, clusters: readonly ClusterSpec[], blocks6: { name: string; cidr: Cidr }[]): string[] {
  const problems: string[] = [];
  if (cluster.primaryFamily !== undefined && cluster.primaryFamily !== 4 && cluster.primaryFamily !== 6) {
    problems.push(`cluster ${cluster.name}: primaryFamily must be 4 or 6, got ${String(cluster.primaryFamily)}`);
  }
  if (cluster.primaryFamily === 6) {
    if (cluster.podSubnet6 === undefined) problems.push(`cluster ${cluster.name}: primaryFamily 6 needs podSubnet6 (its nodes have no IPv6 address otherwise)`);
    // Its endpoints are IPv6: every other cluster's nodes need an IPv6 address to reach them.
    for (const other of clusters) {
      if (other.name !== cluster.name && other.podSubnet6 === undefined) {
        problems.push(`cluster ${cluster.name} advertises IPv6 endpoints, which cluster ${other.name} cannot reach without podSubnet6`);
      }
    }
  }
  if (cluster.podSubnet6 === undefined) return problems;
  const block = parse6(cluster.podSubnet6);
  if (block === null) return [...problems, `cluster ${cluster.name}: podSubnet6 ${JSON.stringify(cluster.podSubnet6)} is not an IPv6 CIDR`];
  if (block.prefixLength > 63) problems.push(`cluster ${cluster.name}: podSubnet6 ${cluster.podSubnet6} must be /63 or larger (one /64 per node)`);
  if (cidrsOverlap(block, mustParse6(MACHINE_NETWORK_6))) {
    problems.push(`cluster ${cluster.name}: podSubnet6 ${cluster.podSubnet6} overlaps the machine's own network ${MACHINE_NETWORK_6}`);
  }
  for (const other of blocks6) {
    if (cidrsOverlap(block, other.cidr)) problems.push(`cluster ${cluster.name}: podSubnet6 ${cluster.podSubnet6} overlaps cluster ${other.name}'s`);
  }
  blocks6.push({ name: cluster.name, cidr: block });
  return problems;
}
