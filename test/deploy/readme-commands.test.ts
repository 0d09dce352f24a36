/**
 * The commands the README shows must work as shown, so the docs cannot rot.
 * Every `clusterwire ...` line of its shell blocks that can run here (no
 * daemon, no root network) is run against this checkout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Commands that need a running daemon, a node, clusters or root networking, and so only get their --help run. */
const NEEDS_A_NODE = new Set(['run', 'status', 'cleanup', 'connect', 'disconnect', 'migrate-check', 'mirror']);

function readmeCommands(markdown: string): string[][] {
  const blocks = [...markdown.matchAll(/```(?:sh|bash|console)\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  return blocks
    .flatMap((block) => block.split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line.startsWith('clusterwire '))
    .map((line) => line.split(/\s+/).slice(1).filter((word) => !/^\[.*\]$/.test(word)));
}

test('every clusterwire command in the README runs here (or its --help, for those that need a node)', async (t) => {
  const commands = readmeCommands(await readFile(path.join(ROOT, 'README.md'), 'utf8'));
  assert.ok(commands.length >= 5, `found ${commands.length} commands in the README`);
  for (const args of commands) {
    const command = args[0] ?? '';
    const runnable = NEEDS_A_NODE.has(command) ? [command, '--help'] : args;
    try {
      // From the repository root, as a reader of the README types them.
      const { stdout } = await run(process.execPath, [path.join(ROOT, 'src/main.ts'), ...runnable], { cwd: ROOT, timeout: 30_000 });
      assert.ok(stdout.length > 0, `clusterwire ${runnable.join(' ')} printed nothing`);
      t.diagnostic(`clusterwire ${runnable.join(' ')}: ok`);
    } catch (error) {
      assert.fail(`README command 'clusterwire ${runnable.join(' ')}' failed: ${(error as Error & { stderr?: string }).stderr ?? String(error)}`);
    }
  }
});
