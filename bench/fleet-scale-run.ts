/**
 * `npm run bench:fleet-scale [-- options]`: fleet mode at scale (issue 14,
 * bench/scenarios/fleet-scale.ts), in the bench's set-up (session.ts).
 * Writes bench/results/<date>-fleet-scale.json (every window's raw
 * figures) and .md (the tables, the targets' verdicts, the extrapolation).
 * Needs root.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FLEET_SCALE_USAGE, parseFleetScaleArgs, type FleetScaleOptions } from './fleet-scale-args.ts';
import { fleetScaleMarkdown, summarizeFleetScale } from './fleet-scale-summary.ts';
import { runFleetScale, type FleetScaleRun } from './scenarios/fleet-scale.ts';
import { fileStem, headCommit, openBenchSession, progress, REPOSITORY, runBenchCommand, type BenchResources } from './session.ts';

async function bench(options: FleetScaleOptions, prefix: string, resources: BenchResources): Promise<void> {
  const context = await openBenchSession(options, prefix, resources);
  const commit = await headCommit();
  const date = new Date();
  const heading = `${date.toISOString()}, commit ${commit}, ${os.cpus().length} CPUs, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GB`;
  const results: { nodes: number; runs: FleetScaleRun[] }[] = [];
  const markdown: string[] = [];
  for (const nodes of options.nodes) {
    const runs: FleetScaleRun[] = [];
    for (let run = 1; run <= options.runs; run++) {
      runs.push(await runFleetScale(context, options, context.clusters.remote(nodes), run, resources.mirrors, runs[0]?.capacity ?? null));
    }
    results.push({ nodes, runs });
    markdown.push(fleetScaleMarkdown(heading, options.runs, options.churnSeconds, options.changes, summarizeFleetScale(runs)));
  }
  const stem = path.join(path.resolve(REPOSITORY, options.outDir), `${fileStem(date)}-fleet-scale`);
  await mkdir(path.dirname(stem), { recursive: true });
  await writeFile(`${stem}.json`, `${JSON.stringify({ date: date.toISOString(), commit, options, results }, null, 1)}\n`);
  await writeFile(`${stem}.md`, markdown.join('\n'));
  process.stdout.write(markdown.join('\n'));
  progress(`wrote ${stem}.json and ${stem}.md`);
}

process.exitCode = await runBenchCommand({ name: 'bench:fleet-scale', prefix: 'cws', usage: FLEET_SCALE_USAGE, parse: parseFleetScaleArgs, bench });
