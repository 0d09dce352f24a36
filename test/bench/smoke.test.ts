/**
 * CI smoke run of the benchmarks (issue 8): `bench/run.ts` at 200 remote
 * nodes, one run, short phases. Asserts only that it completes and writes
 * its results; the figures are printed, not judged (shared, noisy CI).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { listLabHosts } from '../../lab/netns.ts';
import { skipUnlessRoot } from '../support/root.ts';

const RUN = path.join(import.meta.dirname, '..', '..', 'bench', 'run.ts');

it('npm run bench completes at 200 nodes and writes its results', { timeout: 240_000 }, async (t) => {
  if (skipUnlessRoot(t)) return;
  const out = await mkdtemp(path.join(os.tmpdir(), 'clusterwire-bench-smoke-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const args = [RUN, '--nodes', '200', '--runs', '1', '--churn-seconds', '3', '--changes', '10', '--settle-seconds', '1', '--out', out];
  const { code, stdout, stderr, pid } = await new Promise<{ code: number | null; stdout: string; stderr: string; pid: number }>((resolve) => {
    const child = execFile(process.execPath, args, { timeout: 200_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr, pid: child.pid ?? 0 }),
    );
  });
  assert.equal(code, 0, `bench exited ${code}:\n${stderr.slice(-3000)}`);
  t.diagnostic(stdout.split('\n').filter((line) => line.startsWith('| ')).slice(0, 40).join('\n'));

  const files = (await readdir(out)).sort();
  assert.equal(files.length, 2, `expected one .json and one .md, got ${files.join(', ')}`);
  const [json, markdown] = files as [string, string];
  assert.match(json, /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z\.json$/);
  assert.equal(markdown, json.replace(/\.json$/, '.md'));
  const results = JSON.parse(await readFile(path.join(out, json), 'utf8')) as { runs: unknown[]; summary: { scales: { nodes: number }[] } };
  assert.equal(results.runs.length, 1);
  assert.deepEqual(results.summary.scales.map((s) => s.nodes), [200]);
  assert.match(await readFile(path.join(out, markdown), 'utf8'), /\| 200 nodes \|/);
  assert.deepEqual(await listLabHosts(`cwb${pid}`), [], 'the bench removes its hosts');
});
