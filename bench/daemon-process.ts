/**
 * The daemon under test: the shipped launcher and bundle
 * (`bin/clusterwire.js` loading `dist/clusterwire.js`) run inside an
 * emulated host, its JSON log lines kept for timestamps, its /metrics
 * reached over the bench bridge.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import type { LabHost } from '../lab/netns.ts';
import { httpGet } from './http-get.ts';
import { parseSamples, type Sample } from './prom-text.ts';

/**
 * Node's own flags, as the image's ENTRYPOINT gives them (Dockerfile), so
 * that the bench measures the daemon as it is shipped;
 * test/deploy/image.test.ts keeps the two equal.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--no-memory-reducer', '--expose-gc'];

const METRICS_PORT = 7773;
const STOP_TIMEOUT_MS = 6_000;

/** One pino line; `time` is when the daemon logged it, in ms since the epoch (its ISO time has ms resolution). */
export interface LogLine {
  time: number;
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

export function parseLogLine(line: string): LogLine | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const fields = value as Record<string, unknown>;
  const time = typeof fields.time === 'string' ? Date.parse(fields.time) : fields.time;
  if (typeof time !== 'number' || Number.isNaN(time) || typeof fields.msg !== 'string') return null;
  return { time, level: String(fields.level), msg: fields.msg, fields };
}

export interface DaemonLaunch {
  /** The bench's copy of bin/clusterwire.js (next to its dist/). */
  launcher: string;
  host: LabHost;
  /** The host's address on the bench bridge: the daemon listens there. */
  hostAddress: string;
  configPath: string;
  keyDirectory: string;
  /** Prepended to PATH (the exec counter's wrappers). */
  pathPrefix: string;
  /** The local Node it runs on; several daemons on one local cluster need one each. Default bench-local. */
  nodeName?: string;
}

export interface Scrape {
  samples: Sample[];
  bytes: number;
  ms: number;
}

export interface DaemonProcess {
  readonly pid: number;
  /** Date.now() just before the process was spawned. */
  readonly launchedAt: number;
  /** Every JSON line logged so far, in order. */
  readonly logs: readonly LogLine[];
  /** Resolves with the first line (from index `from`) that matches; rejects on timeout or exit. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs: number, from?: number): Promise<LogLine>;
  /** Polls /readyz until 200. */
  waitReady(timeoutMs: number): Promise<void>;
  /** GET /metrics: the samples, and what the scrape cost (it reads the device and renders every peer). */
  scrape(): Promise<Scrape>;
  /** SIGTERM, SIGKILL if it has not exited after 6 s. */
  stop(): Promise<void>;
}

/** Signals a process that may have exited on its own a moment ago. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export function launchDaemon(options: DaemonLaunch): DaemonProcess {
  const { host, hostAddress } = options;
  const args = [
    ...NODE_FLAGS,
    options.launcher,
    'run',
    '-clusters-config', options.configPath,
    '-node-name', options.nodeName ?? 'bench-local',
    '-wg-key-path', options.keyDirectory,
    '-listen-address', `${hostAddress}:${METRICS_PORT}`,
    '-wg-backend', 'userspace',
    '-log-level', 'info',
  ];
  const launchedAt = Date.now();
  const child: ChildProcess = host.launch(process.execPath, args, { PATH: `${options.pathPrefix}:${process.env.PATH ?? ''}` });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`starting the daemon in host ${host.name} failed`);

  const logs: LogLine[] = [];
  const stderrTail: string[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      notify();
      resolve();
    });
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const parsed = parseLogLine(line);
    if (parsed) {
      logs.push(parsed);
      notify();
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
  });
  const exitError = () =>
    new Error(`the daemon (pid ${pid}) exited (${JSON.stringify(exit)}); last log: ${JSON.stringify(logs.slice(-3).map((l) => l.msg))}; stderr: ${stderrTail.join(' | ')}`);
  const baseURL = `http://${hostAddress}:${METRICS_PORT}`;

  return {
    pid,
    launchedAt,
    logs,
    waitForLog(match, timeoutMs, from = 0) {
      return new Promise((resolve, reject) => {
        let checked = from;
        const check = () => {
          for (; checked < logs.length; checked++) {
            const line = logs[checked] as LogLine;
            if (match(line)) return finish(null, line);
          }
          if (exit) finish(exitError());
        };
        const timer = setTimeout(() => finish(new Error(`the daemon did not log the expected line within ${timeoutMs} ms; last: ${JSON.stringify(logs.slice(-3).map((l) => l.msg))}`)), timeoutMs);
        const finish = (error: Error | null, line?: LogLine) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve(line as LogLine);
        };
        listeners.add(check);
        check();
      });
    },
    async waitReady(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last = 'no answer yet';
      while (Date.now() < deadline) {
        if (exit) throw exitError();
        try {
          const { status, body } = await httpGet(`${baseURL}/readyz`, 2_000);
          if (status === 200) return;
          last = `${status} ${body.slice(0, 200)}`;
        } catch (error) {
          last = (error as Error).message;
        }
        await delay(50);
      }
      throw new Error(`the daemon was not ready within ${timeoutMs} ms: ${last}`);
    },
    async scrape() {
      const started = performance.now();
      const { status, body } = await httpGet(`${baseURL}/metrics`, 30_000);
      const ms = performance.now() - started;
      if (status !== 200) throw new Error(`GET ${baseURL}/metrics answered ${status}`);
      return { samples: parseSamples(body), bytes: Buffer.byteLength(body), ms };
    },
    async stop() {
      if (exit) return;
      signal(pid, 'SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), delay(STOP_TIMEOUT_MS).then(() => false)]);
      if (!stopped) {
        signal(pid, 'SIGKILL');
        await exited;
      }
    },
  };
}
