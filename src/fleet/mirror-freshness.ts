import { MIRRORED_REMOTES_ANNOTATION, mirroredRemote, type MirroredRemote } from './lease-annotations.ts';
import type { PolledLease } from './lease-poller.ts';

/**
 * How a daemon on source `mirror` judges the local mirror's copy of one
 * remote (docs/fleet-mode.md, "Freshness"):
 * - `fresh`: the mirror leads (its Lease moved within a lease duration,
 *   by this node's clock) and says the remote's slices match their source;
 * - `stale`: the mirror leads but says they do not (the remote is
 *   unreachable, or not mirrored at all);
 * - `down`: no replica leads: no Lease, a released one, or one that has
 *   not moved for longer than its duration;
 * - `unknown`: not judged yet (a renewal takes two reads to see).
 * Peers are kept in every state: staleness is reported, never acted on.
 */
export type MirrorState = 'fresh' | 'stale' | 'down' | 'unknown';

export interface MirrorJudgement {
  state: MirrorState;
  /** Why it is not fresh; null when fresh. */
  reason: string | null;
}

/** The judgement of the last read of the Lease (a pure function of it: the time between reads is not the mirror's fault). */
export function judgeMirror(polled: PolledLease, remote: string): MirrorJudgement {
  const { lease, readAt, changedAt } = polled;
  if (readAt === null || changedAt === null) return { state: 'unknown', reason: `the mirror's Lease not read yet${polled.lastError ? ` (${polled.lastError})` : ''}` };
  if (lease === null) return { state: 'down', reason: polled.lastError ?? 'no mirror Lease' };
  const { holderIdentity, leaseDurationSeconds } = lease.record;
  if (holderIdentity === '') return { state: 'down', reason: 'the mirror Lease is released: no replica leads' };
  const unmoved = readAt - changedAt;
  if (unmoved > leaseDurationSeconds * 1000) return { state: 'down', reason: `the mirror Lease (held by ${holderIdentity}) has not been renewed for ${Math.round(unmoved / 1000)}s by this node's clock` };
  if (readAt === polled.firstReadAt) return { state: 'unknown', reason: 'one read of the mirror Lease so far: a renewal takes two to see' };
  const mirrored = mirroredRemote(lease.annotations[MIRRORED_REMOTES_ANNOTATION], remote);
  if (mirrored === null) return { state: 'stale', reason: `the mirror (${holderIdentity}) does not mirror ${remote}: is it in the mirror's config?` };
  if (!mirrored.synced) return { state: 'stale', reason: staleReason(remote, mirrored) };
  return { state: 'fresh', reason: null };
}

function staleReason(remote: string, m: MirroredRemote): string {
  const since = m.since === null ? '' : ` since ${m.since} (the mirror's clock)`;
  return m.source === null ? `the mirror has not reached ${remote} yet${since}` : `the mirror's copy of ${remote} is out of sync with its ${m.source}${since}`;
}
