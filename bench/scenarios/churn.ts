/**
 * Churn: kubelet-like status-only MODIFIED events for every remote node at
 * N/10 per second (a busy cluster), for `churnSeconds`. Nothing peering
 * cares about changes, so the daemon must apply nothing: `wg`/`ip` calls
 * are counted by the exec counter, UAPI applies by the daemon's
 * "applied peer changes" lines, passes by its metrics.
 * The events are counted exactly: a marker write before and after brackets
 * them in the emulator's resourceVersion, which every write bumps by one.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { RemoteCluster } from '../clusters.ts';
import type { BenchContext } from '../context.ts';
import type { DaemonProcess } from '../daemon-process.ts';
import { cpuSeconds } from '../proc.ts';
import { sumOf, type Sample } from '../prom-text.ts';

/** Lets the daemon read what is still in flight when the heartbeats stop. */
export const DRAIN_MS = 1_000;
const MARKER_LABEL = 'bench.clusterwire.dev/marker';
export const APPLY_MESSAGES = new Set(['applied peer changes', 'repaired peers']);

export interface Churn {
  seconds: number;
  events: number;
  /** The daemon's own CPU (user + system, /proc) over the window. */
  cpuSeconds: number;
  wgCalls: number;
  ipCalls: number;
  /** UAPI set operations: passes that pushed a change to the device. */
  uapiSets: number;
  /** Sync passes (semaphore_wg_sync_peers_total), with or without a change. */
  syncPasses: number;
  watchFailures: number;
  /** What the remote apiserver served to this daemon over the window. */
  requests: number;
  bytes: number;
}

let markers = 0;

/** A label-only write (as irrelevant as a heartbeat); returns the resourceVersion it got. */
export function markResourceVersion(remote: RemoteCluster): number {
  const first = remote.nodes[0];
  if (!first) throw new Error('churn needs at least one remote node');
  markers += 1;
  const node = remote.emulator.patchNode(first.name, { metadata: { labels: { [MARKER_LABEL]: String(markers) } } }) as { metadata: { resourceVersion: string } };
  return Number(node.metadata.resourceVersion);
}

function daemonCounters(samples: readonly Sample[]) {
  return {
    syncPasses: sumOf(samples, 'semaphore_wg_sync_peers_total'),
    watchFailures: sumOf(samples, 'semaphore_wg_node_watcher_failures_total'),
  };
}

export interface ChurnWindow<T> {
  /** From the first heartbeat to the end of the drain. */
  seconds: number;
  /** Heartbeats written, counted exactly between the two markers. */
  events: number;
  before: T;
  after: T;
}

/**
 * N/10 heartbeats per second for `seconds`, bracketed by marker writes,
 * then DRAIN_MS for the readers to catch up. `read` takes what is measured
 * (CPU times first, apiserver load) right before the first heartbeat and
 * after the drain: every churn measurement of the bench shares this window.
 */
export async function churnWindow<T>(remote: RemoteCluster, durationSeconds: number, read: () => Promise<T>): Promise<ChurnWindow<T>> {
  const firstVersion = markResourceVersion(remote);
  const before = await read();
  const started = performance.now();
  remote.emulator.startHeartbeats(remote.nodes.length / 10);
  try {
    await delay(durationSeconds * 1000);
  } finally {
    remote.emulator.stopHeartbeats();
  }
  const lastVersion = markResourceVersion(remote);
  await delay(DRAIN_MS);
  const seconds = (performance.now() - started) / 1000;
  const after = await read();
  return { seconds, events: lastVersion - firstVersion - 1, before, after };
}

export async function measureChurn(context: BenchContext, daemon: DaemonProcess, remote: RemoteCluster): Promise<Churn> {
  const { emulator } = remote;
  const metricsBefore = daemonCounters((await daemon.scrape()).samples);
  const execBefore = await context.execCounter.counts();
  const logsBefore = daemon.logs.length;
  const window = await churnWindow(remote, context.options.churnSeconds, async () => ({ load: emulator.counters(), cpu: await cpuSeconds(daemon.pid) }));
  const execAfter = await context.execCounter.counts();
  const metricsAfter = daemonCounters((await daemon.scrape()).samples);
  return {
    seconds: window.seconds,
    events: window.events,
    cpuSeconds: window.after.cpu - window.before.cpu,
    wgCalls: execAfter.wg - execBefore.wg,
    ipCalls: execAfter.ip - execBefore.ip,
    uapiSets: daemon.logs.slice(logsBefore).filter((line) => APPLY_MESSAGES.has(line.msg)).length,
    syncPasses: metricsAfter.syncPasses - metricsBefore.syncPasses,
    watchFailures: metricsAfter.watchFailures - metricsBefore.watchFailures,
    requests: window.after.load.requests - window.before.load.requests,
    bytes: window.after.load.bytesSent - window.before.load.bytesSent,
  };
}
