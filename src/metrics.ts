import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric clusterwire exports, on one registry created in main. The
 * `semaphore_wg_*` names and labels are semaphore-wireguard's, unchanged, so
 * existing dashboards keep working; `clusterwire_*` are ours.
 * Components receive only the metrics they update.
 */
export function createMetrics(registry: Registry = new Registry()) {
  const registers = [registry];
  const metrics = {
    registry,
    syncPeers: new Counter({
      name: 'semaphore_wg_sync_peers_total',
      help: 'Peer syncs (applies to a WireGuard device), by outcome.',
      labelNames: ['device', 'success'] as const,
      registers,
    }),
    syncQueueFullFailures: new Counter({
      name: 'semaphore_wg_sync_queue_full_failures_total',
      help: 'Sync requests dropped because one was already queued (coalesced).',
      labelNames: ['device'] as const,
      registers,
    }),
    syncRequeue: new Counter({
      name: 'semaphore_wg_sync_requeue_total',
      help: 'Syncs retried after a failure.',
      labelNames: ['device'] as const,
      registers,
    }),
    nodeWatcherFailures: new Counter({
      name: 'semaphore_wg_node_watcher_failures_total',
      help: 'Failed list or watch requests against a cluster, by verb.',
      labelNames: ['cluster', 'verb'] as const,
      registers,
    }),
    kubeHttpRequests: new Counter({
      name: 'semaphore_wg_kube_http_request_total',
      help: 'HTTP requests to Kubernetes apiservers, by host, status code and method.',
      labelNames: ['host', 'code', 'method'] as const,
      registers,
    }),
    peersDesired: new Gauge({
      name: 'clusterwire_peers_desired',
      help: 'Peers the remote cluster currently asks for on this device.',
      labelNames: ['device'] as const,
      registers,
    }),
    peersApplied: new Gauge({
      name: 'clusterwire_peers_applied',
      help: 'Peers on the device after the last successful apply.',
      labelNames: ['device'] as const,
      registers,
    }),
    syncDuration: new Histogram({
      name: 'clusterwire_sync_duration_seconds',
      help: 'Time to compare a device with the desired state and push the difference.',
      labelNames: ['device'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    skippedNodes: new Gauge({
      name: 'clusterwire_remote_nodes_skipped',
      help: 'Remote nodes not peered because of invalid data, by reason.',
      labelNames: ['cluster', 'reason'] as const,
      registers,
    }),
    nodesDropped: new Counter({
      name: 'clusterwire_remote_nodes_dropped_total',
      help: 'Remote node events dropped unkept (a new node, or one not kept) because the node store of the cluster is full (twice maxNodes).',
      labelNames: ['cluster'] as const,
      registers,
    }),
    driftRepairs: new Counter({
      name: 'clusterwire_drift_repairs_total',
      help: 'Repairs of state changed behind our back, by kind (link, route, peer, process, annotation).',
      labelNames: ['device', 'kind'] as const,
      registers,
    }),
    watchConnected: new Gauge({
      name: 'clusterwire_watch_connected',
      help: '1 while the watch of a cluster\'s Nodes is connected.',
      labelNames: ['cluster'] as const,
      registers,
    }),
    watchLastEvent: new Gauge({
      name: 'clusterwire_watch_last_event_timestamp_seconds',
      help: 'Unix time of the last event (or bookmark) received from a cluster.',
      labelNames: ['cluster'] as const,
      registers,
    }),
  };
  collectDefaultMetrics({ register: registry });
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
