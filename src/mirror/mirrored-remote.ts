import type { Clock } from '../clock/clock.ts';
import type { RemoteCluster } from '../config/types.ts';
import { mirrorSets } from '../fleet/peer-slice.ts';
import { SliceWatcher } from '../fleet/slice-watcher.ts';
import type { KubeClient } from '../kube/client.ts';
import { NodeWatcher } from '../kube/node-watcher.ts';
import { mirroredSetMetrics, type MirrorMetrics } from './mirror-metrics.ts';
import { probePublisher } from './publisher-probe.ts';
import type { BackoffPolicy } from '../clock/backoff.ts';
import type { MirroredRemote as MirroredRemoteState, MirrorSourceKind } from '../fleet/lease-annotations.ts';
import { microTime } from '../election/lease-record.ts';
import type { SliceApi } from '../fleet/slice-api.ts';
import { SlicePublisher, type PublisherMetrics, type PublisherStatus } from '../fleet/slice-publisher.ts';
import type { NodeChange } from '../kube/node-changes.ts';
import type { Logger } from '../log.ts';
import { WATCH_GRACE_MS } from '../peering/readiness.ts';
import { RemoteSource, type RemoteSourceStatus, type RemoteWatch } from './remote-source.ts';
import type { PublisherProbe } from './source-decision.ts';

export interface MirroredRemoteOptions {
  remote: string;
  localCluster: string;
  /** The local mirror's slices. */
  api: SliceApi;
  probe: (signal: AbortSignal) => Promise<PublisherProbe>;
  createWatch: (kind: MirrorSourceKind, onChange: (change: NodeChange) => void) => RemoteWatch;
  metrics: PublisherMetrics;
  clock: Clock;
  logger: Logger;
  random: () => number;
  resyncIntervalMs: number;
  backoff?: BackoffPolicy;
}

/** What /status, /readyz and the gauges read of one mirrored remote. */
export interface MirroredRemoteStatus {
  remote: string;
  source: RemoteSourceStatus;
  /** The local mirrored slices (`peer` is this cluster). */
  slices: PublisherStatus;
}

/**
 * One remote mirrored into local PeerSlices (docs/fleet-mode.md,
 * "Mirroring"): its nodes as the remote source reads them (published
 * slices or Nodes), kept as slices by the same publisher that publishes
 * the local nodes, labelled as mirrored. Only the leader reads the remote
 * and writes.
 */
export class MirroredRemote {
  readonly remote: string;
  readonly #o: MirroredRemoteOptions;
  readonly #source: RemoteSource;
  readonly #publisher: SlicePublisher;
  #reported: { synced: boolean; since: string | null } = { synced: false, since: null };

  constructor(options: MirroredRemoteOptions) {
    this.#o = options;
    this.remote = options.remote;
    let source: RemoteSource | null = null;
    this.#publisher = new SlicePublisher({
      set: mirrorSets(options.localCluster, options.remote).mirrored,
      api: options.api,
      createNodeSource: (onChange, onSynced) =>
        (source = new RemoteSource({
          remote: options.remote,
          localCluster: options.localCluster,
          probe: options.probe,
          createWatch: options.createWatch,
          onChange,
          onSynced,
          clock: options.clock,
          logger: options.logger,
          random: options.random,
          resyncIntervalMs: options.resyncIntervalMs,
          backoff: options.backoff,
        })),
      clock: options.clock,
      logger: options.logger,
      metrics: options.metrics,
      resyncIntervalMs: options.resyncIntervalMs,
    });
    if (source === null) throw new Error('the publisher did not create its node source');
    this.#source = source;
  }

  start(): void {
    this.#publisher.start();
  }

  lead(): void {
    this.#source.lead();
    this.#publisher.lead();
  }

  standBy(): void {
    this.#publisher.standBy();
    this.#source.standBy();
  }

  async stop(): Promise<void> {
    await this.#publisher.stop();
  }

  idle(): Promise<void> {
    return this.#publisher.idle();
  }

  status(): MirroredRemoteStatus {
    return { remote: this.#o.remote, source: this.#source.sourceStatus(), slices: this.#publisher.status() };
  }

  /**
   * What the leader's Lease says of this remote (docs/fleet-mode.md,
   * "Freshness"): synced while its source is listed and watched (or was
   * within the watch grace) and the slices have matched it since this
   * replica started leading. `since` changes with `synced` only.
   */
  leaseState(leadingSince: number | null): MirroredRemoteState {
    const { source, slices } = this.status();
    const now = this.#o.clock.now();
    const watch = source.watch;
    const watching = watch.state === 'connected' || (watch.disconnectedAt !== null && now - watch.disconnectedAt <= WATCH_GRACE_MS);
    const synced =
      source.source !== null && watch.synced && watching && slices.lastError === null && slices.due === 0 && slices.lastPublishAt !== null && leadingSince !== null && slices.lastPublishAt >= leadingSince;
    if (synced !== this.#reported.synced || this.#reported.since === null) this.#reported = { synced, since: microTime(now) };
    return { source: source.source, synced, since: this.#reported.since };
  }
}

export interface MirrorRemoteOptions {
  remote: RemoteCluster;
  /** The remote's apiserver, with the mirror's credentials for it. */
  client: KubeClient;
  localCluster: string;
  annotationDomain: string;
  /** The local mirror's slices. */
  api: SliceApi;
  metrics: MirrorMetrics;
  clock: Clock;
  logger: Logger;
  resyncIntervalMs: number;
  backoff?: BackoffPolicy;
}

/**
 * A remote of the clusters config mirrored: probed and watched through
 * `client`, its published slices read in its `slicesNamespace`, its Nodes
 * projected with this cluster's annotations and bounded as the daemon
 * projects them (one metadata-only watch, src/kube/node-watcher.ts).
 */
export function mirrorRemote(o: MirrorRemoteOptions): MirroredRemote {
  const { remote, client, localCluster } = o;
  const common = { client, logger: o.logger, metrics: o.metrics, clock: o.clock, random: Math.random, backoff: o.backoff, maxNodes: remote.maxNodes };
  return new MirroredRemote({
    remote: remote.name,
    localCluster,
    api: o.api,
    probe: (signal) => probePublisher(client, remote.slicesNamespace, localCluster, signal),
    createWatch: (kind, onChange) =>
      kind === 'nodes'
        ? new NodeWatcher({ ...common, onChange, localClusterName: localCluster, annotationDomain: o.annotationDomain })
        : new SliceWatcher({ ...common, onChange, remoteClusterName: remote.name, localClusterName: localCluster, namespace: remote.slicesNamespace, mirrored: false }),
    metrics: mirroredSetMetrics(o.metrics, remote.name),
    clock: o.clock,
    logger: o.logger,
    random: Math.random,
    resyncIntervalMs: o.resyncIntervalMs,
    backoff: o.backoff,
  });
}
