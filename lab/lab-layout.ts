/**
 * Where everything of one lab goes: names, addresses and pod CIDRs, as pure
 * functions of the lab's slot and the clusters asked for. A slot is the
 * third octet of the lab's bridge subnet 198.18.<slot>.0/24 (198.18.0.0/15
 * is reserved for benchmarks and never used by these machines, whose own
 * eth0 is on 192.0.2.0/24), so two labs on one machine never overlap.
 */
import { formatIpv4, nthSubnet, parseIpv4, parseIpv4Cidr } from './emulator/ipv4.ts';
import { clusterNameProblem } from '../src/config/dns-names.ts';
import { MAX_NAME_FOR_DEFAULT_DEVICE } from '../src/config/interface-name.ts';

/** Slots a lab may take: 198.18.64.0/24 to 198.18.127.0/24. */
export const FIRST_SLOT = 64;
export const SLOT_COUNT = 64;

/** Every name of a lab starts with this, so leftovers of a crashed run can be found. */
export const LAB_NAME_PREFIX = 'cwlab';

/** Addresses .2 to .254 of the bridge subnet: .1 is the bridge (where the apiservers listen). */
export const MAX_HOSTS = 253;

/** The host part of a node's pod address in its podCIDR: clearly not the gateway-like .1. */
const POD_HOST = 10;

export interface ClusterSpec {
  name: string;
  podSubnet: string;
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
  /** 198.18.<slot>.<hostNumber + 1>: the node's InternalIP and WireGuard endpoint address. */
  address: string;
  podCIDR: string;
  /** An address in podCIDR on the node's lo: the "pod" that cross-cluster pings target. */
  podIP: string;
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
  return {
    name,
    cluster: cluster.name,
    hostName: `${names.hostPrefix}${name}`,
    bridgePort: `${names.bridge}v${hostNumber}`,
    address: `198.18.${slot}.${hostNumber + 1}`,
    podCIDR,
    podIP: formatIpv4(parseIpv4(podCIDR.split('/')[0] ?? '') + POD_HOST),
  };
}

/** Every problem with the clusters asked for; empty when the lab can be built. */
export function clusterSpecProblems(clusters: readonly ClusterSpec[]): string[] {
  const problems: string[] = [];
  if (clusters.length < 2) problems.push(`a lab needs at least 2 clusters, got ${clusters.length}`);
  const seen = new Set<string>();
  const blocks: { name: string; first: number; last: number }[] = [];
  let nodes = 0;
  for (const cluster of clusters) {
    const nameProblem = clusterNameProblem(cluster.name);
    if (nameProblem) problems.push(`cluster ${JSON.stringify(cluster.name)}: ${nameProblem}`);
    else if (cluster.name.length > MAX_NAME_FOR_DEFAULT_DEVICE) {
      problems.push(`cluster ${cluster.name}: at most ${MAX_NAME_FOR_DEFAULT_DEVICE} characters, so that its device name fits`);
    }
    if (seen.has(cluster.name)) problems.push(`cluster ${cluster.name} is given twice`);
    seen.add(cluster.name);
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
