import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Counter } from 'prom-client';
import type { RemoteAccess } from '../config/types.ts';
import { caSource, isCARotationError, type CASource, type CAReload, type FetchCA } from './ca-source.ts';
import { tokenAccessSettings, type ConnectionSettings, type PemSource } from './connection-settings.ts';
import { httpsTransport, isTlsVerificationError, type HttpResponse, type HttpTransport, type TransportFactory } from './http-transport.ts';
import { errorFromResponse, KubeRequestError, type RequestIdentity } from './kube-request-error.ts';
import { inClusterSettings } from './in-cluster.ts';
import { kubeconfigSettings } from './kubeconfig.ts';
import { tokenSource, type TokenSource } from './token-source.ts';

/** The three ways of docs/configuration.md: a kubeconfig, API URL + CA URL + token file, or the pod's service account. */
export type ClusterAccess = RemoteAccess | { kind: 'in-cluster' };

export function connectionSettings(access: ClusterAccess): ConnectionSettings {
  switch (access.kind) {
    case 'kubeconfig':
      return kubeconfigSettings(access.path);
    case 'token':
      return tokenAccessSettings(access);
    case 'in-cluster':
      return inClusterSettings();
  }
}

export interface KubeRequest {
  /** The daemon reads and merge-patches; `clusterwire connect` also creates, replaces and deletes. */
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** API path, e.g. `/api/v1/nodes`; the server URL's own path is prepended. */
  path: string;
  query?: Record<string, string | undefined>;
  body?: { contentType: string; value: unknown };
  /** The Accept header; default `application/json` (e.g. `application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1`). */
  accept?: string;
  signal?: AbortSignal;
}

/** Plain-JSON access to one apiserver. */
export interface KubeClient {
  readonly cluster: string;
  /** `host:port` of the apiserver, as counted in metrics. */
  readonly host: string;
  /** Sends a request and parses the JSON of a 2xx answer, within the request timeout. */
  json(request: KubeRequest): Promise<unknown>;
  /** Opens a streaming GET (a watch): the timeout covers only the wait for the response headers. */
  stream(request: KubeRequest): Promise<Readable>;
  /** Closes kept-alive connections. */
  close(): void;
}

export interface KubeClientOptions {
  /** Cluster name, for errors. */
  cluster: string;
  settings: ConnectionSettings;
  /** `semaphore_wg_kube_http_request_total`. */
  requests: Counter<'host' | 'code' | 'method'>;
  requestTimeoutMs?: number;
  transport?: TransportFactory;
  fetchCA?: FetchCA;
  /** The clock of the CA re-fetch rate limit. */
  now?: () => number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/**
 * The most a response body may be (docs/how-it-works.md, "Bounds"): a page
 * of 500 realistic Nodes is ~8 MB (16 KB each), of 500 large ones (64 KB:
 * many images and conditions) 32 MB. A remote apiserver is untrusted, and
 * a body is buffered, then parsed into several times its size: a bigger
 * page fails, and the node watcher asks for smaller pages.
 */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** An error answer is only read for its message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** A response body over its cap: the request fails, and nothing more is read. */
export class ResponseTooLargeError extends Error {
  override name = 'ResponseTooLargeError';
}

/** True for a request that failed because its response was over MAX_BODY_BYTES. */
export function isResponseTooLarge(err: unknown): boolean {
  return err instanceof ResponseTooLargeError || (err instanceof Error && err.cause instanceof ResponseTooLargeError);
}

export function createKubeClient(options: KubeClientOptions): KubeClient {
  let ca: CASource;
  try {
    ca = caSource(options.settings.ca, { fetchCA: options.fetchCA, now: options.now });
  } catch (cause) {
    throw new Error(`cluster ${options.cluster}: ${(cause as Error).message} (${options.settings.origin})`, { cause });
  }
  return new HttpKubeClient(options, ca, tokenSource(options.settings.token));
}

/**
 * Credentials are handled here, once, for every request: the token file is
 * checked before each request and re-read after a 401 (then one retry); the
 * CA is loaded once and reloaded after a verification failure that a CA
 * rotation causes, at most once a minute (then one retry): whoever answers
 * the CA URL picks the CA the token is then sent under, so it gets no
 * chance on a hostname mismatch and no rapid retries. Verification itself
 * is never turned off.
 */
class HttpKubeClient implements KubeClient {
  readonly cluster: string;
  readonly host: string;
  readonly #server: URL;
  readonly #settings: ConnectionSettings;
  readonly #requests: Counter<'host' | 'code' | 'method'>;
  readonly #timeoutMs: number;
  readonly #makeTransport: TransportFactory;
  readonly #ca: CASource;
  readonly #token: TokenSource;
  #transport: { ca: string | null; transport: HttpTransport } | null = null;
  #clientPems: Promise<{ cert: string; key: string } | null> | null = null;

  constructor(options: KubeClientOptions, ca: CASource, token: TokenSource) {
    this.cluster = options.cluster;
    this.#settings = options.settings;
    this.#server = new URL(options.settings.server);
    this.host = this.#server.host;
    this.#requests = options.requests;
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#makeTransport = options.transport ?? httpsTransport;
    this.#ca = ca;
    this.#token = token;
  }

  async json(request: KubeRequest): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    const id = this.#identity(request);
    try {
      const response = await this.#send(request, signal);
      const text = await readText(response.body, MAX_BODY_BYTES);
      try {
        return JSON.parse(text) as unknown;
      } catch (cause) {
        throw new KubeRequestError(id, response.status, null, `response is not JSON: ${text.slice(0, 200)}`, cause);
      }
    } catch (err) {
      if (timeout.aborted && !request.signal?.aborted) {
        throw new KubeRequestError(id, null, null, `timed out after ${this.#timeoutMs} ms`, err);
      }
      throw withIdentity(id, err);
    }
  }

  async stream(request: KubeRequest): Promise<Readable> {
    const headers = new AbortController();
    const timer = setTimeout(() => headers.abort(), this.#timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, headers.signal]) : headers.signal;
    try {
      return (await this.#send(request, signal)).body;
    } catch (err) {
      const id = this.#identity(request);
      if (headers.signal.aborted && !request.signal?.aborted) {
        throw new KubeRequestError(id, null, null, `no response within ${this.#timeoutMs} ms`, err);
      }
      throw withIdentity(id, err);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.#transport?.transport.close();
    this.#transport = null;
  }

  async #send(request: KubeRequest, signal: AbortSignal): Promise<HttpResponse> {
    const id = this.#identity(request);
    const url = this.#url(request);
    const body = request.body === undefined ? undefined : JSON.stringify(request.body.value);
    let tokenRetried = false;
    let caRetried = false;
    for (;;) {
      signal.throwIfAborted();
      const token = await this.#token.current();
      const ca = await this.#caPem(id);
      const transport = await this.#transportFor(ca);
      const headers: Record<string, string> = { Accept: request.accept ?? 'application/json', 'User-Agent': 'clusterwire' };
      if (token !== null) headers.Authorization = `Bearer ${token}`;
      if (request.body !== undefined && body !== undefined) {
        headers['Content-Type'] = request.body.contentType;
        headers['Content-Length'] = String(Buffer.byteLength(body));
      }
      let response: HttpResponse;
      try {
        response = await transport.send({ method: request.method, url, headers, body, signal });
      } catch (err) {
        this.#count(request.method, '<error>');
        if (!isTlsVerificationError(err)) throw new KubeRequestError(id, null, null, (err as Error).message, err);
        const failed = (why: string) =>
          new KubeRequestError(id, null, null, `TLS verification of ${this.#server.host} failed against ${this.#ca.description} (${why}): ${(err as Error).message}`, err);
        if (!isCARotationError(err)) throw failed('not a CA change, so the CA is not fetched again');
        if (caRetried) throw failed('also with the CA fetched again');
        caRetried = true;
        const reload = await this.#reloadCA(id);
        if (reload.pem !== ca) continue;
        throw failed(reload.refetched ? 're-fetched, unchanged' : `not re-fetched: ${reload.why}`);
      }
      this.#count(request.method, String(response.status));
      if (response.status < 200 || response.status > 299) {
        const error = await responseError(id, response);
        if (response.status === 401 && !tokenRetried) {
          tokenRetried = true;
          if ((await this.#token.reload()) !== token) continue;
        }
        throw error;
      }
      return response;
    }
  }

  async #caPem(id: RequestIdentity): Promise<string | null> {
    try {
      return await this.#ca.current();
    } catch (cause) {
      throw new KubeRequestError(id, null, null, `loading ${this.#ca.description} failed: ${(cause as Error).message}`, cause);
    }
  }

  async #reloadCA(id: RequestIdentity): Promise<CAReload> {
    try {
      return await this.#ca.reload();
    } catch (cause) {
      throw new KubeRequestError(id, null, null, `reloading ${this.#ca.description} after a TLS verification failure failed: ${(cause as Error).message}`, cause);
    }
  }

  /** One keep-alive pool per CA: a new CA means new connections. */
  async #transportFor(ca: string | null): Promise<HttpTransport> {
    this.#clientPems ??= this.#readClientPems();
    let client: { cert: string; key: string } | null;
    try {
      client = await this.#clientPems;
    } catch (err) {
      // A missing file may be mounted later: the next request reads again.
      this.#clientPems = null;
      throw err;
    }
    // No await between the check and the swap: concurrent requests share one pool.
    if (this.#transport && this.#transport.ca === ca) return this.#transport.transport;
    const transport = this.#makeTransport({ ca, cert: client?.cert ?? null, key: client?.key ?? null, servername: this.#settings.tlsServerName });
    this.#transport?.transport.close();
    this.#transport = { ca, transport };
    return transport;
  }

  /** Client certificate and key, read once. */
  async #readClientPems(): Promise<{ cert: string; key: string } | null> {
    const client = this.#settings.clientCertificate;
    if (!client) return null;
    return { cert: await readPem(client.cert, 'client certificate'), key: await readPem(client.key, 'client key') };
  }

  #url(request: KubeRequest): URL {
    const url = new URL(this.#server.href);
    url.pathname = url.pathname.replace(/\/+$/, '') + request.path;
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    return url;
  }

  #identity(request: KubeRequest): RequestIdentity {
    return { cluster: this.cluster, method: request.method, path: request.path };
  }

  #count(method: string, code: string): void {
    this.#requests.inc({ host: this.host, code, method });
  }
}

/** Every error leaving the client names the cluster and the request. */
function withIdentity(id: RequestIdentity, err: unknown): KubeRequestError {
  if (err instanceof KubeRequestError) return err;
  return new KubeRequestError(id, null, null, (err as Error).message, err);
}

async function responseError(id: RequestIdentity, response: HttpResponse): Promise<KubeRequestError> {
  let text = '';
  try {
    text = await readText(response.body, MAX_ERROR_BODY_BYTES, { truncate: true });
  } catch {
    // The status alone still says what happened.
  }
  return errorFromResponse(id, response.status, text);
}

/** The body as text, at most `limit` bytes: past it, the connection is closed and the read fails (or, with `truncate`, ends). */
async function readText(body: Readable, limit: number, { truncate = false } = {}): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size + chunk.length > limit) {
      body.destroy();
      if (!truncate) throw new ResponseTooLargeError(`response body larger than ${limit} bytes`);
      chunks.push(chunk.subarray(0, limit - size));
      break;
    }
    size += chunk.length;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readPem(source: PemSource, what: string): Promise<string> {
  if (source.kind === 'inline') return source.pem;
  try {
    return await readFile(source.path, 'utf8');
  } catch (cause) {
    throw new Error(`reading ${what} ${source.path} failed`, { cause });
  }
}
