import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { CASetting } from './connection-settings.ts';

/** The CA bundle that apiserver certificates are verified against. */
export interface CASource {
  /** PEM to trust, or null for Node's default trust store. Loaded once, on first use. */
  current(): Promise<string | null>;
  /**
   * Loads it again after a verification failure that a CA rotation causes
   * (`isCARotationError`), at most once per `CA_RELOAD_INTERVAL_MS`; within
   * the interval it answers the current CA. The caller retries only when
   * the PEM differs from the one that failed. A failed load keeps the CA
   * it had.
   */
  reload(): Promise<CAReload>;
  /** Where the CA comes from, for error messages. */
  readonly description: string;
}

/** The CA to retry with: fetched again, or the current one and why it was not. */
export type CAReload = { pem: string | null; refetched: true } | { pem: string | null; refetched: false; why: string };

/** Fetches a CA bundle over plain http or https (verified with the default trust store). */
export type FetchCA = (url: string) => Promise<string>;

export interface CASourceOptions {
  fetchCA?: FetchCA;
  /** The clock of the reload rate limit. */
  now?: () => number;
}

/**
 * A rotated CA needs one re-fetch; more often only lets whoever answers
 * the CA URL try again and again (docs/configuration.md, `remoteCAURL`).
 */
export const CA_RELOAD_INTERVAL_MS = 60_000;

export function caSource(setting: CASetting, options: CASourceOptions = {}): CASource {
  const now = options.now ?? Date.now;
  switch (setting.kind) {
    case 'system':
      return fixedCA(null, 'the default trust store');
    case 'inline':
      return fixedCA(checkedPem(setting.pem, 'inline certificate-authority-data'), 'inline certificate-authority-data');
    case 'file':
      return new ReloadableCA(`CA file ${setting.path}`, now, async () => {
        let text: string;
        try {
          text = await readFile(setting.path, 'utf8');
        } catch (cause) {
          throw new Error(`reading CA file ${setting.path} failed`, { cause });
        }
        return checkedPem(text, `CA file ${setting.path}`);
      });
    case 'url': {
      const description = `CA from ${setting.url}`;
      const fetchCA = options.fetchCA ?? fetchCAOverHttp;
      return new ReloadableCA(description, now, async () => {
        const pem = checkedPem(await fetchCA(setting.url), description);
        return setting.sha256 === undefined ? pem : pinnedCertificate(pem, setting.sha256, description);
      });
    }
  }
}

function fixedCA(pem: string | null, description: string): CASource {
  return { current: () => Promise.resolve(pem), reload: () => Promise.resolve({ pem, refetched: false, why: 'it cannot change' }), description };
}

/** Loads lazily and shares one load among concurrent callers; reloads on request, rate-limited. */
class ReloadableCA implements CASource {
  readonly description: string;
  readonly #now: () => number;
  readonly #load: () => Promise<string>;
  /** The last good CA, or the first load while it runs. */
  #pem: Promise<string> | null = null;
  #generation = 0;
  #reloading: Promise<CAReload> | null = null;
  #lastReloadAt: number | null = null;

  constructor(description: string, now: () => number, load: () => Promise<string>) {
    this.description = description;
    this.#now = now;
    this.#load = load;
  }

  current(): Promise<string> {
    this.#pem ??= this.#firstLoad();
    return this.#pem;
  }

  reload(): Promise<CAReload> {
    if (this.#reloading !== null) return this.#reloading;
    const now = this.#now();
    const last = this.#lastReloadAt;
    if (last !== null && now - last < CA_RELOAD_INTERVAL_MS) {
      const why = `the last re-fetch was ${Math.round((now - last) / 1000)} s ago, and there is at most one per ${CA_RELOAD_INTERVAL_MS / 1000} s`;
      return this.current().then((pem) => ({ pem, refetched: false, why }));
    }
    this.#lastReloadAt = now;
    this.#reloading = this.#reloadNow().finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }

  async #firstLoad(): Promise<string> {
    const generation = this.#generation;
    try {
      return await this.#load();
    } catch (err) {
      // A failed first load must not stick: the next request tries again.
      if (generation === this.#generation) this.#pem = null;
      throw err;
    }
  }

  async #reloadNow(): Promise<CAReload> {
    const pem = await this.#load();
    this.#generation += 1;
    this.#pem = Promise.resolve(pem);
    return { pem, refetched: true };
  }
}

/**
 * OpenSSL verification failures that a rotated CA produces: the server's
 * chain no longer leads to the CA we hold (or to a same-named CA with
 * another key), or the CA we hold expired and was renewed. Not a hostname
 * mismatch or a certificate not yet valid: no CA fixes those, and a
 * re-fetch would only hand the CA URL another chance.
 */
const CA_ROTATION_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
]);

export function isCARotationError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CA_ROTATION_CODES.has(code);
}

/** Fails early and clearly on something that is not a PEM certificate (an HTML error page, say). */
export function checkedPem(pem: string, description: string): string {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${description} is not a PEM certificate`);
  try {
    new X509Certificate(pem);
  } catch (cause) {
    throw new Error(`${description} is not a valid certificate`, { cause });
  }
  return pem;
}

/**
 * With `remoteCASHA256`, the one certificate of the bundle whose DER has
 * that SHA-256 is trusted, and no other: a bundle that carries the pinned
 * CA plus another must not slip the other in.
 */
export function pinnedCertificate(bundle: string, sha256: string, description: string): string {
  const certificates = (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((block) => {
    try {
      return new X509Certificate(block);
    } catch (cause) {
      throw new Error(`${description} holds a certificate that does not parse`, { cause });
    }
  });
  const pinned = certificates.find((certificate) => certificate.fingerprint256 === sha256);
  if (pinned === undefined) {
    const found = certificates.map((certificate) => certificate.fingerprint256).join(', ');
    throw new Error(`${description} does not match remoteCASHA256 ${sha256}: it holds ${found}; refused (fetched again on a later request)`);
  }
  return pinned.toString();
}

const CA_FETCH_TIMEOUT_MS = 10_000;
const CA_MAX_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * GET with redirects followed only within the URL's origin: to another
 * scheme (https → http) or host, whoever answers there would choose the CA.
 */
export async function fetchCAOverHttp(url: string): Promise<string> {
  const signal = AbortSignal.timeout(CA_FETCH_TIMEOUT_MS);
  let location = url;
  for (let redirects = 0; ; redirects += 1) {
    let response: Response;
    try {
      response = await fetch(location, { signal, redirect: 'manual' });
    } catch (cause) {
      throw new Error(`fetching CA from ${location} failed: ${(cause as Error).message}`, { cause });
    }
    if (!REDIRECT_STATUSES.has(response.status)) {
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`fetching CA from ${location} failed: HTTP ${response.status}`);
      }
      return readCapped(response, location);
    }
    await response.body?.cancel();
    const next = redirectTarget(url, location, response.headers.get('location'));
    if (!next.ok) throw new Error(`fetching CA from ${url} failed: HTTP ${response.status} from ${location}: ${next.reason}`);
    if (redirects === MAX_REDIRECTS) throw new Error(`fetching CA from ${url} failed: more than ${MAX_REDIRECTS} redirects`);
    location = next.url;
  }
}

/** Where a redirect of the fetch that began at `start` leads, or why it is not followed. */
export function redirectTarget(start: string, from: string, location: string | null): { ok: true; url: string } | { ok: false; reason: string } {
  if (location === null) return { ok: false, reason: 'a redirect without a Location' };
  const next = URL.parse(location, from);
  if (next === null) return { ok: false, reason: `a redirect to ${JSON.stringify(location)}, which is not a URL` };
  const origin = new URL(start).origin;
  if (next.origin !== origin) {
    return { ok: false, reason: `a redirect to ${next.href}, outside ${origin}: redirects to another scheme, host or port are not followed (set remoteCAURL to where the CA is)` };
  }
  return { ok: true, url: next.href };
}

async function readCapped(response: Response, url: string): Promise<string> {
  const tooLarge = () => new Error(`CA from ${url} is larger than ${CA_MAX_BYTES} bytes`);
  if (Number(response.headers.get('content-length') ?? 0) > CA_MAX_BYTES) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > CA_MAX_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
