import { systemClock } from '../clock/clock.ts';
import type { ClustersConfig } from '../config/types.ts';
import { KubeLeaseLock } from '../election/lease-lock.ts';
import { LeaderElector, type ElectionTiming } from '../election/leader-elector.ts';
import { KubeSliceApi } from '../fleet/slice-api.ts';
import { SlicePublisher } from '../fleet/slice-publisher.ts';
import { SlicePruner } from '../fleet/slice-pruner.ts';
import { connectionSettings, createKubeClient } from '../kube/client.ts';
import { NodeWatcher } from '../kube/node-watcher.ts';
import type { Logger } from '../log.ts';
import { buildMirrorHttpServer } from '../server/mirror-http-server.ts';
import { listen } from '../server/listen.ts';
import { createMirrorMetrics, publishedSetMetrics, startMirrorCounters } from './mirror-metrics.ts';

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
 * `clusterwire mirror` (docs/fleet-mode.md): publishes this cluster's nodes
 * as PeerSlices, one set per peer cluster of the clusters config, in its
 * own namespace; one replica writes, elected through a Lease. Every replica
 * watches the nodes, so a standby that takes over knows them already.
 */
export async function startMirror(options: MirrorOptions): Promise<RunningMirror> {
  const { config, logger } = options;
  const local = config.local;
  const peers = config.remotes.map((r) => r.name);
  const metrics = createMirrorMetrics();
  startMirrorCounters(metrics, local.name, peers);
  const client = createKubeClient({
    cluster: local.name,
    settings: connectionSettings(local.kubeConfigPath === null ? { kind: 'in-cluster' } : { kind: 'kubeconfig', path: local.kubeConfigPath }),
    requests: metrics.kubeHttpRequests,
  });
  const api = new KubeSliceApi(client, options.namespace);
  const backoff = { baseMs: Math.min(800, options.watchBackoffCapMs), capMs: options.watchBackoffCapMs };

  const publishers = config.remotes.map((remote) => {
    const log = logger.child({ peer: remote.name });
    return new SlicePublisher({
      set: { source: local.name, peer: remote.name, mirrored: false },
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
  const pruner = new SlicePruner({ api, source: local.name, peers, clock: systemClock, logger });
  const elector = new LeaderElector({
    lock: new KubeLeaseLock(client, options.namespace, options.leaseName),
    identity: options.identity,
    clock: systemClock,
    logger,
    ...options.election,
    onStartedLeading: () => {
      for (const publisher of publishers) publisher.lead();
      pruner.lead();
    },
    onStoppedLeading: () => {
      for (const publisher of publishers) publisher.standBy();
      pruner.standBy();
    },
  });

  const server = buildMirrorHttpServer(
    { cluster: local.name, namespace: options.namespace, election: () => elector.status(), publishers: () => publishers.map((p) => p.status()) },
    metrics.registry,
  );
  const address = await listen(server, options.listen);
  for (const publisher of publishers) publisher.start();
  elector.start();
  logger.info({ cluster: local.name, peers, namespace: options.namespace, lease: options.leaseName, identity: options.identity, listen: address }, 'clusterwire mirror started');

  return {
    address,
    async stop() {
      // Writes end before the lease is released, so the next leader never races this one.
      await Promise.all([...publishers.map((p) => p.stop()), pruner.stop()]);
      await elector.stop();
      await server.close();
      client.close();
      logger.info('clusterwire mirror stopped; the slices stay as they are');
    },
  };
}
