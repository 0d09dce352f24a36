import type { Cancel, Clock } from '../clock/clock.ts';
import type { Logger } from '../log.ts';

/** After the last first apply: the pass that did it has returned and its garbage is dead. */
export const COMPACTION_DELAY_MS = 1_000;

/**
 * One full garbage collection, once, when every remote's peers are on its
 * device for the first time (docs/design.md, "The idle floor"). Start-up
 * (the first list of every remote node, the first read and apply of each
 * device) leaves the old generation full of garbage that an idle daemon
 * would otherwise carry for minutes, then collect in one ~50-100 ms pause
 * of all V8's threads; collected at once, RSS comes down too.
 */
export class StartupCompaction {
  readonly #waiting: Set<string>;
  readonly #collect: (() => void) | null;
  readonly #clock: Clock;
  #timer: Cancel | null = null;

  /** `collect`: a full collection (Node's gc() under --expose-gc), or null where there is none: then this does nothing. */
  constructor(remotes: readonly string[], collect: (() => void) | null, clock: Clock) {
    this.#waiting = new Set(remotes);
    this.#collect = collect;
    this.#clock = clock;
  }

  /** A remote's peers were applied (after every pass: only its first counts). */
  applied(remote: string): void {
    if (!this.#waiting.delete(remote) || this.#waiting.size > 0 || this.#collect === null) return;
    const collect = this.#collect;
    this.#timer = this.#clock.schedule(() => {
      this.#timer = null;
      collect();
    }, COMPACTION_DELAY_MS);
  }

  stop(): void {
    this.#timer?.();
    this.#timer = null;
  }
}

const MB = 2 ** 20;

/** `collect`, with a log line of what it gave back. */
export function collectAndLog(collect: () => void, logger: Logger): () => void {
  return () => {
    const before = process.memoryUsage();
    collect();
    const after = process.memoryUsage();
    const mb = (bytes: number) => Math.round(bytes / MB);
    logger.info(
      { heapUsedMB: [mb(before.heapUsed), mb(after.heapUsed)], heapTotalMB: [mb(before.heapTotal), mb(after.heapTotal)], rssMB: [mb(before.rss), mb(after.rss)] },
      'collected the start-up garbage (before, after)',
    );
  };
}
