import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';

/**
 * The emulator's service-account-like token: `tokenPath` holds the current
 * one (what a client mounts); `tokensFile` is what the server accepts. On
 * rotation the previous token stays valid for a grace period, as projected
 * tokens do while kubelet refreshes them.
 */
export class TokenIssuer {
  readonly tokenPath: string;
  readonly tokensFile: string;
  private current = '';
  private readonly graceTimers = new Set<NodeJS.Timeout>();
  private readonly accepted = new Set<string>();
  /** Writes are chained so that files always end up reflecting the latest state. */
  private writes: Promise<void> = Promise.resolve();

  constructor(tokenPath: string, tokensFile: string) {
    this.tokenPath = tokenPath;
    this.tokensFile = tokensFile;
  }

  /** Makes a new token the valid one; the previous one is refused after `graceMs`. */
  async rotate(graceMs = 0): Promise<string> {
    const previous = this.current;
    this.current = randomBytes(32).toString('base64url');
    this.accepted.add(this.current);
    if (previous !== '' && graceMs <= 0) this.accepted.delete(previous);
    const token = this.current;
    await this.writeTokens();
    await this.enqueue(() => writeAtomically(this.tokenPath, token));
    if (previous !== '' && graceMs > 0) {
      const timer = setTimeout(() => {
        this.graceTimers.delete(timer);
        this.accepted.delete(previous);
        this.writeTokens().catch((error: unknown) => {
          // Nowhere to report from a timer: fail loudly rather than keep accepting the old token silently.
          process.emitWarning(new Error('emulator: revoking a rotated token failed', { cause: error }));
        });
      }, graceMs);
      timer.unref();
      this.graceTimers.add(timer);
    }
    return token;
  }

  stop(): void {
    for (const timer of this.graceTimers) clearTimeout(timer);
    this.graceTimers.clear();
  }

  private writeTokens(): Promise<void> {
    const lines = [...this.accepted].map((token) => `${token},emulator-admin,emulator-admin,"system:masters"\n`);
    return this.enqueue(() => writeAtomically(this.tokensFile, lines.join('')));
  }

  private enqueue(write: () => Promise<void>): Promise<void> {
    const next = this.writes.then(write);
    // The chain continues after a failure; the caller of this write still sees it.
    this.writes = next.catch(() => undefined);
    return next;
  }
}

/** Readers (the server, clients re-reading their token) never see a half-written file. */
async function writeAtomically(path: string, content: string): Promise<void> {
  const temporary = `${path}.tmp`;
  await writeFile(temporary, content, { mode: 0o600 });
  await rename(temporary, path);
}
