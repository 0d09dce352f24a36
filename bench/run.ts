/**
 * `npm run bench [-- options]`: builds the bundle, then measures the daemon
 * against the floors (issue 8) and writes bench/results/<date>.json and
 * .md. Needs root (network namespaces, wireguard-go).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execCommand } from '../src/process/exec.ts';
import { parseBenchArgs, USAGE, type BenchOptions } from './args.ts';
import { markdownReport, type Environment } from './report.ts';
import { measureIdle } from './scenarios/idle.ts';
import { runAtScale } from './scenarios/scale-run.ts';
import { fileStem, openBenchSession, progress, REPOSITORY, runBenchCommand, type BenchResources } from './session.ts';
import { summarizeIdle, summarizeScales, type BenchRun } from './summary.ts';

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

async function bench(options: BenchOptions, prefix: string, resources: BenchResources) {
  const context = await openBenchSession(options, prefix, resources);
  const environment = await readEnvironment();

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

process.exitCode = await runBenchCommand({ name: 'bench', prefix: 'cwb', usage: USAGE, parse: parseBenchArgs, bench });
