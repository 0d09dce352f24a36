import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric clusterwire exports through prom-client, on one registry
 * created in main. The `semaphore_wg_*` names, help texts, labels and label
 * values are semaphore-wireguard's, unchanged, so existing dashboards and
 * alerts keep working (docs/http-and-metrics.md); `clusterwire_*` are ours.
 * Components receive only the metrics they update. The per-peer device
 * series are not here: they are rendered as text from the device snapshot
 * at scrape time (src/server/device-metrics.ts).
 */
export function createMetrics(registry: Registry = new Registry()) {
  const registers = [registry];
  const metrics = {
    registry,
    /** `success` is "1" or "0", as semaphore-wireguard writes it. */
    syncPeers: new Counter({
      name: 'semaphore_wg_sync_peers_total',
      help: "Counts runners' attempts to sync peers.",
      labelNames: ['device', 'success'] as const,
      registers,
    }),
    /** A sync request that waited 5 s behind a pass still running (semaphore's unbuffered queue timing out). */
    syncQueueFullFailures: new Counter({
      name: 'semaphore_wg_sync_queue_full_failures_total',
      help: 'Number of times a sync task was not added to the sync queue in time because the queue was full.',
      labelNames: ['device'] as const,
      registers,
    }),
    /** A sync retried: after a failed pass, or after a queue-full wait (as semaphore counts both). */
    syncRequeue: new Counter({
      name: 'semaphore_wg_sync_requeue_total',
      help: 'Number of attempts to requeue a sync.',
      labelNames: ['device'] as const,
      registers,
    }),
    ...kubeMetrics(registers),
    syncRequestsCoalesced: new Counter({
      name: 'clusterwire_sync_requests_coalesced_total',
      help: 'Sync requests folded into a pass already queued (bursts of Node events cost one pass).',
      labelNames: ['device'] as const,
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
    driftRepairs: new Counter({
      name: 'clusterwire_drift_repairs_total',
      help: 'Repairs of state changed behind our back, by kind (link, route, peer, process, annotation).',
      labelNames: ['device', 'kind'] as const,
      registers,
    }),
    linkMonitorFailures: new Counter({
      name: 'clusterwire_link_monitor_failures_total',
      help: 'Times the ip monitor of links and routes exited or reported an error: links and routes are read every tick until it listens again.',
      registers,
    }),
  };
  processMetrics(registry);
  return metrics;
}

/**
 * prom-client samples the event loop's delay with a timer for the
 * nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds gauges:
 * every 10 ms by default, 6-8 ms of CPU per second on an idle daemon; still
 * ~1 ms per second at once a second, a third of what an idle daemon costs
 * at 5,000 peers (bench/README.md), on every node. Those gauges are left
 * out and the timer, which prom-client always starts, wakes once a minute.
 * nodejs_eventloop_lag_seconds stays: it is measured when scraped, at no
 * cost in between.
 */
const EVENT_LOOP_SAMPLE_MS = 60_000;
const SAMPLED_EVENT_LOOP_GAUGES = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map((stat) => `nodejs_eventloop_lag_${stat}_seconds`);

/** prom-client's default process and Node.js metrics, as promtool accepts them. */
export function processMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  // Gauges named like counters, which `promtool check metrics` rejects; the
  // per-type gauges without the suffix (nodejs_active_handles{type}, ...) sum to the same.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  for (const name of SAMPLED_EVENT_LOOP_GAUGES) registry.removeSingleMetric(name);
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The metrics of talking to apiservers and watching Nodes, shared by the
 * daemon and `clusterwire mirror` (which watches its own cluster's Nodes).
 */
export function kubeMetrics(registers: Registry[]) {
  return {
    nodeWatcherFailures: new Counter({
      name: 'semaphore_wg_node_watcher_failures_total',
      help: 'Number of times the node watcher list/watch functions errored.',
      labelNames: ['cluster', 'verb'] as const,
      registers,
    }),
    kubeHttpRequests: new Counter({
      name: 'semaphore_wg_kube_http_request_total',
      help: 'Total number of HTTP requests to the Kubernetes API by host, code and method',
      labelNames: ['host', 'code', 'method'] as const,
      registers,
    }),
    nodesDropped: new Counter({
      name: 'clusterwire_remote_nodes_dropped_total',
      help: 'Remote node events dropped unkept (a new node, or one not kept) because the node store of the cluster is full (twice maxNodes).',
      labelNames: ['cluster'] as const,
      registers,
    }),
    watchConnected: new Gauge({
      name: 'clusterwire_watch_connected',
      help: '1 while the watch of a cluster\'s Nodes is connected.',
      labelNames: ['cluster'] as const,
      registers,
    }),
  };
}

/** The verbs semaphore-wireguard starts `semaphore_wg_node_watcher_failures_total` at 0 for (it fails only list and watch). */
export const WATCHER_VERBS = ['get', 'list', 'create', 'update', 'patch', 'watch', 'delete'] as const;

/**
 * Starts the counters at 0 for every remote, as semaphore-wireguard does,
 * so `rate()` and `increase()` see the first failure: device × success,
 * queue-full and requeue per device, remote cluster × verb for watcher
 * failures; and our coalescing counter per device.
 */
export function startCounters(metrics: Metrics, remotes: readonly { cluster: string; device: string }[]): void {
  for (const { cluster, device } of remotes) {
    for (const success of ['0', '1']) metrics.syncPeers.inc({ device, success }, 0);
    metrics.syncQueueFullFailures.inc({ device }, 0);
    metrics.syncRequeue.inc({ device }, 0);
    metrics.syncRequestsCoalesced.inc({ device }, 0);
    for (const verb of WATCHER_VERBS) metrics.nodeWatcherFailures.inc({ cluster, verb }, 0);
  }
}
