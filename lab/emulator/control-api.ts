import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../../src/log.ts';
import type { Emulator, ObjectRef } from './emulator.ts';
import { readJsonBody } from './http-io.ts';
import { isJsonObject, type JsonObject, type JsonValue } from './json.ts';
import { seedNode, type SeedSpec } from './nodes.ts';
import { ApiError, errors } from './status.ts';

/**
 * The emulator's control methods as JSON over HTTP on a unix socket, so a
 * lab can drive an emulator running in another network namespace.
 *
 *   GET    /info                  endpoints (url, caURL, kubeconfigPath, tokenPath, caFile)
 *   GET    /nodes, /nodes/NAME    list / get (404 when absent)
 *   POST   /nodes                 create (body: Node)
 *   PUT    /nodes/NAME            update (body: Node)
 *   PATCH  /nodes/NAME            JSON merge patch of the whole node
 *   DELETE /nodes/NAME            delete
 *   POST   /seed                  {count, spec?: SeedSpec}
 *   POST   /heartbeats            {eventsPerSecond}; DELETE /heartbeats stops them
 *   POST   /compact, /expire-watches
 *   POST   /outage                {ms}; answers once the API serves again
 *   POST   /rotate-token          {graceMs?}; the new token is in tokenPath, never in the answer
 *   GET    /counters
 *   GET    /requests?after=SEQ    the request log after a sequence number
 *   GET    /watches               open watches by user and resource
 *
 * Any kind the emulator serves (CRDs included), named by query
 * parameters apiVersion, kind, namespace, name:
 *   POST   /objects               create (body: the object, with apiVersion and kind)
 *   PUT    /objects, /objects/status   update the main resource or the status (body: the object)
 *   GET    /objects?...           get when `name` is given (404 when absent), else list (labelSelector, fieldSelector)
 *   PATCH  /objects?...&type=merge|json|strategic   patch (default merge)
 *   DELETE /objects?...[&uid=&resourceVersion=]    delete with preconditions
 */
export type ControlAction =
  | {
      kind:
        | 'info'
        | 'listNodes'
        | 'createNode'
        | 'seed'
        | 'startHeartbeats'
        | 'stopHeartbeats'
        | 'compact'
        | 'expireWatches'
        | 'outage'
        | 'rotateToken'
        | 'counters'
        | 'requests'
        | 'watches'
        | 'createObject'
        | 'updateObject'
        | 'updateObjectStatus'
        | 'getObjects'
        | 'patchObject'
        | 'deleteObject';
    }
  | { kind: 'getNode' | 'updateNode' | 'patchNode' | 'deleteNode'; name: string };

export function controlAction(method: string, path: string): ControlAction | null {
  const node = /^\/nodes\/([^/]+)$/.exec(path);
  if (node !== null) {
    const name = decodeURIComponent(node[1] ?? '');
    const kinds: Record<string, 'getNode' | 'updateNode' | 'patchNode' | 'deleteNode'> = {
      GET: 'getNode',
      PUT: 'updateNode',
      PATCH: 'patchNode',
      DELETE: 'deleteNode',
    };
    const kind = kinds[method];
    return kind === undefined ? null : { kind, name };
  }
  const routes: Record<string, ControlAction['kind']> = {
    'GET /info': 'info',
    'GET /nodes': 'listNodes',
    'POST /nodes': 'createNode',
    'POST /seed': 'seed',
    'POST /heartbeats': 'startHeartbeats',
    'DELETE /heartbeats': 'stopHeartbeats',
    'POST /compact': 'compact',
    'POST /expire-watches': 'expireWatches',
    'POST /outage': 'outage',
    'POST /rotate-token': 'rotateToken',
    'GET /counters': 'counters',
    'GET /requests': 'requests',
    'GET /watches': 'watches',
    'POST /objects': 'createObject',
    'PUT /objects': 'updateObject',
    'PUT /objects/status': 'updateObjectStatus',
    'GET /objects': 'getObjects',
    'PATCH /objects': 'patchObject',
    'DELETE /objects': 'deleteObject',
  };
  const kind = routes[`${method} ${path}`];
  return kind === undefined ? null : ({ kind } as ControlAction);
}

function body(value: JsonValue | undefined): JsonObject {
  if (!isJsonObject(value)) throw errors.badRequest('the control request needs a JSON object body');
  return value;
}

function numberIn(value: JsonValue | undefined, field: string, check: (n: number) => boolean, what: string): number {
  if (typeof value !== 'number' || !check(value)) throw errors.badRequest(`${field} must be ${what}, got ${JSON.stringify(value)}`);
  return value;
}

const nonNegativeInteger = (value: JsonValue | undefined, field: string) =>
  numberIn(value, field, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
const positive = (value: JsonValue | undefined, field: string) => numberIn(value, field, (n) => n > 0 && Number.isFinite(n), 'a positive number');

function objectRef(query: URLSearchParams): ObjectRef {
  const apiVersion = query.get('apiVersion') ?? '';
  const kind = query.get('kind') ?? '';
  const name = query.get('name') ?? '';
  if (apiVersion === '' || kind === '' || name === '') throw errors.badRequest('apiVersion, kind and name are required');
  const namespace = query.get('namespace');
  return { apiVersion, kind, name, ...(namespace === null ? {} : { namespace }) };
}

function patchType(text: string | null): 'merge' | 'json' | 'strategic' {
  if (text === null || text === 'merge') return 'merge';
  if (text === 'json' || text === 'strategic') return text;
  throw errors.badRequest(`type must be merge, json or strategic, got ${JSON.stringify(text)}`);
}

function getObjects(emulator: Emulator, query: URLSearchParams): unknown {
  if (query.has('name')) {
    const ref = objectRef(query);
    const found = emulator.get(ref);
    if (found === undefined) throw errors.notFound({ group: '', resource: ref.kind }, ref.name);
    return found;
  }
  const apiVersion = query.get('apiVersion') ?? '';
  const kind = query.get('kind') ?? '';
  if (apiVersion === '' || kind === '') throw errors.badRequest('apiVersion and kind are required');
  const optional = (key: 'namespace' | 'labelSelector' | 'fieldSelector') => {
    const value = query.get(key);
    return value === null ? {} : { [key]: value };
  };
  return emulator.list({ apiVersion, kind, ...optional('namespace'), ...optional('labelSelector'), ...optional('fieldSelector') });
}

/** Runs one action; the result is what the control API answers with (undefined: 204). */
async function perform(emulator: Emulator, action: ControlAction, request: IncomingMessage, query: URLSearchParams): Promise<unknown> {
  switch (action.kind) {
    case 'info':
      return {
        url: emulator.url,
        caURL: emulator.caURL,
        kubeconfigPath: emulator.kubeconfigPath,
        tokenPath: emulator.tokenPath,
        caFile: emulator.caFile,
      };
    case 'listNodes':
      return emulator.listNodes();
    case 'getNode': {
      const node = emulator.getNode(action.name);
      if (node === undefined) throw errors.notFound({ group: '', resource: 'nodes' }, action.name);
      return node;
    }
    case 'createNode':
      return emulator.createNode(body(await readJsonBody(request)));
    case 'updateNode':
      return emulator.updateNode(body(await readJsonBody(request)));
    case 'patchNode':
      return emulator.patchNode(action.name, body(await readJsonBody(request)));
    case 'deleteNode':
      emulator.deleteNode(action.name);
      return undefined;
    case 'seed': {
      const { count, spec } = body(await readJsonBody(request));
      const seedSpec = (isJsonObject(spec) ? spec : {}) as SeedSpec;
      try {
        seedNode(seedSpec, 0);
      } catch (error) {
        throw errors.badRequest(`bad seed spec: ${(error as Error).message}`);
      }
      emulator.seedNodes(nonNegativeInteger(count, 'count'), (i) => seedNode(seedSpec, i));
      return undefined;
    }
    case 'startHeartbeats':
      emulator.startHeartbeats(positive(body(await readJsonBody(request)).eventsPerSecond, 'eventsPerSecond'));
      return undefined;
    case 'stopHeartbeats':
      emulator.stopHeartbeats();
      return undefined;
    case 'compact':
      emulator.compactHistory();
      return undefined;
    case 'expireWatches':
      emulator.expireWatches();
      return undefined;
    case 'outage':
      await emulator.outage(nonNegativeInteger(body(await readJsonBody(request)).ms, 'ms'));
      return undefined;
    case 'rotateToken': {
      const { graceMs } = body((await readJsonBody(request)) ?? {});
      await emulator.rotateToken({ graceMs: graceMs === undefined ? 0 : nonNegativeInteger(graceMs, 'graceMs') });
      return undefined;
    }
    case 'counters':
      return emulator.counters();
    case 'requests': {
      const after = query.get('after');
      return emulator.requestLog(after === null ? 0 : Number(after));
    }
    case 'watches':
      return emulator.openWatches();
    case 'createObject':
      return emulator.create(body(await readJsonBody(request)));
    case 'updateObject':
      return emulator.update(body(await readJsonBody(request)));
    case 'updateObjectStatus':
      return emulator.updateStatus(body(await readJsonBody(request)));
    case 'getObjects':
      return getObjects(emulator, query);
    case 'patchObject': {
      const patch = await readJsonBody(request);
      if (patch === undefined) throw errors.badRequest('the patch is missing');
      return emulator.patch(objectRef(query), patch, patchType(query.get('type')));
    }
    case 'deleteObject': {
      const uid = query.get('uid');
      const resourceVersion = query.get('resourceVersion');
      emulator.delete(objectRef(query), { ...(uid === null ? {} : { uid }), ...(resourceVersion === null ? {} : { resourceVersion }) });
      return undefined;
    }
  }
}

function answer(response: ServerResponse, code: number, value: unknown): void {
  if (value === undefined) {
    response.writeHead(204).end();
    return;
  }
  const text = JSON.stringify(value);
  response.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) }).end(text);
}

export interface ControlServer {
  close(): Promise<void>;
}

export async function startControlServer(emulator: Emulator, socketPath: string, logger: Logger): Promise<ControlServer> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://control.invalid');
    const action = controlAction(request.method ?? 'GET', url.pathname);
    const run = action === null ? Promise.reject(errors.pathNotFound()) : perform(emulator, action, request, url.searchParams);
    run.then(
      (value) => answer(response, 200, value),
      (error: unknown) => {
        if (error instanceof ApiError) {
          answer(response, error.code, error.status);
          return;
        }
        logger.error({ err: error, method: request.method, url: request.url }, 'emulator control request failed');
        answer(response, 500, { message: (error as Error).message });
      },
    );
  });
  // A socket file left by a killed emulator would make listen fail.
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`emulator: listening on control socket ${socketPath}`, { cause: error })));
    server.listen(socketPath, () => resolve());
  });
  return {
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(socketPath, { force: true });
    },
  };
}
