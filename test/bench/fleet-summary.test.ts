/** The fleet scenario's figures from raw runs (bench/fleet-summary.ts): per hour, per daemon, ratios per run. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fleetMarkdown, summarizeFleet } from '../../bench/fleet-summary.ts';
import type { FleetRun, SourceChurn } from '../../bench/scenarios/fleet-slices.ts';

const MB = 1024 * 1024;

function churn(source: 'nodes' | 'slices', daemonBytes: number, daemonCpuSeconds: number): SourceChurn {
  return { source, seconds: 60, events: 30_000, daemonBytes, daemonRequests: 2, daemonCpuSeconds, passes: 2, syncSeconds: 0.2, applies: 0, mirrorCpuSeconds: 3, sliceWrites: 0 };
}

function run(nodesMB: number, slicesMB: number, nodesCpu: number, slicesCpu: number, visible: number[]): FleetRun {
  return {
    nodes: 5000,
    slices: 50,
    publishMs: 5000,
    churn: [churn('nodes', nodesMB * MB, nodesCpu), churn('slices', slicesMB * MB, slicesCpu)],
    propagation: { changes: visible.map((ms) => ({ kind: 'endpoint', node: 'n', visibleMs: ms, notVisibleMs: 0, appliedMs: ms - 10, publishedMs: ms - 40, mirroredMs: null, polls: 1 })), pollMs: [30, 40] },
  };
}

describe('summarizeFleet', () => {
  const summary = summarizeFleet([run(30, 0.001, 4, 0.1, [100, 200, 900]), run(20, 0.002, 6, 0.2, [50, 60, 70])]);
  it('bytes and CPU per hour (a 60 s window × 60), median over runs', () => {
    assert.equal(summary.perSource.nodes.mbPerHour.median, 1500);
    assert.equal(summary.perSource.slices.cpuSecondsPerHour.median, 9);
  });
  it('ratios are taken per run, then summarized', () => {
    assert.deepEqual(summary.bytesRatio.values.map(Math.round), [30_000, 10_000]);
    assert.deepEqual(summary.cpuRatio.values.map(Math.round), [40, 30]);
  });
  it('propagation percentiles per run (nearest rank)', () => {
    assert.deepEqual(summary.propagation.p99Ms.values, [900, 70]);
    assert.deepEqual(summary.propagation.p50Ms.values, [200, 60]);
    assert.deepEqual(summary.propagation.publishedP99Ms.values, [860, 30]);
  });
  it('a change the publisher wrote no slice for counts as never published', () => {
    const unpublished = run(30, 0.001, 4, 0.1, [100, 200]);
    unpublished.propagation.changes[1] = { ...(unpublished.propagation.changes[1] as FleetRun['propagation']['changes'][number]), publishedMs: null };
    assert.equal(summarizeFleet([unpublished]).propagation.publishedP99Ms.median, Infinity);
  });
  it('the markdown gives each target a verdict', () => {
    const text = fleetMarkdown('today', 2, 60, 3, summary);
    assert.match(text, /\| remote apiserver bytes \| 1,500\.0 MB \[1,200\.0–1,800\.0\] \| .* \| ≥ 100x: met \|/);
    assert.match(text, /\| daemon CPU \| .* \| 35\.0x \[30\.0–40\.0\] \| ≥ 20x: met \|/);
    assert.match(text, /p99 < 1 s: met/);
    assert.match(text, /\| Node write → slice written by the mirror \(apiserver request log\) \| 90 ms \[20–160\] \|/);
  });
});
