import { systemClock } from '../clock/clock.ts';
import type { ClustersConfig } from '../config/types.ts';
import { KubeLeaseLock } from '../election/lease-lock.ts';
import { LeaderElector, type ElectionTiming } from '../election/leader-elector.ts';
import { mirrorSets } from '../fleet/peer-slice.ts';
import { KubeSliceApi } from '../fleet/slice-api.ts';
import { SlicePublisher } from '../fleet/slice-publisher.ts';
import { SlicePruner } from '../fleet/slice-pruner.ts';
import { MIRRORED_REMOTES_ANNOTATION, mirroredRemotesAnnotation, PUBLISHED_PEERS_ANNOTATION, publishedPeersAnnotation } from '../fleet/lease-annotations.ts';
import { connectionSettings, createKubeClient, type KubeClient } from '../kube/client.ts';
import { NodeWatcher } from '../kube/node-watcher.ts';
import type { Logger } from '../log.ts';
import { buildMirrorHttpServer } from '../server/mirror-http-server.ts';
import { listen } from '../server/listen.ts';
import { createMirrorMetrics, publishedSetMetrics, startMirrorCounters } from './mirror-metrics.ts';
import { mirrorRemote } from './mirrored-remote.ts';

export interface MirrorOptions {
  config: ClustersConfig;
  /** Where the slices and the Lease are. */
  namespace: string;
  leaseName: string;
  /** This replica's name in the Lease. */
  identity: string;
  election: ElectionTiming;
  resyncIntervalMs: number;
  watchBackoffCapMs: number;
  listen: { host: string; port: number };
  logger: Logger;
}

export interface RunningMirror {
  readonly address: { host: string; port: number };
  /** Stops writing, releases the lease if held, stops watches and the server. Slices stay. */
  stop(): Promise<void>;
}

/**
 * `clusterwire mirror` (docs/fleet-mode.md): in its own namespace, one
 * replica elected through a Lease writes
 * - per peer cluster of the clusters config, this cluster's nodes as
 *   PeerSlices (publishing); every replica watches the local nodes, so a
 *   standby that takes over knows them already;
 * - per remote, the remote's nodes as mirrored PeerSlices (mirroring),
 *   read from the slices it publishes for this cluster, else from its
 *   Nodes; only the leader reads the remotes, so each sees one watch per
 *   cluster.
 * With its renewals of the Lease, the leader says what it publishes and
 * mirrors (lease-annotations.ts): remote mirrors decide their source from
 * it, and local daemons judge the mirrored slices' freshness.
 */
export async function startMirror(options: MirrorOptions): Promise<RunningMirror> {
  const { config, logger } = options;
  const local = config.local;
  const peers = config.remotes.map((r) => r.name);
  const reachable = config.remotes.flatMap((remote) => (remote.access === null ? [] : [{ remote, access: remote.access }]));
  const withoutAccess = config.remotes.filter((r) => r.access === null).map((r) => r.name);
  if (withoutAccess.length > 0) {
    throw new Error(`clusterwire mirror reads every remote of its config: ${withoutAccess.join(', ')} ha${withoutAccess.length === 1 ? 's' : 've'} no API access (kubeConfigPath, or remoteAPIURL, remoteCAURL and remoteSATokenPath)`);
  }
  const metrics = createMirrorMetrics();
  startMirrorCounters(metrics, local.name, peers);
  const clients: KubeClient[] = [];
  const client = createKubeClient({
    cluster: local.name,
    settings: connectionSettings(local.kubeConfigPath === null ? { kind: 'in-cluster' } : { kind: 'kubeconfig', path: local.kubeConfigPath }),
    requests: metrics.kubeHttpRequests,
  });
  clients.push(client);
  const api = new KubeSliceApi(client, options.namespace);
  const backoff = { baseMs: Math.min(800, options.watchBackoffCapMs), capMs: options.watchBackoffCapMs };

  const publishers = config.remotes.map((remote) => {
    const log = logger.child({ peer: remote.name });
    return new SlicePublisher({
      set: mirrorSets(local.name, remote.name).published,
      api,
      // One watch per peer until the generic informer serves one projection to all (each projects the annotations of its peer).
      createNodeSource: (onChange) =>
        new NodeWatcher({ client, localClusterName: remote.name, annotationDomain: config.annotationDomain, logger: log, metrics, onChange, clock: systemClock, random: Math.random, backoff, maxNodes: remote.maxNodes }),
      clock: systemClock,
      logger: log,
      metrics: publishedSetMetrics(metrics, remote.name),
      resyncIntervalMs: options.resyncIntervalMs,
    });
  });
  const mirrored = reachable.map(({ remote, access }) => {
    const remoteClient = createKubeClient({ cluster: remote.name, settings: connectionSettings(access), requests: metrics.kubeHttpRequests });
    clients.push(remoteClient);
    return mirrorRemote({
      remote,
      client: remoteClient,
      localCluster: local.name,
      annotationDomain: config.annotationDomain,
      api,
      metrics,
      clock: systemClock,
      logger: logger.child({ remote: remote.name }),
      resyncIntervalMs: options.resyncIntervalMs,
      backoff,
    });
  });
  const pruner = new SlicePruner({ api, local: local.name, remotes: peers, clock: systemClock, logger });
  const elector: LeaderElector = new LeaderElector({
    lock: new KubeLeaseLock(client, options.namespace, options.leaseName),
    identity: options.identity,
    clock: systemClock,
    logger,
    ...options.election,
    onStartedLeading: () => {
      for (const publisher of publishers) publisher.lead();
      for (const remote of mirrored) remote.lead();
      pruner.lead();
    },
    onStoppedLeading: () => {
      for (const publisher of publishers) publisher.standBy();
      for (const remote of mirrored) remote.standBy();
      pruner.standBy();
    },
    annotations: () => leaseAnnotations(elector.status().leadingSince),
  });
  /** What the leader says with each renewal: cheap, a few fields per remote. */
  function leaseAnnotations(leadingSince: number | null): Record<string, string> {
    const published = new Map(publishers.map((p) => {
      const { peer, lastPublishAt } = p.status();
      return [peer, { synced: lastPublishAt !== null && leadingSince !== null && lastPublishAt >= leadingSince }];
    }));
    const remotes = new Map(mirrored.map((m) => [m.remote, m.leaseState(leadingSince)]));
    return { [PUBLISHED_PEERS_ANNOTATION]: publishedPeersAnnotation(published), [MIRRORED_REMOTES_ANNOTATION]: mirroredRemotesAnnotation(remotes) };
  }

  const server = buildMirrorHttpServer(
    {
      cluster: local.name,
      namespace: options.namespace,
      election: () => elector.status(),
      publishers: () => publishers.map((p) => p.status()),
      mirrored: () => mirrored.map((m) => m.status()),
    },
    metrics.registry,
  );
  const address = await listen(server, options.listen);
  for (const publisher of publishers) publisher.start();
  for (const remote of mirrored) remote.start();
  elector.start();
  logger.info({ cluster: local.name, peers, namespace: options.namespace, lease: options.leaseName, identity: options.identity, listen: address }, 'clusterwire mirror started');

  return {
    address,
    async stop() {
      // Writes end before the lease is released, so the next leader never races this one.
      await Promise.all([...publishers.map((p) => p.stop()), ...mirrored.map((m) => m.stop()), pruner.stop()]);
      await elector.stop();
      await server.close();
      for (const c of clients) c.close();
      logger.info('clusterwire mirror stopped; the slices stay as they are');
    },
  };
}
