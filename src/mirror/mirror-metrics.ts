import { Counter, Gauge, Registry } from 'prom-client';
import { kubeMetrics, processMetrics, WATCHER_VERBS } from '../metrics.ts';
import { PUBLISH_SKIP_REASONS } from '../fleet/slice-entry.ts';
import type { PublisherMetrics } from '../fleet/slice-publisher.ts';
import type { MirrorView } from './mirror-view.ts';

/** The verbs of `clusterwire_publisher_slice_writes_total`. */
export const SLICE_WRITE_VERBS = ['create', 'update', 'delete'] as const;

/**
 * The metrics of `clusterwire mirror` (docs/fleet-mode.md): the node watch
 * and apiserver requests as the daemon counts them, the slice writes, and
 * gauges read from the publishers at scrape time.
 */
export function createMirrorMetrics(registry: Registry = new Registry()) {
  const registers = [registry];
  const metrics = {
    registry,
    ...kubeMetrics(registers),
    published: sliceWriteCounters(registers, {
      prefix: 'clusterwire_publisher',
      label: 'peer_cluster',
      help: {
        writes: 'PeerSlice writes by the leader, by peer cluster and verb (create, update, delete).',
        conflicts: 'PeerSlice writes refused because the slice had changed (409) or was gone: the slices are read again and the writes planned again.',
        failures: 'PeerSlice writes that failed otherwise (apiserver unreachable, refused): retried with backoff.',
      },
    }),
    mirrored: sliceWriteCounters(registers, {
      prefix: 'clusterwire_mirror',
      label: 'remote',
      help: {
        writes: 'Mirrored PeerSlice writes by the leader, by remote cluster and verb (create, update, delete).',
        conflicts: 'Mirrored PeerSlice writes refused because the slice had changed (409) or was gone: the slices are read again.',
        failures: 'Mirrored PeerSlice writes that failed otherwise: retried with backoff.',
      },
    }),
  };
  processMetrics(registry);
  return metrics;
}

export type MirrorMetrics = ReturnType<typeof createMirrorMetrics>;

/**
 * The three write counters of one kind of slice set (published for a peer,
 * mirrored from a remote), labelled by the cluster the set is for or from.
 */
function sliceWriteCounters(registers: Registry[], o: { prefix: string; label: string; help: { writes: string; conflicts: string; failures: string } }) {
  const writes = new Counter({ name: `${o.prefix}_slice_writes_total`, help: o.help.writes, labelNames: [o.label, 'verb'], registers });
  const conflicts = new Counter({ name: `${o.prefix}_write_conflicts_total`, help: o.help.conflicts, labelNames: [o.label], registers });
  const failures = new Counter({ name: `${o.prefix}_write_failures_total`, help: o.help.failures, labelNames: [o.label], registers });
  return {
    writes,
    conflicts,
    failures,
    /** What a SlicePublisher of the set for `cluster` counts with. */
    forSet: (cluster: string): PublisherMetrics => ({
      written: (verb) => writes.inc({ [o.label]: cluster, verb }),
      conflict: () => conflicts.inc({ [o.label]: cluster }),
      failed: () => failures.inc({ [o.label]: cluster }),
    }),
    /** Every series of `cluster` at 0, so rate() sees the first increment. */
    start: (cluster: string): void => {
      for (const verb of SLICE_WRITE_VERBS) writes.inc({ [o.label]: cluster, verb }, 0);
      conflicts.inc({ [o.label]: cluster }, 0);
      failures.inc({ [o.label]: cluster }, 0);
    },
  };
}

/** The write counters of the slices published for `peer`. */
export function publishedSetMetrics(metrics: MirrorMetrics, peer: string): PublisherMetrics {
  return metrics.published.forSet(peer);
}

/** The write counters of the slices mirrored from `remote`. */
export function mirroredSetMetrics(metrics: MirrorMetrics, remote: string): PublisherMetrics {
  return metrics.mirrored.forSet(remote);
}

/** Starts every counter at 0, so rate() sees the first increment. The remotes are the peers: each is published for and mirrored from. */
export function startMirrorCounters(metrics: MirrorMetrics, localCluster: string, peers: readonly string[]): void {
  for (const verb of WATCHER_VERBS) metrics.nodeWatcherFailures.inc({ cluster: localCluster, verb }, 0);
  metrics.nodesDropped.inc({ cluster: localCluster }, 0);
  for (const peer of peers) {
    metrics.published.start(peer);
    metrics.mirrored.start(peer);
    for (const verb of WATCHER_VERBS) metrics.nodeWatcherFailures.inc({ cluster: peer, verb }, 0);
  }
}

/** Gauges computed from the mirror's state when scraped: nothing is set per event. */
export function registerMirrorGauges(registry: Registry, view: MirrorView): void {
  const registers = [registry];
  new Gauge({
    name: 'clusterwire_publisher_leader',
    help: '1 while this replica holds the lease and writes the slices.',
    registers,
    collect() {
      this.set(view.election().leading ? 1 : 0);
    },
  });
  new Gauge({
    name: 'clusterwire_publisher_slices',
    help: 'PeerSlices the leader keeps for each peer cluster (absent on a standby).',
    labelNames: ['peer_cluster'] as const,
    registers,
    collect() {
      this.reset();
      for (const p of view.publishers()) if (p.slices !== null) this.set({ peer_cluster: p.peer }, p.slices);
    },
  });
  new Gauge({
    name: 'clusterwire_publisher_entries',
    help: 'Local nodes published in the slices of each peer cluster (absent on a standby).',
    labelNames: ['peer_cluster'] as const,
    registers,
    collect() {
      this.reset();
      for (const p of view.publishers()) if (p.entries !== null) this.set({ peer_cluster: p.peer }, p.entries);
    },
  });
  new Gauge({
    name: 'clusterwire_publisher_nodes_skipped',
    help: 'Local nodes not published for a peer cluster, by reason.',
    labelNames: ['peer_cluster', 'reason'] as const,
    registers,
    collect() {
      for (const p of view.publishers()) for (const reason of PUBLISH_SKIP_REASONS) this.set({ peer_cluster: p.peer, reason }, p.skipped[reason]);
    },
  });
  new Gauge({
    name: 'clusterwire_publisher_last_publish_timestamp_seconds',
    help: 'Unix time when the slices of a peer cluster last matched the local nodes (end of the last successful pass of the leader).',
    labelNames: ['peer_cluster'] as const,
    registers,
    collect() {
      this.reset();
      for (const p of view.publishers()) if (p.lastPublishAt !== null) this.set({ peer_cluster: p.peer }, p.lastPublishAt / 1000);
    },
  });
  registerMirroringGauges(registers, view);
  new Gauge({
    name: 'clusterwire_watch_last_event_timestamp_seconds',
    help: 'Unix time of the last event (or bookmark) received from a cluster.',
    labelNames: ['cluster'] as const,
    registers,
    collect() {
      this.reset();
      const times = view.publishers().flatMap((p) => (p.nodes.lastEventAt === null ? [] : [p.nodes.lastEventAt]));
      if (times.length > 0) this.set({ cluster: view.cluster }, Math.max(...times) / 1000);
      for (const m of view.mirrored()) if (m.source.watch.lastEventAt !== null) this.set({ cluster: m.remote }, m.source.watch.lastEventAt / 1000);
    },
  });
}

/** The gauges of mirroring, per remote (docs/fleet-mode.md, "Mirroring"); absent on a standby, which reads no remote. */
function registerMirroringGauges(registers: Registry[], view: MirrorView): void {
  new Gauge({
    name: 'clusterwire_mirror_source_info',
    help: "1 for the source the leader reads a remote from: slices (the PeerSlices it publishes for this cluster) or nodes (its Nodes).",
    labelNames: ['remote', 'source'] as const,
    registers,
    collect() {
      this.reset();
      for (const m of view.mirrored()) {
        const kind = m.source.source;
        if (kind !== null) for (const source of MIRROR_SOURCES) this.set({ remote: m.remote, source }, source === kind ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'clusterwire_mirror_slices',
    help: 'Mirrored PeerSlices the leader keeps for each remote cluster (absent on a standby).',
    labelNames: ['remote'] as const,
    registers,
    collect() {
      this.reset();
      for (const m of view.mirrored()) if (m.slices.slices !== null) this.set({ remote: m.remote }, m.slices.slices);
    },
  });
  new Gauge({
    name: 'clusterwire_mirror_entries',
    help: 'Remote nodes in the mirrored slices of each remote cluster (absent on a standby).',
    labelNames: ['remote'] as const,
    registers,
    collect() {
      this.reset();
      for (const m of view.mirrored()) if (m.slices.entries !== null) this.set({ remote: m.remote }, m.slices.entries);
    },
  });
  new Gauge({
    name: 'clusterwire_mirror_nodes_skipped',
    help: 'Remote nodes left out of the mirrored slices, by reason (the reasons of clusterwire_publisher_nodes_skipped).',
    labelNames: ['remote', 'reason'] as const,
    registers,
    collect() {
      for (const m of view.mirrored()) for (const reason of PUBLISH_SKIP_REASONS) this.set({ remote: m.remote, reason }, m.slices.skipped[reason]);
    },
  });
  new Gauge({
    name: 'clusterwire_mirror_last_sync_timestamp_seconds',
    help: "Unix time when the mirrored slices of a remote last matched its source (end of the leader's last successful pass).",
    labelNames: ['remote'] as const,
    registers,
    collect() {
      this.reset();
      for (const m of view.mirrored()) if (m.slices.lastPublishAt !== null) this.set({ remote: m.remote }, m.slices.lastPublishAt / 1000);
    },
  });
}

const MIRROR_SOURCES = ['slices', 'nodes'] as const;
