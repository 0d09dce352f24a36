import type { Cancel, Clock } from '../../src/clock/clock.ts';

/** A clock that moves only when the test says so. */
export class ManualClock implements Clock {
  #now: number;
  #queue: { at: number; fn: () => void; id: number }[] = [];
  #nextId = 0;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  schedule(fn: () => void, ms: number): Cancel {
    const id = this.#nextId++;
    this.#queue.push({ at: this.#now + ms, fn, id });
    return () => {
      this.#queue = this.#queue.filter((t) => t.id !== id);
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = () => {
        cancel();
        reject(signal?.reason as Error);
      };
      const cancel = this.schedule(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Delays still scheduled, relative to now. */
  get pending(): number[] {
    return this.#queue.map((t) => t.at - this.#now);
  }

  /** Moves time forward, running what falls due in order. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      this.#queue.sort((a, b) => a.at - b.at);
      const next = this.#queue[0];
      if (!next || next.at > until) break;
      this.#queue.shift();
      this.#now = next.at;
      next.fn();
    }
    this.#now = until;
  }
}
