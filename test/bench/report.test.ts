/** From raw runs to the summary and the markdown page: medians, per-run ratios, verdicts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_OPTIONS } from '../../bench/args.ts';
import { figure, markdownReport, targetChecks, type Environment } from '../../bench/report.ts';
import type { ScaleRun } from '../../bench/scenarios/scale-run.ts';
import { summarizeIdle, summarizeScales, type BenchRun } from '../../bench/summary.ts';

const MB = 1024 * 1024;

function scaleRun(nodes: number, k: number): ScaleRun {
  const memory = (rssMB: number) => ({ rssBytes: rssMB * MB, heapUsedBytes: 20 * MB, scrapeMs: 100 * k, scrapeBytes: MB });
  return {
    nodes,
    coldStart: { totalMs: 1000 * k, phases: { startedMs: 300, deviceMs: 500, listedMs: 600, appliedMs: 900 * k }, requests: 3, bytes: 14 * MB },
    coldStartFloor: { totalMs: 800, phases: { startupMs: 100, fetchMs: 200, parseMs: 100, configMs: 10, syncconfMs: 390 }, listBytes: 14 * MB },
    memory: { afterColdStart: memory(100 + k), afterChurn: memory(110 + k) },
    churn: { seconds: 60, events: 1000 * nodes / 100, cpuSeconds: 0.06 * k * (nodes / 100), wgCalls: 0, ipCalls: 0, uapiSets: 0, syncPasses: 2, watchFailures: 0, requests: 1, bytes: 60 * MB },
    churnFloor: { events: 1000 * nodes / 100, cpuSeconds: 0.04 * (nodes / 100) },
    watchFloor: { events: 2000, cpuSeconds: 0.1 },
    propagation: {
      changes: Array.from({ length: 100 }, (_, i) => ({ kind: i % 2 ? 'key' : 'endpoint', node: `n${i}`, visibleMs: i + k, notVisibleMs: i, appliedMs: i, publishedMs: null, mirroredMs: null, polls: 2 }) as const),
      pollMs: [1, 2, 3],
    },
  };
}

function benchRun(run: number, k: number, nodeCounts: number[]): BenchRun {
  return { run, idle: { daemon: { rssBytes: (90 + k) * MB, heapUsedBytes: 20 * MB, scrapeMs: 5, scrapeBytes: 10_000 }, bareNodeRssBytes: 42 * MB }, scales: nodeCounts.map((n) => scaleRun(n, k)) };
}

const environment: Environment = { node: 'v24', wireguardGo: 'wireguard-go v0', wireguardTools: '1.0', kernel: '6.1', cpus: 2, cpuModel: 'test cpu', commit: 'abc1234' };

describe('bench summary', () => {
  const runs = [benchRun(1, 1, [1000, 5000]), benchRun(2, 3, [1000, 5000]), benchRun(3, 2, [1000, 5000])];
  const scales = summarizeScales(runs, [1000, 5000]);
  const idle = summarizeIdle(runs);

  it('takes each figure as the median of the runs with min and max, in run order', () => {
    assert.deepEqual(scales[0]?.coldStart.daemonSeconds, { median: 2, min: 1, max: 3, values: [1, 3, 2] });
    assert.deepEqual(idle.daemonRssMB, { median: 92, min: 91, max: 93, values: [91, 93, 92] });
  });
  it('compares each run with the floor of the same run', () => {
    assert.deepEqual(scales[0]?.coldStart.ratio.values, [1.25, 3.75, 2.5]);
    assert.equal(scales[1]?.churn.cpuMsPer1000.median, 120);
    assert.ok(Math.abs((scales[1]?.churn.ratio.median ?? 0) - 3) < 1e-9);
  });
  it('takes percentiles per run, then their median over runs', () => {
    // visibleMs of run k are k..k+99: p99 is k+98.
    assert.deepEqual(scales[0]?.propagation.visibleMs.p99.values, [99, 101, 100]);
    assert.equal(scales[0]?.propagation.visibleMs.max.median, 101);
  });
  it('extrapolates apiserver load per hour and to 1,000 local nodes', () => {
    assert.equal(scales[0]?.apiserverLoad.mbPerHourPerDaemon.median, 3600);
    assert.equal(scales[0]?.apiserverLoad.requestsPerHourAtLocalNodes.median, 60_000);
  });

  it('judges the targets of the issue', () => {
    const checks = targetChecks({ idle, scales });
    const verdict = (start: string) => checks.find((c) => c.target.startsWith(start))?.met;
    assert.equal(verdict('Cold start at 5,000'), false, '2.5x is over 1.5x');
    assert.equal(verdict('Cold start at 10,000'), null, 'not run');
    assert.equal(verdict('Churn: 0 `wg`'), true);
    assert.equal(verdict('Propagation p99'), false, '100 ms is over 50 ms');
    assert.equal(verdict('Idle RSS'), true, '92 MB is under 100 MB');
    assert.equal(verdict('RSS under 120 MB'), true);
  });

  it('writes the markdown page with one column per node count', () => {
    const page = markdownReport('2025-01-06T08:00:00.000Z', environment, { ...DEFAULT_OPTIONS, runs: 3 }, { idle, scales });
    assert.match(page, /^# clusterwire benchmark, 2025-01-06T08:00:00.000Z/);
    assert.match(page, /over 3 run\(s\)/);
    assert.match(page, /\| \| 1,000 nodes \| 5,000 nodes \|/);
    assert.match(page, /\| ratio to the floor \| 2\.50x \[1\.25–3\.75\] \| 2\.50x \[1\.25–3\.75\] \|/);
    assert.match(page, /\| Idle RSS under 100 MB \| 92 MB \[91–93\] \| met \|/);
    assert.match(page, /\| Cold start at 10,000 remote nodes within 1\.5x the floor \| not run \| not measured \|/);
  });
});

describe('figure', () => {
  const one = (value: number) => ({ median: value, min: value, max: value, values: [value] });
  it('shows a value alone when all runs agree, else median [min–max] with the unit once', () => {
    assert.equal(figure(one(1.234), 's'), '1.23 s');
    assert.equal(figure({ median: 12.3, min: 10, max: 150, values: [] }, 'ms'), '12.3 ms [10–150]');
    assert.equal(figure({ median: 1234, min: 1000, max: 2000, values: [] }, 'MB'), '1,234 MB [1,000–2,000]');
    assert.equal(figure(one(1.5), 'x'), '1.50x');
    assert.equal(figure(null, 's'), 'n/a');
  });
});
