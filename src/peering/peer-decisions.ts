import type { RemoteNode } from '../kube/remote-node.ts';
import { CidrIndex } from '../net/cidr-index.ts';
import type { Cidr } from '../net/cidr.ts';
import type { DesiredPeer } from '../wireguard/types.ts';
import { decideInOrder, refusedNode, tooManyNodes, type DecisionContext, type NodeDecision } from './decide-in-order.ts';
import { compareNames } from './desired-peers.ts';
import { checkNode, parseSubnets, type NodeCheck } from './node-check.ts';
import type { SkippedNode, SkipReason } from './remote-status.ts';

/** The remote's settings the decision depends on; fixed for the life of a device. */
export type PeerDecisionSettings = Pick<DecisionContext, 'podSubnets' | 'persistentKeepaliveSeconds' | 'ownPublicKey'> & {
  maxNodes: number;
};

/** What an update reads: the node store as it is now, and what is known of hostnames and of the device. */
export type DecisionInputs = Pick<DecisionContext, 'resolve' | 'deviceEndpoint'> & {
  nodes: ReadonlyMap<string, RemoteNode>;
};

export interface SkipChange {
  node: string;
  before: readonly SkippedNode[];
  after: readonly SkippedNode[];
}

/** What one update changed. */
export interface DecisionUpdate {
  /** Public keys whose desired peer may have changed (added, updated or gone): the peers to compare with the device. */
  keys: Set<string>;
  /** Nodes whose skips changed. */
  skipChanges: SkipChange[];
  /** Hostnames no node uses any more: the resolver may forget them. */
  unusedHosts: string[];
}

interface NodeRecord {
  node: RemoteNode;
  check: NodeCheck;
  /** Within the first `maxNodes` by name. */
  considered: boolean;
  decision: NodeDecision;
}

const NO_DECISION: NodeDecision = { peer: null, skips: [] };
/** Above this many names added or removed at once, the name order is rebuilt rather than spliced. */
const BULK = 32;

/**
 * The peering decision of one remote, kept up to date node by node: an
 * update costs what changed, not the number of nodes. It equals
 * `desiredPeers` over all nodes (the reference) after every update.
 *
 * Why that holds: nodes affect each other only through a shared public key
 * or overlapping pod CIDRs (decide-in-order.ts). So the nodes to decide
 * again are the changed ones and every node connected to their old or new
 * values through those relations (their component), and deciding that
 * component alone, in name order, gives each node the result a full pass
 * would. Indexes by key and by CIDR (cidr-index.ts) find the relations
 * without a scan. `maxNodes` is exact too: a node that enters or leaves the
 * first `maxNodes` by name counts as changed.
 *
 * What else a decision reads: a hostname's address (`hostChanged`) and,
 * while a hostname does not resolve, the device's endpoint for the key
 * (`deviceChanged`, `deviceRead`). The caller reports those changes; the
 * nodes that read them are decided again on the next update.
 *
 * The cost grows with the size of the components: a node claiming the
 * whole pod subnet, or thousands of nodes sharing one key, make one
 * component of everything it overlaps, and an update touching it decides
 * all of it again, up to a full pass (docs/how-it-works.md).
 */
export class PeerDecisions {
  readonly #settings: PeerDecisionSettings;
  readonly #subnets: Cidr[];
  readonly #records = new Map<string, NodeRecord>();
  /** Every node name, sorted: where the `maxNodes` boundary is. */
  #names: string[] = [];
  readonly #byKey = new Map<string, Set<string>>();
  readonly #byCidr = new CidrIndex<string>();
  readonly #byHost = new Map<string, Set<string>>();
  readonly #peers = new Map<string, DesiredPeer>();
  readonly #nodeOf = new Map<string, string>();
  readonly #skips = new Map<string, readonly SkippedNode[]>();
  readonly #skipCounts = new Map<SkipReason, number>();
  /** Nodes whose value may differ from the store's. */
  #changed = new Set<string>();
  /** Nodes to decide again with the same value (a hostname or a device endpoint changed). */
  #redecide = new Set<string>();

  constructor(settings: PeerDecisionSettings) {
    this.#settings = settings;
    this.#subnets = parseSubnets(settings.podSubnets);
  }

  /** A node was added, updated or deleted in the store. */
  nodeChanged(name: string): void {
    this.#changed.add(name);
  }

  /** What the resolver knows of `host` changed. */
  hostChanged(host: string): void {
    for (const name of this.#byHost.get(host) ?? []) this.#redecide.add(name);
  }

  /** The device's endpoints of these keys changed (an apply). True when a node reads them: its decision is taken again on the next update. */
  deviceChanged(keys: Iterable<string>): boolean {
    let redecide = false;
    for (const key of keys) {
      for (const name of this.#byKey.get(key) ?? []) {
        if (this.#hostOf(name) === null) continue;
        this.#redecide.add(name);
        redecide = true;
      }
    }
    return redecide;
  }

  /** The device was read: any endpoint may differ from what the decisions used. */
  deviceRead(): void {
    for (const names of this.#byHost.values()) for (const name of names) this.#redecide.add(name);
  }

  /** Desired peers by public key. */
  get peers(): ReadonlyMap<string, DesiredPeer> {
    return this.#peers;
  }

  /** The node each peer stands for, by public key. */
  get nodeOf(): ReadonlyMap<string, string> {
    return this.#nodeOf;
  }

  /** Nodes skipped now, in name order. */
  skipped(): SkippedNode[] {
    return [...this.#skips.keys()].sort(compareNames).flatMap((name) => this.#skips.get(name) ?? []);
  }

  /** How many skips there are of each reason (absent: none). */
  get skipCounts(): ReadonlyMap<SkipReason, number> {
    return this.#skipCounts;
  }

  /** The first node past `maxNodes`, by name, if any. */
  firstPastMaxNodes(): string | null {
    return this.#names[this.#settings.maxNodes] ?? null;
  }

  /** Brings the decision up to date with what was reported since the last update. */
  update(inputs: DecisionInputs): DecisionUpdate {
    const changed = this.#changed;
    const redecide = this.#redecide;
    this.#changed = new Set();
    this.#redecide = new Set();
    for (const name of this.#reorder(changed, inputs.nodes)) changed.add(name);

    const result: DecisionUpdate = { keys: new Set(), skipChanges: [], unusedHosts: [] };
    const decided = new Map<string, NodeDecision>();
    /** The decisions of deleted nodes, whose records are gone. */
    const deleted = new Map<string, NodeDecision>();
    const seeds = new Set<string>();
    const emptied = new Set<string>();
    // Old values leave the indexes first, so their neighbours are found among the values that stay.
    const oldValues: Extract<NodeCheck, { ok: true }>[] = [];
    for (const name of changed) {
      const old = this.#records.get(name);
      if (old && this.#indexed(old)) {
        this.#unindex(name, old.check as Extract<NodeCheck, { ok: true }>, emptied);
        oldValues.push(old.check as Extract<NodeCheck, { ok: true }>);
      }
      const node = inputs.nodes.get(name);
      if (!node) {
        if (old) {
          deleted.set(name, old.decision);
          decided.set(name, NO_DECISION);
          this.#records.delete(name);
        }
        continue;
      }
      const check = old?.node === node ? old.check : checkNode(node, this.#subnets);
      this.#records.set(name, { node, check, considered: this.#rank(name) < this.#settings.maxNodes, decision: old?.decision ?? NO_DECISION });
    }
    for (const name of changed) {
      const record = this.#records.get(name);
      if (!record) continue;
      if (this.#indexed(record)) {
        this.#index(name, record.check as Extract<NodeCheck, { ok: true }>);
        seeds.add(name);
      } else {
        decided.set(name, record.considered ? refusedNode(name, record.check as Extract<NodeCheck, { ok: false }>) : tooManyNodes(name, this.#settings.maxNodes));
      }
    }
    for (const value of oldValues) for (const name of this.#neighbours(value)) seeds.add(name);
    for (const name of redecide) {
      const record = this.#records.get(name);
      if (record && this.#indexed(record)) seeds.add(name);
    }

    const component = [...this.#closure(seeds)].sort(compareNames);
    const decisions = decideInOrder(
      component.map((name) => ({ name, check: (this.#records.get(name) as NodeRecord).check })),
      { ...this.#settings, ...inputs },
    );
    component.forEach((name, i) => decided.set(name, decisions[i] as NodeDecision));

    this.#apply(decided, deleted, result);
    for (const host of emptied) if (!this.#byHost.has(host)) result.unusedHosts.push(host);
    return result;
  }

  /**
   * Puts added names in order and takes deleted ones out; returns the
   * nodes that crossed the `maxNodes` boundary without changing themselves.
   * A name crosses it when it lies between the old and the new boundary,
   * so there are no more of them than names added or removed.
   */
  #reorder(changed: ReadonlySet<string>, nodes: ReadonlyMap<string, RemoteNode>): string[] {
    const added = [...changed].filter((name) => nodes.has(name) && !this.#records.has(name));
    const removed = new Set([...changed].filter((name) => !nodes.has(name) && this.#records.has(name)));
    if (added.length === 0 && removed.size === 0) return [];
    const before = this.#boundary();
    if (added.length + removed.size > BULK) {
      this.#names = [...this.#names.filter((name) => !removed.has(name)), ...added].sort(compareNames);
    } else {
      for (const name of removed) this.#names.splice(this.#rank(name), 1);
      for (const name of added) this.#names.splice(this.#rank(name), 0, name);
    }
    const after = this.#boundary();
    if (before === after) return [];
    // null: fewer names than maxNodes, every one inside.
    const [low, high] = before === null || (after !== null && compareNames(after, before) < 0) ? [after, before] : [before, after];
    const crossed: string[] = [];
    for (let i = low === null ? 0 : this.#rankAfter(low); i < this.#names.length; i++) {
      const name = this.#names[i] as string;
      if (high !== null && compareNames(name, high) > 0) break;
      crossed.push(name);
    }
    return crossed;
  }

  /** The last name inside `maxNodes`, or null when every name is. */
  #boundary(): string | null {
    return this.#names.length > this.#settings.maxNodes ? (this.#names[this.#settings.maxNodes - 1] ?? null) : null;
  }

  /** Index of the first name ≥ `name` in the sorted names. */
  #rank(name: string): number {
    let low = 0;
    let high = this.#names.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (compareNames(this.#names[middle] as string, name) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Index of the first name > `name`. */
  #rankAfter(name: string): number {
    const at = this.#rank(name);
    return this.#names[at] === name ? at + 1 : at;
  }

  /** Whether a node takes part in clashes: inside `maxNodes` and well-formed. */
  #indexed(record: NodeRecord): boolean {
    return record.considered && record.check.ok;
  }

  #index(name: string, check: Extract<NodeCheck, { ok: true }>): void {
    addTo(this.#byKey, check.publicKey, name);
    for (const { cidr } of check.cidrs) this.#byCidr.add(cidr, name);
    if (check.endpoint.kind === 'hostname') addTo(this.#byHost, check.endpoint.host, name);
  }

  #unindex(name: string, check: Extract<NodeCheck, { ok: true }>, emptied: Set<string>): void {
    removeFrom(this.#byKey, check.publicKey, name);
    for (const { cidr } of check.cidrs) this.#byCidr.delete(cidr, name);
    if (check.endpoint.kind === 'hostname') {
      removeFrom(this.#byHost, check.endpoint.host, name);
      emptied.add(check.endpoint.host);
    }
  }

  /** The indexed nodes that share a key or an overlapping block with `check`. */
  #neighbours(check: Extract<NodeCheck, { ok: true }>): string[] {
    return [...(this.#byKey.get(check.publicKey) ?? []), ...check.cidrs.flatMap(({ cidr }) => this.#byCidr.overlapping(cidr))];
  }

  /** Every indexed node connected to a seed through shared keys and overlapping blocks. */
  #closure(seeds: ReadonlySet<string>): Set<string> {
    const component = new Set(seeds);
    const queue = [...seeds];
    for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
      const check = (this.#records.get(name) as NodeRecord).check as Extract<NodeCheck, { ok: true }>;
      for (const other of this.#neighbours(check)) {
        if (component.has(other)) continue;
        component.add(other);
        queue.push(other);
      }
    }
    return component;
  }

  #hostOf(name: string): string | null {
    const check = this.#records.get(name)?.check;
    return check?.ok && check.endpoint.kind === 'hostname' ? check.endpoint.host : null;
  }

  /**
   * Replaces the decisions of these nodes. Old peers go before new ones
   * come, so a key that moves from one node to another within the update
   * ends with its new node.
   */
  #apply(decided: ReadonlyMap<string, NodeDecision>, deleted: ReadonlyMap<string, NodeDecision>, result: DecisionUpdate): void {
    const previous = new Map<string, NodeDecision>();
    for (const [name, decision] of decided) {
      const record = this.#records.get(name);
      const before = record?.decision ?? deleted.get(name) ?? NO_DECISION;
      previous.set(name, before);
      if (record) record.decision = decision;
      if (before.peer && this.#nodeOf.get(before.peer.publicKey) === name) {
        this.#peers.delete(before.peer.publicKey);
        this.#nodeOf.delete(before.peer.publicKey);
      }
    }
    for (const [name, decision] of decided) {
      const before = previous.get(name) as NodeDecision;
      if (decision.peer) {
        this.#peers.set(decision.peer.publicKey, decision.peer);
        this.#nodeOf.set(decision.peer.publicKey, name);
      }
      if (!samePeer(before.peer, decision.peer)) {
        if (before.peer) result.keys.add(before.peer.publicKey);
        if (decision.peer) result.keys.add(decision.peer.publicKey);
      }
      if (!sameSkips(before.skips, decision.skips)) {
        result.skipChanges.push({ node: name, before: before.skips, after: decision.skips });
        for (const skip of before.skips) this.#count(skip.reason, -1);
        for (const skip of decision.skips) this.#count(skip.reason, 1);
        if (decision.skips.length === 0) this.#skips.delete(name);
        else this.#skips.set(name, decision.skips);
      }
    }
  }

  #count(reason: SkipReason, delta: number): void {
    const count = (this.#skipCounts.get(reason) ?? 0) + delta;
    if (count === 0) this.#skipCounts.delete(reason);
    else this.#skipCounts.set(reason, count);
  }
}

function addTo(index: Map<string, Set<string>>, key: string, name: string): void {
  const names = index.get(key);
  if (names) names.add(name);
  else index.set(key, new Set([name]));
}

function removeFrom(index: Map<string, Set<string>>, key: string, name: string): void {
  const names = index.get(key);
  names?.delete(name);
  if (names?.size === 0) index.delete(key);
}

function samePeer(a: DesiredPeer | null, b: DesiredPeer | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.publicKey === b.publicKey &&
    a.endpoint === b.endpoint &&
    a.persistentKeepaliveSeconds === b.persistentKeepaliveSeconds &&
    a.allowedIPs.length === b.allowedIPs.length &&
    a.allowedIPs.every((cidr, i) => cidr === b.allowedIPs[i])
  );
}

function sameSkips(a: readonly SkippedNode[], b: readonly SkippedNode[]): boolean {
  return a.length === b.length && a.every((skip, i) => skip.reason === b[i]?.reason && skip.peered === b[i]?.peered && skip.detail === b[i]?.detail);
}
