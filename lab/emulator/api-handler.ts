import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../src/log.ts';
import { authenticate, authorize, readTokenFile } from './auth.ts';
import { API_GROUP_LIST, apiVersions, CORE_V1_RESOURCES, SERVER_VERSION } from './discovery.ts';
import { readJsonBody, sendJson, sendParts, sendStatus, apiHeaders, type CountBytes } from './http-io.ts';
import { isJsonObject, objectAt, type JsonObject } from './json.ts';
import { listNodes } from './list-nodes.ts';
import { negotiate, type Representation } from './negotiation.ts';
import { decodeNode, nodeName } from './node-object.ts';
import { applyNodePatch, patchTypeOf, scopeWrite } from './node-patch.ts';
import { recordWireJson, type NodeRecord } from './node-record.ts';
import type { NodeStore } from './node-store.ts';
import { tableJson, tableRow, tableWatchRenderer, type IncludeObject } from './node-table.ts';
import { requestInfo, type NodeVerb } from './request-info.ts';
import { nodeSelector, type NodePredicate } from './selectors.ts';
import { ApiError, deletedStatus, errors } from './status.ts';
import type { WatchHub } from './watch-hub.ts';

export interface RequestCounters {
  requests: number;
  bytesSent: number;
  byVerb: Record<string, number>;
}

export interface ApiContext {
  store: NodeStore;
  hub: WatchHub;
  /** Static token file, read on every request. */
  tokensFile: string;
  counters: RequestCounters;
  /** host:port clients reach the API at, for /api's serverAddressByClientCIDRs. */
  serverAddress: string;
  now: () => number;
  logger: Logger;
}

/** Without timeoutSeconds the apiserver picks a watch lifetime in [minRequestTimeout, 2x) (1800 s). */
const MIN_REQUEST_TIMEOUT_MS = 1_800_000;

interface Exchange {
  context: ApiContext;
  request: IncomingMessage;
  response: ServerResponse;
  query: URLSearchParams;
  count: CountBytes;
}

export function createApiHandler(context: ApiContext): (request: IncomingMessage, response: ServerResponse) => void {
  const count: CountBytes = (bytes) => {
    context.counters.bytesSent += bytes;
  };
  return (request, response) => {
    handle(context, request, response, count).catch((error: unknown) => {
      context.logger.error({ err: error, method: request.method, url: request.url }, 'emulator: request failed');
      if (!response.headersSent) sendStatus(response, errors.internal((error as Error).message), count);
      else response.destroy();
    });
  };
}

async function handle(context: ApiContext, request: IncomingMessage, response: ServerResponse, count: CountBytes): Promise<void> {
  const url = new URL(request.url ?? '/', 'https://emulator.invalid');
  const method = request.method ?? 'GET';
  const info = requestInfo(method, url.pathname, url.searchParams);
  const { counters } = context;
  counters.requests++;
  const verbKey = info.kind === 'nonResource' ? 'discovery' : info.verb;
  counters.byVerb[verbKey] = (counters.byVerb[verbKey] ?? 0) + 1;
  const exchange: Exchange = { context, request, response, query: url.searchParams, count };
  try {
    const identity = authenticate(request.headers.authorization, await readTokenFile(context.tokensFile));
    if (identity instanceof ApiError) throw identity;
    const access =
      info.kind === 'nonResource'
        ? { path: url.pathname, verb: info.verb }
        : { path: url.pathname, verb: info.verb, resource: 'nodes' as const, ...('name' in info && info.name !== undefined ? { name: info.name } : {}) };
    const denied = authorize(identity, access);
    if (denied !== null) throw denied;
    switch (info.kind) {
      case 'nonResource':
        serveNonResource(exchange, url.pathname);
        return;
      case 'notAllowed':
        throw errors.methodNotAllowed();
      case 'notFound':
        throw errors.pathNotFound();
      case 'nodes':
        await serveNodes(exchange, info.verb, info.name ?? '', info.subresource === 'status' ? 'status' : 'main');
    }
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (response.headersSent) response.end();
    else sendStatus(response, error, count);
  }
}

function serveNonResource({ context, response, count }: Exchange, path: string): void {
  const documents: Record<string, object> = {
    '/version': SERVER_VERSION,
    '/api': apiVersions(context.serverAddress),
    '/api/v1': CORE_V1_RESOURCES,
    '/apis': API_GROUP_LIST,
  };
  const document = documents[path];
  if (document !== undefined) {
    sendJson(response, 200, JSON.stringify(document), count);
  } else if (path === '/healthz' || path === '/livez' || path === '/readyz') {
    count(2);
    response.writeHead(200, apiHeaders('text/plain; charset=utf-8'));
    response.end('ok');
  } else {
    throw errors.pathNotFound();
  }
}

async function serveNodes(exchange: Exchange, verb: NodeVerb, name: string, subresource: 'main' | 'status'): Promise<void> {
  const writes: NodeVerb[] = ['create', 'update', 'patch', 'delete'];
  if (writes.includes(verb) && exchange.query.has('dryRun')) throw errors.badRequest('dryRun is not supported by the emulator');
  switch (verb) {
    case 'list':
      return serveList(exchange);
    case 'watch':
      return serveWatch(exchange);
    case 'get':
      return serveGet(exchange, name);
    case 'create':
      return serveCreate(exchange);
    case 'update':
      return serveUpdate(exchange, name, subresource);
    case 'patch':
      return servePatch(exchange, name, subresource);
    case 'delete':
      return serveDelete(exchange, name);
  }
}

function representation(exchange: Exchange, tableAllowed: boolean): Representation {
  const chosen = negotiate(exchange.request.headers.accept, tableAllowed);
  if (chosen === null) throw errors.notAcceptable();
  return chosen;
}

function includeObject(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject') ?? 'Metadata';
  if (value !== 'None' && value !== 'Metadata' && value !== 'Object') {
    throw errors.badRequest(`includeObject: Unsupported value: "${value}": supported values: "None", "Metadata", "Object"`);
  }
  return value;
}

function selector(query: URLSearchParams): NodePredicate | null {
  try {
    return nodeSelector(query.get('labelSelector') ?? '', query.get('fieldSelector') ?? '');
  } catch (error) {
    throw errors.badRequest((error as Error).message);
  }
}

function nonNegativeInteger(query: URLSearchParams, name: string): number | null {
  const text = query.get(name);
  if (text === null || text === '') return null;
  if (!/^\d+$/.test(text)) throw errors.badRequest(`${name}: Invalid value: "${text}": must be a non-negative integer`);
  return Number(text);
}

function* listParts(metadata: JsonObject, items: NodeRecord[]): Generator<string> {
  yield `{"kind":"NodeList","apiVersion":"v1","metadata":${JSON.stringify(metadata)},"items":[`;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) yield ',';
    yield (items[i] as NodeRecord).json;
  }
  yield ']}';
}

async function serveList(exchange: Exchange): Promise<void> {
  const { context, query, response, count } = exchange;
  const shape = representation(exchange, true);
  const page = listNodes(context.store, {
    resourceVersion: query.get('resourceVersion') ?? '',
    resourceVersionMatch: query.get('resourceVersionMatch') ?? '',
    limit: nonNegativeInteger(query, 'limit'),
    continueToken: query.get('continue') ?? '',
    predicate: selector(query),
  });
  const metadata: JsonObject = { resourceVersion: String(page.resourceVersion) };
  if (page.continueToken !== null) metadata.continue = page.continueToken;
  if (page.remainingItemCount !== null) metadata.remainingItemCount = page.remainingItemCount;
  if (shape.kind === 'json') {
    await sendParts(response, 200, listParts(metadata, page.items), count);
    return;
  }
  const include = includeObject(query);
  const now = context.now();
  const rows = page.items.map((record) => tableRow(record.object, recordWireJson(record), include, shape.version, now));
  sendJson(response, 200, tableJson(metadata, rows, shape.version), count);
}

function serveWatch(exchange: Exchange): void {
  const { context, query, response } = exchange;
  const shape = representation(exchange, true);
  const rvText = query.get('resourceVersion') ?? '';
  if (rvText !== '' && !/^\d+$/.test(rvText)) throw errors.badRequest(`invalid resource version: ${rvText}`);
  const predicate = selector(query);
  const timeoutSeconds = nonNegativeInteger(query, 'timeoutSeconds') ?? 0;
  const timeoutMs = timeoutSeconds > 0 ? timeoutSeconds * 1000 : MIN_REQUEST_TIMEOUT_MS * (1 + Math.random());
  const render = shape.kind === 'table' ? tableWatchRenderer(includeObject(query), shape.version, context.now) : null;
  response.writeHead(200, apiHeaders());
  response.flushHeaders();
  const watcher = context.hub.watch(response, {
    resourceVersion: rvText === '' || rvText === '0' ? null : Number(rvText),
    predicate,
    bookmarks: query.get('allowWatchBookmarks') === 'true',
    timeoutMs,
    render,
  });
  // The response closes when the client goes away (the request's 'close' only means its body was read).
  if (watcher !== null) response.on('close', () => watcher.detach());
}

function serveGet(exchange: Exchange, name: string): void {
  const { context, query, response, count } = exchange;
  const shape = representation(exchange, true);
  const record = context.store.get(name);
  if (record === undefined) throw errors.notFound(name);
  if (shape.kind === 'json') {
    sendJson(response, 200, recordWireJson(record), count);
    return;
  }
  const row = tableRow(record.object, recordWireJson(record), includeObject(query), shape.version, context.now());
  sendJson(response, 200, tableJson({ resourceVersion: String(record.resourceVersion) }, [row], shape.version), count);
}

async function requiredBody(exchange: Exchange) {
  const body = await readJsonBody(exchange.request);
  if (body === undefined) throw errors.badRequest('the body of the request was empty');
  return body;
}

function requireSameName(node: JsonObject, name: string): void {
  const inBody = nodeName(node);
  if (inBody !== name) {
    throw errors.badRequest(`the name of the object (${inBody}) does not match the name on the URL (${name})`);
  }
}

async function serveCreate(exchange: Exchange): Promise<void> {
  representation(exchange, false);
  const record = exchange.context.store.create(decodeNode(await requiredBody(exchange)));
  sendJson(exchange.response, 201, recordWireJson(record), exchange.count);
}

async function serveUpdate(exchange: Exchange, name: string, subresource: 'main' | 'status'): Promise<void> {
  representation(exchange, false);
  const node = decodeNode(await requiredBody(exchange));
  requireSameName(node, name);
  const { store } = exchange.context;
  const old = store.get(name);
  if (old === undefined) throw errors.notFound(name);
  const record = store.update(name, scopeWrite(subresource, old.object, node));
  sendJson(exchange.response, 200, recordWireJson(record), exchange.count);
}

async function servePatch(exchange: Exchange, name: string, subresource: 'main' | 'status'): Promise<void> {
  representation(exchange, false);
  const type = patchTypeOf(exchange.request.headers['content-type'] ?? '');
  const patch = await requiredBody(exchange);
  const { store } = exchange.context;
  const old = store.get(name);
  if (old === undefined) throw errors.notFound(name);
  const patched = decodeNode(applyNodePatch(type, { kind: 'Node', apiVersion: 'v1', ...old.object }, patch));
  requireSameName(patched, name);
  const record = store.update(name, scopeWrite(subresource, old.object, patched));
  sendJson(exchange.response, 200, recordWireJson(record), exchange.count);
}

async function serveDelete(exchange: Exchange, name: string): Promise<void> {
  const options = await readJsonBody(exchange.request);
  const preconditions = isJsonObject(options) ? objectAt(options, 'preconditions') : {};
  const { store } = exchange.context;
  const old = store.get(name);
  if (old === undefined) throw errors.notFound(name);
  if (typeof preconditions.uid === 'string' && preconditions.uid !== old.uid) throw errors.conflict(name);
  const rv = preconditions.resourceVersion;
  if (rv !== undefined && rv !== null && (typeof rv !== 'string' || !/^\d+$/.test(rv))) {
    throw errors.badRequest(`preconditions.resourceVersion: Invalid value: ${JSON.stringify(rv)}`);
  }
  store.delete(name, typeof rv === 'string' ? Number(rv) : null);
  sendJson(exchange.response, 200, JSON.stringify(deletedStatus(name, old.uid)), exchange.count);
}
