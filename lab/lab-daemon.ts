/**
 * One clusterwire daemon running inside a lab host, its output appended to
 * a log file that outlives it (restarts append to the same file).
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { LabHost } from './netns.ts';

/** The daemon's entry point, run by this Node (24, which loads .ts files). */
const DAEMON_MAIN = path.resolve(import.meta.dirname, '../src/main.ts');

/** The daemon must stop within 5 s of SIGTERM (docs/how-it-works.md, Stop); past this it is killed and the stop fails. */
const STOP_GRACE_MS = 10_000;

/** Port of every daemon's HTTP server, on every address of its host. */
export const DAEMON_PORT = 7773;

export interface DaemonSettings {
  nodeName: string;
  configPath: string;
  keyDirectory: string;
  logPath: string;
  reconcileInterval: string;
  logLevel: string;
  /** Appended after the lab's own flags. */
  extraFlags: readonly string[];
}

export function daemonArguments(settings: DaemonSettings): string[] {
  return [
    DAEMON_MAIN,
    'run',
    '-clusters-config',
    settings.configPath,
    '-node-name',
    settings.nodeName,
    '-wg-key-path',
    settings.keyDirectory,
    '-listen-address',
    `:${DAEMON_PORT}`,
    '-reconcile-interval',
    settings.reconcileInterval,
    '-log-level',
    settings.logLevel,
    ...settings.extraFlags,
  ];
}

export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class LabDaemon {
  readonly #child: ChildProcess;
  readonly #exited: Promise<DaemonExit>;
  #exit: DaemonExit | null = null;

  private constructor(child: ChildProcess, log: WriteStream) {
    this.#child = child;
    this.#exited = new Promise<DaemonExit>((resolve) => {
      child.once('error', (error) => {
        log.write(`--- lab: spawning the daemon failed: ${error.message}\n`);
      });
      // 'close' comes after both output streams ended: the log is complete then.
      child.once('close', (code, signal) => {
        log.end(`--- lab: daemon exited (code ${code}, signal ${signal}) at ${new Date().toISOString()}\n`);
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
  }

  /** Starts the daemon in `host`; resolves once it is spawned (not yet ready). */
  static async start(host: LabHost, settings: DaemonSettings): Promise<LabDaemon> {
    const log = createWriteStream(settings.logPath, { flags: 'a' });
    log.write(`--- lab: starting clusterwire for ${settings.nodeName} in ${host.name} at ${new Date().toISOString()}\n`);
    const child = host.launch(process.execPath, daemonArguments(settings), {});
    const daemon = new LabDaemon(child, log);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new Error(`starting clusterwire for ${settings.nodeName} in ${host.name} failed`, { cause: error })));
    });
    return daemon;
  }

  /** The daemon's pid while it runs (nsenter execs it: the pid is the daemon's own). */
  get pid(): number | undefined {
    return this.#exit === null ? this.#child.pid : undefined;
  }

  /** Resolves when the daemon has exited, however it ended. */
  get exited(): Promise<DaemonExit> {
    return this.#exited;
  }

  /** Sends `signal` and waits for the exit; returns the exit code (null when a signal ended it). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.#exit !== null) return this.#exit.code;
    this.#child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), STOP_GRACE_MS);
    });
    const outcome = await Promise.race([this.#exited, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.#child.kill('SIGKILL');
      await this.#exited;
      throw new Error(`clusterwire (pid ${this.#child.pid}) did not exit within ${STOP_GRACE_MS} ms of ${signal}: killed it`);
    }
    return outcome.code;
  }
}
