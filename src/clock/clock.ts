import { setTimeout as sleepFor } from 'node:timers/promises';

/** Cancels a scheduled callback. */
export type Cancel = () => void;

/**
 * Time as the program sees it, the one way every component gets it:
 * injected, so tests move it by hand (test/support/manual-clock.ts) and
 * nothing reads `Date.now()` or sets a timer of its own.
 */
export interface Clock {
  /** Unix milliseconds. */
  now(): number;
  /** Runs `fn` after `ms` milliseconds. */
  schedule(fn: () => void, ms: number): Cancel;
  /** Resolves after `ms` milliseconds; rejects with the signal's reason if it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(fn, ms) {
    const handle = setTimeout(fn, ms);
    return () => clearTimeout(handle);
  },
  sleep: (ms, signal) => sleepFor(ms, undefined, { signal }),
};
