import { Gauge, type Registry } from 'prom-client';
import type { DaemonView } from './daemon-view.ts';

/**
 * The time of each remote watch's last event, read from the watchers'
 * status at scrape time: setting a gauge on every event cost ~21 µs per
 * event under heartbeat churn (docs/http-and-metrics.md).
 */
export function registerWatchMetrics(registry: Registry, view: Pick<DaemonView, 'statuses'>): void {
  new Gauge({
    name: 'clusterwire_watch_last_event_timestamp_seconds',
    help: 'Unix time of the last event (or bookmark) received from a cluster.',
    labelNames: ['cluster'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { remote, watch } of view.statuses()) {
        if (watch.lastEventAt !== null) this.set({ cluster: remote }, watch.lastEventAt / 1000);
      }
    },
  });
}
