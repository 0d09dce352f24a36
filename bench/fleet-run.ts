/**
 * `npm run bench:fleet [-- options]`: the fleet scenario alone
 * (bench/scenarios/fleet-slices.ts), in the bench's set-up (session.ts):
 * builds the bundle, seeds the remote cluster, runs the daemon and the
 * mirror from a copy of the build, and writes
 * bench/results/<date>-fleet.json and .md. Same options as `npm run
 * bench`; `--nodes` defaults to 5000 here. Needs root.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseBenchArgs, USAGE, type BenchOptions } from './args.ts';
import { fleetMarkdown, summarizeFleet } from './fleet-summary.ts';
import { runFleet, type FleetRun } from './scenarios/fleet-slices.ts';
import { fileStem, headCommit, openBenchSession, progress, REPOSITORY, runBenchCommand, type BenchResources } from './session.ts';

async function bench(options: BenchOptions, prefix: string, resources: BenchResources): Promise<void> {
  const context = await openBenchSession(options, prefix, resources);
  const commit = await headCommit();
  const date = new Date();
  const stem = path.join(path.resolve(REPOSITORY, options.outDir), `${fileStem(date)}-fleet`);
  const results: { nodes: number; runs: FleetRun[] }[] = [];
  const markdown: string[] = [];
  for (const nodes of options.nodes) {
    const runs: FleetRun[] = [];
    for (let run = 1; run <= options.runs; run++) runs.push(await runFleet(context, context.clusters.remote(nodes), run, resources.mirrors));
    results.push({ nodes, runs });
    markdown.push(fleetMarkdown(`${date.toISOString()}, commit ${commit}, ${os.cpus().length} CPUs`, options.runs, options.churnSeconds, options.changes, summarizeFleet(runs)));
  }
  await mkdir(path.dirname(stem), { recursive: true });
  await writeFile(`${stem}.json`, `${JSON.stringify({ date: date.toISOString(), commit, options, results }, null, 1)}\n`);
  await writeFile(`${stem}.md`, markdown.join('\n'));
  process.stdout.write(markdown.join('\n'));
  progress(`wrote ${stem}.json and ${stem}.md`);
}

process.exitCode = await runBenchCommand({
  name: 'bench:fleet',
  prefix: 'cwf',
  usage: USAGE.replace('npm run bench', 'npm run bench:fleet'),
  parse: (argv) => parseBenchArgs(argv.some((a) => a.startsWith('--nodes')) ? argv : ['--nodes', '5000', ...argv]),
  bench,
});
