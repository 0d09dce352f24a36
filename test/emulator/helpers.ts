import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { ControlClient, parseReadyLine, type EmulatorEndpoints } from '../../lab/emulator/control-client.ts';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../lab/emulator/emulator.ts';
import { connectionSettings, createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { LineSplitter } from '../../src/kube/watch-lines.ts';
import { createMetrics } from '../../src/metrics.ts';

/** Where cleanups go: a TestContext, or a suite's list. */
export interface Cleanups {
  after(fn: () => unknown): void;
}

/** An emulator in a fresh directory, stopped and removed when the test (or suite) ends. */
export async function startTestEmulator(t: Cleanups, options: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  const dir = await mkdtemp(join(tmpdir(), 'cw-emulator-'));
  const emulator = await startEmulator({ dir, ...options });
  t.after(async () => {
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return emulator;
}

/** The parts of wire objects that tests read. */
export interface WireMeta {
  name: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface WireCondition {
  type: string;
  status: string;
  lastHeartbeatTime: string;
  lastTransitionTime?: string;
}

export interface WireNode {
  kind?: string;
  apiVersion?: string;
  metadata: WireMeta;
  spec: Record<string, unknown>;
  status: { conditions: WireCondition[]; phase?: string; [field: string]: unknown };
}

export interface WireList {
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: WireNode[];
}

export interface WireStatus {
  kind: 'Status';
  apiVersion: string;
  metadata: { continue?: string };
  status: string;
  message: string;
  reason: string;
  code: number;
  details?: { name?: string; kind?: string; uid?: string };
}

export interface ApiResponse<T> {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The JSON answer, read as T; undefined when it is not JSON. */
  body: T;
}

export interface ApiRequest {
  body?: unknown;
  /** Sent as is instead of `body` (malformed JSON). */
  raw?: string;
  contentType?: string;
  accept?: string;
  /** Default: the emulator's current token; null sends no Authorization header. */
  token?: string | null;
  /** More headers (Impersonate-User...). */
  headers?: Record<string, string>;
}

export async function currentToken(emulator: Emulator): Promise<string> {
  return readFile(emulator.tokenPath, 'utf8');
}

/** One HTTPS request to the emulator, verified against its CA. */
export async function api<T = WireNode>(emulator: Emulator, method: string, path: string, options: ApiRequest = {}): Promise<ApiResponse<T>> {
  const token = options.token === undefined ? await currentToken(emulator) : options.token;
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = { ...options.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (payload !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    // Node sends DELETE bodies unframed unless told their length.
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  if (options.accept !== undefined) headers.accept = options.accept;
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, emulator.url), { method, headers, ca: emulator.caPem, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          // Non-JSON answers (healthz) are read through `text`.
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, body: body as T });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** One emulator for a whole describe block: started before its tests, stopped after them. */
export function suiteEmulator(options: Partial<EmulatorOptions> = {}): () => Emulator {
  let emulator: Emulator | undefined;
  const cleanups: (() => unknown)[] = [];
  before(async () => {
    emulator = await startTestEmulator({ after: (fn) => cleanups.push(fn) }, options);
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  return () => {
    if (emulator === undefined) throw new Error('the suite emulator has not started');
    return emulator;
  };
}

/** ERROR events carry a Status instead of a Node. */
export interface WatchEvent {
  type: string;
  object: WireNode & { code?: number; reason?: string; message?: string };
}

/** A watch stream read line by line; events are kept in order for the test to consume. */
export class WatchStream {
  readonly events: WatchEvent[] = [];
  readonly ended: Promise<void>;
  private consumed = 0;
  private wake: (() => void) | null = null;
  private isEnded = false;
  private readonly destroy: () => void;

  constructor(destroy: () => void, ended: Promise<void>) {
    this.destroy = destroy;
    this.ended = ended.finally(() => {
      this.isEnded = true;
      this.wake?.();
    });
  }

  get hasEnded(): boolean {
    return this.isEnded;
  }

  push(event: WatchEvent): void {
    this.events.push(event);
    this.wake?.();
  }

  /** The next unconsumed event, waiting up to `timeoutMs`; rejects if the stream ends first. */
  async next(timeoutMs = 5000): Promise<WatchEvent> {
    const deadline = Date.now() + timeoutMs;
    while (this.consumed >= this.events.length) {
      if (this.isEnded) throw new Error(`watch ended after ${this.events.length} events`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no watch event within ${timeoutMs} ms (got ${this.events.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    return this.events[this.consumed++] as WatchEvent;
  }

  /** Skips to the first unconsumed event that satisfies `match`. */
  async until(match: (event: WatchEvent) => boolean, timeoutMs = 5000): Promise<WatchEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const event = await this.next(Math.max(1, deadline - Date.now()));
      if (match(event)) return event;
    }
  }

  close(): void {
    this.destroy();
  }
}

/** Opens `GET /api/v1/nodes?watch=1&<query>`; resolves once the response headers arrive. */
export async function openWatch(emulator: Emulator, query: string, t?: Cleanups): Promise<WatchStream> {
  return openWatchAt(emulator, '/api/v1/nodes', query, t);
}

/** Opens a watch of the collection at `path` (with another user's token, another Accept header when given). */
export async function openWatchAt(emulator: Emulator, path: string, query: string, t?: Cleanups, token?: string, accept?: string): Promise<WatchStream> {
  const bearer = token ?? (await currentToken(emulator));
  const headers: Record<string, string> = { authorization: `Bearer ${bearer}` };
  if (accept !== undefined) headers.accept = accept;
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(`${path}?watch=1${query === '' ? '' : `&${query}`}`, emulator.url),
      { headers, ca: emulator.caPem, agent: false },
      (response) => {
        if (response.statusCode !== 200) {
          reject(new Error(`watch answered ${response.statusCode}`));
          response.resume();
          return;
        }
        let endStream: () => void = () => undefined;
        const ended = new Promise<void>((done) => {
          endStream = done;
        });
        const stream = new WatchStream(() => req.destroy(), ended);
        let buffered = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffered += chunk;
          let newline = buffered.indexOf('\n');
          while (newline >= 0) {
            stream.push(JSON.parse(buffered.slice(0, newline)) as WatchEvent);
            buffered = buffered.slice(newline + 1);
            newline = buffered.indexOf('\n');
          }
        });
        response.on('close', endStream);
        response.on('error', endStream);
        t?.after(() => stream.close());
        resolve(stream);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A small node for tests that do not need the realistic 15 KB. */
export function smallNode(name: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string>; podCIDR?: string } = {}): WireNode {
  return {
    metadata: { name, labels: extra.labels ?? {}, annotations: extra.annotations ?? {} } as WireMeta,
    spec: extra.podCIDR === undefined ? {} : { podCIDR: extra.podCIDR, podCIDRs: [extra.podCIDR] },
    status: {
      conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2025-01-01T00:00:00Z', lastTransitionTime: '2025-01-01T00:00:00Z' }],
      addresses: [{ type: 'InternalIP', address: '198.18.0.10' }],
    },
  };
}

/** The emulator's in-process methods return plain objects; tests read them as Nodes. */
export function asNode(value: object | undefined): WireNode {
  if (value === undefined) throw new Error('expected a node');
  return value as WireNode;
}

export interface EmulatorProcess {
  child: ChildProcess;
  endpoints: EmulatorEndpoints;
  control: ControlClient;
  caPem: string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/**
 * Runs lab/emulator/main.ts as its own process, as the lab does, and waits
 * for its ready line. The process is sent SIGTERM at cleanup if still running.
 */
export async function spawnEmulator(t: Cleanups, extraArgs: string[] = []): Promise<EmulatorProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'cw-emulator-main-'));
  const socket = join(dir, 'control.sock');
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, '../../lab/emulator/main.ts'), '--dir', join(dir, 'cluster'), '--host', '127.0.0.1', '--port', '0', '--ca-port', '0', '--control-socket', socket, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const newline = out.indexOf('\n');
      if (newline >= 0) {
        child.stdout?.off('data', onData);
        resolve(out.slice(0, newline));
      }
    };
    child.stdout?.on('data', onData);
    exited.then((code) => reject(new Error(`emulator exited ${code} before it was ready: ${stderr}`)), reject);
  });
  const endpoints = parseReadyLine(line);
  const caPem = await readFile(join(dir, 'cluster', 'ca.crt'), 'utf8');
  return { child, endpoints, control: new ControlClient(socket), caPem, exited };
}

/** An HTTPS GET against a spawned emulator with its current token. */
export async function getFromProcess(emulator: EmulatorProcess, path: string): Promise<{ status: number; text: string }> {
  const token = await readFile(emulator.endpoints.tokenPath, 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, emulator.endpoints.url), { headers: { authorization: `Bearer ${token}` }, ca: emulator.caPem, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The PeerSlice CRD test fixture (fixtures/peerslices-crd.yaml), as an object. */
export async function peerSliceCrd(): Promise<Record<string, unknown>> {
  return parseYaml(await readFile(join(import.meta.dirname, 'fixtures', 'peerslices-crd.yaml'), 'utf8')) as Record<string, unknown>;
}

/**
 * The project's own client (src/kube/client.ts) for the emulator, with the
 * admin token or another one (a service account's), closed when the test ends.
 */
export async function projectClient(t: Cleanups, emulator: Emulator, token?: string): Promise<KubeClient> {
  let tokenPath = emulator.tokenPath;
  if (token !== undefined) {
    const dir = await mkdtemp(join(tmpdir(), 'cw-emulator-token-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    tokenPath = join(dir, 'token');
    await writeFile(tokenPath, token, { mode: 0o600 });
  }
  const client = createKubeClient({
    cluster: 'emulated',
    settings: connectionSettings({ kind: 'token', apiURL: emulator.url, caURL: emulator.caURL, tokenPath }),
    requests: createMetrics(new Registry()).kubeHttpRequests,
  });
  t.after(() => client.close());
  return client;
}

/** A watch through the project's client: its lines, parsed, as they come. */
export async function projectWatch(t: Cleanups, client: KubeClient, path: string, query: Record<string, string>): Promise<WatchStream> {
  const controller = new AbortController();
  const body = await client.stream({ method: 'GET', path, query: { ...query, watch: '1' }, signal: controller.signal });
  let endStream: () => void = () => undefined;
  const ended = new Promise<void>((done) => {
    endStream = done;
  });
  const stream = new WatchStream(() => controller.abort(), ended);
  const lines = new LineSplitter();
  body.on('data', (chunk: Buffer) => {
    for (const line of lines.push(chunk)) stream.push(JSON.parse(line) as WatchEvent);
  });
  body.on('close', endStream);
  body.on('error', endStream);
  t.after(() => stream.close());
  return stream;
}
