import { field, isObject } from './json-value.ts';

export interface RequestIdentity {
  cluster: string;
  method: string;
  path: string;
}

/**
 * A failed apiserver request, with what is needed to act on it from a log
 * line alone: which cluster, which request, the HTTP status and the
 * apiserver's Status reason and message.
 */
export class KubeRequestError extends Error {
  readonly cluster: string;
  readonly method: string;
  readonly path: string;
  /** HTTP status (or a watch ERROR's Status code); null when no response came. */
  readonly status: number | null;
  /** Status `reason` (`NotFound`, `Expired`, …) when the apiserver sent one. */
  readonly reason: string | null;

  constructor(request: RequestIdentity, status: number | null, reason: string | null, detail: string, cause?: unknown) {
    const what = status === null ? detail : `HTTP ${status}${reason ? ` ${reason}` : ''}${detail ? `: ${detail}` : ''}`;
    super(`${request.method} ${request.path} on cluster ${request.cluster} failed: ${what}`, { cause });
    this.name = 'KubeRequestError';
    this.cluster = request.cluster;
    this.method = request.method;
    this.path = request.path;
    this.status = status;
    this.reason = reason;
  }
}

/** From a non-2xx response body: a Status object when the apiserver sent one, else the text. */
export function errorFromResponse(request: RequestIdentity, status: number, body: string): KubeRequestError {
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Not JSON (a proxy's HTML page, say): the raw text is the best detail.
  }
  if (isObject(parsed) && parsed.kind === 'Status') {
    return new KubeRequestError(request, status, stringField(parsed, 'reason'), stringField(parsed, 'message') ?? '');
  }
  return new KubeRequestError(request, status, null, body.slice(0, 500).trim());
}

/** From the Status object of a watch ERROR event. */
export function errorFromStatus(request: RequestIdentity, status: unknown): KubeRequestError {
  const code = field(status, 'code');
  return new KubeRequestError(
    request,
    typeof code === 'number' ? code : null,
    stringField(status, 'reason'),
    stringField(status, 'message') ?? 'watch ERROR event without a Status',
  );
}

/** 410 Gone / Expired: the resourceVersion is too old, relist. */
export function isExpired(err: unknown): boolean {
  return err instanceof KubeRequestError && err.status === 410;
}

function stringField(value: unknown, key: string): string | null {
  const v = field(value, key);
  return typeof v === 'string' && v !== '' ? v : null;
}
