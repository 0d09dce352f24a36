/**
 * `npm run bench:fleet [-- options]`: the fleet scenario alone
 * (bench/scenarios/fleet-slices.ts), in the bench's set-up (run.ts):
 * builds the bundle, seeds the remote cluster, runs the daemon and the
 * mirror from a copy of the build, and writes
 * bench/results/<date>-fleet.json and .md. Same options as `npm run
 * bench`; `--nodes` defaults to 5000 here. Needs root.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { attemptAll } from '../lab/attempt-all.ts';
import type { LabMirror } from '../lab/lab-mirror.ts';
import { destroyLabHost, listLabHosts } from '../lab/netns.ts';
import { execCommand } from '../src/process/exec.ts';
import { parseBenchArgs, USAGE, type BenchOptions } from './args.ts';
import { startBenchClusters, type BenchClusters } from './clusters.ts';
import type { BenchContext } from './context.ts';
import { createExecCounter } from './exec-counter.ts';
import { fleetMarkdown, summarizeFleet } from './fleet-summary.ts';
import { createBenchBridge, type BenchBridge } from './network.ts';
import { runFleet, type FleetRun } from './scenarios/fleet-slices.ts';

const REPOSITORY = path.resolve(import.meta.dirname, '..');

interface Resources {
  /** Mirrors run in the machine's namespace, not in a bench host: stopped by pid. */
  mirrors: Set<LabMirror>;
  bridge?: BenchBridge;
  clusters?: BenchClusters;
  workDirectory?: string;
}

function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function bench(options: BenchOptions, prefix: string, resources: Resources): Promise<void> {
  progress('building the bundle (npm run build)');
  await execCommand(process.execPath, [path.join(REPOSITORY, 'scripts', 'build.ts')], { timeoutMs: 180_000 });
  const commit = (await execCommand('git', ['-C', REPOSITORY, 'rev-parse', '--short', 'HEAD'])).stdout.trim();
  const workDirectory = await mkdtemp(path.join(os.tmpdir(), 'clusterwire-bench-'));
  resources.workDirectory = workDirectory;
  // A copy, as run.ts does: a rebuild of dist/ during the run cannot change what is measured.
  for (const file of ['bin/clusterwire.js', 'dist/clusterwire.js', 'dist/clusterwire.js.map']) {
    await mkdir(path.join(workDirectory, 'app', path.dirname(file)), { recursive: true });
    await copyFile(path.join(REPOSITORY, file), path.join(workDirectory, 'app', file));
  }
  const bridge = await createBenchBridge(prefix);
  resources.bridge = bridge;
  progress(`seeding remote clusters of ${options.nodes.join(', ')} nodes on ${bridge.address}`);
  const clusters = await startBenchClusters(path.join(workDirectory, 'clusters'), bridge.address, options.nodes);
  resources.clusters = clusters;
  const context: BenchContext = {
    options,
    prefix,
    workDirectory,
    launcher: path.join(workDirectory, 'app', 'bin', 'clusterwire.js'),
    bridge,
    clusters,
    execCounter: await createExecCounter(path.join(workDirectory, 'exec')),
    progress,
  };
  const date = new Date();
  const stem = path.join(path.resolve(REPOSITORY, options.outDir), `${date.toISOString().slice(0, 16).replace(':', '-')}Z-fleet`);
  const results: { nodes: number; runs: FleetRun[] }[] = [];
  const markdown: string[] = [];
  for (const nodes of options.nodes) {
    const runs: FleetRun[] = [];
    for (let run = 1; run <= options.runs; run++) runs.push(await runFleet(context, clusters.remote(nodes), run, resources.mirrors));
    results.push({ nodes, runs });
    markdown.push(fleetMarkdown(`${date.toISOString()}, commit ${commit}, ${os.cpus().length} CPUs`, options.runs, options.churnSeconds, options.changes, summarizeFleet(runs)));
  }
  await mkdir(path.dirname(stem), { recursive: true });
  await writeFile(`${stem}.json`, `${JSON.stringify({ date: date.toISOString(), commit, options, results }, null, 1)}\n`);
  await writeFile(`${stem}.md`, markdown.join('\n'));
  process.stdout.write(markdown.join('\n'));
  progress(`wrote ${stem}.json and ${stem}.md`);
}

async function cleanUp(prefix: string, { mirrors, bridge, clusters, workDirectory }: Resources): Promise<void> {
  await attemptAll('cleaning up after the bench', [
    ...[...mirrors].map((mirror) => () => mirror.stop('SIGKILL')),
    ...(await listLabHosts(`${prefix}h`)).map((host) => () => destroyLabHost(host)),
    ...(clusters ? [() => clusters.stop()] : []),
    ...(bridge ? [() => bridge.destroy()] : []),
    ...(workDirectory ? [() => rm(workDirectory, { recursive: true, force: true })] : []),
  ]);
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    const argv = process.argv.slice(2);
    options = parseBenchArgs(argv.some((a) => a.startsWith('--nodes')) ? argv : ['--nodes', '5000', ...argv]);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${USAGE.replace('npm run bench', 'npm run bench:fleet')}\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (network namespaces, wireguard-go)\n');
    return 1;
  }
  const prefix = `cwf${process.pid}`;
  const resources: Resources = { mirrors: new Set() };
  let cleaning: Promise<void> | null = null;
  const cleanUpOnce = () => (cleaning ??= cleanUp(prefix, resources));
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: cleaning up`);
    cleanUpOnce().then(
      () => process.exit(130),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await bench(options, prefix, resources);
    return 0;
  } catch (error) {
    console.error('bench failed:', error);
    return 1;
  } finally {
    await cleanUpOnce();
  }
}

process.exitCode = await main();
