/**
 * From raw runs to figures: every figure is the median over runs with min
 * and max, and every ratio is taken per run against the floor measured in
 * that same run.
 */
import type { Idle } from './scenarios/idle.ts';
import type { ScaleRun } from './scenarios/scale-run.ts';
import { percentile, ratios, summarize, type Summary } from './stats.ts';

export interface BenchRun {
  run: number;
  idle: Idle;
  scales: ScaleRun[];
}

/** Remote apiserver load is extrapolated from one daemon to this many local nodes (each runs a daemon). */
export const LOCAL_NODES_EXTRAPOLATED = 1000;

const MB = 1024 * 1024;

export interface IdleSummary {
  daemonRssMB: Summary;
  daemonHeapMB: Summary;
  bareNodeRssMB: Summary;
}

export interface ScaleSummary {
  nodes: number;
  coldStart: {
    daemonSeconds: Summary;
    floorSeconds: Summary;
    ratio: Summary;
    /** Daemon log times after spawn: process up, device created, list complete, peers applied. */
    daemonPhasesSeconds: { started: Summary | null; device: Summary | null; listed: Summary | null; applied: Summary | null };
    floorPhasesSeconds: { startup: Summary; fetch: Summary; parse: Summary; config: Summary; syncconf: Summary };
    listRequests: Summary;
    listMB: Summary;
  };
  memory: {
    afterColdStart: { rssMB: Summary; heapMB: Summary };
    afterChurn: { rssMB: Summary; heapMB: Summary };
    /** The first /metrics scrape after cold start: every peer rendered several times. */
    scrapeMs: Summary;
    scrapeMB: Summary;
  };
  churn: {
    events: Summary;
    cpuMsPer1000: Summary;
    floorCpuMsPer1000: Summary;
    ratio: Summary;
    watchFloorCpuMsPer1000: Summary;
    ratioToWatchFloor: Summary;
    wgCalls: Summary;
    ipCalls: Summary;
    uapiSets: Summary;
    syncPasses: Summary;
    watchFailures: Summary;
  };
  apiserverLoad: {
    mbPerHourPerDaemon: Summary;
    requestsPerHourPerDaemon: Summary;
    gbPerHourAtLocalNodes: Summary;
    requestsPerHourAtLocalNodes: Summary;
  };
  propagation: {
    changes: number;
    visibleMs: { p50: Summary; p99: Summary; max: Summary };
    appliedMs: { p50: Summary; p99: Summary; max: Summary };
    /** Median duration of one device read per run: the resolution of visibleMs. */
    pollMs: Summary;
  };
}

function over<T>(items: readonly T[], value: (item: T) => number): Summary {
  return summarize(items.map(value));
}

function optionalOver<T>(items: readonly T[], value: (item: T) => number | null): Summary | null {
  const values = items.map(value);
  return values.every((v): v is number => v !== null) ? summarize(values) : null;
}

function percentiles(values: readonly number[]) {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: percentile(values, 100) };
}

export function summarizeIdle(runs: readonly BenchRun[]): IdleSummary {
  return {
    daemonRssMB: over(runs, (r) => r.idle.daemon.rssBytes / MB),
    daemonHeapMB: over(runs, (r) => r.idle.daemon.heapUsedBytes / MB),
    bareNodeRssMB: over(runs, (r) => r.idle.bareNodeRssBytes / MB),
  };
}

export function summarizeScale(runs: readonly ScaleRun[]): ScaleSummary {
  const first = runs[0];
  if (!first || runs.some((r) => r.nodes !== first.nodes)) throw new Error('summarizeScale needs runs at one node count');
  const hourly = (r: ScaleRun, amount: number) => (amount * 3600) / r.churn.seconds;
  const visible = runs.map((r) => percentiles(r.propagation.changes.map((c) => c.visibleMs)));
  const applied = runs.map((r) => percentiles(r.propagation.changes.map((c) => c.appliedMs)));
  const cpuPer1000 = runs.map((r) => (r.churn.cpuSeconds * 1000 * 1000) / r.churn.events);
  const floorPer1000 = runs.map((r) => (r.churnFloor.cpuSeconds * 1000 * 1000) / r.churnFloor.events);
  const watchFloorPer1000 = runs.map((r) => (r.watchFloor.cpuSeconds * 1000 * 1000) / r.watchFloor.events);
  return {
    nodes: first.nodes,
    coldStart: {
      daemonSeconds: over(runs, (r) => r.coldStart.totalMs / 1000),
      floorSeconds: over(runs, (r) => r.coldStartFloor.totalMs / 1000),
      ratio: summarize(ratios(runs.map((r) => r.coldStart.totalMs), runs.map((r) => r.coldStartFloor.totalMs))),
      daemonPhasesSeconds: {
        started: optionalOver(runs, (r) => (r.coldStart.phases.startedMs === null ? null : r.coldStart.phases.startedMs / 1000)),
        device: optionalOver(runs, (r) => (r.coldStart.phases.deviceMs === null ? null : r.coldStart.phases.deviceMs / 1000)),
        listed: optionalOver(runs, (r) => (r.coldStart.phases.listedMs === null ? null : r.coldStart.phases.listedMs / 1000)),
        applied: optionalOver(runs, (r) => (r.coldStart.phases.appliedMs === null ? null : r.coldStart.phases.appliedMs / 1000)),
      },
      floorPhasesSeconds: {
        startup: over(runs, (r) => r.coldStartFloor.phases.startupMs / 1000),
        fetch: over(runs, (r) => r.coldStartFloor.phases.fetchMs / 1000),
        parse: over(runs, (r) => r.coldStartFloor.phases.parseMs / 1000),
        config: over(runs, (r) => r.coldStartFloor.phases.configMs / 1000),
        syncconf: over(runs, (r) => r.coldStartFloor.phases.syncconfMs / 1000),
      },
      listRequests: over(runs, (r) => r.coldStart.requests),
      listMB: over(runs, (r) => r.coldStart.bytes / MB),
    },
    memory: {
      afterColdStart: { rssMB: over(runs, (r) => r.memory.afterColdStart.rssBytes / MB), heapMB: over(runs, (r) => r.memory.afterColdStart.heapUsedBytes / MB) },
      afterChurn: { rssMB: over(runs, (r) => r.memory.afterChurn.rssBytes / MB), heapMB: over(runs, (r) => r.memory.afterChurn.heapUsedBytes / MB) },
      scrapeMs: over(runs, (r) => r.memory.afterColdStart.scrapeMs),
      scrapeMB: over(runs, (r) => r.memory.afterColdStart.scrapeBytes / MB),
    },
    churn: {
      events: over(runs, (r) => r.churn.events),
      cpuMsPer1000: summarize(cpuPer1000),
      floorCpuMsPer1000: summarize(floorPer1000),
      ratio: summarize(ratios(cpuPer1000, floorPer1000)),
      watchFloorCpuMsPer1000: summarize(watchFloorPer1000),
      ratioToWatchFloor: summarize(ratios(cpuPer1000, watchFloorPer1000)),
      wgCalls: over(runs, (r) => r.churn.wgCalls),
      ipCalls: over(runs, (r) => r.churn.ipCalls),
      uapiSets: over(runs, (r) => r.churn.uapiSets),
      syncPasses: over(runs, (r) => r.churn.syncPasses),
      watchFailures: over(runs, (r) => r.churn.watchFailures),
    },
    apiserverLoad: {
      mbPerHourPerDaemon: over(runs, (r) => hourly(r, r.churn.bytes) / MB),
      requestsPerHourPerDaemon: over(runs, (r) => hourly(r, r.churn.requests)),
      gbPerHourAtLocalNodes: over(runs, (r) => (hourly(r, r.churn.bytes) * LOCAL_NODES_EXTRAPOLATED) / (1024 * MB)),
      requestsPerHourAtLocalNodes: over(runs, (r) => hourly(r, r.churn.requests) * LOCAL_NODES_EXTRAPOLATED),
    },
    propagation: {
      changes: first.propagation.changes.length,
      visibleMs: { p50: over(visible, (v) => v.p50), p99: over(visible, (v) => v.p99), max: over(visible, (v) => v.max) },
      appliedMs: { p50: over(applied, (v) => v.p50), p99: over(applied, (v) => v.p99), max: over(applied, (v) => v.max) },
      pollMs: over(runs, (r) => percentile(r.propagation.pollMs, 50)),
    },
  };
}

/** Per node count, in the order asked for. */
export function summarizeScales(runs: readonly BenchRun[], nodeCounts: readonly number[]): ScaleSummary[] {
  return nodeCounts.map((nodes) => summarizeScale(runs.map((r) => r.scales.find((s) => s.nodes === nodes)).filter((s): s is ScaleRun => s !== undefined)));
}
