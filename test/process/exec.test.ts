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
