import { request } from 'node:http';
import type { EmulatorCounters, ListRef, ObjectRef, Preconditions } from './emulator.ts';
import type { SeedSpec } from './nodes.ts';
import type { OpenWatches, RequestRecord } from './request-log.ts';

/** Where a standalone emulator serves; main.ts prints it as one JSON line when ready. */
export interface EmulatorEndpoints {
  url: string;
  caURL: string;
  kubeconfigPath: string;
  tokenPath: string;
}

export function parseReadyLine(line: string): EmulatorEndpoints {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new Error(`emulator ready line is not JSON: ${line}`, { cause: error });
  }
  const fields = value as Partial<Record<keyof EmulatorEndpoints, unknown>> | null;
  const { url, caURL, kubeconfigPath, tokenPath } = fields ?? {};
  if (typeof url !== 'string' || typeof caURL !== 'string' || typeof kubeconfigPath !== 'string' || typeof tokenPath !== 'string') {
    throw new Error(`emulator ready line lacks url, caURL, kubeconfigPath or tokenPath: ${line}`);
  }
  return { url, caURL, kubeconfigPath, tokenPath };
}

/** A control call the emulator refused; `status` is the Status object when it sent one. */
export class ControlError extends Error {
  readonly code: number;
  readonly status: unknown;

  constructor(message: string, code: number, status: unknown) {
    super(message);
    this.name = 'ControlError';
    this.code = code;
    this.status = status;
  }
}

const TIMEOUT_MS = 30_000;

/** Drives a standalone emulator (lab/emulator/main.ts) through its control socket. */
export class ControlClient {
  readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  info(): Promise<EmulatorEndpoints & { caFile: string }> {
    return this.call('GET', '/info');
  }

  createNode(node: object): Promise<object> {
    return this.call('POST', '/nodes', node);
  }

  updateNode(node: object): Promise<object> {
    return this.call('PUT', `/nodes/${encodeURIComponent(nodeNameOf(node))}`, node);
  }

  patchNode(name: string, mergePatch: object): Promise<object> {
    return this.call('PATCH', `/nodes/${encodeURIComponent(name)}`, mergePatch);
  }

  deleteNode(name: string): Promise<void> {
    return this.call('DELETE', `/nodes/${encodeURIComponent(name)}`);
  }

  /** undefined when there is no such node. */
  async getNode(name: string): Promise<object | undefined> {
    try {
      return await this.call<object>('GET', `/nodes/${encodeURIComponent(name)}`);
    } catch (error) {
      if (error instanceof ControlError && error.code === 404) return undefined;
      throw error;
    }
  }

  listNodes(): Promise<object[]> {
    return this.call('GET', '/nodes');
  }

  seedNodes(count: number, spec: SeedSpec = {}): Promise<void> {
    return this.call('POST', '/seed', { count, spec });
  }

  startHeartbeats(eventsPerSecond: number): Promise<void> {
    return this.call('POST', '/heartbeats', { eventsPerSecond });
  }

  stopHeartbeats(): Promise<void> {
    return this.call('DELETE', '/heartbeats');
  }

  compactHistory(): Promise<void> {
    return this.call('POST', '/compact');
  }

  expireWatches(): Promise<void> {
    return this.call('POST', '/expire-watches');
  }

  /** Resolves once the API serves again. */
  outage(ms: number): Promise<void> {
    return this.call('POST', '/outage', { ms }, ms + TIMEOUT_MS);
  }

  /** The new token is written to the emulator's tokenPath. */
  rotateToken(options: { graceMs?: number } = {}): Promise<void> {
    return this.call('POST', '/rotate-token', options);
  }

  counters(): Promise<EmulatorCounters> {
    return this.call('GET', '/counters');
  }

  /** Requests served after sequence number `after` (default: all kept). */
  requestLog(after = 0): Promise<RequestRecord[]> {
    return this.call('GET', `/requests?after=${after}`);
  }

  openWatches(): Promise<OpenWatches[]> {
    return this.call('GET', '/watches');
  }

  /** Any served kind; the object carries apiVersion, kind and (namespaced kinds) metadata.namespace. */
  create(object: object): Promise<object> {
    return this.call('POST', '/objects', object);
  }

  /** A PUT of the main resource. */
  update(object: object): Promise<object> {
    return this.call('PUT', '/objects', object);
  }

  updateStatus(object: object): Promise<object> {
    return this.call('PUT', '/objects/status', object);
  }

  /** undefined when there is no such object. */
  async get(ref: ObjectRef): Promise<object | undefined> {
    try {
      return await this.call<object>('GET', `/objects?${refQuery(ref)}`);
    } catch (error) {
      if (error instanceof ControlError && error.code === 404) return undefined;
      throw error;
    }
  }

  list(ref: ListRef): Promise<object[]> {
    return this.call('GET', `/objects?${new URLSearchParams(Object.entries(ref) as [string, string][]).toString()}`);
  }

  patch(ref: ObjectRef, patch: unknown, type: 'merge' | 'json' | 'strategic' = 'merge'): Promise<object> {
    return this.call('PATCH', `/objects?${refQuery(ref)}&type=${type}`, patch);
  }

  delete(ref: ObjectRef, preconditions: Preconditions = {}): Promise<void> {
    const extra = new URLSearchParams(Object.entries(preconditions) as [string, string][]).toString();
    return this.call('DELETE', `/objects?${refQuery(ref)}${extra === '' ? '' : `&${extra}`}`);
  }

  private call<T>(method: string, path: string, body?: unknown, timeoutMs = TIMEOUT_MS): Promise<T> {
    const what = `emulator control ${method} ${path} on ${this.socketPath}`;
    return new Promise<T>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
          timeout: timeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => reject(new Error(what, { cause: error })));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch (error) {
              reject(new Error(`${what}: answer is not JSON: ${text.slice(0, 200)}`, { cause: error }));
              return;
            }
            const code = response.statusCode ?? 0;
            if (code >= 200 && code < 300) {
              resolve(parsed as T);
              return;
            }
            const message = (parsed as { message?: unknown } | undefined)?.message;
            reject(new ControlError(`${what} failed (${code}): ${typeof message === 'string' ? message : text}`, code, parsed));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.on('error', (error) => reject(new Error(what, { cause: error })));
      req.end(payload);
    });
  }
}

function refQuery(ref: ObjectRef): string {
  return new URLSearchParams(Object.entries(ref) as [string, string][]).toString();
}

function nodeNameOf(node: object): string {
  const name = (node as { metadata?: { name?: unknown } }).metadata?.name;
  if (typeof name !== 'string' || name === '') throw new Error('updateNode needs metadata.name');
  return name;
}
