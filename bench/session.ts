/**
 * What every bench entry point (run.ts, fleet-run.ts, fleet-scale-run.ts)
 * does around its scenarios: checks root, builds the bundle and runs a copy
 * of it, sets up the bridge and the emulated clusters, and removes
 * everything it made at the end, also on SIGINT/SIGTERM.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { attemptAll } from '../lab/attempt-all.ts';
import type { LabMirror } from '../lab/lab-mirror.ts';
import { destroyLabHost, listLabHosts } from '../lab/netns.ts';
import { execCommand } from '../src/process/exec.ts';
import type { BenchOptions } from './args.ts';
import { startBenchClusters, type BenchClusters } from './clusters.ts';
import type { BenchContext } from './context.ts';
import { createExecCounter } from './exec-counter.ts';
import { createBenchBridge, type BenchBridge } from './network.ts';

export const REPOSITORY = path.resolve(import.meta.dirname, '..');

export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** `2025-01-06T08-00Z`: sorts by time, safe in file names. */
export function fileStem(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace(':', '-')}Z`;
}

/** Everything a bench made, for the clean-up whatever state the bench is in. */
export interface BenchResources {
  /** Mirrors run in the machine's namespace, not in a bench host: stopped by pid. */
  readonly mirrors: Set<LabMirror>;
  bridge?: BenchBridge;
  clusters?: BenchClusters;
  workDirectory?: string;
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

/** Builds, copies the build, makes the bridge and seeds a remote cluster per `options.nodes`. */
export async function openBenchSession(options: BenchOptions, prefix: string, resources: BenchResources): Promise<BenchContext> {
  progress('building the bundle (npm run build)');
  await execCommand(process.execPath, [path.join(REPOSITORY, 'scripts', 'build.ts')], { timeoutMs: 180_000 });
  const workDirectory = await mkdtemp(path.join(os.tmpdir(), 'clusterwire-bench-'));
  resources.workDirectory = workDirectory;
  const launcher = await copyBuild(workDirectory);
  const bridge = await createBenchBridge(prefix);
  resources.bridge = bridge;
  progress(`seeding remote clusters of ${options.nodes.join(', ')} nodes on ${bridge.address}`);
  const clusters = await startBenchClusters(path.join(workDirectory, 'clusters'), bridge.address, options.nodes);
  resources.clusters = clusters;
  return { options, prefix, workDirectory, launcher, bridge, clusters, execCounter: await createExecCounter(path.join(workDirectory, 'exec')), progress };
}

export async function headCommit(): Promise<string> {
  return (await execCommand('git', ['-C', REPOSITORY, 'rev-parse', '--short', 'HEAD'])).stdout.trim();
}

/** Hosts by name prefix, mirrors, emulators, the bridge, files. */
async function cleanUp(prefix: string, { mirrors, bridge, clusters, workDirectory }: BenchResources): Promise<void> {
  await attemptAll('cleaning up after the bench', [
    ...[...mirrors].map((mirror) => () => mirror.stop('SIGKILL')),
    ...(await listLabHosts(`${prefix}h`)).map((host) => () => destroyLabHost(host)),
    ...(clusters ? [() => clusters.stop()] : []),
    ...(bridge ? [() => bridge.destroy()] : []),
    ...(workDirectory ? [() => rm(workDirectory, { recursive: true, force: true })] : []),
  ]);
}

export interface BenchCommand<O> {
  /** `npm run <name>`, for messages. */
  name: string;
  /** Host and link names start with it and the pid: a few letters. */
  prefix: string;
  usage: string;
  parse(argv: readonly string[]): O;
  bench(options: O, prefix: string, resources: BenchResources): Promise<void>;
}

/** Parses, checks root, runs the bench and cleans up; the exit code. */
export async function runBenchCommand<O>(command: BenchCommand<O>): Promise<number> {
  let options: O;
  try {
    options = command.parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${command.name}: ${(error as Error).message}\n${command.usage}\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write(`${command.name}: needs root (network namespaces, wireguard-go)\n`);
    return 1;
  }
  const prefix = `${command.prefix}${process.pid}`;
  const resources: BenchResources = { mirrors: new Set() };
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
    await command.bench(options, prefix, resources);
    return 0;
  } catch (error) {
    console.error(`${command.name} failed:`, error);
    return 1;
  } finally {
    await cleanUpOnce();
  }
}
