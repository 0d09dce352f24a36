import type { ElectionStatus } from '../election/leader-elector.ts';
import type { PublisherStatus } from '../fleet/slice-publisher.ts';
import { PASS_DEADLINE_MS, type Verdict } from '../peering/readiness.ts';
import type { MirroredRemoteStatus } from './mirrored-remote.ts';

/** What the mirror's HTTP server may see: read-only. */
export interface MirrorView {
  /** The local cluster. */
  readonly cluster: string;
  /** Where the slices and the Lease live. */
  readonly namespace: string;
  election(): ElectionStatus;
  publishers(): PublisherStatus[];
  mirrored(): MirroredRemoteStatus[];
}

/** GET /status of `clusterwire mirror`. */
export interface MirrorStatusReport {
  generatedAt: string;
  cluster: string;
  namespace: string;
  election: ElectionStatus;
  publishers: PublisherStatus[];
  /** Per remote: the source read (slices or nodes), its watch, and the mirrored slices. */
  mirrored: MirroredRemoteStatus[];
}

export function mirrorStatusReport(view: MirrorView, now: number): MirrorStatusReport {
  return { generatedAt: new Date(now).toISOString(), cluster: view.cluster, namespace: view.namespace, election: view.election(), publishers: view.publishers(), mirrored: view.mirrored() };
}

/** The key of a mirrored remote in /healthz and /readyz reasons, apart from the same cluster as a peer published for. */
export const mirroredKey = (remote: string) => `${remote} (mirrored)`;

/** /healthz: no publishing or mirroring pass stuck past its deadline (the liveness probe then restarts the replica). */
export function mirrorHealth(publishers: readonly PublisherStatus[], now: number, deadlineMs = PASS_DEADLINE_MS, mirrored: readonly MirroredRemoteStatus[] = []): Verdict {
  const reasons: Record<string, string> = {};
  const stuck = (what: string, startedAt: number | null) => (startedAt !== null && now - startedAt > deadlineMs ? `a ${what} pass has been running for ${Math.round((now - startedAt) / 1000)}s` : null);
  for (const p of publishers) {
    const why = stuck('publishing', p.passStartedAt);
    if (why) reasons[p.peer] = why;
  }
  for (const m of mirrored) {
    const why = stuck('mirroring', m.slices.passStartedAt);
    if (why) reasons[mirroredKey(m.remote)] = why;
  }
  return { ok: Object.keys(reasons).length === 0, reasons };
}

/**
 * /readyz: the local nodes are listed (a standby that takes over knows
 * them at once), and the leader has published every peer's slices since
 * it started leading.
 */
export function mirrorReadiness(election: ElectionStatus, publishers: readonly PublisherStatus[], mirrored: readonly MirroredRemoteStatus[] = []): Verdict {
  const reasons: Record<string, string> = {};
  const notSinceLeading = (at: number | null) => at === null || (election.leadingSince !== null && at < election.leadingSince);
  for (const p of publishers) {
    const error = p.lastError ?? p.nodes.lastError;
    if (!p.nodes.synced) reasons[p.peer] = `no first list of the local nodes yet${error ? ` (${error})` : ''}`;
    else if (election.leading && notSinceLeading(p.lastPublishAt)) {
      reasons[p.peer] = `slices not published since this replica started leading${error ? ` (${error})` : ''}`;
    }
  }
  // A standby reads no remote: only the leader's mirroring is judged.
  for (const m of election.leading ? mirrored : []) {
    const error = m.slices.lastError ?? m.source.watch.lastError;
    const detail = error ? ` (${error})` : '';
    if (m.source.source === null) reasons[mirroredKey(m.remote)] = `no first list of the remote yet: ${m.source.why ?? 'deciding its source'}${detail}`;
    else if (notSinceLeading(m.slices.lastPublishAt)) reasons[mirroredKey(m.remote)] = `not mirrored since this replica started leading${detail}`;
  }
  return { ok: Object.keys(reasons).length === 0, reasons };
}
