import type { Exchange } from './exchange.ts';
import { readJsonBody, sendJson, sendParts, apiHeaders, warningHeaders } from './http-io.ts';
import { isJsonObject, objectAt, type JsonObject, type JsonValue } from './json.ts';
import { listObjects } from './list-objects.ts';
import { negotiate, type Representation } from './negotiation.ts';
import type { DeleteOptions, WriteOptions, WriteScope } from './object-api.ts';
import { metadataOnlyJson, typeMetaPrefix, withTypeMeta, type ObjectRecord } from './object-record.ts';
import { patchTypeOf } from './patch.ts';
import type { Resource } from './registry.ts';
import { apiVersionOf, hasSubresource, typeMetaOf, type FieldValidation, type ResourceType } from './resource-type.ts';
import type { ResourceRequest } from './request-info.ts';
import { allOf, objectSelector, type ObjectPredicate } from './selectors.ts';
import { deletedStatus, errors } from './status.ts';
import { tableJson, tableRow, tableWatchRenderer, type IncludeObject } from './tables.ts';
import { answerTokenRequest } from './token-request.ts';

/**
 * The REST verbs of a stored resource over HTTP: list (JSON or Table),
 * watch, get, create, update, patch, delete, deletecollection, the status
 * subresource, and serviceaccounts/token. Scope rules (which paths exist
 * for namespaced and cluster-scoped resources) are kube's.
 */

/** Without timeoutSeconds the apiserver picks a watch lifetime in [minRequestTimeout, 2x) (1800 s). */
const MIN_REQUEST_TIMEOUT_MS = 1_800_000;
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export async function serveResource(exchange: Exchange, info: ResourceRequest, resource: Resource): Promise<void> {
  const { type } = resource;
  const collection = info.verb === 'list' || info.verb === 'watch' || info.verb === 'create' || info.verb === 'deletecollection';
  // A namespace object is addressed as /api/v1/namespaces/<name>: its name is the request's namespace too.
  const isNamespaceObject = type.group === '' && type.resource === 'namespaces';
  const namespace = isNamespaceObject ? '' : info.namespace;
  if (!type.namespaced && !isNamespaceObject && info.namespace !== '') throw errors.pathNotFound();
  if (type.namespaced && namespace === '' && !(info.verb === 'list' || info.verb === 'watch')) {
    throw collection ? errors.methodNotAllowed() : errors.pathNotFound();
  }
  if (WRITE_VERBS.has(info.verb) && exchange.query.has('dryRun')) throw errors.badRequest('dryRun is not supported by the emulator');
  // Collections take list/watch/create/deletecollection, objects the other verbs; (a name from a field selector is not a path).
  if (info.subresource === '' && (info.verb === 'create' ? info.name !== '' : !collection && info.name === '')) throw errors.methodNotAllowed();
  const name = collection ? '' : info.name;
  switch (info.subresource) {
    case '':
      return serveMain(exchange, info, resource, namespace, name);
    case 'status':
      if (!hasSubresource(type, 'status')) throw errors.pathNotFound();
      return serveStatus(exchange, info, resource, namespace, name);
    case 'token':
      if (type.group !== '' || type.resource !== 'serviceaccounts') throw errors.pathNotFound();
      if (info.verb !== 'create') throw errors.methodNotAllowed();
      return serveTokenRequest(exchange, resource, namespace, info.name);
    default:
      throw errors.pathNotFound();
  }
}

async function serveMain(exchange: Exchange, info: ResourceRequest, resource: Resource, namespace: string, name: string): Promise<void> {
  switch (info.verb) {
    case 'list':
      return serveList(exchange, info, resource, namespace);
    case 'watch':
      return serveWatch(exchange, info, resource, namespace);
    case 'get':
      return serveGet(exchange, info, resource, namespace, name);
    case 'create':
      return serveCreate(exchange, info, resource, namespace);
    case 'update':
      return serveUpdate(exchange, info, resource, namespace, name, '');
    case 'patch':
      return servePatch(exchange, info, resource, namespace, name, '');
    case 'delete':
      return serveDelete(exchange, info, resource, namespace, name);
    case 'deletecollection':
      return serveDeleteCollection(exchange, info, resource, namespace);
    default:
      throw errors.methodNotAllowed();
  }
}

async function serveStatus(exchange: Exchange, info: ResourceRequest, resource: Resource, namespace: string, name: string): Promise<void> {
  switch (info.verb) {
    case 'get':
      return serveGet(exchange, info, resource, namespace, name);
    case 'update':
      return serveUpdate(exchange, info, resource, namespace, name, 'status');
    case 'patch':
      return servePatch(exchange, info, resource, namespace, name, 'status');
    default:
      throw errors.methodNotAllowed();
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

function fieldValidation(query: URLSearchParams): FieldValidation {
  const value = query.get('fieldValidation') ?? '';
  if (value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw errors.badRequest(`fieldValidation: Unsupported value: "${value}": supported values: "Ignore", "Strict", "Warn"`);
}

/** The namespace and the selectors of a list, watch or deletecollection. */
function predicate(exchange: Exchange, resource: Resource, namespace: string): ObjectPredicate | null {
  let selected: ObjectPredicate | null;
  try {
    selected = objectSelector(exchange.query.get('labelSelector') ?? '', exchange.query.get('fieldSelector') ?? '', resource.type.fields);
  } catch (error) {
    throw errors.badRequest((error as Error).message);
  }
  const inNamespace: ObjectPredicate | null =
    namespace === '' ? null : (object) => objectAt(object, 'metadata').namespace === namespace;
  return allOf(inNamespace, selected);
}

function nonNegativeInteger(query: URLSearchParams, name: string): number | null {
  const text = query.get(name);
  if (text === null || text === '') return null;
  if (!/^\d+$/.test(text)) throw errors.badRequest(`${name}: Invalid value: "${text}": must be a non-negative integer`);
  return Number(text);
}

function* listParts(head: string, metadata: JsonObject, items: ObjectRecord[], itemPrefix: string | null): Generator<string> {
  yield `${head},"metadata":${JSON.stringify(metadata)},"items":[`;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) yield ',';
    const json = (items[i] as ObjectRecord).json;
    yield itemPrefix === null ? json : withTypeMeta(itemPrefix, json);
  }
  yield ']}';
}

/** kube's asPartialObjectMetadataList: each item's metadata, with kind and apiVersion. */
function* metadataListParts(version: string, metadata: JsonObject, items: ObjectRecord[]): Generator<string> {
  yield `${typeMetaPrefix(version, 'PartialObjectMetadataList')}"metadata":${JSON.stringify(metadata)},"items":[`;
  const itemMeta = typeMetaPrefix(version, 'PartialObjectMetadata');
  for (let i = 0; i < items.length; i++) {
    if (i > 0) yield ',';
    yield metadataOnlyJson(itemMeta, (items[i] as ObjectRecord).object);
  }
  yield ']}';
}

/** The apiserver's internal Go type of an object, as its 406 messages name it: `core.Node`, `coordination.Lease`, `unstructured.Unstructured`. */
function internalType(type: ResourceType): string {
  if (type.custom) return 'unstructured.Unstructured';
  return `${type.group === '' ? 'core' : (type.group.split('.')[0] as string)}.${type.kind}`;
}

/** The object as a get or a write answers it: whole, or its metadata for `as=PartialObjectMetadata`; a list form fails as kube's transformation does. */
function objectJson(type: ResourceType, version: string, record: ObjectRecord, shape: Representation): string {
  if (shape.kind === 'metadata') return metadataOnlyJson(typeMetaPrefix(shape.version, 'PartialObjectMetadata'), record.object);
  if (shape.kind === 'metadata-list') throw errors.notAcceptable(`you requested PartialObjectMetadataList, but the requested object is not a list (*${internalType(type)})`);
  return withTypeMeta(typeMetaOf(type, version), record.json);
}

function listHead(resource: Resource, version: string): string {
  return `{"kind":${JSON.stringify(resource.type.listKind)},"apiVersion":${JSON.stringify(apiVersionOf(resource.type.group, version))}`;
}

async function serveList(exchange: Exchange, info: ResourceRequest, resource: Resource, namespace: string): Promise<void> {
  const { context, query, response, count } = exchange;
  const { type } = resource;
  const shape = representation(exchange, true);
  const page = listObjects(resource.store, {
    namespace,
    resourceVersion: query.get('resourceVersion') ?? '',
    resourceVersionMatch: query.get('resourceVersionMatch') ?? '',
    limit: nonNegativeInteger(query, 'limit'),
    continueToken: query.get('continue') ?? '',
    predicate: predicate(exchange, resource, ''),
  });
  const metadata: JsonObject = { resourceVersion: String(page.resourceVersion) };
  if (page.continueToken !== null) metadata.continue = page.continueToken;
  if (page.remainingItemCount !== null) metadata.remainingItemCount = page.remainingItemCount;
  const typeMeta = typeMetaOf(type, info.version);
  if (shape.kind === 'json') {
    // Unstructured lists (custom resources) carry kind/apiVersion on every item; typed lists do not.
    await sendParts(response, 200, listParts(listHead(resource, info.version), metadata, page.items, type.custom ? typeMeta : null), count);
    return;
  }
  if (shape.kind === 'metadata-list') {
    await sendParts(response, 200, metadataListParts(shape.version, metadata, page.items), count);
    return;
  }
  if (shape.kind === 'metadata') throw errors.notAcceptable(`you requested PartialObjectMetadata, but the requested object is a list (*${internalType(type)}List)`);
  const include = includeObject(query);
  const now = context.now();
  const rows = page.items.map((record) => tableRow(type.printer, record.object, withTypeMeta(typeMeta, record.json), include, shape.version, now));
  sendJson(response, 200, tableJson(type.printer, metadata, rows, shape.version), count);
}

function serveWatch(exchange: Exchange, info: ResourceRequest, resource: Resource, namespace: string): void {
  const { context, query, response, count } = exchange;
  const { type } = resource;
  const shape = representation(exchange, true);
  const rvText = query.get('resourceVersion') ?? '';
  if (rvText !== '' && !/^\d+$/.test(rvText)) throw errors.badRequest(`invalid resource version: ${rvText}`);
  const selected = predicate(exchange, resource, namespace);
  const timeoutSeconds = nonNegativeInteger(query, 'timeoutSeconds') ?? 0;
  const timeoutMs = timeoutSeconds > 0 ? timeoutSeconds * 1000 : MIN_REQUEST_TIMEOUT_MS * (1 + Math.random());
  const typeMeta = typeMetaOf(type, info.version);
  const render = shape.kind === 'table' ? tableWatchRenderer(type.printer, includeObject(query), shape.version, typeMeta, context.now) : null;
  // as=PartialObjectMetadataList cannot transform a watch's objects: kube logs that and sends them whole.
  const metadataOnly = shape.kind === 'metadata';
  response.writeHead(200, apiHeaders());
  response.flushHeaders();
  const watcher = resource.hub.watch(response, {
    resourceVersion: rvText === '' || rvText === '0' ? null : Number(rvText),
    predicate: selected,
    bookmarks: query.get('allowWatchBookmarks') === 'true',
    timeoutMs,
    render,
    typeMeta: metadataOnly ? typeMetaPrefix(shape.version, 'PartialObjectMetadata') : typeMeta,
    metadataOnly,
    countBytes: count,
  });
  // The response closes when the client goes away (the request's 'close' only means its body was read).
  if (watcher !== null) response.on('close', () => watcher.detach());
}

function serveGet(exchange: Exchange, info: ResourceRequest, resource: Resource, namespace: string, name: string): void {
  const { context, query, response, count } = exchange;
  const { type } = resource;
  const shape = representation(exchange, true);
  const record = resource.store.get(namespace, name);
  if (record === undefined) throw errors.notFound(type, name);
  if (shape.kind !== 'table') {
    sendJson(response, 200, objectJson(type, info.version, record, shape), count);
    return;
  }
  const wire = withTypeMeta(typeMetaOf(type, info.version), record.json);
  const row = tableRow(type.printer, record.object, wire, includeObject(query), shape.version, context.now());
  sendJson(response, 200, tableJson(type.printer, { resourceVersion: String(record.resourceVersion) }, [row], shape.version), count);
}

async function requiredBody(exchange: Exchange): Promise<JsonValue> {
  const body = await readJsonBody(exchange.request);
  if (body === undefined) throw errors.badRequest('the body of the request was empty');
  return body;
}

/** After the write, as kube answers it: a transformation that does not apply fails the answer, not the write. */
function sendRecord(exchange: Exchange, info: ResourceRequest, resource: Resource, code: number, record: ObjectRecord, warnings: string[], shape: Representation = { kind: 'json' }): void {
  sendJson(exchange.response, code, objectJson(resource.type, info.version, record, shape), exchange.count, warningHeaders(warnings));
}

function writeOptions(exchange: Exchange): WriteOptions & { warnings: string[] } {
  return { fieldValidation: fieldValidation(exchange.query), warnings: [] };
}

async function serveCreate(exchange: Exchange, info: ResourceRequest, resource: Resource, namespace: string): Promise<void> {
  const shape = representation(exchange, false);
  const options = writeOptions(exchange);
  const record = exchange.context.api.create(resource, info.version, namespace, await requiredBody(exchange), options);
  sendRecord(exchange, info, resource, 201, record, options.warnings, shape);
}

async function serveUpdate(exchange: Exchange, info: ResourceRequest, resource: Resource, namespace: string, name: string, scope: WriteScope): Promise<void> {
  const shape = representation(exchange, false);
  const options = writeOptions(exchange);
  const record = exchange.context.api.update(resource, info.version, namespace, name, await requiredBody(exchange), scope, options);
  sendRecord(exchange, info, resource, 200, record, options.warnings, shape);
}

async function servePatch(exchange: Exchange, info: ResourceRequest, resource: Resource, namespace: string, name: string, scope: WriteScope): Promise<void> {
  const shape = representation(exchange, false);
  const patchType = patchTypeOf(exchange.request.headers['content-type'] ?? '', resource.type.listStrategies !== null);
  const options = writeOptions(exchange);
  const record = exchange.context.api.patch(resource, info.version, namespace, name, patchType, await requiredBody(exchange), scope, options);
  sendRecord(exchange, info, resource, 200, record, options.warnings, shape);
}

function deletePreconditions(body: JsonValue | undefined): DeleteOptions {
  const preconditions = isJsonObject(body) ? objectAt(body, 'preconditions') : {};
  const result: DeleteOptions = {};
  if (typeof preconditions.uid === 'string' && preconditions.uid !== '') result.uid = preconditions.uid;
  const rv = preconditions.resourceVersion;
  if (rv !== undefined && rv !== null && rv !== '') {
    if (typeof rv !== 'string' || !/^\d+$/.test(rv)) throw errors.badRequest(`preconditions.resourceVersion: Invalid value: ${JSON.stringify(rv)}`);
    result.resourceVersion = Number(rv);
  }
  return result;
}

async function serveDelete(exchange: Exchange, info: ResourceRequest, resource: Resource, namespace: string, name: string): Promise<void> {
  const preconditions = deletePreconditions(await readJsonBody(exchange.request));
  const { record, gone } = exchange.context.api.delete(resource, namespace, name, preconditions);
  if (gone) sendJson(exchange.response, 200, JSON.stringify(deletedStatus(resource.type, name, record.uid)), exchange.count);
  else sendRecord(exchange, info, resource, 200, record, []);
}

async function serveDeleteCollection(exchange: Exchange, info: ResourceRequest, resource: Resource, namespace: string): Promise<void> {
  await readJsonBody(exchange.request);
  const deleted = exchange.context.api.deleteCollection(resource, namespace, predicate(exchange, resource, ''));
  const metadata = { resourceVersion: String(resource.store.resourceVersion) };
  const prefix = resource.type.custom ? typeMetaOf(resource.type, info.version) : null;
  await sendParts(exchange.response, 200, listParts(listHead(resource, info.version), metadata, deleted, prefix), exchange.count);
}

async function serveTokenRequest(exchange: Exchange, accounts: Resource, namespace: string, name: string): Promise<void> {
  const body = await readJsonBody(exchange.request);
  const account = accounts.store.get(namespace, name);
  if (account === undefined) throw errors.notFound(accounts.type, name);
  const answer = answerTokenRequest(body, { namespace, name, uid: account.uid }, exchange.context.tokens, exchange.context.now());
  sendJson(exchange.response, 201, JSON.stringify(answer), exchange.count);
}
