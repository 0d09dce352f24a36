import { backoffDelay, type BackoffPolicy } from '../clock/backoff.ts';
import type { Cancel, Clock } from '../clock/clock.ts';

export interface SyncRunnerOptions {
  /** One pass: read, compare, apply. Throws on failure. */
  run: () => Promise<void>;
  clock: Clock;
  /** Called once per failed pass, before the retry is scheduled. */
  onError: (error: unknown, retryInMs: number) => void;
  /** Called when a request folds into a pass already queued. */
  onCoalesced?: () => void;
  /**
   * Called each time a queued request has waited `queueWaitMs` behind a
   * pass still running: semaphore-wireguard's "sync queue full" (its sync
   * loop takes a request within 5 s or the request times out).
   */
  onQueueFull?: () => void;
  queueWaitMs?: number;
  /** Delays between retries of a failing pass; default 500 ms doubling to 30 s. */
  retry?: BackoffPolicy;
  /** In [0, 1): the jitter of the retry delays; default Math.random. */
  random?: () => number;
}

const RETRY: BackoffPolicy = { baseMs: 500, capMs: 30_000 };

/**
 * Runs sync passes one at a time. Requests made while a pass runs fold into
 * a single further pass, so a burst of watch events costs one apply, while a
 * lone event starts a pass at once (low latency). A failed pass is retried
 * with capped, jittered exponential backoff (clock/backoff.ts) until one
 * succeeds.
 */
export class SyncRunner {
  readonly #options: Required<Omit<SyncRunnerOptions, 'onCoalesced' | 'onQueueFull'>> & Pick<SyncRunnerOptions, 'onCoalesced' | 'onQueueFull'>;
  #running: Promise<void> | null = null;
  /** A pass is asked for and has not started yet. */
  #pending = false;
  #queueWait: Cancel | null = null;
  #failures = 0;
  #retry: Cancel | null = null;
  #stopped = false;

  constructor(options: SyncRunnerOptions) {
    this.#options = { retry: RETRY, random: Math.random, queueWaitMs: 5_000, ...options };
  }

  /** Asks for a pass soon. Never throws, never rejects. */
  request(): void {
    if (this.#stopped) return;
    if (this.#running) {
      if (this.#pending) this.#options.onCoalesced?.();
      else {
        this.#pending = true;
        this.#waitInQueue();
      }
      return;
    }
    this.#retry?.();
    this.#retry = null;
    this.#pending = true;
    this.#running = this.#loop();
  }

  /** Resolves when no pass is running or queued (retries scheduled for later do not count). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** No new passes; waits for the one in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#retry?.();
    this.#retry = null;
    this.#taken();
    await this.idle();
  }

  async #loop(): Promise<void> {
    // Events that arrive in the same tick (one chunk of a watch stream) fold into this pass.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      do {
        this.#taken();
        try {
          await this.#options.run();
          this.#failures = 0;
        } catch (error) {
          this.#failures++;
          const delay = backoffDelay(this.#failures - 1, this.#options.retry, this.#options.random());
          this.#options.onError(error, delay);
          if (!this.#stopped) this.#retry = this.#options.clock.schedule(() => this.request(), delay);
          // A failed pass is retried after the delay, not hammered by queued requests.
          this.#taken();
        }
      } while (this.#pending && !this.#stopped);
    } finally {
      this.#running = null;
    }
  }

  /** Counts, every `queueWaitMs`, a queued request still waiting for the pass in flight. */
  #waitInQueue(): void {
    this.#queueWait = this.#options.clock.schedule(() => {
      this.#options.onQueueFull?.();
      this.#waitInQueue();
    }, this.#options.queueWaitMs);
  }

  /** The queued request is served (or dropped): it waits no longer. */
  #taken(): void {
    this.#pending = false;
    this.#queueWait?.();
    this.#queueWait = null;
  }
}
