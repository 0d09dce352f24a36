import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { backoffDelay, type BackoffPolicy } from '../clock/backoff.ts';
import type { Clock } from '../clock/clock.ts';
import type { Logger } from '../log.ts';

/**
 * Starts a long-running program, its stdout and stderr on `output` (an open
 * file descriptor) or, without one, on pipes. The lab passes one that
 * enters a namespace first.
 */
export type Launcher = (file: string, args: readonly string[], env: Readonly<Record<string, string>>, output?: number) => ChildProcess;

export const spawnLauncher: Launcher = (file, args, env, output) =>
  spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', output ?? 'pipe', output ?? 'pipe'] });

export interface UserspaceProcessOptions {
  device: string;
  /** `-wg-userspace-binary`: wireguard-go or a compatible implementation. */
  binary: string;
  /** Where the implementation puts its UAPI socket: `<dir>/<device>.sock`. */
  socketPath: string;
  launch: Launcher;
  logger: Logger;
  /**
   * Runs once a restarted process listens again: the device is new (new
   * link, no key, no peers) and must be set up again.
   */
  onRestart: () => Promise<void>;
  /** Restart delays, the wait for the socket, and what tells a young death from a healthy run. */
  clock: Clock;
  /** In [0, 1): the jitter of restart delays; default Math.random. */
  random?: () => number;
}

type State = 'idle' | 'running' | 'restarting' | 'stopped' | 'detached';

/** 100 ms, 200 ms, 400 ms ... up to 10 s, jittered (clock/backoff.ts). */
const RESTART_BACKOFF: BackoffPolicy = { baseMs: 100, capMs: 10_000 };
const SOCKET_POLL_MS = 20;
// A process that lived this long is healthy: its next crash restarts at once.
const STABLE_AFTER_MS = 30_000;
const STOP_GRACE_MS = 3_000;
const OUTPUT_LINES_KEPT = 10;
const READY_TIMEOUT_MS = 10_000;

/**
 * Runs a userspace WireGuard (`wireguard-go -f <device>`) and keeps it
 * running: when it dies it is started again (with capped exponential delay
 * while it keeps dying young) and `onRestart` restores the device. It is
 * stopped only by `stop()`; `detach()` leaves it running when the daemon exits.
 */
export class UserspaceProcess {
  readonly #options: UserspaceProcessOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  #state: State = 'idle';
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #startedAt = 0;
  #quickDeaths = 0;
  /** Settles when the restart in flight (if any) has ended; never rejects. */
  #restarting: Promise<void> = Promise.resolve();
  /** Aborted by stop() and detach(): ends a restart's backoff sleep. */
  readonly #halt = new AbortController();

  constructor(options: UserspaceProcessOptions) {
    this.#options = options;
    this.#clock = options.clock;
    this.#random = options.random ?? Math.random;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the process and resolves once its UAPI socket answers. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`userspace WireGuard for ${this.#options.device} was already started`);
    this.#state = 'running';
    try {
      await this.#launch();
    } catch (error) {
      this.#state = 'stopped';
      throw error;
    }
  }

  /**
   * Explicit teardown: SIGTERM, SIGKILL after a grace period; resolves when
   * no process runs. A restart in flight is waited for (its backoff sleep
   * cut short), so a process it launched is stopped too, not left behind
   * by a daemon that exits once this resolves.
   */
  async stop(): Promise<void> {
    this.#state = 'stopped';
    this.#halt.abort();
    await this.#restarting;
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const cancelKill = this.#clock.schedule(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await this.#exited;
    } finally {
      cancelKill();
    }
  }

  /** Stops supervising and lets this process exit while the device keeps running. */
  detach(): void {
    this.#state = 'detached';
    this.#halt.abort();
    this.#child?.unref();
  }

  /** Where the process writes: a file, not a pipe, so it outlives us (a detached Go program dies of SIGPIPE at its next log line on a pipe nobody reads). */
  get logPath(): string {
    return this.#options.socketPath.replace(/\.sock$/, '') + '.log';
  }

  async #launch(): Promise<void> {
    const { device, binary, launch, socketPath } = this.#options;
    // Truncated at each start and append-only, so it holds one process's lines (errors only, at wireguard-go's default level).
    const output = openSync(this.logPath, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND, 0o600);
    let child: ChildProcess;
    try {
      child = launch(binary, ['-f', device], { WG_PROCESS_FOREGROUND: '1' }, output);
    } finally {
      closeSync(output);
    }
    this.#child = child;
    this.#startedAt = this.#clock.now();
    let spawnError: string | null = null;
    this.#exited = new Promise((resolve) => {
      child.once('error', (error) => {
        spawnError = `spawn failed: ${error.message}`;
        resolve();
      });
      child.once('close', () => resolve());
    });
    const exit = this.#exited.then(async () => {
      const last = spawnError ?? ((await this.#lastOutput()).join(' | ') || 'none');
      throw new Error(`userspace WireGuard ${binary} for ${device} exited (${describeExit(child)}) before its control socket ${socketPath} answered; last output: ${last}`);
    });
    const stopWaiting = new AbortController();
    const ready = this.#waitForSocket(socketPath, stopWaiting.signal);
    try {
      await Promise.race([ready, exit]);
    } catch (error) {
      child.kill('SIGKILL');
      await this.#exited;
      throw error;
    } finally {
      stopWaiting.abort();
      // Whichever lost the race settles later, unobserved: it is meaningless now.
      ready.catch(() => {});
      exit.catch(() => {});
    }
    this.#exited
      .then(async () => this.#onExit(child, await this.#lastOutput()))
      .catch((error: unknown) => {
        this.#options.logger.error({ device, err: error }, 'handling the exit of userspace WireGuard failed');
      });
  }

  #onExit(child: ChildProcess, lastOutput: string[]): void {
    if (this.#child !== child || this.#state !== 'running') return;
    const lived = this.#clock.now() - this.#startedAt;
    this.#quickDeaths = lived >= STABLE_AFTER_MS ? 0 : this.#quickDeaths + 1;
    this.#state = 'restarting';
    const restartInMs = backoffDelay(this.#quickDeaths, RESTART_BACKOFF, this.#random());
    this.#options.logger.warn(
      { device: this.#options.device, exit: describeExit(child), livedMs: lived, lastOutput, log: this.logPath, restartInMs },
      'userspace WireGuard exited: restarting it',
    );
    this.#restarting = this.#restart(restartInMs).catch((error: unknown) => {
      this.#options.logger.error({ device: this.#options.device, err: error }, 'restarting userspace WireGuard failed');
    });
  }

  async #restart(firstDelayMs: number): Promise<void> {
    let attempt = this.#quickDeaths;
    let restartDelayMs = firstDelayMs;
    while (this.#state === 'restarting') {
      try {
        await this.#clock.sleep(restartDelayMs, this.#halt.signal);
      } catch {
        return; // stop() or detach() cut the wait short.
      }
      if (this.#state !== 'restarting') return;
      try {
        await this.#launch();
      } catch (error) {
        if (this.#state !== 'restarting') return; // Stopped or detached meanwhile: nothing to retry.
        attempt += 1;
        restartDelayMs = backoffDelay(attempt, RESTART_BACKOFF, this.#random());
        this.#options.logger.error({ device: this.#options.device, err: error, attempt, retryInMs: restartDelayMs }, 'userspace WireGuard did not come back');
        continue;
      }
      if (this.#state !== 'restarting') {
        // stop() came while we were starting it and waits for us to return, then stops this
        // process; detach() leaves it running.
        if (this.#state === 'detached') this.#child?.unref();
        return;
      }
      this.#state = 'running';
      this.#options.logger.info({ device: this.#options.device, pid: this.#child?.pid }, 'userspace WireGuard restarted');
      await this.#options.onRestart();
      return;
    }
  }

  /**
   * Resolves when something accepts connections on the socket. A stale
   * socket file left by a killed process refuses them, so its mere
   * presence is not enough.
   */
  async #waitForSocket(socketPath: string, signal: AbortSignal): Promise<void> {
    const deadline = this.#clock.now() + READY_TIMEOUT_MS;
    while (!signal.aborted) {
      if (await socketAnswers(socketPath)) return;
      if (this.#clock.now() > deadline) throw new Error(`control socket ${socketPath} did not answer within ${READY_TIMEOUT_MS} ms`);
      await this.#clock.sleep(SOCKET_POLL_MS);
    }
  }

  /** The last lines the process wrote, for the log line about its exit. */
  async #lastOutput(): Promise<string[]> {
    try {
      return (await readFile(this.logPath, 'utf8')).trimEnd().split('\n').filter(Boolean).slice(-OUTPUT_LINES_KEPT);
    } catch (error) {
      return [`(reading ${this.logPath} failed: ${(error as Error).message})`];
    }
  }
}

function describeExit(child: ChildProcess): string {
  if (child.signalCode) return `signal ${child.signalCode}`;
  if (child.exitCode !== null) return `code ${child.exitCode}`;
  return 'did not start';
}

/** True when a UAPI socket accepts a connection: its process is alive. */
export function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
