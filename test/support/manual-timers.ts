import type { Timers } from '../../src/clock/timers.ts';

/** Timers that move only when the test says so. */
export class ManualTimers implements Timers {
  #now = 0;
  #queue: { at: number; fn: () => void; id: number }[] = [];
  #nextId = 0;

  now(): number {
    return this.#now;
  }

  schedule(fn: () => void, ms: number): () => void {
    const id = this.#nextId++;
    this.#queue.push({ at: this.#now + ms, fn, id });
    return () => {
      this.#queue = this.#queue.filter((t) => t.id !== id);
    };
  }

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
