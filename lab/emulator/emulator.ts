import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger, type Logger } from '../../src/log.ts';
import { createApiHandler, type RequestCounters } from './api-handler.ts';
import { bootstrap } from './bootstrap.ts';
import { createServingCertificates } from './certificates.ts';
import { controllers } from './controllers.ts';
import { CONFIGMAPS, NAMESPACES, NODES, SECRETS, SERVICE_ACCOUNTS } from './core-types.ts';
import { CUSTOM_RESOURCE_DEFINITIONS } from './crd-type.ts';
import { Heartbeats } from './heartbeats.ts';
import { isJsonObject, text, type JsonObject, type JsonValue } from './json.ts';
import { hostPortURL, renderKubeconfig } from './kubeconfig.ts';
import { LEASES } from './lease-type.ts';
import { ObjectApi } from './object-api.ts';
import { objectName } from './object-meta.ts';
import { withTypeMeta, type ObjectRecord } from './object-record.ts';
import type { PatchType } from './patch.ts';
import { CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ROLE_BINDINGS, ROLES } from './rbac-types.ts';
import { Registry, type Resource } from './registry.ts';
import { RequestLog, type OpenWatches, type RequestRecord } from './request-log.ts';
import { typeMetaOf } from './resource-type.ts';
import { Revision } from './revision.ts';
import { objectSelector } from './selectors.ts';
import { ServiceAccountTokens } from './service-account-tokens.ts';
import { errors } from './status.ts';
import { seedNode } from './nodes.ts';
import { TokenIssuer } from './tokens.ts';

export interface EmulatorOptions {
  /** Writes ca.crt, the server certificate and key, kubeconfig, token and tokens.csv here. */
  dir: string;
  /** HTTPS bind address, default '127.0.0.1'. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Plain-HTTP CA server port on the same host, default 0. */
  caPort?: number;
  /** Events kept per resource for watch resume, default 1000. */
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

/** An object by apiVersion and kind, as manifests name them. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  /** For namespaced kinds. */
  namespace?: string;
  name: string;
}

export interface ListRef {
  apiVersion: string;
  kind: string;
  /** Omitted: every namespace. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

export interface Emulator {
  /** https://host:port */
  readonly url: string;
  /** http://host:caPort/ca.crt */
  readonly caURL: string;
  readonly caPem: string;
  /** dir/ca.crt */
  readonly caFile: string;
  /** Token auth (tokenFile), CA file, server URL; the user is in system:masters. */
  readonly kubeconfigPath: string;
  /** The currently valid admin token, like a projected service account token. */
  readonly tokenPath: string;
  rotateToken(options?: RotateTokenOptions): Promise<string>;
  /**
   * Any served kind (CRDs included), through the same rules as the API:
   * validation, namespaces, controllers. Objects carry apiVersion and kind;
   * namespaced ones metadata.namespace. Failures throw ApiError.
   */
  create(object: object): object;
  /** A PUT of the main resource (status is kept where a status subresource exists). */
  update(object: object): object;
  /** A PUT of the status subresource. */
  updateStatus(object: object): object;
  get(ref: ObjectRef): object | undefined;
  list(ref: ListRef): object[];
  /** Default: JSON merge patch. */
  patch(ref: ObjectRef, patch: unknown, type?: PatchType): object;
  delete(ref: ObjectRef, preconditions?: Preconditions): void;
  createNode(node: object): object;
  /** Creates a node without validating it, as a hostile or broken apiserver would serve it. */
  injectNode(node: object): object;
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
  /** Requests served after sequence number `after` (default: all kept), oldest first. */
  requestLog(after?: number): RequestRecord[];
  /** Watches open now, by user and resource. */
  openWatches(): OpenWatches[];
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

/**
 * How to close `server` for good: stop listening and end every TCP connection it accepted. closeAllConnections()
 * alone misses a client still in its TLS handshake (not yet an HTTP connection); server.close() then waits for it, and
 * a daemon reconnecting in that window keeps an outage from ever ending.
 */
function closer(server: HttpServer | HttpsServer): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return () =>
    new Promise((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      // The callback's error only says "not running", which is what is wanted.
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
}

/** Where clients connect when the server binds every address. */
function clientHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

const BUILT_IN_TYPES = [NODES, NAMESPACES, CONFIGMAPS, SECRETS, SERVICE_ACCOUNTS, LEASES, ROLES, ROLE_BINDINGS, CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, CUSTOM_RESOURCE_DEFINITIONS];

function wireObject(resource: Resource, version: string, record: ObjectRecord): object {
  return JSON.parse(withTypeMeta(typeMetaOf(resource.type, version), record.json)) as object;
}

function fieldOf(object: object, field: 'apiVersion' | 'kind'): string {
  const value = (object as Record<string, unknown>)[field];
  if (typeof value !== 'string' || value === '') throw errors.badRequest(`the object has no ${field}`);
  return value;
}

function namespaceOf(object: object): string {
  const metadata = (object as { metadata?: JsonValue }).metadata;
  return isJsonObject(metadata) ? text(metadata.namespace) : '';
}

export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? createLogger('silent');
  const dir = options.dir;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certificates = await createServingCertificates(dir, host);
  const tokens = new TokenIssuer(join(dir, 'token'), join(dir, 'tokens.csv'));
  await tokens.rotate();

  const registry = new Registry({
    revision: new Revision(),
    historyLimit: options.historyLimit ?? 1000,
    now: Date.now,
    watch: { bookmarkIntervalMs: options.bookmarkIntervalMs ?? 5000, maxQueuedBytes: MAX_QUEUED_BYTES_PER_WATCHER },
  });
  for (const type of BUILT_IN_TYPES) registry.register(type);
  const api = new ObjectApi(registry, Date.now);
  const accountTokens = new ServiceAccountTokens();
  api.setReactor(controllers({ registry, api, tokens: accountTokens, caPem: certificates.caPem, now: Date.now, logger }));
  bootstrap(registry, api);
  const nodes = registry.byResource('', 'nodes') as Resource;
  const counters: RequestCounters = { requests: 0, bytesSent: 0, byVerb: {} };
  const log = new RequestLog();
  const heartbeats = new Heartbeats(nodes.store, Date.now);

  // kube-apiserver closes a connection after 90 s idle (its http.Server IdleTimeout); Node's default
  // of 5 s would make a client that reads every 30 s (the daemon's Lease read) handshake TLS each time.
  const server = createHttpsServer({ key: await readFile(certificates.keyFile), cert: await readFile(certificates.certFile), keepAliveTimeout: 90_000 });
  const closeServer = closer(server);
  const caServer = createHttpServer((request, response) => {
    if (request.method === 'GET' && request.url === '/ca.crt') {
      response.writeHead(200, { 'Content-Type': 'application/x-pem-file' });
      response.end(certificates.caPem);
    } else {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('404 page not found\n');
    }
  });
  const closeCaServer = closer(caServer);
  let port: number;
  let caPort: number;
  try {
    port = await listen(server, options.port ?? 0, host);
    caPort = await listen(caServer, options.caPort ?? 0, host);
  } catch (error) {
    registry.stop();
    await Promise.all([closeServer(), closeCaServer()]);
    throw error;
  }
  const connectHost = clientHost(host);
  const url = hostPortURL('https', connectHost, port);
  server.on(
    'request',
    createApiHandler({
      registry,
      api,
      tokens: accountTokens,
      tokensFile: tokens.tokensFile,
      counters,
      log,
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

  /** The resource and version an object or reference names; 404 as kube answers an unknown kind. */
  const resolve = (apiVersion: string, kind: string) => {
    const found = registry.byKind(apiVersion, kind);
    if (found === undefined) throw errors.notFoundKind(apiVersion, kind);
    return found;
  };
  const write = (object: object, scope: '' | 'status') => {
    const { resource, version } = resolve(fieldOf(object, 'apiVersion'), fieldOf(object, 'kind'));
    const record = api.update(resource, version, namespaceOf(object), objectName(object as JsonObject), object as JsonObject, scope);
    return wireObject(resource, version, record);
  };
  const nodeWire = (record: ObjectRecord) => wireObject(nodes, 'v1', record);

  const emulator: Emulator = {
    url,
    caURL: hostPortURL('http', connectHost, caPort, '/ca.crt'),
    caPem: certificates.caPem,
    caFile: certificates.caFile,
    kubeconfigPath,
    tokenPath: tokens.tokenPath,
    rotateToken: (rotation = {}) => tokens.rotate(rotation.graceMs ?? 0),
    create: (object) => {
      const { resource, version } = resolve(fieldOf(object, 'apiVersion'), fieldOf(object, 'kind'));
      return wireObject(resource, version, api.create(resource, version, namespaceOf(object), object as JsonObject));
    },
    update: (object) => write(object, ''),
    updateStatus: (object) => write(object, 'status'),
    get: (ref) => {
      const { resource, version } = resolve(ref.apiVersion, ref.kind);
      const record = resource.store.get(resource.type.namespaced ? (ref.namespace ?? '') : '', ref.name);
      return record === undefined ? undefined : wireObject(resource, version, record);
    },
    list: (ref) => {
      const { resource, version } = resolve(ref.apiVersion, ref.kind);
      const predicate = objectSelector(ref.labelSelector ?? '', ref.fieldSelector ?? '', resource.type.fields);
      return resource.store
        .list(ref.namespace ?? '')
        .filter((record) => predicate === null || predicate(record.object))
        .map((record) => wireObject(resource, version, record));
    },
    patch: (ref, patch, type = 'merge') => {
      const { resource, version } = resolve(ref.apiVersion, ref.kind);
      const namespace = resource.type.namespaced ? (ref.namespace ?? '') : '';
      return wireObject(resource, version, api.patch(resource, version, namespace, ref.name, type, patch as JsonValue, ''));
    },
    delete: (ref, preconditions = {}) => {
      const { resource } = resolve(ref.apiVersion, ref.kind);
      const namespace = resource.type.namespaced ? (ref.namespace ?? '') : '';
      api.delete(resource, namespace, ref.name, {
        ...(preconditions.uid === undefined ? {} : { uid: preconditions.uid }),
        ...(preconditions.resourceVersion === undefined ? {} : { resourceVersion: Number(preconditions.resourceVersion) }),
      });
    },
    createNode: (node) => nodeWire(api.create(nodes, 'v1', '', node as JsonObject)),
    injectNode: (node) => nodeWire(api.create(nodes, 'v1', '', node as JsonObject, { unchecked: true })),
    updateNode: (node) => nodeWire(api.update(nodes, 'v1', '', objectName(node as JsonObject), node as JsonObject, 'whole')),
    deleteNode: (name) => {
      api.delete(nodes, '', name);
    },
    getNode: (name) => {
      const record = nodes.store.get('', name);
      return record === undefined ? undefined : nodeWire(record);
    },
    listNodes: () => nodes.store.list().map(nodeWire),
    patchNode: (name, mergePatch) => nodeWire(api.patch(nodes, 'v1', '', name, 'merge', mergePatch as JsonObject, 'whole')),
    seedNodes: (count, make = (i) => seedNode({}, i)) => {
      const end = seeded + count;
      for (; seeded < end; seeded++) api.create(nodes, 'v1', '', make(seeded) as JsonObject);
    },
    startHeartbeats: (eventsPerSecond) => heartbeats.start(eventsPerSecond),
    stopHeartbeats: () => heartbeats.stop(),
    compactHistory: () => {
      for (const resource of registry.all()) resource.store.compact();
    },
    expireWatches: () => {
      for (const resource of registry.all()) resource.store.compact();
      for (const resource of registry.all()) resource.hub.expireAll();
    },
    outage: async (ms) => {
      for (const resource of registry.all()) resource.hub.abortAll();
      await closeServer();
      try {
        await delay(ms, undefined, { signal: stopping.signal });
      } catch (error) {
        if (stopping.signal.aborted) return;
        throw error;
      }
      await listen(server, port, host);
    },
    counters: () => ({
      ...counters,
      byVerb: { ...counters.byVerb },
      watchesOpen: registry.all().reduce((sum, resource) => sum + resource.hub.open, 0),
    }),
    requestLog: (after = 0) => log.entries(after),
    openWatches: () => log.openWatches(),
    stop: async () => {
      stopping.abort();
      heartbeats.stop();
      tokens.stop();
      registry.stop();
      await Promise.all([closeServer(), closeCaServer()]);
    },
  };
  return emulator;
}
