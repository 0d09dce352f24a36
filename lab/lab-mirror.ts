/**
 * `clusterwire mirror` (docs/fleet-mode.md) beside a lab's daemons: a
 * process in the machine's namespace, where the lab's apiservers listen,
 * publishing one cluster's nodes as PeerSlices. Its output is appended to
 * a log file; its HTTP server listens on a free port of loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import type { Emulator } from './emulator/emulator.ts';

const MAIN = path.resolve(import.meta.dirname, '../src/main.ts');
const CRD = path.resolve(import.meta.dirname, '../deploy/crds/peerslices.yaml');
const STOP_GRACE_MS = 10_000;
const START_TIMEOUT_MS = 30_000;

/** What a cluster needs before a mirror publishes in it: the PeerSlice CRD and the namespace. */
export async function preparePublishing(emulator: Emulator, namespace = 'clusterwire'): Promise<void> {
  emulator.create(parseYaml(await readFile(CRD, 'utf8')) as object);
  emulator.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
}

export interface MirrorSettings {
  /** A clusters config of the cluster (a lab node's will do: the mirror reads local, annotationDomain and the remote names). */
  configPath: string;
  identity: string;
  logPath: string;
  /** Appended to the command line, e.g. leader election timings. */
  extraFlags?: readonly string[];
  /** The program to run instead of `node src/main.ts` (the bench runs the built launcher). */
  command?: { file: string; args: readonly string[] };
}

export class LabMirror {
  readonly identity: string;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #done = false;

  private constructor(identity: string, url: string, child: ChildProcess, exited: Promise<number | null>) {
    this.identity = identity;
    this.url = url;
    this.#child = child;
    this.#exited = exited.finally(() => (this.#done = true));
  }

  /** Starts the mirror; resolves once its HTTP server listens. */
  static async start(settings: MirrorSettings): Promise<LabMirror> {
    const log = createWriteStream(settings.logPath, { flags: 'a' });
    log.write(`--- lab: starting clusterwire mirror ${settings.identity} at ${new Date().toISOString()}\n`);
    const command = settings.command ?? { file: process.execPath, args: [MAIN] };
    const child = spawn(
      command.file,
      [...command.args, 'mirror', '-clusters-config', settings.configPath, '-identity', settings.identity, '-listen-address', '127.0.0.1:0', ...(settings.extraFlags ?? [])],
      { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => {
      child.once('error', (error) => log.write(`--- lab: spawning the mirror failed: ${error.message}\n`));
      child.once('close', (code, signal) => {
        log.end(`--- lab: mirror exited (code ${code}, signal ${signal}) at ${new Date().toISOString()}\n`);
        resolve(code);
      });
    });
    let port: number | null = null;
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (port !== null) return;
      pending += chunk.toString();
      const line = pending.split('\n').find((l) => l.includes('"clusterwire mirror started"'));
      if (line !== undefined) port = (JSON.parse(line) as { listen: { port: number } }).listen.port;
    });
    child.stderr?.pipe(log, { end: false });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (port === null) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        if (child.exitCode === null) child.kill('SIGKILL');
        await exited;
        throw new Error(`clusterwire mirror ${settings.identity} did not start; see ${settings.logPath}`);
      }
      await delay(50);
    }
    return new LabMirror(settings.identity, `http://127.0.0.1:${String(port)}`, child, exited);
  }

  get pid(): number | undefined {
    return this.#done ? undefined : this.#child.pid;
  }

  /** Sends `signal` (SIGTERM: releases the lease) and waits for the exit; killed after 10 s. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.#done) return this.#exited;
    this.#child.kill(signal);
    const timer = new AbortController();
    const late = delay(STOP_GRACE_MS, 'late' as const, { signal: timer.signal }).catch(() => 'cancelled' as const);
    const outcome = await Promise.race([this.#exited, late]);
    timer.abort();
    if (outcome === 'late') {
      this.#child.kill('SIGKILL');
      await this.#exited;
      throw new Error(`clusterwire mirror ${this.identity} did not exit within ${STOP_GRACE_MS} ms of ${signal}: killed it`);
    }
    return this.#exited;
  }
}
