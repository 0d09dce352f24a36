import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { CASetting } from './connection-settings.ts';

/** The CA bundle that apiserver certificates are verified against. */
export interface CASource {
  /** PEM to trust, or null for Node's default trust store. Loaded once, on first use. */
  current(): Promise<string | null>;
  /**
   * Loads it again, after a verification failure (the remote rotated its
   * CA). The caller retries only when the result differs from the PEM that
   * failed.
   */
  reload(): Promise<string | null>;
  /** Where the CA comes from, for error messages. */
  readonly description: string;
}

/** Fetches a CA bundle over plain http or https (verified with the default trust store). */
export type FetchCA = (url: string) => Promise<string>;

export function caSource(setting: CASetting, fetchCA: FetchCA = fetchCAOverHttp): CASource {
  switch (setting.kind) {
    case 'system':
      return { current: () => Promise.resolve(null), reload: () => Promise.resolve(null), description: 'the default trust store' };
    case 'inline': {
      const pem = checkedPem(setting.pem, 'inline certificate-authority-data');
      return { current: () => Promise.resolve(pem), reload: () => Promise.resolve(pem), description: 'inline certificate-authority-data' };
    }
    case 'file':
      return new LoadedOnceCA(`CA file ${setting.path}`, async () => {
        try {
          return await readFile(setting.path, 'utf8');
        } catch (cause) {
          throw new Error(`reading CA file ${setting.path} failed`, { cause });
        }
      });
    case 'url':
      return new LoadedOnceCA(`CA from ${setting.url}`, () => fetchCA(setting.url));
  }
}

/** Loads lazily, shares one load among concurrent callers, loads again only when asked. */
class LoadedOnceCA implements CASource {
  readonly description: string;
  readonly #load: () => Promise<string>;
  #pem: Promise<string> | null = null;
  #generation = 0;

  constructor(description: string, load: () => Promise<string>) {
    this.description = description;
    this.#load = load;
  }

  current(): Promise<string> {
    return this.#pem ?? this.reload();
  }

  reload(): Promise<string> {
    this.#generation += 1;
    this.#pem = this.#loadChecked(this.#generation);
    return this.#pem;
  }

  async #loadChecked(generation: number): Promise<string> {
    try {
      return checkedPem(await this.#load(), this.description);
    } catch (err) {
      // A failed load must not stick: the next request tries again.
      if (generation === this.#generation) this.#pem = null;
      throw err;
    }
  }
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

const CA_FETCH_TIMEOUT_MS = 10_000;
const CA_MAX_BYTES = 1024 * 1024;

async function fetchCAOverHttp(url: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(CA_FETCH_TIMEOUT_MS), redirect: 'follow' });
  } catch (cause) {
    throw new Error(`fetching CA from ${url} failed: ${(cause as Error).message}`, { cause });
  }
  const body = await response.text();
  if (!response.ok) throw new Error(`fetching CA from ${url} failed: HTTP ${response.status}`);
  if (body.length > CA_MAX_BYTES) throw new Error(`CA from ${url} is larger than ${CA_MAX_BYTES} bytes`);
  return body;
}
