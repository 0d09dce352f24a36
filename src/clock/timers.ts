/** Cancels a scheduled callback. */
export type Cancel = () => void;

/** Time as the program sees it: injected so tests control it. */
export interface Timers {
  now(): number;
  /** Runs `fn` after `ms` milliseconds. */
  schedule(fn: () => void, ms: number): Cancel;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  schedule(fn, ms) {
    const handle = setTimeout(fn, ms);
    return () => clearTimeout(handle);
  },
};
