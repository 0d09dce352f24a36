import type { Clock } from '../clock/clock.ts';
import type { Logger } from '../log.ts';
import type { LeaseAnnotations, LeaseLock } from './lease-lock.ts';
import { leaseVerdict, nextRecord, releasedRecord, sameRecord, type LeaseRecord } from './lease-record.ts';

/** kube-controller-manager's defaults (--leader-elect-lease-duration, -renew-deadline, -retry-period). */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;
/** client-go's JitterFactor: a candidate waits 1 to 2.2 retry periods between tries. */
const JITTER_FACTOR = 1.2;
/** How long a release on stop may take: stopping must stay prompt. */
const RELEASE_TIMEOUT_MS = 2_000;

export interface ElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** client-go's checks: a leader must give up before anyone may take over, and retry at least once before it does. */
export function timingProblem(t: ElectionTiming): string | null {
  if (t.leaseDurationMs <= t.renewDeadlineMs) return 'the lease duration must be longer than the renew deadline';
  if (t.renewDeadlineMs <= JITTER_FACTOR * t.retryPeriodMs) return `the renew deadline must be longer than ${JITTER_FACTOR} retry periods`;
  if (t.leaseDurationMs < 1000) return 'the lease duration must be at least 1s (a Lease counts whole seconds)';
  if (t.retryPeriodMs <= 0) return 'the retry period must be positive';
  return null;
}

export interface LeaderElectorOptions extends ElectionTiming {
  lock: LeaseLock;
  /** Unique among the candidates: the pod name. */
  identity: string;
  clock: Clock;
  logger: Logger;
  /** Called when this elector becomes the leader. */
  onStartedLeading: () => void;
  /** Called when it stops being the leader: lost, taken over, or stopped. */
  onStoppedLeading: () => void;
  /**
   * Annotations the leader writes with every acquisition and renewal (the
   * mirror's state for readers: docs/fleet-mode.md, "Freshness"), so that
   * saying them costs no write of its own. Not written on release.
   */
  annotations?: () => LeaseAnnotations;
  random?: () => number;
}

/** What /status shows. Times are Unix milliseconds by the local clock. */
export interface ElectionStatus {
  identity: string;
  lease: string;
  leading: boolean;
  /** Whom the last read of the lease named; '' when released, null before the first read. */
  holder: string | null;
  leadingSince: number | null;
  /** When this elector last saw the record change (or renewed it). */
  observedAt: number | null;
  lastError: string | null;
}

interface Observation {
  record: LeaseRecord;
  /** By the local clock: the only time an elector trusts. */
  at: number;
}

/**
 * Leader election through a Lease, with client-go's semantics
 * (tools/leaderelection): a candidate tries every retry period (jittered)
 * and takes the lease when it is released, or when its record has not
 * changed for a lease duration by the candidate's own clock; the leader
 * renews every retry period and gives up when a renewal has not succeeded
 * within the renew deadline, or as soon as it reads another holder. Every
 * write is conditional on the resourceVersion read, so of two candidates
 * only one wins; a renewal that meets a 409 reads the lease and, if it is
 * still ours, renews on the fresh version. On stop, the leader releases
 * the lease, so a standby takes over within a retry period instead of a
 * lease duration.
 */
export class LeaderElector {
  readonly #o: LeaderElectorOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #random: () => number;
  #running: Promise<void> | null = null;
  #observed: Observation | null = null;
  #resourceVersion: string | null = null;
  #leading = false;
  #leadingSince: number | null = null;
  #lastError: string | null = null;
  /** The holder last logged, so a standby logs each new leader once. */
  #reportedHolder: string | null = null;

  constructor(options: LeaderElectorOptions) {
    const problem = timingProblem(options);
    if (problem !== null) throw new Error(`leader election on ${options.lock.description}: ${problem}`);
    this.#o = options;
    this.#log = options.logger;
    this.#random = options.random ?? Math.random;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  status(): ElectionStatus {
    return {
      identity: this.#o.identity,
      lease: this.#o.lock.description,
      leading: this.#leading,
      holder: this.#observed?.record.holderIdentity ?? null,
      leadingSince: this.#leadingSince,
      observedAt: this.#observed?.at ?? null,
      lastError: this.#lastError,
    };
  }

  start(): void {
    if (this.#running) throw new Error(`leader election on ${this.#o.lock.description} already started`);
    this.#log.info({ lease: this.#o.lock.description, identity: this.#o.identity }, 'trying to acquire the lease');
    this.#running = this.#run(this.#abort.signal).catch((err: unknown) => {
      this.#log.error({ err }, 'leader election ended by an unexpected error');
      this.#stepDown('leader election ended');
    });
  }

  /** Stops campaigning; a leader releases the lease (after onStoppedLeading). */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
    if (!this.#leading) return;
    this.#stepDown('stopping');
    await this.#release();
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.#tryAcquireOrRenew(signal))) {
        await this.#pause(this.#o.retryPeriodMs * (1 + this.#random() * JITTER_FACTOR), signal);
        continue;
      }
      this.#leading = true;
      this.#leadingSince = this.#o.clock.now();
      this.#log.info({ lease: this.#o.lock.description, transitions: this.#observed?.record.leaseTransitions }, 'acquired the lease: leading');
      this.#o.onStartedLeading();
      const lost = await this.#renewWhileLeading(signal);
      if (lost !== null) this.#stepDown(lost);
    }
  }

  /** Renews every retry period; resolves with why leadership was lost, or null when stopped. */
  async #renewWhileLeading(signal: AbortSignal): Promise<string | null> {
    for (;;) {
      await this.#pause(this.#o.retryPeriodMs, signal);
      if (signal.aborted) return null;
      const deadline = this.#o.clock.now() + this.#o.renewDeadlineMs;
      for (;;) {
        const attempt = this.#deadlineSignal(signal, deadline);
        const renewed = await this.#tryAcquireOrRenew(attempt.signal).finally(attempt.cancel);
        if (signal.aborted) return null;
        if (renewed) break;
        const holder = this.#observed?.record.holderIdentity;
        if (holder !== undefined && holder !== this.#o.identity) return `the lease is held by ${holder || 'no one'} now`;
        const left = deadline - this.#o.clock.now();
        if (left <= 0) return `no renewal succeeded within the renew deadline of ${this.#o.renewDeadlineMs / 1000}s${this.#lastError ? ` (${this.#lastError})` : ''}`;
        await this.#pause(Math.min(this.#o.retryPeriodMs, left), signal);
        if (signal.aborted) return null;
      }
    }
  }

  /** One try, client-go's tryAcquireOrRenew: true when this elector holds the lease afterwards. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { lock, identity, clock } = this.#o;
    const seconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    const now = clock.now();
    // The leader's fast path: write on the version it last wrote, without a read.
    const observed = this.#observed;
    const stillOurs = observed !== null && observed.record.holderIdentity === identity && observed.at + observed.record.leaseDurationSeconds * 1000 > now;
    if (this.#leading && stillOurs && this.#resourceVersion !== null) {
      const record = nextRecord(observed?.record ?? null, identity, seconds, now);
      try {
        this.#observe(record, await lock.update(record, this.#resourceVersion, signal, this.#o.annotations?.()));
        this.#lastError = null;
        return true;
      } catch (err) {
        if (signal.aborted) return false;
        this.#log.debug({ err }, 'renewing on the last version failed; reading the lease');
      }
    }
    try {
      const current = await lock.get(signal);
      if (current === null) {
        const record = nextRecord(null, identity, seconds, now);
        this.#observe(record, await lock.create(record, signal, this.#o.annotations?.()));
        this.#lastError = null;
        return true;
      }
      if (this.#observed === null || !sameRecord(this.#observed.record, current.record)) this.#observe(current.record, current.resourceVersion);
      this.#resourceVersion = current.resourceVersion;
      this.#reportHolder(current.record.holderIdentity);
      const at = this.#observed?.at ?? now;
      if (leaseVerdict(current.record, identity, at, clock.now()) === 'held') return false;
      const record = nextRecord(current.record, identity, seconds, clock.now());
      this.#observe(record, await lock.update(record, current.resourceVersion, signal, this.#o.annotations?.()));
      this.#lastError = null;
      return true;
    } catch (err) {
      if (!signal.aborted) this.#failed(err);
      return false;
    }
  }

  #observe(record: LeaseRecord, resourceVersion: string): void {
    this.#observed = { record, at: this.#o.clock.now() };
    this.#resourceVersion = resourceVersion;
  }

  /** A standby logs each leader it sees once. */
  #reportHolder(holder: string): void {
    if (holder === this.#reportedHolder || holder === this.#o.identity) return;
    this.#reportedHolder = holder;
    this.#log.info({ lease: this.#o.lock.description, holder: holder || null }, holder === '' ? 'the lease was released' : 'the lease is held by another candidate');
  }

  #failed(err: unknown): void {
    const message = (err as Error).message;
    // Once per distinct error: a candidate retries every few seconds.
    if (message === this.#lastError) return;
    this.#lastError = message;
    this.#log.warn({ err, lease: this.#o.lock.description }, 'reading or writing the lease failed; retrying');
  }

  #stepDown(why: string): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#leadingSince = null;
    this.#reportedHolder = null;
    this.#log.warn({ lease: this.#o.lock.description, why }, 'stopped leading');
    this.#o.onStoppedLeading();
  }

  async #release(): Promise<void> {
    const observed = this.#observed;
    if (!observed || this.#resourceVersion === null || observed.record.holderIdentity !== this.#o.identity) return;
    const attempt = this.#deadlineSignal(undefined, this.#o.clock.now() + RELEASE_TIMEOUT_MS);
    try {
      const record = releasedRecord(observed.record, this.#o.clock.now());
      try {
        this.#observe(record, await this.#o.lock.update(record, this.#resourceVersion, attempt.signal));
      } catch (err) {
        // A renewal that stop() cut short may still have reached the
        // apiserver, moving the lease past the version we hold: read it,
        // and release it on the fresh version if it is still ours.
        const current = await this.#o.lock.get(attempt.signal);
        if (current === null || current.record.holderIdentity !== this.#o.identity) throw err;
        const fresh = releasedRecord(current.record, this.#o.clock.now());
        this.#observe(fresh, await this.#o.lock.update(fresh, current.resourceVersion, attempt.signal));
      }
      this.#log.info({ lease: this.#o.lock.description }, 'released the lease');
    } catch (err) {
      // The standby then waits out the lease duration: slower, not wrong.
      this.#log.warn({ err, lease: this.#o.lock.description }, 'releasing the lease failed; it expires by itself');
    } finally {
      attempt.cancel();
    }
  }

  /** A signal that aborts with `parent` or at `deadline` by the elector's clock. */
  #deadlineSignal(parent: AbortSignal | undefined, deadline: number): { signal: AbortSignal; cancel: () => void } {
    const controller = new AbortController();
    const cancel = this.#o.clock.schedule(() => controller.abort(new Error('renew deadline passed')), Math.max(0, deadline - this.#o.clock.now()));
    return { signal: parent ? AbortSignal.any([parent, controller.signal]) : controller.signal, cancel };
  }

  async #pause(ms: number, signal: AbortSignal): Promise<void> {
    try {
      await this.#o.clock.sleep(ms, signal);
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }
}
