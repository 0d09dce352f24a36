import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from '../clock/backoff.ts';
import type { Cancel, Clock } from '../clock/clock.ts';
import type { MirrorSourceKind } from '../fleet/lease-annotations.ts';
import { sameProjection, type NodeChange } from '../kube/node-changes.ts';
import type { WatchStatus } from '../kube/node-watcher.ts';
import type { RemoteNode } from '../kube/remote-node.ts';
import type { Logger } from '../log.ts';
import { decideSource, type PublisherProbe } from './source-decision.ts';

/** A watch of the remote: a NodeWatcher, or a SliceWatcher of its published slices. */
export interface RemoteWatch {
  readonly nodes: ReadonlyMap<string, RemoteNode>;
  status(): WatchStatus;
  whenSynced(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export interface RemoteSourceOptions {
  remote: string;
  localCluster: string;
  probe: (signal: AbortSignal) => Promise<PublisherProbe>;
  createWatch: (kind: MirrorSourceKind, onChange: (change: NodeChange) => void) => RemoteWatch;
  onChange: (change: NodeChange) => void;
  /** After a full list of a new source is in (it may have changed nothing). */
  onSynced: () => void;
  clock: Clock;
  logger: Logger;
  random: () => number;
  /** How often the source is decided again. */
  resyncIntervalMs: number;
  /** Between probes of a remote not reached yet. */
  backoff?: BackoffPolicy;
}

/** What /status, the metrics and the Lease annotation say of a remote's source. */
export interface RemoteSourceStatus {
  /** The source the nodes come from now; null before the first full list. */
  source: MirrorSourceKind | null;
  /** A source being listed, to replace `source` once its first list is in. */
  pending: MirrorSourceKind | null;
  /** Why the last decision was what it was. */
  why: string | null;
  watch: WatchStatus;
}

const NOT_WATCHING: WatchStatus = { state: 'starting', synced: false, connectedAt: null, disconnectedAt: null, lastEventAt: null, lastError: null };

interface Watching {
  kind: MirrorSourceKind;
  watch: RemoteWatch;
}

/**
 * A remote's nodes for the mirror (docs/fleet-mode.md, "Mirroring"): from
 * its published slices when it publishes them for this cluster, else from
 * its Nodes, decided when this replica starts leading and again every
 * resync interval. The remote is watched only while leading: one watch per
 * cluster, whatever the number of replicas and daemons.
 *
 * The store is this object's own and outlives the watches: a new source
 * (a switch, or a new term of leadership) is listed in full beside the
 * old one, and only then does it replace it, its difference with the
 * store reported as changes. So a switch never empties the store, and a
 * node whose entry is the same in both sources costs no write.
 */
export class RemoteSource {
  readonly #o: RemoteSourceOptions;
  readonly #nodes = new Map<string, RemoteNode>();
  readonly nodes: ReadonlyMap<string, RemoteNode> = this.#nodes;
  #active: Watching | null = null;
  #pending: Watching | null = null;
  #leading = false;
  #abort: AbortController | null = null;
  #timer: Cancel | null = null;
  #probing: Promise<void> | null = null;
  #failedProbes = 0;
  #why: string | null = null;
  /** The remote publisher's Lease version, and when a probe first saw it (this mirror's clock). */
  #leaseSeen: { resourceVersion: string; at: number } | null = null;
  /** Watches stopping: awaited by stop(). */
  readonly #stopping = new Set<Promise<void>>();

  constructor(options: RemoteSourceOptions) {
    this.#o = options;
  }

  /** Synced while leading with a source whose first list is in. */
  status(): WatchStatus {
    const active = this.#active;
    if (!this.#leading || active === null) return { ...(active?.watch.status() ?? NOT_WATCHING), synced: false };
    return active.watch.status();
  }

  sourceStatus(): RemoteSourceStatus {
    return { source: this.#active?.kind ?? null, pending: this.#pending?.kind ?? null, why: this.#why, watch: this.status() };
  }

  /** Nothing is watched before lead(). */
  start(): void {}

  /** This replica leads: decide the source and watch it. */
  lead(): void {
    if (this.#leading) return;
    this.#leading = true;
    this.#abort = new AbortController();
    this.#failedProbes = 0;
    this.#probe();
  }

  /** Another replica leads: stop watching the remote; the store stays, for the next term to diff against. */
  standBy(): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#abort?.abort();
    this.#abort = null;
    this.#timer?.();
    this.#timer = null;
    for (const watching of [this.#active, this.#pending]) if (watching) this.#stopWatch(watching.watch);
    this.#active = null;
    this.#pending = null;
  }

  async stop(): Promise<void> {
    this.standBy();
    await this.#probing;
    await Promise.all([...this.#stopping]);
  }

  #probe(): void {
    const abort = this.#abort;
    if (!this.#leading || abort === null) return;
    this.#probing = this.#o
      .probe(abort.signal)
      .then((probe) => {
        if (abort.signal.aborted) return;
        this.#decide(probe);
      })
      .catch((err: unknown) => this.#o.logger.error({ err }, 'deciding the source of the remote failed; trying again'))
      .finally(() => {
        this.#probing = null;
        if (abort.signal.aborted) return;
        const known = this.#active !== null || this.#pending !== null;
        const delay = known ? this.#o.resyncIntervalMs : backoffDelay(this.#failedProbes++, this.#o.backoff ?? DEFAULT_BACKOFF, this.#o.random());
        this.#timer = this.#o.clock.schedule(() => this.#probe(), delay);
      });
  }

  #decide(probe: PublisherProbe): void {
    const current = this.#pending?.kind ?? this.#active?.kind ?? null;
    const now = this.#o.clock.now();
    const lease = probe.kind === 'read' ? probe.lease : null;
    if (lease !== null && lease.resourceVersion !== this.#leaseSeen?.resourceVersion) this.#leaseSeen = { resourceVersion: lease.resourceVersion, at: now };
    const decision = decideSource(current, probe, this.#o.localCluster, this.#leaseSeen === null ? 0 : now - this.#leaseSeen.at);
    if (decision.why !== this.#why) {
      const level = probe.kind === 'unreachable' ? 'warn' : 'info';
      this.#o.logger[level]({ source: decision.source, current }, `source of the remote: ${decision.why}`);
      this.#why = decision.why;
    }
    const kind = decision.source;
    if (kind === null) return;
    if (this.#active?.kind === kind) {
      // Back to the source in use: a switch under way is dropped.
      if (this.#pending) this.#stopWatch(this.#pending.watch);
      this.#pending = null;
      return;
    }
    if (this.#pending?.kind === kind) return;
    if (this.#pending) this.#stopWatch(this.#pending.watch);
    this.#listBeside(kind);
  }

  /** Starts watching `kind` beside the source in use; it replaces it once its first list is in. */
  #listBeside(kind: MirrorSourceKind): void {
    const pending: Watching = {
      kind,
      watch: this.#o.createWatch(kind, (change) => {
        if (this.#active === pending) this.#apply(change);
      }),
    };
    this.#pending = pending;
    pending.watch.start();
    pending.watch.whenSynced().then(
      () => this.#promote(pending),
      // Stopped before its first list: it was dropped or this replica stood by.
      () => undefined,
    );
  }

  /** The new source's list replaces the store: only the difference is reported. */
  #promote(next: Watching): void {
    if (this.#pending !== next || !this.#leading) return;
    const previous = this.#active;
    this.#pending = null;
    this.#active = next;
    const listed = next.watch.nodes;
    const changes: NodeChange[] = [];
    for (const [name, node] of this.#nodes) if (!listed.has(name)) changes.push({ type: 'deleted', node });
    for (const [name, node] of listed) {
      const kept = this.#nodes.get(name);
      if (kept === undefined) changes.push({ type: 'added', node });
      else if (!sameProjection(kept, node)) changes.push({ type: 'updated', node, previous: kept });
    }
    for (const change of changes) this.#apply(change);
    if (previous) this.#stopWatch(previous.watch);
    this.#o.logger.info({ source: next.kind, previous: previous?.kind ?? null, nodes: this.#nodes.size, changes: changes.length }, 'reading the remote from its first full list of the new source');
    this.#o.onSynced();
  }

  #apply(change: NodeChange): void {
    if (change.type === 'deleted') this.#nodes.delete(change.node.name);
    else this.#nodes.set(change.node.name, change.node);
    this.#o.onChange(change);
  }

  #stopWatch(watch: RemoteWatch): void {
    const stopping: Promise<void> = watch
      .stop()
      .catch((err: unknown) => this.#o.logger.warn({ err }, 'stopping a watch of the remote failed'))
      .finally(() => this.#stopping.delete(stopping));
    this.#stopping.add(stopping);
  }
}
