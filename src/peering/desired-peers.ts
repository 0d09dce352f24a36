import { shown } from '../kube/node-bounds.ts';
import type { RemoteNode } from '../kube/remote-node.ts';
import { cidrContains, formatCidr, parseCidr, type Cidr } from '../net/cidr.ts';
import type { DesiredPeer } from '../wireguard/types.ts';
import { isValidWireGuardKey } from '../wireguard/keys.ts';
import { ClaimedCidrs } from './claimed-cidrs.ts';
import { formatEndpoint, parseEndpoint, type Endpoint } from './endpoint.ts';
import type { Resolution } from './endpoint-resolver.ts';
import type { SkippedNode } from './remote-status.ts';

export interface PeeringInput {
  /** The remote's declared pod subnets (validated config). */
  podSubnets: readonly string[];
  persistentKeepaliveSeconds: number;
  nodes: Iterable<RemoteNode>;
  /** Nodes past this many, by name, are skipped (`maxNodes` of the remote). */
  maxNodes: number;
  /** This device's own public key: WireGuard silently ignores a peer with it. */
  ownPublicKey: string | null;
  /** What is known now of a hostname endpoint's address; never waits. */
  resolve: (host: string) => Resolution;
  /** The endpoint the device has for a key, if any: kept while the node's hostname does not resolve. */
  deviceEndpoint: (publicKey: string) => string | null;
}

export interface PeeringDecision {
  /** Sorted by node name; endpoints are `ip:port`, hostnames resolved. */
  peers: DesiredPeer[];
  skipped: SkippedNode[];
  /** The node each peer stands for, by public key. */
  nodeOf: ReadonlyMap<string, string>;
}

/** What can be said of a node on its own, before it is compared with the others. */
type NodeCheck =
  | { ok: false; reason: SkippedNode['reason']; detail: string }
  | { ok: true; publicKey: string; endpoint: Endpoint; cidrs: CheckedCidr[]; outside: string[] };

/** A pod CIDR inside the remote's subnets, with its canonical text (as `wg` prints it). */
interface CheckedCidr {
  text: string;
  cidr: Cidr;
  canonical: string;
}

/**
 * Remembers each node's own check between passes. The node store replaces
 * a node's object when it changes, so an object seen before needs no new
 * check: at 5,000 nodes this is most of a pass. One cache per remote (the
 * check depends on the remote's subnets).
 */
export type NodeCheckCache = WeakMap<RemoteNode, NodeCheck>;

/**
 * Decides the peers of one device from the remote cluster's nodes. Every
 * remote node is untrusted input: a bad one is skipped with a reason and
 * never blocks the others. Nodes are taken in name order, so when two
 * nodes clash (same key, overlapping pod CIDRs) the same one wins on every
 * node of the local cluster and on every pass.
 */
export function desiredPeers(input: PeeringInput, cache: NodeCheckCache = new WeakMap()): PeeringDecision {
  const subnets = input.podSubnets.map(mustParse);
  const all = [...input.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const nodes = all.slice(0, input.maxNodes);
  const peers: DesiredPeer[] = [];
  const skipped: SkippedNode[] = all.slice(input.maxNodes).map((node) => ({
    node: node.name,
    reason: 'too-many-nodes',
    peered: false,
    detail: `the remote has ${all.length} nodes and maxNodes is ${input.maxNodes}: nodes past it by name are not peered`,
  }));
  const keyOwners = new Map<string, string>();
  const claimed = new ClaimedCidrs();

  for (const node of nodes) {
    let check = cache.get(node);
    if (!check) {
      check = checkNode(node, subnets);
      cache.set(node, check);
    }
    if (!check.ok) {
      skipped.push({ node: node.name, reason: check.reason, peered: false, detail: check.detail });
      continue;
    }
    if (check.publicKey === input.ownPublicKey) {
      skipped.push({ node: node.name, reason: 'duplicate-public-key', peered: false, detail: "same public key as this device: WireGuard would ignore the peer" });
      continue;
    }
    const owner = keyOwners.get(check.publicKey);
    if (owner !== undefined) {
      skipped.push({ node: node.name, reason: 'duplicate-public-key', peered: false, detail: `same public key as node ${owner}, which is kept` });
      continue;
    }
    const endpoint = peerEndpoint(check.endpoint, check.publicKey, input);
    if (!endpoint.ok) {
      skipped.push({ node: node.name, ...endpoint.skip, peered: false });
      continue;
    }

    const allowed: CheckedCidr[] = [];
    const dropped: SkippedNode[] = check.outside.map((text) => ({
      node: node.name,
      reason: 'pod-cidr-outside-subnets',
      peered: false,
      detail: `pod CIDR ${shown(text)} is not inside the declared pod subnets ${input.podSubnets.join(', ')}`,
    }));
    for (const checked of check.cidrs) {
      const clash = claimed.clash(checked.cidr);
      if (clash) {
        dropped.push({ node: node.name, reason: 'pod-cidr-conflict', peered: false, detail: `pod CIDR ${shown(checked.text)} overlaps ${formatCidr(clash.cidr)} of node ${clash.owner}, which is kept` });
        continue;
      }
      allowed.push(checked);
    }
    if (allowed.length === 0) {
      skipped.push(...dropped);
      continue;
    }
    const allowedIPs = allowed.map((a) => a.canonical);
    skipped.push(...dropped.map((d) => ({ ...d, peered: true, detail: `${d.detail}; peered with ${allowedIPs.join(', ')}` })));
    if (endpoint.skip) skipped.push({ node: node.name, ...endpoint.skip, peered: true });
    keyOwners.set(check.publicKey, node.name);
    for (const a of allowed) claimed.claim(a.cidr, node.name);
    peers.push({ publicKey: check.publicKey, endpoint: endpoint.text, allowedIPs, persistentKeepaliveSeconds: input.persistentKeepaliveSeconds });
  }
  return { peers, skipped, nodeOf: keyOwners };
}

type EndpointSkip = Pick<SkippedNode, 'reason' | 'detail'>;

/**
 * The `ip:port` to give the device. A hostname uses what the resolver knows
 * now; while it has no address, the endpoint the device already has for
 * the key is kept (a restart or a DNS outage does not drop a working
 * peer), and without one the node is skipped until the look-up succeeds.
 */
function peerEndpoint(
  endpoint: Endpoint,
  publicKey: string,
  input: PeeringInput,
): { ok: true; text: string; skip?: EndpointSkip } | { ok: false; skip: EndpointSkip } {
  if (endpoint.kind !== 'hostname') return { ok: true, text: formatEndpoint(endpoint) };
  const resolution = input.resolve(endpoint.host);
  if (resolution.state === 'resolved') return { ok: true, text: formatEndpoint({ host: resolution.address, port: endpoint.port }) };
  const skip: EndpointSkip =
    resolution.state === 'pending'
      ? { reason: 'resolving-endpoint', detail: `looking up ${shown(endpoint.host)}` }
      : { reason: resolution.reason, detail: `${shown(endpoint.host)}: ${shown(resolution.detail)}` };
  const kept = input.deviceEndpoint(publicKey);
  if (kept === null) return { ok: false, skip };
  return { ok: true, text: kept, skip: { ...skip, detail: `${skip.detail}; the device keeps ${kept}` } };
}

/** The checks that need no other node: annotations, key, endpoint, pod CIDRs and the remote's subnets. */
function checkNode(node: RemoteNode, subnets: readonly Cidr[]): NodeCheck {
  if (node.refused) return { ok: false, ...node.refused };
  if (node.publicKey === null || node.endpoint === null) {
    const missing = [node.publicKey === null && 'pubKey', node.endpoint === null && 'endpoint'].filter(Boolean).join(' and ');
    return { ok: false, reason: 'missing-annotation', detail: `no ${missing} annotation` };
  }
  if (!isValidWireGuardKey(node.publicKey)) {
    return { ok: false, reason: 'bad-public-key', detail: 'pubKey annotation is not a base64 WireGuard key of 32 bytes' };
  }
  const endpoint = parseEndpoint(node.endpoint);
  if (!endpoint.ok) return { ok: false, reason: 'bad-endpoint', detail: `endpoint annotation: ${endpoint.reason}` };
  if (node.podCIDRs.length === 0) return { ok: false, reason: 'no-pod-cidr', detail: 'spec.podCIDR(s) is empty' };
  const cidrs: CheckedCidr[] = [];
  const outside: string[] = [];
  const families = new Set<4 | 6>();
  for (const text of node.podCIDRs) {
    const result = parseCidr(text);
    // The parser's reason quotes the text, which is at most MAX_POD_CIDR_LENGTH characters.
    if (!result.ok) return { ok: false, reason: 'bad-pod-cidr', detail: `pod CIDR '${shown(text)}': ${shown(result.reason)}` };
    if (families.has(result.cidr.family)) return { ok: false, reason: 'bad-pod-cidr', detail: `two IPv${result.cidr.family} pod CIDRs: at most one per family` };
    families.add(result.cidr.family);
    if (subnets.some((subnet) => cidrContains(subnet, result.cidr))) cidrs.push({ text, cidr: result.cidr, canonical: formatCidr(result.cidr) });
    else outside.push(text);
  }
  return { ok: true, publicKey: node.publicKey, endpoint: endpoint.endpoint, cidrs, outside };
}

function mustParse(subnet: string): Cidr {
  const result = parseCidr(subnet);
  if (!result.ok) throw new Error(`pod subnet ${subnet} passed config validation but does not parse: ${result.reason}`);
  return result.cidr;
}
