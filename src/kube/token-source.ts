import { readFile, stat } from 'node:fs/promises';
import type { TokenSetting } from './connection-settings.ts';

/** The bearer token for requests; the file kind follows rotation. */
export interface TokenSource {
  /** The token to send now; null when requests carry none. */
  current(): Promise<string | null>;
  /**
   * Re-reads the token after a 401. The caller retries only when the
   * result differs from the token that was refused.
   */
  reload(): Promise<string | null>;
}

export function tokenSource(setting: TokenSetting): TokenSource {
  switch (setting.kind) {
    case 'none':
      return { current: () => Promise.resolve(null), reload: () => Promise.resolve(null) };
    case 'static':
      return { current: () => Promise.resolve(setting.token), reload: () => Promise.resolve(setting.token) };
    case 'file':
      return new FileTokenSource(setting.path);
  }
}

/**
 * A token file, re-read when it changes. Projected service-account tokens
 * are replaced by a symlink swap, so `stat` (which follows the link) sees a
 * new inode; rewrites in place change size or mtime. One stat per request
 * is cheap next to the request itself.
 */
class FileTokenSource implements TokenSource {
  readonly #path: string;
  #token: string | null = null;
  #stamp: string | null = null;

  constructor(path: string) {
    this.#path = path;
  }

  async current(): Promise<string> {
    const stamp = await this.#stat();
    if (this.#token === null || stamp !== this.#stamp) {
      this.#token = await this.#read();
      this.#stamp = stamp;
    }
    return this.#token;
  }

  async reload(): Promise<string> {
    this.#stamp = await this.#stat();
    this.#token = await this.#read();
    return this.#token;
  }

  async #stat(): Promise<string> {
    try {
      const s = await stat(this.#path);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (cause) {
      throw new Error(`token file ${this.#path} is unreadable`, { cause });
    }
  }

  async #read(): Promise<string> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (cause) {
      throw new Error(`token file ${this.#path} is unreadable`, { cause });
    }
    const token = text.trim();
    if (token === '') throw new Error(`token file ${this.#path} is empty`);
    return token;
  }
}
