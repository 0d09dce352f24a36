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
import { MAX_SLICE_ENTRIES, peerSlicesPath, sliceSelector } from './peer-slice.ts';
import { PublisherLease } from './publisher-lease.ts';
import { SliceNodes } from './slice-nodes.ts';
import { projectSlice, sameSlice, type SliceProjection } from './slice-projection.ts';

export interface SliceWatcherOptions {
  /** The remote cluster's apiserver. */
  client: KubeClient;
  /** The remote cluster: whose nodes the slices describe. */
  remoteClusterName: string;
  /** This cluster: the slices published for it. */
  localClusterName: string;
  /** Where the remote publishes (its mirror's `-namespace`). */
  namespace: string;
  /** The remote publisher's Lease, read for /status and the freshness gauge. */
  lease: LeaseLock;
  leaseIntervalMs: number;
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
 * A remote cluster's nodes read from the PeerSlices it publishes for this
 * cluster (docs/fleet-mode.md, "Reading slices"), instead of its Nodes:
 * the same informer as the node watcher over the slices of one label
 * selector, their entries projected into the same RemoteNode store, so
 * peering cannot tell the sources apart. A kubelet heartbeat never reaches
 * this watch: the publisher writes a slice only when an entry changes.
 */
export class SliceWatcher {
  readonly nodes: ReadonlyMap<string, RemoteNode>;
  readonly #informer: Informer<SliceProjection>;
  readonly #index = new SliceNodes();
  readonly #lease: PublisherLease;
  readonly #namespace: string;

  constructor(options: SliceWatcherOptions) {
    const cluster = options.client.cluster;
    const { metrics } = options;
    metrics.nodesDropped.inc({ cluster }, 0);
    this.#namespace = options.namespace;
    this.nodes = this.#index.nodes;
    this.#informer = new Informer<SliceProjection>({
      client: options.client,
      path: peerSlicesPath(options.namespace),
      labelSelector: sliceSelector(options.remoteClusterName, options.localClusterName),
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
    this.#lease = new PublisherLease({ lock: options.lease, clock: options.clock, logger: options.logger, intervalMs: options.leaseIntervalMs });
  }

  status(): WatchStatus {
    return this.#informer.status();
  }

  /** Read by /status and every scrape: a sum over the slices kept (a few hundred at most). */
  source(): SourceStatus {
    let ignoredEntries = 0;
    for (const slice of this.#informer.objects.values()) ignoredEntries += slice.ignored;
    return { kind: 'slices', namespace: this.#namespace, slices: this.#informer.objects.size, ignoredEntries, publisher: this.#lease.status() };
  }

  whenSynced(): Promise<void> {
    return this.#informer.whenSynced();
  }

  start(): void {
    this.#informer.start();
    this.#lease.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.#informer.stop(), this.#lease.stop()]);
  }
}
