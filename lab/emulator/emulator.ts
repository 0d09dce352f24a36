import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger, type Logger } from '../../src/log.ts';
import { createApiHandler, type RequestCounters } from './api-handler.ts';
import { createServingCertificates } from './certificates.ts';
import { Heartbeats } from './heartbeats.ts';
import type { JsonObject } from './json.ts';
import { hostPortURL, renderKubeconfig } from './kubeconfig.ts';
import { applyMergePatch } from './merge-patch.ts';
import { decodeNode, nodeName } from './node-object.ts';
import { recordWireJson, type NodeRecord } from './node-record.ts';
import { NodeStore } from './node-store.ts';
import { seedNode } from './nodes.ts';
import { errors } from './status.ts';
import { TokenIssuer } from './tokens.ts';
import { WatchHub } from './watch-hub.ts';

export interface EmulatorOptions {
  /** Writes ca.crt, the server certificate and key, kubeconfig, token and tokens.csv here. */
  dir: string;
  /** HTTPS bind address, default '127.0.0.1'. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Plain-HTTP CA server port on the same host, default 0. */
  caPort?: number;
  /** Events kept for watch resume, default 1000. */
  historyLimit?: number;
  /** Used in the kubeconfig, default 'emulated'. */
  clusterName?: string;
  /** How often open watches that allow bookmarks get one, default 5000 (kube-apiserver: about a minute). */
  bookmarkIntervalMs?: number;
  /** Default: silent. */
  logger?: Logger;
}

export interface EmulatorCounters {
  requests: number;
  bytesSent: number;
  watchesOpen: number;
  byVerb: Record<string, number>;
}

export interface RotateTokenOptions {
  /** How long the previous token keeps working, default 0. */
  graceMs?: number;
}

export interface Emulator {
  /** https://host:port */
  readonly url: string;
  /** http://host:caPort/ca.crt */
  readonly caURL: string;
  readonly caPem: string;
  /** dir/ca.crt */
  readonly caFile: string;
  /** Token auth (tokenFile), CA file, server URL. */
  readonly kubeconfigPath: string;
  /** The currently valid token, like a projected service account token. */
  readonly tokenPath: string;
  rotateToken(options?: RotateTokenOptions): Promise<string>;
  createNode(node: object): object;
  updateNode(node: object): object;
  deleteNode(name: string): void;
  getNode(name: string): object | undefined;
  listNodes(): object[];
  /** JSON merge patch of the whole node (status included, unlike the API's main resource). */
  patchNode(name: string, mergePatch: object): object;
  /** Bulk create; node i is `make(i)` (default `seedNode({}, i)`), i counting on across calls. */
  seedNodes(count: number, make?: (i: number) => object): void;
  startHeartbeats(eventsPerSecond: number): void;
  stopHeartbeats(): void;
  compactHistory(): void;
  expireWatches(): void;
  outage(ms: number): Promise<void>;
  counters(): EmulatorCounters;
  stop(): Promise<void>;
}

/** Watchers that fall this far behind are closed, as the apiserver closes unresponsive watchers. */
const MAX_QUEUED_BYTES_PER_WATCHER = 64 * 1024 * 1024;

function listen(server: HttpServer | HttpsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(new Error(`emulator: listening on ${host}:${port}`, { cause: error }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: HttpServer | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    // The callback's error only says "not running", which is what is wanted.
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Where clients connect when the server binds every address. */
function clientHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function toObject(record: NodeRecord): object {
  return JSON.parse(recordWireJson(record)) as object;
}

export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? createLogger('silent');
  const dir = options.dir;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certificates = await createServingCertificates(dir, host);
  const tokens = new TokenIssuer(join(dir, 'token'), join(dir, 'tokens.csv'));
  await tokens.rotate();

  const store = new NodeStore({ historyLimit: options.historyLimit ?? 1000, now: Date.now });
  const counters: RequestCounters = { requests: 0, bytesSent: 0, byVerb: {} };
  const hub = new WatchHub(store, {
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 5000,
    maxQueuedBytes: MAX_QUEUED_BYTES_PER_WATCHER,
    countBytes: (bytes) => {
      counters.bytesSent += bytes;
    },
  });
  const heartbeats = new Heartbeats(store, Date.now);

  const server = createHttpsServer({ key: await readFile(certificates.keyFile), cert: await readFile(certificates.certFile) });
  const caServer = createHttpServer((request, response) => {
    if (request.method === 'GET' && request.url === '/ca.crt') {
      response.writeHead(200, { 'Content-Type': 'application/x-pem-file' });
      response.end(certificates.caPem);
    } else {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('404 page not found\n');
    }
  });
  let port: number;
  let caPort: number;
  try {
    port = await listen(server, options.port ?? 0, host);
    caPort = await listen(caServer, options.caPort ?? 0, host);
  } catch (error) {
    hub.stop();
    await Promise.all([close(server), close(caServer)]);
    throw error;
  }
  const connectHost = clientHost(host);
  const url = hostPortURL('https', connectHost, port);
  server.on(
    'request',
    createApiHandler({
      store,
      hub,
      tokensFile: tokens.tokensFile,
      counters,
      serverAddress: url.slice('https://'.length),
      now: Date.now,
      logger,
    }),
  );
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfigPath,
    renderKubeconfig({ clusterName: options.clusterName ?? 'emulated', server: url, caFile: certificates.caFile, tokenFile: tokens.tokenPath }),
    { mode: 0o600 },
  );

  const stopping = new AbortController();
  let seeded = 0;

  const emulator: Emulator = {
    url,
    caURL: hostPortURL('http', connectHost, caPort, '/ca.crt'),
    caPem: certificates.caPem,
    caFile: certificates.caFile,
    kubeconfigPath,
    tokenPath: tokens.tokenPath,
    rotateToken: (rotation = {}) => tokens.rotate(rotation.graceMs ?? 0),
    createNode: (node) => toObject(store.create(decodeNode(node as JsonObject))),
    updateNode: (node) => {
      const decoded = decodeNode(node as JsonObject);
      return toObject(store.update(nodeName(decoded), decoded));
    },
    deleteNode: (name) => {
      store.delete(name);
    },
    getNode: (name) => {
      const record = store.get(name);
      return record === undefined ? undefined : toObject(record);
    },
    listNodes: () => store.list().map(toObject),
    patchNode: (name, mergePatch) => {
      const old = store.get(name);
      if (old === undefined) throw errors.notFound(name);
      const patched = decodeNode(applyMergePatch({ kind: 'Node', apiVersion: 'v1', ...old.object }, mergePatch as JsonObject));
      if (nodeName(patched) !== name) throw errors.badRequest(`a patch of node ${name} cannot rename it`);
      return toObject(store.update(name, patched));
    },
    seedNodes: (count, make = (i) => seedNode({}, i)) => {
      const end = seeded + count;
      for (; seeded < end; seeded++) store.create(decodeNode(make(seeded) as JsonObject));
    },
    startHeartbeats: (eventsPerSecond) => heartbeats.start(eventsPerSecond),
    stopHeartbeats: () => heartbeats.stop(),
    compactHistory: () => store.compact(),
    expireWatches: () => hub.expireAll(),
    outage: async (ms) => {
      hub.abortAll();
      await close(server);
      try {
        await delay(ms, undefined, { signal: stopping.signal });
      } catch (error) {
        if (stopping.signal.aborted) return;
        throw error;
      }
      await listen(server, port, host);
    },
    counters: () => ({ ...counters, byVerb: { ...counters.byVerb }, watchesOpen: hub.open }),
    stop: async () => {
      stopping.abort();
      heartbeats.stop();
      tokens.stop();
      hub.stop();
      await Promise.all([close(server), close(caServer)]);
    },
  };
  return emulator;
}
