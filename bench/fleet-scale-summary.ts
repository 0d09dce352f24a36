/**
 * The fleet scale scenario's figures (bench/scenarios/fleet-scale.ts):
 * per source and number of local daemons L, per hour of churn; the
 * targets of issue 14 with a verdict; and the extrapolation to 1,000 local
 * daemons, with its formula.
 */
import { GROWTH, type Capacity } from './capacity.ts';
import type { FleetSource } from './fleet-scale-args.ts';
import type { Change } from './scenarios/propagation.ts';
import { CLIENT_KINDS, type ClientKind, type FleetScaleRun, type Load, type ScaleWindow } from './scenarios/fleet-scale.ts';
import { percentile, summarize, type Summary } from './stats.ts';

const MB = 1024 * 1024;
export const EXTRAPOLATED_LOCALS = 1000;
/** Targets (issue 14). */
export const FLAT_BYTES_TOLERANCE = 1.1;
export const MIRROR_CPU_SHARE = 0.01;
export const PROPAGATION_P99_MS = 2000;

export interface Rate {
  mbPerHour: Summary;
  requestsPerHour: Summary;
}

export interface ApiserverSummary {
  total: Rate;
  perKind: Record<ClientKind, Rate>;
}

export interface CellSummary {
  source: FleetSource;
  locals: number;
  events: Summary;
  remote: ApiserverSummary;
  local: ApiserverSummary;
  /** Per run, the median over the L daemons; then over the runs. */
  daemonCpuSecondsPerHour: Summary;
  /** Every daemon of every run: the spread between daemons. */
  daemonCpuSpread: { min: number; max: number };
  mirrorCpuSecondsPerHour: Summary | null;
  publisherCpuSecondsPerHour: Summary | null;
  wireguardCpuSecondsPerHour: Summary;
  loadAverage: Summary;
  propagation: {
    p50Ms: Summary;
    p99Ms: Summary;
    maxMs: Summary;
    appliedP50Ms: Summary;
    appliedP99Ms: Summary;
    /** Node write → the remote publisher's slice write, and → the local mirror's mirrored slice write; null where that step is not in the path. */
    publishedP99Ms: Summary | null;
    mirroredP99Ms: Summary | null;
  };
}

export interface ScaleSummary {
  nodes: number;
  capacity: Capacity;
  /** In the order measured: by source, then L. */
  cells: CellSummary[];
}

const perHour = (value: number, seconds: number) => (value * 3600) / seconds;

function apiserver(windows: readonly ScaleWindow[], pick: (w: ScaleWindow) => Load): ApiserverSummary {
  const rate = (value: (load: Load) => { bytes: number; requests: number }): Rate => ({
    mbPerHour: summarize(windows.map((w) => perHour(value(pick(w)).bytes, w.seconds) / MB)),
    requestsPerHour: summarize(windows.map((w) => perHour(value(pick(w)).requests, w.seconds))),
  });
  const total = (load: Load) =>
    CLIENT_KINDS.reduce((sum, kind) => ({ bytes: sum.bytes + load[kind].bytes, requests: sum.requests + load[kind].requests }), { bytes: 0, requests: 0 });
  return { total: rate(total), perKind: Object.fromEntries(CLIENT_KINDS.map((kind) => [kind, rate((load) => load[kind])])) as Record<ClientKind, Rate> };
}

function optional(windows: readonly ScaleWindow[], pick: (w: ScaleWindow) => number | null): Summary | null {
  const values = windows.map(pick);
  if (values.some((v) => v === null)) return null;
  return summarize(windows.map((w, k) => perHour(values[k] as number, w.seconds)));
}

function summarizeCell(windows: readonly ScaleWindow[]): CellSummary {
  const first = windows[0];
  if (!first) throw new Error('no window to summarize');
  const visible = (w: ScaleWindow) => w.propagation.changes.map((c) => c.visibleMs);
  const applied = (w: ScaleWindow) => w.propagation.changes.map((c) => c.appliedMs);
  // A change the step wrote no slice for counts as never written, unless the step is not in the path at all.
  const stepP99 = (pick: (c: Change) => number | null) =>
    windows.every((w) => w.propagation.changes.every((c) => pick(c) === null)) ? null : summarize(windows.map((w) => percentile(w.propagation.changes.map((c) => pick(c) ?? Infinity), 99)));
  const daemonRates = windows.map((w) => w.daemonCpuSeconds.map((cpu) => perHour(cpu, w.seconds)));
  return {
    source: first.source,
    locals: first.locals,
    events: summarize(windows.map((w) => w.events)),
    remote: apiserver(windows, (w) => w.remote),
    local: apiserver(windows, (w) => w.local),
    daemonCpuSecondsPerHour: summarize(daemonRates.map((rates) => summarize(rates).median)),
    daemonCpuSpread: { min: Math.min(...daemonRates.flat()), max: Math.max(...daemonRates.flat()) },
    mirrorCpuSecondsPerHour: optional(windows, (w) => w.mirrorCpuSeconds),
    publisherCpuSecondsPerHour: optional(windows, (w) => w.publisherCpuSeconds),
    wireguardCpuSecondsPerHour: summarize(windows.map((w) => perHour(w.wireguardCpuSeconds, w.seconds))),
    loadAverage: summarize(windows.map((w) => w.loadAverage)),
    propagation: {
      p50Ms: summarize(windows.map((w) => percentile(visible(w), 50))),
      p99Ms: summarize(windows.map((w) => percentile(visible(w), 99))),
      maxMs: summarize(windows.map((w) => Math.max(...visible(w)))),
      appliedP50Ms: summarize(windows.map((w) => percentile(applied(w), 50))),
      appliedP99Ms: summarize(windows.map((w) => percentile(applied(w), 99))),
      publishedP99Ms: stepP99((c) => c.publishedMs),
      mirroredP99Ms: stepP99((c) => c.mirroredMs),
    },
  };
}

/** Runs at one N: the windows of each (source, L) across the runs, summarized together. */
export function summarizeFleetScale(runs: readonly FleetScaleRun[]): ScaleSummary {
  const first = runs[0];
  if (!first) throw new Error('no fleet scale run to summarize');
  if (runs.some((r) => r.nodes !== first.nodes)) throw new Error('runs at different node counts summarized together');
  const cells = new Map<string, ScaleWindow[]>();
  for (const run of runs) {
    for (const window of run.windows) {
      const key = `${window.source}/${window.locals}`;
      cells.set(key, [...(cells.get(key) ?? []), window]);
    }
  }
  return { nodes: first.nodes, capacity: first.capacity, cells: [...cells.values()].map(summarizeCell) };
}

export interface Target {
  target: string;
  measured: string;
  verdict: 'met' | 'missed' | 'not measured';
}

const cellsOf = (s: ScaleSummary, source: FleetSource) => s.cells.filter((c) => c.source === source);

function formatNumber(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '∞';
}

/** Issue 14's targets at one N, each with what decided it. */
export function fleetScaleTargets(s: ScaleSummary): Target[] {
  const targets: Target[] = [];
  const mirror = cellsOf(s, 'mirror');
  const smallest = mirror[0];
  const largest = mirror.at(-1);
  if (smallest && largest && largest.locals > smallest.locals) {
    const ratio = largest.remote.total.mbPerHour.median / smallest.remote.total.mbPerHour.median;
    targets.push({
      target: `with \`mirror\`, remote bytes per hour do not grow with L (≤ ${FLAT_BYTES_TOLERANCE}x from L = ${smallest.locals} to ${largest.locals})`,
      measured: `${formatNumber(ratio, 3)}x (${formatNumber(smallest.remote.total.mbPerHour.median, 2)} → ${formatNumber(largest.remote.total.mbPerHour.median, 2)} MB/h)`,
      verdict: ratio <= FLAT_BYTES_TOLERANCE ? 'met' : 'missed',
    });
  } else {
    targets.push({ target: 'with `mirror`, remote bytes per hour do not grow with L', measured: 'needs `mirror` at two values of L', verdict: 'not measured' });
  }
  const shares = mirror.flatMap((m) => {
    const nodes = cellsOf(s, 'nodes').find((n) => n.locals === m.locals);
    return nodes ? [{ locals: m.locals, share: m.daemonCpuSecondsPerHour.median / nodes.daemonCpuSecondsPerHour.median }] : [];
  });
  const worst = shares.reduce<{ locals: number; share: number } | null>((w, s) => (w === null || s.share > w.share ? s : w), null);
  targets.push(
    worst === null
      ? { target: `daemons on \`mirror\` use < ${MIRROR_CPU_SHARE * 100} % of the CPU they use on \`nodes\``, measured: 'needs `nodes` and `mirror` at the same L', verdict: 'not measured' }
      : {
          target: `daemons on \`mirror\` use < ${MIRROR_CPU_SHARE * 100} % of the CPU they use on \`nodes\``,
          measured: `worst ${formatNumber(worst.share * 100, 1)} % (at L = ${worst.locals}; ${shares.map((x) => `L = ${x.locals}: ${formatNumber(x.share * 100, 1)} %`).join(', ')})`,
          verdict: worst.share < MIRROR_CPU_SHARE ? 'met' : 'missed',
        },
  );
  for (const source of ['nodes', 'slices', 'mirror'] as const) {
    const cells = cellsOf(s, source);
    if (cells.length === 0) continue;
    const slowest = cells.reduce((w, c) => (c.propagation.p99Ms.median > w.propagation.p99Ms.median ? c : w));
    targets.push({
      target: `propagation through \`${source}\`, p99 < ${PROPAGATION_P99_MS / 1000} s`,
      measured: `worst ${formatNumber(slowest.propagation.p99Ms.median, 0)} ms (at L = ${slowest.locals})`,
      verdict: slowest.propagation.p99Ms.median < PROPAGATION_P99_MS ? 'met' : 'missed',
    });
  }
  return targets;
}

export interface Extrapolated {
  source: FleetSource;
  /** The L measured that it extrapolates from (the largest). */
  fromLocals: number;
  remoteMbPerHour: number;
  remoteRequestsPerHour: number;
  localMbPerHour: number;
  localRequestsPerHour: number;
}

/**
 * `locals` daemons, from the largest L measured: what the daemons
 * cost per daemon times `locals`, plus what the other clients (mirror,
 * publisher) cost once: others(L) + locals × daemons(L) ÷ L. Medians of
 * the runs.
 */
export function extrapolate(cell: CellSummary, locals = EXTRAPOLATED_LOCALS): Extrapolated {
  const scale = (api: ApiserverSummary, pick: (rate: Rate) => Summary) => {
    const others = CLIENT_KINDS.filter((kind) => kind !== 'daemons').reduce((sum, kind) => sum + pick(api.perKind[kind]).median, 0);
    return others + (locals * pick(api.perKind.daemons).median) / cell.locals;
  };
  return {
    source: cell.source,
    fromLocals: cell.locals,
    remoteMbPerHour: scale(cell.remote, (r) => r.mbPerHour),
    remoteRequestsPerHour: scale(cell.remote, (r) => r.requestsPerHour),
    localMbPerHour: scale(cell.local, (r) => r.mbPerHour),
    localRequestsPerHour: scale(cell.local, (r) => r.requestsPerHour),
  };
}

function figure(s: Summary, digits: number, unit = ''): string {
  const f = (v: number) => formatNumber(v, digits);
  return s.min === s.max ? `${f(s.median)}${unit}` : `${f(s.median)}${unit} [${f(s.min)}–${f(s.max)}]`;
}

const orDash = (s: Summary | null, digits: number, unit = '') => (s === null ? '—' : figure(s, digits, unit));

/** What `max` came to and what limited it: memory, --max-locals, or the CPU (a cold start that timed out). */
export function capacityMarkdown(c: Capacity): string {
  const gb = (bytes: number) => `${formatNumber(bytes / 1024 ** 3, 1)} GB`;
  const bound = `min(--max-locals ${c.cap}, memory ${c.byMemory})`;
  const memory = `memory: ${c.running} running + (${gb(c.availableBytes)} available − ${gb(c.reserveBytes)} reserve) ÷ (${formatNumber(c.perDaemonBytes / MB, 0)} MB per daemon and its wireguard-go × ${GROWTH}).`;
  const limit =
    c.limitedBy === 'cpu'
      ? `, limited by CPU: the machine could not keep up with daemon ${c.locals + 1}, whose cold start failed (${c.cpuError ?? 'no error recorded'}), so \`max\` is the ${c.locals} running; ${bound} = ${Math.max(1, Math.min(c.cap, c.byMemory))} would have allowed more`
      : ` = ${bound}, limited by ${c.limitedBy === 'cap' ? '--max-locals' : 'memory'}`;
  return `As many daemons as the machine holds: **${c.locals}**${limit}; ${memory}`;
}

/** The markdown of one N; bench/README.md quotes it. */
export function fleetScaleMarkdown(heading: string, runs: number, churnSeconds: number, changes: number, s: ScaleSummary): string {
  const verdict = (v: Target['verdict']) => (v === 'met' ? 'met' : v === 'missed' ? '**missed**' : 'not measured');
  const lines = [
    `# Fleet mode at scale: ${s.nodes.toLocaleString('en-US')} remote nodes (${heading})`,
    '',
    `Churn ${s.nodes / 10} status-only events/s for ${churnSeconds} s per window, ${changes} propagation changes on daemon 1, ${runs} run(s); median [min–max] of the runs.`,
    capacityMarkdown(s.capacity),
    '',
    '| source | L | remote: all clients | daemons | local mirror | remote publisher | other | remote requests (all) | local apiserver (all) | local requests (all) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...s.cells.map(
      (cell) =>
        `| \`${cell.source}\` | ${cell.locals} | ${figure(cell.remote.total.mbPerHour, 2, ' MB')} | ${figure(cell.remote.perKind.daemons.mbPerHour, 2, ' MB')} | ${figure(cell.remote.perKind.mirror.mbPerHour, 2, ' MB')} | ${figure(cell.remote.perKind.publisher.mbPerHour, 2, ' MB')} | ${figure(cell.remote.perKind.other.mbPerHour, 2, ' MB')} | ${figure(cell.remote.total.requestsPerHour, 0)} | ${figure(cell.local.total.mbPerHour, 2, ' MB')} | ${figure(cell.local.total.requestsPerHour, 0)} |`,
    ),
    '',
    'Per hour of churn. Remote: what the remote apiserver served to each kind of client (each its own service account), open watches included.',
    '',
    '| source | L | daemon CPU (median of the L) | between daemons | local mirror CPU | remote publisher CPU | wireguard-go CPU, all hosts | load average | propagation p50 / p99 / max (visible on daemon 1) | acknowledged p50 / p99 | p99 to the slice write: publisher / local mirror | heartbeats |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...s.cells.map(
      (cell) =>
        `| \`${cell.source}\` | ${cell.locals} | ${figure(cell.daemonCpuSecondsPerHour, 1, ' s')} | ${formatNumber(cell.daemonCpuSpread.min, 1)}–${formatNumber(cell.daemonCpuSpread.max, 1)} s | ${orDash(cell.mirrorCpuSecondsPerHour, 1, ' s')} | ${orDash(cell.publisherCpuSecondsPerHour, 1, ' s')} | ${figure(cell.wireguardCpuSecondsPerHour, 0, ' s')} | ${figure(cell.loadAverage, 1)} | ${figure(cell.propagation.p50Ms, 0)} / ${figure(cell.propagation.p99Ms, 0)} / ${figure(cell.propagation.maxMs, 0)} ms | ${figure(cell.propagation.appliedP50Ms, 0)} / ${figure(cell.propagation.appliedP99Ms, 0)} ms | ${orDash(cell.propagation.publishedP99Ms, 0)} / ${orDash(cell.propagation.mirroredP99Ms, 0)} ms | ${figure(cell.events, 0)} |`,
    ),
    '',
    'CPU per hour of churn (the run time of every thread, from /proc/<pid>/task/*/schedstat, the window only, after a settle).',
    '',
    '| target (issue 14) | measured | verdict |',
    '|---|---|---|',
    ...fleetScaleTargets(s).map((t) => `| ${t.target} | ${t.measured} | ${verdict(t.verdict)} |`),
    '',
  ];
  const largest = (['nodes', 'slices', 'mirror'] as const).flatMap((source) => cellsOf(s, source).slice(-1));
  if (largest.length > 0) {
    lines.push(
      `**Extrapolation, not a measurement**: ${EXTRAPOLATED_LOCALS.toLocaleString('en-US')} local daemons × ${s.nodes.toLocaleString('en-US')} remote nodes, per hour of churn, from the largest L measured: ` +
        `others(L) + ${EXTRAPOLATED_LOCALS.toLocaleString('en-US')} × daemons(L) ÷ L, where daemons(L) is what the apiserver served to the L daemons and others(L) to every other client (mirror, publisher), each counted once.`,
      '',
      `| source | from L | remote apiserver bytes | remote requests | local apiserver bytes | local requests |`,
      '|---|---|---|---|---|---|',
      ...largest.map((cell) => {
        const e = extrapolate(cell);
        return `| \`${e.source}\` | ${e.fromLocals} | ${formatNumber(e.remoteMbPerHour / 1024, 2)} GB | ${formatNumber(e.remoteRequestsPerHour, 0)} | ${formatNumber(e.localMbPerHour / 1024, 2)} GB | ${formatNumber(e.localRequestsPerHour, 0)} |`;
      }),
      '',
    );
  }
  return lines.join('\n');
}

/** An N that did not finish: the bench stopped there. */
export interface FailedNodes {
  nodes: number;
  /** The error and its causes (error-text.ts). */
  error: string;
}

/**
 * The results file: the markdown of every N that finished
 * (fleetScaleMarkdown), then, if one failed, which and why. Written after
 * each N, so a later failure loses nothing already measured.
 */
export function fleetScaleResultsMarkdown(finished: readonly string[], failed: FailedNodes | null): string {
  if (failed === null) return finished.join('\n');
  const line = `**${failed.nodes.toLocaleString('en-US')} remote nodes: failed**, the bench stopped there (${finished.length === 0 ? 'no N finished' : 'the N above finished'}): ${failed.error}`;
  return [...finished, line, ''].join('\n');
}
