import type { ElectionStatus } from '../election/leader-elector.ts';
import type { PublisherStatus } from '../fleet/slice-publisher.ts';
import { PASS_DEADLINE_MS, type Verdict } from '../peering/readiness.ts';

/** What the mirror's HTTP server may see: read-only. */
export interface MirrorView {
  /** The local cluster. */
  readonly cluster: string;
  /** Where the slices and the Lease live. */
  readonly namespace: string;
  election(): ElectionStatus;
  publishers(): PublisherStatus[];
}

/** GET /status of `clusterwire mirror`. */
export interface MirrorStatusReport {
  generatedAt: string;
  cluster: string;
  namespace: string;
  election: ElectionStatus;
  publishers: PublisherStatus[];
}

export function mirrorStatusReport(view: MirrorView, now: number): MirrorStatusReport {
  return { generatedAt: new Date(now).toISOString(), cluster: view.cluster, namespace: view.namespace, election: view.election(), publishers: view.publishers() };
}

/** /healthz: no publishing pass stuck past its deadline (the liveness probe then restarts the replica). */
export function mirrorHealth(publishers: readonly PublisherStatus[], now: number, deadlineMs = PASS_DEADLINE_MS): Verdict {
  const reasons: Record<string, string> = {};
  for (const p of publishers) {
    if (p.passStartedAt !== null && now - p.passStartedAt > deadlineMs) reasons[p.peer] = `a publishing pass has been running for ${Math.round((now - p.passStartedAt) / 1000)}s`;
  }
  return { ok: Object.keys(reasons).length === 0, reasons };
}

/**
 * /readyz: the local nodes are listed (a standby that takes over knows
 * them at once), and the leader has published every peer's slices since
 * it started leading.
 */
export function mirrorReadiness(election: ElectionStatus, publishers: readonly PublisherStatus[]): Verdict {
  const reasons: Record<string, string> = {};
  for (const p of publishers) {
    const error = p.lastError ?? p.nodes.lastError;
    if (!p.nodes.synced) reasons[p.peer] = `no first list of the local nodes yet${error ? ` (${error})` : ''}`;
    else if (election.leading && (p.lastPublishAt === null || (election.leadingSince !== null && p.lastPublishAt < election.leadingSince))) {
      reasons[p.peer] = `slices not published since this replica started leading${error ? ` (${error})` : ''}`;
    }
  }
  return { ok: Object.keys(reasons).length === 0, reasons };
}
