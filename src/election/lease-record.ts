import { field, stringOrNull } from '../kube/json-value.ts';

/**
 * The leader election record a `coordination.k8s.io/v1` Lease holds
 * (client-go's LeaderElectionRecord). Times are the apiserver's MicroTime
 * text: they are written for people and other clients, and never trusted
 * by an elector, which judges expiry by its own clock (leader-elector.ts).
 */
export interface LeaseRecord {
  /** '' when no one holds the lease (released). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: string | null;
  renewTime: string | null;
  leaseTransitions: number;
}

/** The spec of a Lease object (unchecked JSON) as a record; missing fields are empty. */
export function leaseRecordOf(lease: unknown): LeaseRecord {
  const spec = field(lease, 'spec');
  const duration = field(spec, 'leaseDurationSeconds');
  const transitions = field(spec, 'leaseTransitions');
  return {
    holderIdentity: stringOrNull(field(spec, 'holderIdentity')) ?? '',
    leaseDurationSeconds: typeof duration === 'number' && Number.isFinite(duration) ? duration : 0,
    acquireTime: stringOrNull(field(spec, 'acquireTime')),
    renewTime: stringOrNull(field(spec, 'renewTime')),
    leaseTransitions: typeof transitions === 'number' && Number.isInteger(transitions) && transitions >= 0 ? transitions : 0,
  };
}

/** Two records are the same observation when every field is (client-go compares the raw record). */
export function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}

/** metav1.MicroTime's text: RFC 3339 in UTC with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/** What a candidate may do about a lease it has just read. */
export type LeaseVerdict = 'renew' | 'take' | 'held';

/**
 * client-go's rule: a lease held by someone else is theirs until its
 * duration has passed since this elector last saw the record change, by
 * this elector's clock (the holder's timestamps are another machine's).
 * A released lease (no holder) may be taken at once; our own is renewed.
 */
export function leaseVerdict(record: LeaseRecord, identity: string, observedAt: number, now: number): LeaseVerdict {
  if (record.holderIdentity === identity) return 'renew';
  if (record.holderIdentity === '') return 'take';
  return observedAt + record.leaseDurationSeconds * 1000 > now ? 'held' : 'take';
}

/** The record an elector writes: a renewal keeps the acquire time and count, a take-over bumps the count. */
export function nextRecord(current: LeaseRecord | null, identity: string, leaseDurationSeconds: number, now: number): LeaseRecord {
  const renewTime = microTime(now);
  if (current !== null && current.holderIdentity === identity) {
    return { holderIdentity: identity, leaseDurationSeconds, acquireTime: current.acquireTime ?? renewTime, renewTime, leaseTransitions: current.leaseTransitions };
  }
  return { holderIdentity: identity, leaseDurationSeconds, acquireTime: renewTime, renewTime, leaseTransitions: current === null ? 0 : current.leaseTransitions + 1 };
}

/** client-go's release: no holder, a one-second duration, the count kept, so the next candidate takes it at once. */
export function releasedRecord(current: LeaseRecord, now: number): LeaseRecord {
  const time = microTime(now);
  return { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: time, renewTime: time, leaseTransitions: current.leaseTransitions };
}
