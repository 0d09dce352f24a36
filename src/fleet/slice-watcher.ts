import type { BackoffPolicy } from '../clock/backoff.ts';
import type { Clock } from '../clock/clock.ts';
import type { LeaseLock } from '../election/lease-lock.ts';
import { Informer } from '../kube/informer.ts';
import type { KubeClient } from '../kube/client.ts';
import { nodeStoreLimit } from '../kube/node-bounds.ts';
import type { NodeChange } from '../kube/node-changes.ts';
import type { WatchStatus } from '../kube/node-watcher.ts';
import type { RemoteNode } from '../kube/remote-node.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { SourceStatus } from '../peering/remote-status.ts';
import { MIRRORED_REMOTES_ANNOTATION, mirroredRemote, type MirroredRemote } from './lease-annotations.ts';
import { LeasePoller, publisherLeaseStatus, type PolledLease } from './lease-poller.ts';
import { judgeMirror, type MirrorJudgement } from './mirror-freshness.ts';
import { MAX_SLICE_ENTRIES, peerSlicesPath, sliceSetSelector } from './peer-slice.ts';
import { SliceNodes } from './slice-nodes.ts';
import { projectSlice, sameSlice, type SliceProjection } from './slice-projection.ts';

/**
 * The Lease of the mirror that writes the slices, read every interval for
 * /status and freshness: the remote's publisher (source `slices`), or the
 * local mirror (source `mirror`).
 */
export interface WriterLease {
  kind: 'slices' | 'mirror';
  lock: LeaseLock;
  intervalMs: number;
}

export interface SliceWatcherOptions {
  /** The apiserver holding the slices: the remote's (source slices, the mirror) or the local one (source mirror). */
  client: KubeClient;
  /** The remote cluster whose nodes the slices describe: the `cluster` label of the watch metrics. */
  remoteClusterName: string;
  /** This cluster: the slices written for it. */
  localClusterName: string;
  namespace: string;
  /** Mirrored slices (source mirror), or the slices the remote publishes. */
  mirrored: boolean;
  /** Absent: no Lease is read (the mirror reading a remote's slices decides from the Lease itself). */
  lease?: WriterLease;
  logger: Logger;
  metrics: Pick<Metrics, 'nodeWatcherFailures' | 'watchConnected' | 'nodesDropped'>;
  /** The remote's maxNodes: the slices kept hold at most nodeStoreLimit(maxNodes) entries. */
  maxNodes: number;
  onChange: (change: NodeChange) => void;
  clock: Clock;
  random: () => number;
  backoff?: BackoffPolicy;
  watchTimeoutSeconds?: number;
  idleTimeoutMs?: number;
}

/**
 * A remote cluster's nodes read from PeerSlices written for this cluster
 * (docs/fleet-mode.md, "Reading slices"), instead of its Nodes: the same
 * informer as the node watcher over the slices of one label selector,
 * their entries projected into the same RemoteNode store, so peering
 * cannot tell the sources apart. The slices are those the remote
 * publishes, or those the local mirror mirrors from it. A kubelet
 * heartbeat never reaches this watch: slices are written only when an
 * entry changes.
 */
export class SliceWatcher {
  readonly nodes: ReadonlyMap<string, RemoteNode>;
  readonly #informer: Informer<SliceProjection>;
  readonly #index = new SliceNodes();
  readonly #poller: LeasePoller | null;
  readonly #mirror: MirrorWatch | null;
  readonly #namespace: string;

  constructor(options: SliceWatcherOptions) {
    const cluster = options.remoteClusterName;
    const { metrics } = options;
    metrics.nodesDropped.inc({ cluster }, 0);
    this.#namespace = options.namespace;
    this.nodes = this.#index.nodes;
    const set = { source: options.remoteClusterName, peer: options.localClusterName, mirrored: options.mirrored };
    this.#informer = new Informer<SliceProjection>({
      client: options.client,
      path: peerSlicesPath(options.namespace),
      labelSelector: sliceSetSelector(set),
      names: { singular: 'peer slice', plural: 'peer slices' },
      project: (object) => projectSlice(object),
      keyOf: (slice) => slice.name,
      same: sameSlice,
      // Full slices for every node the store may hold, and one more for a node seen in two slices at once.
      maxObjects: Math.ceil(nodeStoreLimit(options.maxNodes) / MAX_SLICE_ENTRIES) + 1,
      onChange: (change) => {
        if (change.type !== 'deleted' && change.value.ignored > 0 && change.value.ignored !== (change.type === 'updated' ? change.previous.ignored : 0)) {
          options.logger.warn({ slice: change.key, ignored: change.value.ignored }, 'entries of a peer slice ignored: past 100, without a node name, or repeated');
        }
        for (const nodeChange of this.#index.apply(change, this.#informer.objects)) options.onChange(nodeChange);
      },
      logger: options.logger,
      metrics: {
        failed: (verb) => metrics.nodeWatcherFailures.inc({ cluster, verb }),
        connected: (up) => metrics.watchConnected.set({ cluster }, up ? 1 : 0),
        dropped: () => metrics.nodesDropped.inc({ cluster }),
      },
      clock: options.clock,
      random: options.random,
      backoff: options.backoff,
      watchTimeoutSeconds: options.watchTimeoutSeconds,
      idleTimeoutMs: options.idleTimeoutMs,
    });
    const lease = options.lease;
    this.#mirror = lease?.kind === 'mirror' ? new MirrorWatch(cluster) : null;
    this.#poller =
      lease === undefined
        ? null
        : new LeasePoller({
            lock: lease.lock,
            clock: options.clock,
            logger: options.logger,
            intervalMs: lease.intervalMs,
            absent: lease.kind === 'mirror' ? 'is clusterwire mirror running in this cluster?' : 'is clusterwire mirror running on the remote?',
            onRead: () => this.#mirror?.read(this.#poller?.polled() ?? null),
          });
  }

  status(): WatchStatus {
    return this.#informer.status();
  }

  /** Read by /status and every scrape: a sum over the slices kept (a few hundred at most). */
  source(): SourceStatus {
    let ignoredEntries = 0;
    for (const slice of this.#informer.objects.values()) ignoredEntries += slice.ignored;
    const common = { namespace: this.#namespace, slices: this.#informer.objects.size, ignoredEntries };
    const polled = this.#poller?.polled() ?? null;
    if (this.#mirror !== null && polled !== null) return { kind: 'mirror', ...common, mirror: this.#mirror.status(polled) };
    return { kind: 'slices', ...common, publisher: publisherLeaseStatus(polled ?? NOT_READ) };
  }

  whenSynced(): Promise<void> {
    return this.#informer.whenSynced();
  }

  start(): void {
    this.#informer.start();
    this.#poller?.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.#informer.stop(), this.#poller?.stop()]);
  }
}

const NOT_READ: PolledLease = { lease: null, firstReadAt: null, readAt: null, changedAt: null, lastError: null };

/** What a daemon on source `mirror` shows of the local mirror's copy of one remote. Times are Unix milliseconds. */
export interface MirrorSourceStatus extends MirrorJudgement {
  /** The replica holding the mirror's Lease; null when released, absent or not read yet. */
  holder: string | null;
  /** What the mirror says of this remote (its own clock in `since`). */
  remote: MirroredRemote | null;
  /** By this node's clock: the first read that found the copy stale or the mirror down, since it was last fresh. */
  notFreshSince: number | null;
  readAt: number | null;
  lastError: string | null;
}

/** The judgements of one remote's mirrored copy, read after read: when it stopped being fresh is known only by keeping it. */
class MirrorWatch {
  readonly #remote: string;
  #notFreshSince: number | null = null;

  constructor(remote: string) {
    this.#remote = remote;
  }

  read(polled: PolledLease | null): void {
    if (polled === null || polled.readAt === null) return;
    const { state } = judgeMirror(polled, this.#remote);
    if (state === 'fresh') this.#notFreshSince = null;
    else if (state !== 'unknown') this.#notFreshSince ??= polled.readAt;
  }

  status(polled: PolledLease): MirrorSourceStatus {
    const lease = polled.lease;
    return {
      ...judgeMirror(polled, this.#remote),
      holder: lease?.record.holderIdentity || null,
      remote: lease === null ? null : mirroredRemote(lease.annotations[MIRRORED_REMOTES_ANNOTATION], this.#remote),
      notFreshSince: this.#notFreshSince,
      readAt: polled.readAt,
      lastError: polled.lastError,
    };
  }
}
