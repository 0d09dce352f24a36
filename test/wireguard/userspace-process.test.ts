import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { systemClock, type Clock } from '../../src/clock/clock.ts';
import { socketAnswers, UserspaceProcess, type Launcher, type UserspaceProcessOptions } from '../../src/wireguard/userspace-process.ts';
import { memoryLogger } from '../support/memory-logger.ts';

const FAKE_BINARY = path.join(import.meta.dirname, '..', 'support', 'fake-wireguard-go.ts');

interface Harness {
  directory: string;
  launches: Array<{ file: string; args: readonly string[]; env: Readonly<Record<string, string>> }>;
  launch: Launcher;
  /** Launch numbers (1-based) at which the fake binary fails at once. */
  failAt: Set<number>;
  /** Runs in the launcher, before the child is spawned. */
  beforeLaunch: (launchNumber: number) => void;
  /** Stops `proc` when the test ends, before its directory goes. */
  supervise: (proc: UserspaceProcess) => UserspaceProcess;
}

/**
 * A directory for the fake binary, removed when the test ends after the
 * supervisors stopped: in one hook, because node:test runs hooks
 * first-registered first and skips the rest once one throws. A child still
 * alive then outlived `stop()`: it is killed and the test fails.
 */
async function harness(t: TestContext): Promise<Harness> {
  const directory = await mkdtemp(path.join(tmpdir(), 'cw-wgproc-'));
  const supervised: UserspaceProcess[] = [];
  const children: ChildProcess[] = [];
  t.after(async () => {
    await Promise.all(supervised.map((proc) => proc.stop()));
    const outlived = children.filter((child) => child.exitCode === null && child.signalCode === null);
    for (const child of outlived) child.kill('SIGKILL');
    await Promise.all(outlived.map((child) => new Promise((resolve) => child.once('close', resolve))));
    await rm(directory, { recursive: true, force: true });
    assert.deepEqual(outlived.map((child) => child.pid), [], 'no supervised process outlives stop()');
  });
  const h: Harness = {
    directory,
    launches: [],
    failAt: new Set(),
    beforeLaunch: () => {},
    supervise: (proc) => {
      supervised.push(proc);
      return proc;
    },
    launch: (file, args, env, output) => {
      h.launches.push({ file, args, env });
      h.beforeLaunch(h.launches.length);
      const fail = h.failAt.has(h.launches.length) ? '1' : '0';
      const child = spawn(process.execPath, [FAKE_BINARY, ...args], {
        env: { ...process.env, ...env, FAKE_WG_SOCKET_DIR: directory, FAKE_WG_FAIL: fail },
        stdio: ['ignore', output ?? 'pipe', output ?? 'pipe'],
      });
      children.push(child);
      return child;
    },
  };
  return h;
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Real time, but no wait longer than 20 ms (the socket poll): a test of the
 * restart backoff does not wait the backoff out. `offsetMs` moves `now`.
 */
function quickClock(offset = { ms: 0 }): Clock {
  return { now: () => Date.now() + offset.ms, schedule: (fn, ms) => systemClock.schedule(fn, ms), sleep: (ms, signal) => systemClock.sleep(Math.min(ms, 20), signal) };
}

/** A supervised fake wireguard-go that records its restarts; delays at the top of their jitter range. */
function recordingProcess(h: Harness, options: Partial<UserspaceProcessOptions> = {}) {
  const record = { restarts: 0 };
  const proc = new UserspaceProcess({
    device: 'wg-c2',
    binary: 'wireguard-go',
    socketPath: path.join(h.directory, 'wg-c2.sock'),
    launch: h.launch,
    logger: memoryLogger().logger,
    onRestart: () => {
      record.restarts += 1;
      return Promise.resolve();
    },
    clock: quickClock(),
    random: () => 0.999_999,
    ...options,
  });
  h.supervise(proc);
  return { proc, record };
}

/** The restart delays the process logged: before the first restart, then after each failed one. */
function restartDelays(lines: () => Array<Record<string, unknown>>): unknown[] {
  return lines().flatMap((line) => (line.msg === 'userspace WireGuard exited: restarting it' ? [line.restartInMs] : line.msg === 'userspace WireGuard did not come back' ? [line.retryInMs] : []));
}

describe('UserspaceProcess', () => {
  it('starts `<binary> -f <device>` in foreground mode, ready once its socket answers, output in a file beside the socket', async (t) => {
    const h = await harness(t);
    const { logger } = memoryLogger();
    const proc = new UserspaceProcess({
      device: 'wg-c2',
      binary: 'wireguard-go',
      socketPath: path.join(h.directory, 'wg-c2.sock'),
      launch: h.launch,
      logger,
      onRestart: () => Promise.resolve(),
      clock: systemClock,
    });
    h.supervise(proc);
    await proc.start();
    assert.equal(await socketAnswers(path.join(h.directory, 'wg-c2.sock')), true);
    assert.deepEqual(h.launches.map((l) => [l.file, l.args, l.env]), [['wireguard-go', ['-f', 'wg-c2'], { WG_PROCESS_FOREGROUND: '1' }]]);
    // A file, not a pipe: a process left running when the daemon exits must not die of SIGPIPE at its next line.
    assert.equal(proc.logPath, path.join(h.directory, 'wg-c2.log'));
    await until(() => readFileSync(proc.logPath, 'utf8').includes('INFO: (wg-c2) UAPI listener started'), 'the output line');
    const pid = proc.pid!;
    await proc.stop();
    assert.equal(isAlive(pid), false);
    assert.equal(h.launches.length, 1, 'an explicit stop is not restarted');
  });

  it('restarts a killed process and calls onRestart once it answers again', async (t) => {
    const h = await harness(t);
    const socketPath = path.join(h.directory, 'wg-c2.sock');
    const restored: boolean[] = [];
    const proc = new UserspaceProcess({
      device: 'wg-c2',
      binary: 'wireguard-go',
      socketPath,
      launch: h.launch,
      logger: memoryLogger().logger,
      onRestart: async () => {
        restored.push(await socketAnswers(socketPath));
      },
      clock: systemClock,
    });
    h.supervise(proc);
    await proc.start();
    const first = proc.pid!;
    const started = performance.now();
    process.kill(first, 'SIGKILL');
    await until(() => restored.length === 1, 'the restart');
    t.diagnostic(`restart after SIGKILL took ${(performance.now() - started).toFixed(0)} ms (fake binary under node)`);
    assert.deepEqual(restored, [true]);
    assert.notEqual(proc.pid, first);
    assert.equal(isAlive(proc.pid!), true);
    assert.equal(h.launches.length, 2);
  });

  it('backs off while the binary keeps failing, then restores', async (t) => {
    const h = await harness(t);
    h.failAt = new Set([2, 3, 4]);
    const { logger, lines } = memoryLogger();
    const { proc, record } = recordingProcess(h, { logger });
    await proc.start();
    process.kill(proc.pid!, 'SIGKILL');
    await until(() => record.restarts === 1, 'the restart');
    assert.deepEqual(restartDelays(lines), [200, 400, 800, 1600], 'a young death escalates the delay from the first restart');
    assert.equal(h.launches.length, 5);
    const failures = lines().filter((line) => line.msg === 'userspace WireGuard did not come back');
    assert.equal(failures.length, 3);
    assert.match(JSON.stringify(failures[0]), /Failed to create TUN device/);
  });

  it('restarts at once after a process that had run long enough', async (t) => {
    const h = await harness(t);
    const offset = { ms: 0 };
    const { logger, lines } = memoryLogger();
    const { proc, record } = recordingProcess(h, { clock: quickClock(offset), logger });
    await proc.start();
    offset.ms = 30_000;
    process.kill(proc.pid!, 'SIGKILL');
    await until(() => record.restarts === 1, 'the restart');
    assert.deepEqual(restartDelays(lines), [100]);
  });

  it('stop() during a restart waits for it and stops what it launched: nothing runs after, nothing starts again', async (t) => {
    const h = await harness(t);
    const { proc } = recordingProcess(h);
    await proc.start();
    let stopped: Promise<void> | undefined;
    // Called as the restart spawns its process: the old one has exited, the new one does not answer yet.
    h.beforeLaunch = (launchNumber) => {
      if (launchNumber === 2) stopped = proc.stop();
    };
    process.kill(proc.pid!, 'SIGKILL');
    await until(() => stopped !== undefined, 'the restart');
    await stopped;
    assert.equal(isAlive(proc.pid!), false, 'the process the restart launched is stopped by the time stop() resolves');
    await delay(200);
    assert.equal(h.launches.length, 2, 'nothing is started after stop()');
  });

  it('stop() during a restart delay ends the wait and starts nothing', async (t) => {
    const h = await harness(t);
    const { logger, lines } = memoryLogger();
    // Socket polls (20 ms) take real time; a restart delay lasts an hour unless aborted.
    let delaysPending = 0;
    const clock: Clock = {
      ...systemClock,
      sleep: (ms, signal) => {
        if (ms <= 20) return systemClock.sleep(ms, signal);
        delaysPending += 1;
        return systemClock.sleep(3_600_000, signal).finally(() => (delaysPending -= 1));
      },
    };
    const { proc } = recordingProcess(h, { logger, clock });
    await proc.start();
    process.kill(proc.pid!, 'SIGKILL');
    await until(() => lines().some((line) => line.msg === 'userspace WireGuard exited: restarting it'), 'the restart delay');
    assert.equal(delaysPending, 1);
    await proc.stop();
    assert.equal(delaysPending, 0, 'stop() ended the restart delay');
    await delay(100);
    assert.equal(h.launches.length, 1, 'nothing is started after stop()');
    assert.deepEqual(lines().filter((line) => line.level === 'error'), [], 'a stop is not an error');
  });

  it('fails to start with the exit status and the last output', async (t) => {
    const h = await harness(t);
    h.failAt = new Set([1]);
    const proc = new UserspaceProcess({
      device: 'wg-c2',
      binary: 'wireguard-go',
      socketPath: path.join(h.directory, 'wg-c2.sock'),
      launch: h.launch,
      logger: memoryLogger().logger,
      onRestart: () => Promise.resolve(),
      clock: systemClock,
    });
    await assert.rejects(proc.start(), /exited \(code 1\) before its control socket .* answered; last output: ERROR: \(wg-c2\) Failed to create TUN device/);
    assert.equal(h.launches.length, 1);
  });

  it('does not take a stale socket file for a live process', async (t) => {
    const h = await harness(t);
    const socketPath = path.join(h.directory, 'stale.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    assert.equal(await socketAnswers(socketPath), true);
    // Closing a listener unlinks its socket: put a dead one back, as SIGKILL leaves it.
    await new Promise((resolve) => server.close(resolve));
    await writeFile(socketPath, '');
    assert.equal(await socketAnswers(socketPath), false);
    assert.equal(await socketAnswers(path.join(h.directory, 'missing.sock')), false);
  });
});
