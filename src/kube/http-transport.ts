import https from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Readable } from 'node:stream';

/** What a connection to one apiserver trusts and presents. */
export interface TlsSettings {
  /** PEM bundle to trust instead of the default store; null: default store. */
  ca: string | null;
  cert: string | null;
  key: string | null;
  /** SNI and the name verified, when not the URL's host. */
  servername: string | null;
}

export interface HttpRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** Must be consumed (or resumed) so the connection can be reused. */
  body: Readable;
}

/** One keep-alive connection pool with fixed TLS settings. */
export interface HttpTransport {
  /** Resolves with the response headers; rejects on connection and TLS errors. */
  send(request: HttpRequest): Promise<HttpResponse>;
  close(): void;
}

export type TransportFactory = (tls: TlsSettings) => HttpTransport;

/**
 * node:https with a keep-alive agent; certificates are always verified.
 * The secure context (the parsed CA, certificate and key) is built once:
 * given as options, the agent builds a new one for every connection, which
 * was most of the cost of a reconnect (the daemon reads a Lease every
 * reconcile interval, after the apiserver closed the idle connection).
 */
export const httpsTransport: TransportFactory = (settings) => {
  const agent = new https.Agent({
    keepAlive: true,
    secureContext: createSecureContext({ ca: settings.ca ?? undefined, cert: settings.cert ?? undefined, key: settings.key ?? undefined }),
    servername: settings.servername ?? undefined,
    rejectUnauthorized: true,
  });
  return {
    send: (request) =>
      new Promise<HttpResponse>((resolve, reject) => {
        const req = https.request(
          request.url,
          { method: request.method, headers: request.headers, agent, signal: request.signal },
          (res) => resolve({ status: res.statusCode ?? 0, body: res }),
        );
        req.on('error', reject);
        req.end(request.body);
      }),
    close: () => agent.destroy(),
  };
};

/**
 * OpenSSL verification failures, as Node reports them in `err.code`: the
 * ones a rotated or wrong CA produces (plus the name check, which a CA
 * refetch cannot fix but costs nothing to try once).
 */
const VERIFICATION_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function isTlsVerificationError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && VERIFICATION_CODES.has(code);
}
