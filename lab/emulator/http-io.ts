import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonValue } from './json.ts';
import { decodeKubeProtobuf, ProtobufError } from './protobuf.ts';
import { errors, type ApiError } from './status.ts';

/** kube-apiserver refuses request bodies over 3 MiB. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** Large lists are written in pieces of about this size, waiting for the socket between them. */
const WRITE_BATCH_CHARS = 1 << 20;

export type CountBytes = (bytes: number) => void;

export function apiHeaders(contentType = 'application/json'): Record<string, string> {
  return { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private', 'Audit-Id': randomUUID() };
}

const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/**
 * The request's body as JSON (protobuf bodies of the kinds kubectl's typed
 * commands send are read into their JSON form); undefined when it has
 * none. Throws ApiError 400/413/415.
 */
export async function readJsonBody(request: IncomingMessage): Promise<JsonValue | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw errors.tooLarge();
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  const contentType = request.headers['content-type'] ?? '';
  if (contentType.split(';')[0]?.trim().toLowerCase() === PROTOBUF && body.length > 0) {
    try {
      return decodeKubeProtobuf(body);
    } catch (error) {
      if (!(error instanceof ProtobufError)) throw error;
      throw errors.unsupportedMediaType(`${contentType} (${error.message})`, ['application/json']);
    }
  }
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw errors.badRequest(`the request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** `headers` may override the content type and add others (Warning). */
export function sendJson(response: ServerResponse, code: number, body: string, count: CountBytes, headers: Record<string, string | string[]> = {}): void {
  const bytes = Buffer.from(body);
  count(bytes.length);
  response.writeHead(code, { ...apiHeaders(), ...headers, 'Content-Length': String(bytes.length) });
  response.end(bytes);
}

/** Warning headers as kube-apiserver writes them (RFC 7234, code 299, agent "-"). */
export function warningHeaders(warnings: readonly string[]): Record<string, string[]> {
  return warnings.length === 0 ? {} : { Warning: warnings.map((text) => `299 - ${JSON.stringify(text)}`) };
}

export function sendStatus(response: ServerResponse, error: ApiError, count: CountBytes): void {
  sendJson(response, error.code, JSON.stringify(error.status), count);
}

function drainedOrClosed(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/**
 * A response made of many strings (a list of thousands of objects), written
 * in batches that respect backpressure instead of one giant string.
 */
export async function sendParts(response: ServerResponse, code: number, parts: Iterable<string>, count: CountBytes): Promise<void> {
  response.writeHead(code, apiHeaders());
  let batch: string[] = [];
  let batchChars = 0;
  const flush = async () => {
    const bytes = Buffer.from(batch.join(''));
    batch = [];
    batchChars = 0;
    count(bytes.length);
    if (!response.write(bytes)) await drainedOrClosed(response);
  };
  for (const part of parts) {
    if (response.destroyed) return;
    batch.push(part);
    batchChars += part.length;
    if (batchChars >= WRITE_BATCH_CHARS) await flush();
  }
  if (batchChars > 0) await flush();
  response.end();
}
