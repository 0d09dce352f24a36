/**
 * The fleet scenario's figures (bench/scenarios/fleet-slices.ts): per
 * hour of churn and per daemon, `nodes` against `slices`, as the median of
 * the runs with min and max; ratios taken per run.
 */
import type { FleetRun, Source, SourceChurn } from './scenarios/fleet-slices.ts';
import { percentile, ratios, summarize, type Summary } from './stats.ts';

const MB = 1024 * 1024;

export interface FleetSummary {
  nodes: number;
  slices: number;
  publishSeconds: Summary;
  perSource: Record<Source, { events: Summary; mbPerHour: Summary; requestsPerHour: Summary; cpuSecondsPerHour: Summary; syncSecondsPerHour: Summary; passes: Summary; applies: Summary }>;
  /** nodes ÷ slices, per run. */
  bytesRatio: Summary;
  cpuRatio: Summary;
  mirrorCpuSecondsPerHour: Summary;
  sliceWritesDuringChurn: Summary;
  propagation: { p50Ms: Summary; p99Ms: Summary; maxMs: Summary; appliedP50Ms: Summary; appliedP99Ms: Summary; publishedP50Ms: Summary; publishedP99Ms: Summary; readMs: Summary };
}

const perHour = (value: number, seconds: number) => (value * 3600) / seconds;

function churnOf(run: FleetRun, source: Source): SourceChurn {
  const churn = run.churn.find((c) => c.source === source);
  if (!churn) throw new Error(`run at ${run.nodes} nodes has no ${source} churn`);
  return churn;
}

export function summarizeFleet(runs: readonly FleetRun[]): FleetSummary {
  const first = runs[0];
  if (!first) throw new Error('no fleet run to summarize');
  const of = (values: number[]) => summarize(values);
  const source = (kind: Source) => {
    const churns = runs.map((run) => churnOf(run, kind));
    return {
      events: of(churns.map((c) => c.events)),
      mbPerHour: of(churns.map((c) => perHour(c.daemonBytes, c.seconds) / MB)),
      requestsPerHour: of(churns.map((c) => perHour(c.daemonRequests, c.seconds))),
      cpuSecondsPerHour: of(churns.map((c) => perHour(c.daemonCpuSeconds, c.seconds))),
      syncSecondsPerHour: of(churns.map((c) => perHour(c.syncSeconds, c.seconds))),
      passes: of(churns.map((c) => c.passes)),
      applies: of(churns.map((c) => c.applies)),
    };
  };
  const rate = (run: FleetRun, kind: Source, pick: (c: SourceChurn) => number) => perHour(pick(churnOf(run, kind)), churnOf(run, kind).seconds);
  const visible = (run: FleetRun) => run.propagation.changes.map((c) => c.visibleMs);
  const applied = (run: FleetRun) => run.propagation.changes.map((c) => c.appliedMs);
  // A change the publisher wrote no slice for (none in a healthy run) counts as never published.
  const published = (run: FleetRun) => run.propagation.changes.map((c) => c.publishedMs ?? Infinity);
  return {
    nodes: first.nodes,
    slices: first.slices,
    publishSeconds: of(runs.map((r) => r.publishMs / 1000)),
    perSource: { nodes: source('nodes'), slices: source('slices') },
    bytesRatio: of(ratios(runs.map((r) => rate(r, 'nodes', (c) => c.daemonBytes)), runs.map((r) => rate(r, 'slices', (c) => c.daemonBytes)))),
    cpuRatio: of(ratios(runs.map((r) => rate(r, 'nodes', (c) => c.daemonCpuSeconds)), runs.map((r) => rate(r, 'slices', (c) => c.daemonCpuSeconds)))),
    mirrorCpuSecondsPerHour: of(runs.map((r) => rate(r, 'slices', (c) => c.mirrorCpuSeconds))),
    sliceWritesDuringChurn: of(runs.flatMap((r) => r.churn.map((c) => c.sliceWrites))),
    propagation: {
      p50Ms: of(runs.map((r) => percentile(visible(r), 50))),
      p99Ms: of(runs.map((r) => percentile(visible(r), 99))),
      maxMs: of(runs.map((r) => Math.max(...visible(r)))),
      appliedP50Ms: of(runs.map((r) => percentile(applied(r), 50))),
      appliedP99Ms: of(runs.map((r) => percentile(applied(r), 99))),
      publishedP50Ms: of(runs.map((r) => percentile(published(r), 50))),
      publishedP99Ms: of(runs.map((r) => percentile(published(r), 99))),
      readMs: of(runs.map((r) => percentile(r.propagation.pollMs, 50))),
    },
  };
}

function figure(s: Summary, digits: number, unit = ''): string {
  const f = (v: number) => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '∞');
  return s.min === s.max ? `${f(s.median)}${unit}` : `${f(s.median)}${unit} [${f(s.min)}–${f(s.max)}]`;
}

/** The markdown table bench/README.md quotes. */
export function fleetMarkdown(date: string, runs: number, churnSeconds: number, changes: number, s: FleetSummary): string {
  const n = s.perSource.nodes;
  const sl = s.perSource.slices;
  const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
  return [
    `# Fleet mode: published slices vs Nodes (${date})`,
    '',
    `${s.nodes.toLocaleString('en-US')} remote nodes in ${s.slices} slices, churn ${s.nodes / 10}/s for ${churnSeconds} s, ${changes} propagation changes, ${runs} run(s); median [min–max].`,
    '',
    '| per daemon, per hour of churn | source `nodes` | source `slices` | nodes ÷ slices | target |',
    '|---|---|---|---|---|',
    `| remote apiserver bytes | ${figure(n.mbPerHour, 1, ' MB')} | ${figure(sl.mbPerHour, 3, ' MB')} | ${figure(s.bytesRatio, 1, 'x')} | ≥ 100x: ${verdict(s.bytesRatio.median >= 100)} |`,
    `| remote apiserver requests | ${figure(n.requestsPerHour, 0)} | ${figure(sl.requestsPerHour, 0)} | | |`,
    `| daemon CPU | ${figure(n.cpuSecondsPerHour, 1, ' s')} | ${figure(sl.cpuSecondsPerHour, 1, ' s')} | ${figure(s.cpuRatio, 1, 'x')} | ≥ 20x: ${verdict(s.cpuRatio.median >= 20)} |`,
    `| of which in sync passes (wall time, the reconcile timer's) | ${figure(n.syncSecondsPerHour, 1, ' s')} | ${figure(sl.syncSecondsPerHour, 1, ' s')} | | |`,
    `| heartbeat events in the window | ${figure(n.events, 0)} | ${figure(sl.events, 0)} | | |`,
    `| daemon passes / device applies in the window | ${figure(n.passes, 0)} / ${figure(n.applies, 0)} | ${figure(sl.passes, 0)} / ${figure(sl.applies, 0)} | | |`,
    '',
    '| the publisher (one per cluster) | |',
    '|---|---|',
    `| first publish of every node | ${figure(s.publishSeconds, 2, ' s')} |`,
    `| mirror CPU per hour of churn | ${figure(s.mirrorCpuSecondsPerHour, 1, ' s')} |`,
    `| slice writes during churn | ${figure(s.sliceWritesDuringChurn, 0)} |`,
    '',
    '| propagation through a slice, publisher included | p50 | p99 | max | target |',
    '|---|---|---|---|---|',
    `| Node write → visible in \`wg show\` | ${figure(s.propagation.p50Ms, 0, ' ms')} | ${figure(s.propagation.p99Ms, 0, ' ms')} | ${figure(s.propagation.maxMs, 0, ' ms')} | p99 < 1 s: ${verdict(s.propagation.p99Ms.median < 1000)} |`,
    `| Node write → slice written by the mirror (apiserver request log) | ${figure(s.propagation.publishedP50Ms, 0, ' ms')} | ${figure(s.propagation.publishedP99Ms, 0, ' ms')} | | |`,
    `| Node write → acknowledged by wireguard-go (daemon log) | ${figure(s.propagation.appliedP50Ms, 0, ' ms')} | ${figure(s.propagation.appliedP99Ms, 0, ' ms')} | | |`,
    `| one read of the device (resolution of "visible") | ${figure(s.propagation.readMs, 1, ' ms')} | | | |`,
    '',
  ].join('\n');
}
