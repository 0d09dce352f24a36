/**
 * `npm run bench [-- options]`: builds the bundle, then measures the daemon
 * against the floors (issue 8) and writes bench/results/<date>.json and
 * .md. Needs root (network namespaces, wireguard-go).
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { attemptAll } from '../lab/attempt-all.ts';
import { destroyLabHost, listLabHosts } from '../lab/netns.ts';
import { execCommand } from '../src/process/exec.ts';
import { parseBenchArgs, USAGE, type BenchOptions } from './args.ts';
import { startBenchClusters, type BenchClusters } from './clusters.ts';
import type { BenchContext } from './context.ts';
import { createExecCounter } from './exec-counter.ts';
import { createBenchBridge, type BenchBridge } from './network.ts';
import { markdownReport, type Environment } from './report.ts';
import { measureIdle } from './scenarios/idle.ts';
import { runAtScale } from './scenarios/scale-run.ts';
import { summarizeIdle, summarizeScales, type BenchRun } from './summary.ts';

const REPOSITORY = path.resolve(import.meta.dirname, '..');

function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function readEnvironment(): Promise<Environment> {
  const firstLine = async (file: string, args: string[]) => (await execCommand(file, args)).stdout.split('\n')[0]?.trim() ?? '';
  const commit = await firstLine('git', ['-C', REPOSITORY, 'rev-parse', '--short', 'HEAD']);
  const srcChanged = (await execCommand('git', ['-C', REPOSITORY, 'status', '--porcelain', '--', 'src'])).stdout.trim() !== '';
  return {
    node: process.version,
    wireguardGo: await firstLine('wireguard-go', ['--version']),
    wireguardTools: (await firstLine('wg', ['--version'])).replace(/^wireguard-tools (\S+).*$/, '$1'),
    kernel: os.release(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    commit: srcChanged ? `${commit} (src/ with uncommitted changes)` : commit,
  };
}

/** `2025-01-06T08-00Z`: sorts by time, safe in file names. */
function fileStem(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace(':', '-')}Z`;
}

/**
 * Copies the launcher and the bundle just built into the bench's directory:
 * a rebuild of dist/ by someone else during a long bench cannot change what
 * is measured halfway.
 */
async function copyBuild(workDirectory: string): Promise<string> {
  for (const file of ['bin/clusterwire.js', 'dist/clusterwire.js', 'dist/clusterwire.js.map']) {
    await mkdir(path.join(workDirectory, 'app', path.dirname(file)), { recursive: true });
    await copyFile(path.join(REPOSITORY, file), path.join(workDirectory, 'app', file));
  }
  return path.join(workDirectory, 'app', 'bin', 'clusterwire.js');
}

async function bench(options: BenchOptions, prefix: string, resources: { bridge?: BenchBridge; clusters?: BenchClusters; workDirectory?: string }) {
  progress('building the bundle (npm run build)');
  await execCommand(process.execPath, [path.join(REPOSITORY, 'scripts', 'build.ts')], { timeoutMs: 180_000 });
  const environment = await readEnvironment();
  const workDirectory = await mkdtemp(path.join(os.tmpdir(), 'clusterwire-bench-'));
  resources.workDirectory = workDirectory;
  const launcher = await copyBuild(workDirectory);
  const bridge = await createBenchBridge(prefix);
  resources.bridge = bridge;
  progress(`seeding remote clusters of ${options.nodes.join(', ')} nodes on ${bridge.address}`);
  const clusters = await startBenchClusters(path.join(workDirectory, 'clusters'), bridge.address, options.nodes);
  resources.clusters = clusters;
  const context: BenchContext = {
    options,
    prefix,
    workDirectory,
    launcher,
    bridge,
    clusters,
    execCounter: await createExecCounter(path.join(workDirectory, 'exec')),
    progress,
  };

  const runs: BenchRun[] = [];
  for (let run = 1; run <= options.runs; run++) {
    progress(`run ${run}: idle memory`);
    const idle = await measureIdle(context);
    const scales = [];
    for (const nodes of options.nodes) scales.push(await runAtScale(context, nodes, run));
    runs.push({ run, idle, scales });
  }

  const date = new Date();
  const summary = { idle: summarizeIdle(runs), scales: summarizeScales(runs, options.nodes) };
  const markdown = markdownReport(date.toISOString(), environment, options, summary);
  const outDirectory = path.resolve(REPOSITORY, options.outDir);
  await mkdir(outDirectory, { recursive: true });
  const stem = path.join(outDirectory, fileStem(date));
  await writeFile(`${stem}.json`, `${JSON.stringify({ date: date.toISOString(), environment, options, summary, runs }, null, 1)}\n`);
  await writeFile(`${stem}.md`, markdown);
  process.stdout.write(markdown);
  progress(`wrote ${stem}.json and ${stem}.md`);
}

/** Everything the bench made, whatever state it is in: hosts by name prefix, emulators, the bridge, files. */
async function cleanUp(prefix: string, resources: { bridge?: BenchBridge; clusters?: BenchClusters; workDirectory?: string }): Promise<void> {
  const { bridge, clusters, workDirectory } = resources;
  await attemptAll('cleaning up after the bench', [
    ...(await listLabHosts(`${prefix}h`)).map((host) => () => destroyLabHost(host)),
    ...(clusters ? [() => clusters.stop()] : []),
    ...(bridge ? [() => bridge.destroy()] : []),
    ...(workDirectory ? [() => rm(workDirectory, { recursive: true, force: true })] : []),
  ]);
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (network namespaces, wireguard-go)\n');
    return 1;
  }
  const prefix = `cwb${process.pid}`;
  const resources = {};
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
