export interface BackoffPolicy {
  /** Delay before the first retry, before jitter. */
  baseMs: number;
  /** No delay is ever longer than this. */
  capMs: number;
}

/** client-go's reflector starts at 800 ms and caps at 30 s. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 800, capMs: 30_000 };

/**
 * Delay before retry number `attempt` (0-based): doubling from `baseMs`,
 * capped, then jittered down by up to half so that every node of a cluster
 * does not reconnect in the same instant after an apiserver outage.
 * `random` is in [0, 1). The result is in [ceiling/2, ceiling].
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 52));
  return Math.round(ceiling * (0.5 + 0.5 * random));
}
