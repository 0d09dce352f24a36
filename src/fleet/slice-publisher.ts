import type { Cancel, Clock } from '../clock/clock.ts';
import type { NodeChange } from '../kube/node-changes.ts';
import type { WatchStatus } from '../kube/node-watcher.ts';
import type { RemoteNode } from '../kube/remote-node.ts';
import type { Logger } from '../log.ts';
import { SyncRunner } from '../peering/sync-runner.ts';
import { sliceSetLabels, sliceSetSelector, type SliceEntry, type SliceSet } from './peer-slice.ts';
import { writeFailure, type SliceApi } from './slice-api.ts';
import { SliceAssignment, type SliceWrite } from './slice-assignment.ts';
import { PUBLISH_SKIP_REASONS, sliceEntryFor, type PublishSkipReason } from './slice-entry.ts';

/**
 * The nodes a set of slices describes, as a store with change callbacks,
 * as the daemon's peering reads a remote's (src/peering/remote-peering.ts,
 * NodeSource): the local Nodes projected for one peer cluster (their
 * `<peer>.<domain>/…` annotations and pod CIDRs), or a remote's nodes as
 * the mirror reads them (src/mirror/remote-source.ts).
 */
export interface LocalNodeSource {
  readonly nodes: ReadonlyMap<string, RemoteNode>;
  status(): WatchStatus;
  start(): void;
  stop(): Promise<void>;
}

/** The counters of one set's writes, bound by the owner to its metrics and labels (published per peer, mirrored per remote). */
export interface PublisherMetrics {
  written(verb: SliceWrite['kind']): void;
  /** A write refused because the slice had changed (409) or was gone. */
  conflict(): void;
  failed(): void;
}

export interface SlicePublisherOptions {
  /**
   * The slices kept: this cluster's nodes for a peer cluster (published),
   * or a remote's nodes for this cluster (mirrored: src/mirror/).
   */
  set: SliceSet;
  api: SliceApi;
  /**
   * The nodes the slices say, as a store with change callbacks; `onSynced`
   * after each full list that may have changed nothing (the first, a
   * switch of source): a leader that has not adopted yet does it then.
   */
  createNodeSource: (onChange: (change: NodeChange) => void, onSynced: () => void) => LocalNodeSource;
  clock: Clock;
  logger: Logger;
  metrics: PublisherMetrics;
  /** How often the leader re-reads its slices, repairing what others changed. */
  resyncIntervalMs: number;
}

export interface SkippedLocalNode {
  node: string;
  reason: PublishSkipReason;
  detail: string;
}

/** What /status and the gauges read of one set's publisher. Times are Unix milliseconds. */
export interface PublisherStatus {
  /** The cluster whose daemons read the slices. */
  peer: string;
  /** This replica writes the slices. */
  leading: boolean;
  nodes: WatchStatus;
  /** While leading: slices kept, nodes in them, slices waiting for a write. */
  slices: number | null;
  entries: number | null;
  due: number | null;
  skipped: Record<PublishSkipReason, number>;
  /** The first SKIPPED_SHOWN skipped nodes by name. */
  skippedNodes: SkippedLocalNode[];
  /** The end of the last pass that left every slice as the nodes say. */
  lastPublishAt: number | null;
  lastError: string | null;
  passStartedAt: number | null;
}

/** A slice write that keeps failing on a conflict is given up for this pass after this many re-reads. */
const MAX_REPLANS = 3;
const SKIPPED_SHOWN = 50;

/**
 * Keeps one set of PeerSlices as its nodes say (docs/fleet-mode.md): the
 * local nodes published for a peer cluster, or a remote's nodes mirrored
 * for this one; the node source says which. Only the leader writes. On becoming the
 * leader it reads the slices as they are and adopts them
 * (slice-assignment.ts): a node keeps its slice, and nothing is written
 * unless an entry changed while no one led. Then each node change costs
 * work for that node and a write of its slice only, and a change that
 * leaves its entry as it was (a kubelet heartbeat) costs nothing. Writes
 * are conditional on the slice's resourceVersion: a 409 means someone else
 * wrote, so the slices are read again and the plan made again.
 */
export class SlicePublisher {
  readonly #o: SlicePublisherOptions;
  readonly #log: Logger;
  readonly #source: LocalNodeSource;
  readonly #runner: SyncRunner;
  #leading = false;
  /** Bumped at every change of leadership: a pass of an old term writes nothing more. */
  #term = 0;
  #assignment: SliceAssignment | null = null;
  #reread = true;
  #resync: Cancel | null = null;
  #skipped = new Map<string, SkippedLocalNode>();
  /** The first SKIPPED_SHOWN skipped nodes by name, made again only after a skip changes. */
  #shownSkips: SkippedLocalNode[] | null = null;
  readonly #skipCounts = new Map<PublishSkipReason, number>(PUBLISH_SKIP_REASONS.map((r) => [r, 0]));
  #lastPublishAt: number | null = null;
  #lastError: string | null = null;
  #passStartedAt: number | null = null;
  #stopped = false;

  constructor(options: SlicePublisherOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#source = options.createNodeSource(
      (change) => this.#nodeChanged(change),
      () => {
        if (this.#leading) this.#runner.request();
      },
    );
    this.#runner = new SyncRunner({
      clock: options.clock,
      run: () => this.#pass(),
      onError: (error, retryInMs) => {
        const message = error instanceof Error ? error.message : String(error);
        if (message !== this.#lastError) this.#log.error({ err: error, retryInMs }, 'publishing slices failed; retrying');
        this.#lastError = message;
      },
    });
  }

  /** Starts watching the nodes; nothing is written before lead(). */
  start(): void {
    this.#source.start();
  }

  /** This replica leads: adopt the slices as they are, then keep them. */
  lead(): void {
    if (this.#stopped) return;
    this.#leading = true;
    this.#term++;
    this.#reread = true;
    this.#scheduleResync();
    this.#runner.request();
  }

  /** Another replica leads (or none): write nothing more. */
  standBy(): void {
    this.#leading = false;
    this.#term++;
    this.#assignment = null;
    this.#resync?.();
    this.#resync = null;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.standBy();
    await Promise.all([this.#runner.stop(), this.#source.stop()]);
  }

  /** Resolves when no pass is running or queued. */
  idle(): Promise<void> {
    return this.#runner.idle();
  }

  /** Cheap: read by every scrape's gauges. */
  status(): PublisherStatus {
    const assignment = this.#leading ? this.#assignment : null;
    const counts = assignment?.counts() ?? null;
    this.#shownSkips ??= [...this.#skipped.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0)).slice(0, SKIPPED_SHOWN);
    return {
      peer: this.#o.set.peer,
      leading: this.#leading,
      nodes: this.#source.status(),
      slices: counts?.slices ?? null,
      entries: assignment?.entryCount ?? null,
      due: counts?.due ?? null,
      skipped: Object.fromEntries(this.#skipCounts) as Record<PublishSkipReason, number>,
      skippedNodes: this.#shownSkips,
      lastPublishAt: this.#lastPublishAt,
      lastError: this.#lastError,
      passStartedAt: this.#passStartedAt,
    };
  }

  #nodeChanged(change: NodeChange): void {
    const name = change.node.name;
    const decision = change.type === 'deleted' ? null : sliceEntryFor(change.node);
    this.#setSkipped(name, decision === null || decision.ok ? null : { node: name, reason: decision.reason, detail: decision.detail });
    const assignment = this.#assignment;
    if (!assignment) {
      // Leading but not adopted yet (the first list of nodes is in): the pass adopts.
      if (this.#leading) this.#runner.request();
      return;
    }
    const changed = decision?.ok ? assignment.set(decision.entry) : assignment.remove(name);
    if (changed) this.#runner.request();
  }

  #setSkipped(node: string, skip: SkippedLocalNode | null): void {
    const before = this.#skipped.get(node);
    if (before?.reason === skip?.reason && before?.detail === skip?.detail) return;
    this.#shownSkips = null;
    if (before) this.#skipCounts.set(before.reason, (this.#skipCounts.get(before.reason) ?? 1) - 1);
    if (skip) {
      this.#skipped.set(node, skip);
      this.#skipCounts.set(skip.reason, (this.#skipCounts.get(skip.reason) ?? 0) + 1);
      // Nodes without annotations are usually nodes without a daemon: not worth a line each.
      if (skip.reason !== 'missing-annotation') this.#log.warn({ node, reason: skip.reason }, `node left out of the slices: ${skip.detail}`);
    } else {
      this.#skipped.delete(node);
      if (before && before.reason !== 'missing-annotation') this.#log.info({ node }, 'node in the slices again');
    }
  }

  #scheduleResync(): void {
    this.#resync?.();
    this.#resync = this.#o.clock.schedule(() => {
      this.#reread = true;
      this.#runner.request();
      this.#scheduleResync();
    }, this.#o.resyncIntervalMs);
  }

  async #pass(): Promise<void> {
    const term = this.#term;
    if (!this.#leading || !this.#source.status().synced) return;
    this.#passStartedAt = this.#o.clock.now();
    try {
      for (let replans = 0; ; replans++) {
        if (this.#reread || this.#assignment === null) await this.#adopt(term);
        if (term !== this.#term) return;
        const outcome = await this.#writeDue(term);
        if (outcome === 'written') break;
        this.#reread = true;
        if (replans + 1 >= MAX_REPLANS) throw new Error(`slices of ${this.#o.set.source} for ${this.#o.set.peer} changed under every write ${MAX_REPLANS} times in a row; trying again later`);
      }
      if (term !== this.#term) return;
      if (this.#lastError !== null) this.#log.info('publishing slices recovered');
      this.#lastError = null;
      this.#lastPublishAt = this.#o.clock.now();
    } finally {
      this.#passStartedAt = null;
    }
  }

  /** Reads the slices as they are and adopts them with the nodes as they are now. */
  async #adopt(term: number): Promise<void> {
    const { source, peer } = this.#o.set;
    const existing = await this.#o.api.list(sliceSetSelector(this.#o.set));
    if (term !== this.#term) return;
    const first = this.#assignment === null;
    this.#assignment = SliceAssignment.adopt({ source, peer }, existing, this.#entries());
    this.#reread = false;
    const due = this.#assignment.plan().length;
    if (first) this.#log.info({ slices: existing.length, nodes: this.#assignment.entryCount, writes: due }, 'adopted the slices as they are');
  }

  #entries(): SliceEntry[] {
    const entries: SliceEntry[] = [];
    for (const node of this.#source.nodes.values()) {
      const decision = sliceEntryFor(node);
      if (decision.ok) entries.push(decision.entry);
    }
    return entries;
  }

  /**
   * Writes every slice that is due, one at a time. A conflict stops the
   * pass ('replan'); another failure leaves that slice due, the others are
   * still written, and the pass fails afterwards (retried with backoff).
   */
  async #writeDue(term: number): Promise<'written' | 'replan'> {
    const assignment = this.#assignment;
    if (!assignment) return 'replan';
    let failed: Error | null = null;
    for (const write of assignment.plan()) {
      if (term !== this.#term) return 'written';
      try {
        assignment.written(write, await this.#write(write));
        this.#o.metrics.written(write.kind);
      } catch (err) {
        const outcome = writeFailure(write.kind, err);
        if (outcome === 'done') {
          assignment.written(write, null);
          continue;
        }
        if (outcome === 'replan') {
          this.#o.metrics.conflict();
          this.#log.info({ slice: write.name, write: write.kind, err: (err as Error).message }, 'a slice changed under us: reading the slices again');
          return 'replan';
        }
        this.#o.metrics.failed();
        failed ??= new Error(`${write.kind} of PeerSlice ${write.name} failed`, { cause: err });
      }
    }
    if (failed !== null) throw failed;
    return 'written';
  }

  #write(write: SliceWrite): Promise<string | null> {
    const { api, set } = this.#o;
    switch (write.kind) {
      case 'create':
        return api.create(write.name, sliceSetLabels(set), write.entries);
      case 'update':
        return api.update(write.name, write.resourceVersion, write.entries);
      case 'delete':
        return api.delete(write.name, write.resourceVersion).then(() => null);
    }
  }
}
