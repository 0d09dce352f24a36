/**
 * The results as a markdown page: the targets with verdicts, then
 * every figure per node count, each the median [min–max] over runs.
 */
import type { BenchOptions } from './args.ts';
import type { Summary } from './stats.ts';
import { LOCAL_NODES_EXTRAPOLATED, type IdleSummary, type ScaleSummary } from './summary.ts';

export interface Environment {
  node: string;
  wireguardGo: string;
  wireguardTools: string;
  kernel: string;
  cpus: number;
  cpuModel: string;
  commit: string;
}

export interface ResultsSummary {
  idle: IdleSummary;
  scales: ScaleSummary[];
}

export interface TargetCheck {
  target: string;
  measured: string;
  /** null: not measured in this bench (its node count was not run). */
  met: boolean | null;
}

type Unit = 's' | 'ms' | 'MB' | 'GB' | 'x' | '';

function digits(value: number, unit: Unit): string {
  const fraction = unit === 'x' || unit === 's' ? 2 : unit === 'GB' ? 1 : Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : 1;
  return value.toLocaleString('en-US', { minimumFractionDigits: fraction, maximumFractionDigits: fraction });
}

function suffix(unit: Unit): string {
  return unit === '' || unit === 'x' ? unit : ` ${unit}`;
}

/** `median [min–max]`, or just the value when every run agreed. */
export function figure(summary: Summary | null, unit: Unit): string {
  if (summary === null) return 'n/a';
  const median = `${digits(summary.median, unit)}${suffix(unit)}`;
  if (summary.min === summary.max) return median;
  return `${median} [${digits(summary.min, unit)}–${digits(summary.max, unit)}]`;
}

function nodesLabel(nodes: number): string {
  return `${nodes.toLocaleString('en-US')} nodes`;
}

export function targetChecks(summary: ResultsSummary): TargetCheck[] {
  const at = (nodes: number) => summary.scales.find((s) => s.nodes === nodes);
  const checks: TargetCheck[] = [];
  for (const nodes of [5000, 10000]) {
    const s = at(nodes);
    checks.push({
      target: `Cold start at ${nodes.toLocaleString('en-US')} remote nodes within 1.5x the floor`,
      measured: s ? `${figure(s.coldStart.ratio, 'x')} (${figure(s.coldStart.daemonSeconds, 's')} vs ${figure(s.coldStart.floorSeconds, 's')})` : 'not run',
      met: s ? s.coldStart.ratio.median <= 1.5 : null,
    });
  }
  const scales = summary.scales;
  checks.push({
    target: 'Churn: 0 `wg` invocations (and no apply)',
    measured: scales.length ? scales.map((s) => `${nodesLabel(s.nodes)}: ${s.churn.wgCalls.max} wg, ${s.churn.uapiSets.max} UAPI sets`).join('; ') : 'not run',
    met: scales.length ? scales.every((s) => s.churn.wgCalls.max === 0 && s.churn.uapiSets.max === 0) : null,
  });
  checks.push({
    target: 'Churn: CPU per 1,000 irrelevant events within 2x bare JSON.parse',
    measured: scales.length ? scales.map((s) => `${nodesLabel(s.nodes)}: ${figure(s.churn.ratio, 'x')}`).join('; ') : 'not run',
    met: scales.length ? scales.every((s) => s.churn.ratio.median <= 2) : null,
  });
  const s5 = at(5000);
  checks.push({
    target: 'Propagation p99 under 50 ms at 5,000 nodes (visible in `wg show`)',
    measured: s5 ? `${figure(s5.propagation.visibleMs.p99, 'ms')} (daemon-acknowledged: ${figure(s5.propagation.appliedMs.p99, 'ms')})` : 'not run',
    met: s5 ? s5.propagation.visibleMs.p99.median < 50 : null,
  });
  checks.push({
    target: 'Idle RSS under 100 MB',
    measured: figure(summary.idle.daemonRssMB, 'MB'),
    met: summary.idle.daemonRssMB.median < 100,
  });
  checks.push({
    target: 'RSS under 120 MB at 5,000 nodes after cold start and churn',
    measured: s5 ? `${figure(s5.memory.afterColdStart.rssMB, 'MB')} after cold start; ${figure(s5.memory.afterChurn.rssMB, 'MB')} after churn` : 'not run',
    met: s5 ? Math.max(s5.memory.afterColdStart.rssMB.median, s5.memory.afterChurn.rssMB.median) < 120 : null,
  });
  return checks;
}

function verdict(met: boolean | null): string {
  return met === null ? 'not measured' : met ? 'met' : '**missed**';
}

function row(label: string, scales: readonly ScaleSummary[], cell: (s: ScaleSummary) => string): string {
  return `| ${label} | ${scales.map(cell).join(' | ')} |`;
}

export function markdownReport(date: string, environment: Environment, options: BenchOptions, summary: ResultsSummary): string {
  const { scales, idle } = summary;
  const lines = [
    `# clusterwire benchmark, ${date}`,
    '',
    `Machine: ${environment.cpus} × ${environment.cpuModel}, Linux ${environment.kernel}, Node ${environment.node}, ` +
      `${environment.wireguardGo}, wireguard-tools ${environment.wireguardTools}; commit ${environment.commit}.`,
    `Each figure: median [min–max] over ${options.runs} run(s). Churn: N/10 events/s for ${options.churnSeconds} s; ` +
      `propagation: ${options.changes} changes; memory read after ${options.settleSeconds} s of settling.`,
    '',
    '## Targets (issue 8)',
    '',
    '| Target | Measured | Verdict |',
    '|---|---|---|',
    ...targetChecks(summary).map((c) => `| ${c.target} | ${c.measured} | ${verdict(c.met)} |`),
    '',
    '## Idle, no remote nodes',
    '',
    '| | RSS | V8 heap used |',
    '|---|---|---|',
    `| daemon (ready, settled) | ${figure(idle.daemonRssMB, 'MB')} | ${figure(idle.daemonHeapMB, 'MB')} |`,
    `| floor: bare \`node\` | ${figure(idle.bareNodeRssMB, 'MB')} | |`,
    '',
    '## At scale',
    '',
    `| | ${scales.map((s) => nodesLabel(s.nodes)).join(' | ')} |`,
    `|---|${scales.map(() => '---').join('|')}|`,
    row('**Cold start**: daemon spawn → every peer on the device', scales, (s) => figure(s.coldStart.daemonSeconds, 's')),
    row('floor: bare list GET + JSON.parse + one `wg syncconf`', scales, (s) => figure(s.coldStart.floorSeconds, 's')),
    row('ratio to the floor', scales, (s) => figure(s.coldStart.ratio, 'x')),
    row('daemon log: device created / list complete / peers applied', scales, (s) => {
      const p = s.coldStart.daemonPhasesSeconds;
      return [p.device, p.listed, p.applied].map((x) => figure(x, 's')).join(' / ');
    }),
    row('floor: node start-up / fetch / parse / `wg syncconf`', scales, (s) => {
      const p = s.coldStart.floorPhasesSeconds;
      return [p.startup, p.fetch, p.parse, p.syncconf].map((x) => figure(x, 's')).join(' / ');
    }),
    row('**Memory**: RSS after cold start', scales, (s) => figure(s.memory.afterColdStart.rssMB, 'MB')),
    row('V8 heap used after cold start', scales, (s) => figure(s.memory.afterColdStart.heapMB, 'MB')),
    row('RSS after churn', scales, (s) => figure(s.memory.afterChurn.rssMB, 'MB')),
    row('V8 heap used after churn', scales, (s) => figure(s.memory.afterChurn.heapMB, 'MB')),
    row('one `/metrics` scrape: time, size', scales, (s) => `${figure(s.memory.scrapeMs, 'ms')}, ${figure(s.memory.scrapeMB, 'MB')}`),
    row('**Churn**: status-only events received', scales, (s) => figure(s.churn.events, '')),
    row('daemon CPU per 1,000 events', scales, (s) => figure(s.churn.cpuMsPer1000, 'ms')),
    row('floor: bare JSON.parse per 1,000 events', scales, (s) => figure(s.churn.floorCpuMsPer1000, 'ms')),
    row('ratio to the floor', scales, (s) => figure(s.churn.ratio, 'x')),
    row('bare HTTPS watch client (TLS + HTTP + JSON.parse) per 1,000 events', scales, (s) => figure(s.churn.watchFloorCpuMsPer1000, 'ms')),
    row('ratio to the bare watch client', scales, (s) => figure(s.churn.ratioToWatchFloor, 'x')),
    row('`wg` / `ip` invocations, UAPI sets', scales, (s) => `${figure(s.churn.wgCalls, '')} / ${figure(s.churn.ipCalls, '')}, ${figure(s.churn.uapiSets, '')}`),
    row('sync passes (reconcile timer; no change applied)', scales, (s) => figure(s.churn.syncPasses, '')),
    row('**Propagation**: visible in `wg show`, p50 / p99 / max', scales, (s) => {
      const v = s.propagation.visibleMs;
      return [v.p50, v.p99, v.max].map((x) => figure(x, 'ms')).join(' / ');
    }),
    row('acknowledged by wireguard-go (daemon log), p50 / p99 / max', scales, (s) => {
      const v = s.propagation.appliedMs;
      return [v.p50, v.p99, v.max].map((x) => figure(x, 'ms')).join(' / ');
    }),
    row('one read of the device (resolution of "visible")', scales, (s) => figure(s.propagation.pollMs, 'ms')),
    row('**Remote apiserver** per daemon per hour of churn', scales, (s) => `${figure(s.apiserverLoad.mbPerHourPerDaemon, 'MB')}, ${figure(s.apiserverLoad.requestsPerHourPerDaemon, '')} requests`),
    row(`× ${LOCAL_NODES_EXTRAPOLATED.toLocaleString('en-US')} local nodes`, scales, (s) => `${figure(s.apiserverLoad.gbPerHourAtLocalNodes, 'GB')}, ${figure(s.apiserverLoad.requestsPerHourAtLocalNodes, '')} requests`),
    row('per daemon start (paged list)', scales, (s) => `${figure(s.coldStart.listMB, 'MB')}, ${figure(s.coldStart.listRequests, '')} requests`),
    '',
  ];
  return lines.join('\n');
}
