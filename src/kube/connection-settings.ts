import type { RemoteAccess } from '../config/types.ts';

/** PEM text given inline, or a file read when needed. */
export type PemSource = { kind: 'inline'; pem: string } | { kind: 'file'; path: string };

/** Where the apiserver's CA comes from; `system` means Node's default trust store. */
export type CASetting =
  | PemSource
  /** `sha256`: the pinned certificate's fingerprint as openssl prints it (`remoteCASHA256`). */
  | { kind: 'url'; url: string; sha256?: string }
  | { kind: 'system' };

/** How requests authenticate with a bearer token, if at all. */
export type TokenSetting = { kind: 'none' } | { kind: 'static'; token: string } | { kind: 'file'; path: string };

/**
 * Everything needed to talk to one apiserver, as plain data: what a
 * kubeconfig, the in-cluster service account or a remote's
 * API URL + CA URL + token file boil down to.
 */
export interface ConnectionSettings {
  /** `https://host:port`, possibly with a path prefix. */
  server: string;
  ca: CASetting;
  token: TokenSetting;
  clientCertificate: { cert: PemSource; key: PemSource } | null;
  /** TLS SNI and name to verify, when it differs from the URL's host. */
  tlsServerName: string | null;
  /** Where these settings came from, for error messages (never a secret). */
  origin: string;
}

/** A remote reached by API URL, CA URL and service-account token file (docs/configuration.md). */
export function tokenAccessSettings(access: Extract<RemoteAccess, { kind: 'token' }>): ConnectionSettings {
  return {
    server: requireHttps(access.apiURL, 'remoteAPIURL'),
    ca: { kind: 'url', url: access.caURL, ...(access.caSHA256 === undefined ? {} : { sha256: access.caSHA256 }) },
    token: { kind: 'file', path: access.tokenPath },
    clientCertificate: null,
    tlsServerName: null,
    origin: `remoteAPIURL ${access.apiURL}`,
  };
}

/**
 * Rejects anything but an https URL: a plain-http apiserver would carry
 * the bearer token in clear text.
 */
export function requireHttps(url: string, what: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new Error(`${what} ${JSON.stringify(url)} is not a URL`, { cause });
  }
  if (parsed.protocol !== 'https:') throw new Error(`${what} ${url} must be an https URL`);
  return url;
}
