import { Gauge, type Registry } from 'prom-client';
import { REMOTE_SOURCES } from '../config/schema.ts';
import type { DaemonView } from './daemon-view.ts';

/**
 * Which source each remote's nodes come from, and how fresh a publisher
 * or the local mirror is (docs/fleet-mode.md, "Reading slices" and
 * "Freshness"), read from the remotes'
 * status at scrape time like the watch metrics.
 */
export function registerSourceMetrics(registry: Registry, view: Pick<DaemonView, 'statuses'>): void {
  new Gauge({
    name: 'clusterwire_remote_source_info',
    help: "1 for the source a remote's nodes are read from: nodes (its Nodes), slices (the PeerSlices it publishes for this cluster) or mirror (those the local mirror mirrors from it).",
    labelNames: ['remote', 'source'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { remote, source } of view.statuses()) {
        for (const kind of REMOTE_SOURCES) this.set({ remote, source: kind }, kind === source.kind ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'clusterwire_remote_publisher_renew_timestamp_seconds',
    help: "Unix time the remote's publisher last renewed its Lease, as last read (source slices only; the publisher's clock).",
    labelNames: ['remote'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { remote, source } of view.statuses()) {
        if (source.kind === 'slices' && source.publisher.renewedAt !== null) this.set({ remote }, source.publisher.renewedAt / 1000);
      }
    },
  });
  new Gauge({
    name: 'clusterwire_remote_mirror_stale',
    help: "1 while the local mirror is down or its copy of a remote is stale, by this node's reading of the mirror's Lease; 0 while fresh (source mirror only; peers are kept either way).",
    labelNames: ['remote'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { remote, source } of view.statuses()) {
        if (source.kind === 'mirror' && source.mirror.state !== 'unknown') this.set({ remote }, source.mirror.state === 'fresh' ? 0 : 1);
      }
    },
  });
  new Gauge({
    name: 'clusterwire_remote_slices',
    help: 'PeerSlices of a remote kept by the daemon (sources slices and mirror).',
    labelNames: ['remote'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { remote, source } of view.statuses()) {
        if (source.kind !== 'nodes') this.set({ remote }, source.slices);
      }
    },
  });
}
