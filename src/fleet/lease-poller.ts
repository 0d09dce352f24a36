import type { Cancel, Clock } from '../clock/clock.ts';
import type { LeaseLock, ReadLease } from '../election/lease-lock.ts';
import type { Logger } from '../log.ts';

/**
 * A mirror's Lease as a reader last found it (docs/fleet-mode.md,
 * "Freshness"). Times are Unix milliseconds by the reader's own clock:
 * the times written in the Lease are the writer's and are never trusted.
 */
export interface PolledLease {
  /** Null when the Lease does not exist (or before the first read). */
  lease: ReadLease | null;
  /** The first and the last successful read. */
  firstReadAt: number | null;
  readAt: number | null;
  /** The first read that found the Lease at the resourceVersion it has now: every renewal moves it. */
  changedAt: number | null;
  lastError: string | null;
}

export interface LeasePollerOptions {
  lock: LeaseLock;
  clock: Clock;
  logger: Logger;
  /** How often the Lease is read: one small GET, where a watch would carry a renewal every 2 s. */
  intervalMs: number;
  /** What an absent Lease means, for the logs and /status. */
  absent: string;
  /** After each read, successful or not. */
  onRead?: () => void;
}

/**
 * How often a daemon reads the Lease of the mirror that writes its slices:
 * every other reconcile interval, once a minute by default. Each read is a
 * request per node on the apiserver holding the Lease (the remote's, with
 * source `slices`) and, on an idle daemon, as costly as the device check of
 * the same tick (docs/design.md, "The idle floor"); a mirror that stops is
 * still seen within a lease duration and two intervals.
 */
export function leaseReadIntervalMs(reconcileIntervalMs: number): number {
  return 2 * reconcileIntervalMs;
}

/** Reads a mirror's Lease every interval, for /status, freshness and the gauges. */
export class LeasePoller {
  readonly #o: LeasePollerOptions;
  readonly #abort = new AbortController();
  #polled: PolledLease = { lease: null, firstReadAt: null, readAt: null, changedAt: null, lastError: null };
  #timer: Cancel | null = null;
  #reading: Promise<void> | null = null;

  constructor(options: LeasePollerOptions) {
    this.#o = options;
  }

  polled(): PolledLease {
    return this.#polled;
  }

  start(): void {
    this.#read();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#timer?.();
    this.#timer = null;
    await this.#reading;
  }

  #read(): void {
    if (this.#abort.signal.aborted) return;
    this.#reading = this.#readOnce().finally(() => {
      this.#reading = null;
      this.#o.onRead?.();
      if (!this.#abort.signal.aborted) this.#timer = this.#o.clock.schedule(() => this.#read(), this.#o.intervalMs);
    });
  }

  async #readOnce(): Promise<void> {
    const { lock, clock, logger } = this.#o;
    try {
      const lease = await lock.get(this.#abort.signal);
      const now = clock.now();
      const before = this.#polled;
      const moved = before.readAt === null || (before.lease?.resourceVersion ?? null) !== (lease?.resourceVersion ?? null);
      if (before.lastError !== null) logger.info({ lease: lock.description }, 'reading the mirror lease recovered');
      this.#polled = {
        lease,
        firstReadAt: before.firstReadAt ?? now,
        readAt: now,
        changedAt: moved ? now : before.changedAt,
        lastError: lease === null ? `no Lease ${lock.description}: ${this.#o.absent}` : null,
      };
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      const message = (err as Error).message;
      // Logged when it starts failing; the slices (and the peers) stay as they are meanwhile.
      if (this.#polled.lastError !== message) logger.warn({ err, lease: lock.description }, 'reading the mirror lease failed');
      this.#polled = { ...this.#polled, lastError: message };
    }
  }
}

/**
 * What a reading daemon shows of a remote's publisher (source `slices`,
 * docs/fleet-mode.md, "Reading slices"). `renewedAt` is the publisher's
 * own clock, as written in the Lease.
 */
export interface PublisherLeaseStatus {
  /** The replica holding the lease; null when released, absent or not read yet. */
  holder: string | null;
  renewedAt: number | null;
  readAt: number | null;
  lastError: string | null;
}

export function publisherLeaseStatus(polled: PolledLease): PublisherLeaseStatus {
  const renewTime = polled.lease?.record.renewTime;
  const renewedAt = renewTime ? Date.parse(renewTime) : NaN;
  return {
    holder: polled.lease?.record.holderIdentity || null,
    renewedAt: Number.isFinite(renewedAt) ? renewedAt : null,
    readAt: polled.readAt,
    lastError: polled.lastError,
  };
}
