import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandError, execCommand } from '../../src/process/exec.ts';

test('execCommand returns stdout and feeds input on stdin', async () => {
  const { stdout } = await execCommand('cat', [], { input: 'secret-from-stdin' });
  assert.equal(stdout, 'secret-from-stdin');
});

test('a failing command is a CommandError with the command, exit code and stderr', async () => {
  const error = await execCommand('ls', ['/nonexistent-clusterwire']).then(
    () => assert.fail('should fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CommandError);
  assert.equal(error.exitCode, 2);
  assert.match(error.message, /^ls \/nonexistent-clusterwire exited 2: .*No such file/);
});

test('a command past its timeout is killed and says so', async () => {
  const started = Date.now();
  const error = await execCommand('sleep', ['5'], { timeoutMs: 100 }).then(() => assert.fail('should time out'), (e: unknown) => e);
  assert.ok(error instanceof CommandError);
  assert.match(error.message, /timed out after 100 ms/);
  assert.ok(Date.now() - started < 4000);
});

test('a very long command line is shortened in the error, keeping its start', async () => {
  const args = ['/nonexistent-clusterwire', ...Array.from({ length: 5000 }, (_, i) => `peer-${i}`)];
  const error = await execCommand('ls', args).then(() => assert.fail('should fail'), (e: unknown) => e);
  assert.ok(error instanceof CommandError);
  assert.ok(error.command.length < 400, `command text of ${error.command.length} characters`);
  assert.match(error.command, /^ls \/nonexistent-clusterwire peer-0 .*… \(5001 arguments\)$/);
});

test('a command that ignores SIGTERM is killed with SIGKILL after the grace, with what it started', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-exec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const pidFile = join(dir, 'pids');
  // The shell and the sleep it starts both ignore SIGTERM (an ignored signal stays ignored across exec).
  const script = `trap '' TERM; sleep 30 & echo "$$ $!" > ${pidFile}; wait`;
  const started = performance.now();
  const error = await execCommand('sh', ['-c', script], { timeoutMs: 300, killGraceMs: 400 }).then(() => assert.fail('should time out'), (e: unknown) => e);
  const ms = performance.now() - started;
  t.diagnostic(`ended ${ms.toFixed(0)} ms after the start (timeout 300 ms, grace 400 ms)`);
  assert.ok(error instanceof CommandError);
  assert.equal(error.exitCode, null);
  assert.equal(error.message, `sh -c ${script} did not finish: timed out after 300 ms; still running 400 ms after SIGTERM, killed with SIGKILL`);
  const pids = (await readFile(pidFile, 'utf8')).trim().split(' ').map(Number);
  assert.equal(pids.length, 2);
  await t.waitFor(() => {
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} is gone`);
  }, { timeout: 5_000 });
});

test('a command that stops on SIGTERM gets no SIGKILL', async () => {
  const error = await execCommand('sleep', ['30'], { timeoutMs: 100, killGraceMs: 5_000 }).then(() => assert.fail('should time out'), (e: unknown) => e);
  assert.ok(error instanceof CommandError);
  assert.equal(error.message, 'sleep 30 did not finish: timed out after 100 ms');
});

test('a program that does not exist is a CommandError, not a crash', async () => {
  const error = await execCommand('/nonexistent/clusterwire-tool', []).then(() => assert.fail('should fail'), (e: unknown) => e);
  assert.ok(error instanceof CommandError);
  assert.match(error.message, /^\/nonexistent\/clusterwire-tool did not finish: spawn \/nonexistent\/clusterwire-tool ENOENT$/);
});
