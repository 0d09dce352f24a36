/**
 * `npm run bench:fleet-scale [-- options]`: fleet mode at scale (issue 14,
 * bench/scenarios/fleet-scale.ts), in the bench's set-up (session.ts).
 * Writes bench/results/<date>-fleet-scale.json (every window's raw
 * figures) and .md (the tables, the targets' verdicts, the extrapolation)
 * after each N; if an N fails, they keep every N that finished and say
 * which failed and why, and the command fails. Needs root.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FLEET_SCALE_USAGE, parseFleetScaleArgs, type FleetScaleOptions } from './fleet-scale-args.ts';
import { errorText } from './error-text.ts';
import { fleetScaleMarkdown, fleetScaleResultsMarkdown, summarizeFleetScale, type FailedNodes } from './fleet-scale-summary.ts';
import { runFleetScale, type FleetScaleRun } from './scenarios/fleet-scale.ts';
import { fileStem, headCommit, openBenchSession, progress, REPOSITORY, runBenchCommand, type BenchResources } from './session.ts';

async function bench(options: FleetScaleOptions, prefix: string, resources: BenchResources): Promise<void> {
  const context = await openBenchSession(options, prefix, resources);
  const commit = await headCommit();
  const date = new Date();
  const heading = `${date.toISOString()}, commit ${commit}, ${os.cpus().length} CPUs, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GB`;
  const stem = path.join(path.resolve(REPOSITORY, options.outDir), `${fileStem(date)}-fleet-scale`);
  await mkdir(path.dirname(stem), { recursive: true });
  const results: { nodes: number; runs: FleetScaleRun[] }[] = [];
  const markdown: string[] = [];
  // Rewritten with everything so far after each N: an N that fails (a later, larger one, typically) loses none that finished.
  const write = async (failed: FailedNodes | null) => {
    const text = fleetScaleResultsMarkdown(markdown, failed);
    await writeFile(`${stem}.json`, `${JSON.stringify({ date: date.toISOString(), commit, options, results, failed }, null, 1)}\n`);
    await writeFile(`${stem}.md`, text);
    progress(`wrote ${stem}.json and ${stem}.md`);
    return text;
  };
  for (const nodes of options.nodes) {
    try {
      const runs: FleetScaleRun[] = [];
      for (let run = 1; run <= options.runs; run++) {
        runs.push(await runFleetScale(context, options, context.clusters.remote(nodes), run, resources.mirrors, runs[0]?.capacity ?? null));
      }
      markdown.push(fleetScaleMarkdown(heading, options.runs, options.churnSeconds, options.changes, summarizeFleetScale(runs)));
      results.push({ nodes, runs });
    } catch (error) {
      const failed = new Error(`fleet scale at ${nodes} remote nodes failed`, { cause: error });
      try {
        process.stdout.write(await write({ nodes, error: errorText(error) }));
      } catch (writeError) {
        throw new AggregateError([failed, writeError], `${failed.message}, and writing the results so far failed too`, { cause: writeError });
      }
      throw failed;
    }
    await write(null);
  }
  process.stdout.write(markdown.join('\n'));
}

process.exitCode = await runBenchCommand({ name: 'bench:fleet-scale', prefix: 'cws', usage: FLEET_SCALE_USAGE, parse: parseFleetScaleArgs, bench });
