import type { Cancel, Clock } from '../clock/clock.ts';
import type { LeaseLock } from '../election/lease-lock.ts';
import type { Logger } from '../log.ts';

/**
 * What a reading daemon knows of a remote's publisher, from its Lease
 * (docs/fleet-mode.md, "Reading slices"). Times are Unix milliseconds;
 * `renewedAt` is the publisher's own clock, as written in the Lease.
 */
export interface PublisherLeaseStatus {
  /** The replica holding the lease; null when released, absent or not read yet. */
  holder: string | null;
  renewedAt: number | null;
  /** The last successful read of the Lease. */
  readAt: number | null;
  lastError: string | null;
}

export interface PublisherLeaseOptions {
  lock: LeaseLock;
  clock: Clock;
  logger: Logger;
  /** How often the Lease is read: one small GET, so freshness costs nothing like a watch of a Lease renewed every 2 s. */
  intervalMs: number;
}

/** Reads the remote publisher's Lease now and then, for /status and the freshness gauge. */
export class PublisherLease {
  readonly #o: PublisherLeaseOptions;
  readonly #abort = new AbortController();
  #status: PublisherLeaseStatus = { holder: null, renewedAt: null, readAt: null, lastError: null };
  #timer: Cancel | null = null;
  #reading: Promise<void> | null = null;

  constructor(options: PublisherLeaseOptions) {
    this.#o = options;
  }

  status(): PublisherLeaseStatus {
    return { ...this.#status };
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
      if (!this.#abort.signal.aborted) this.#timer = this.#o.clock.schedule(() => this.#read(), this.#o.intervalMs);
    });
  }

  async #readOnce(): Promise<void> {
    const { lock, clock, logger } = this.#o;
    try {
      const lease = await lock.get(this.#abort.signal);
      const renewedAt = lease?.record.renewTime ? Date.parse(lease.record.renewTime) : NaN;
      if (this.#status.lastError !== null) logger.info({ lease: lock.description }, 'reading the publisher lease recovered');
      this.#status = {
        holder: lease?.record.holderIdentity || null,
        renewedAt: Number.isFinite(renewedAt) ? renewedAt : null,
        readAt: clock.now(),
        lastError: lease === null ? `no Lease ${lock.description}: is clusterwire mirror running on the remote?` : null,
      };
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      const message = (err as Error).message;
      // Logged when it starts failing; the slices (and the peers) stay as they are meanwhile.
      if (this.#status.lastError !== message) logger.warn({ err, lease: lock.description }, 'reading the publisher lease failed');
      this.#status = { ...this.#status, lastError: message };
    }
  }
}
