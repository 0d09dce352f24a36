import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';

export interface PromtoolResult {
  code: number | null;
  /** stdout and stderr together: promtool prints its lint findings on either. */
  output: string;
}

const TIMEOUT_MS = 30_000;

/**
 * `promtool check metrics` on an exposition (stdin). Null when promtool is
 * not installed: outside CI the test is skipped then; under CI=true it fails
 * (`.ci/run` installs Debian's `prometheus` package, which has promtool).
 */
export function promtoolCheckMetrics(t: TestContext, text: string): Promise<PromtoolResult | null> {
  return promtool(t, ['check', 'metrics'], text);
}

/** `promtool ...args` with `stdin`; null (and the test skipped, outside CI) when promtool is not installed. */
export async function promtool(t: TestContext, args: readonly string[], stdin = ''): Promise<PromtoolResult | null> {
  const result = await run(args, stdin);
  if (result !== null) return result;
  if (process.env.CI === 'true') throw new Error('promtool is not installed, and CI=true requires the promtool check to run');
  t.skip('promtool is not installed (Debian package prometheus): skipped outside CI');
  return null;
}

function run(args: readonly string[], text: string): Promise<PromtoolResult | null> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: TIMEOUT_MS });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? resolve(null) : reject(error)));
    child.on('close', (code) => resolve({ code, output }));
    // A promtool that exits early closes the pipe: that is its answer, not this test's error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(text);
  });
}
