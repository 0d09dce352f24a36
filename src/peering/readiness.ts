import type { RemoteStatus } from './remote-status.ts';

/** By default, a watch disconnected for longer than this makes the daemon not ready (SPEC §4). */
export const WATCH_GRACE_MS = 60_000;

export interface Verdict {
  ok: boolean;
  /** remote name → why it is not ok; empty when ok. */
  reasons: Record<string, string>;
}

/** /healthz: every remote's device is initialised (semaphore-wireguard's meaning). */
export function health(remotes: readonly RemoteStatus[]): Verdict {
  const reasons: Record<string, string> = {};
  for (const r of remotes) {
    if (!r.deviceReady) reasons[r.remote] = `device ${r.device} is not initialised`;
  }
  return { ok: Object.keys(reasons).length === 0, reasons };
}

/**
 * /readyz: every remote completed a first sync and its watch is connected,
 * or was within the grace period (a short apiserver blip must not take
 * every node of a cluster out of service at once).
 */
export function readiness(remotes: readonly RemoteStatus[], now: number, graceMs = WATCH_GRACE_MS): Verdict {
  const reasons: Record<string, string> = {};
  for (const r of remotes) {
    const why = remoteNotReady(r, now, graceMs);
    if (why) reasons[r.remote] = why;
  }
  return { ok: Object.keys(reasons).length === 0, reasons };
}

function remoteNotReady(r: RemoteStatus, now: number, graceMs: number): string | null {
  if (!r.deviceReady) return `device ${r.device} is not initialised`;
  if (!r.watch.synced) return `no first list of the remote's nodes yet${r.watch.lastError ? ` (${r.watch.lastError})` : ''}`;
  if (r.lastSyncAt === null) return `peers not applied to ${r.device} yet${r.lastSyncError ? ` (${r.lastSyncError})` : ''}`;
  if (r.watch.state === 'connected') return null;
  const since = r.watch.disconnectedAt ?? r.watch.connectedAt;
  if (since !== null && now - since <= graceMs) return null;
  const seconds = since === null ? 'ever' : `${Math.round((now - since) / 1000)}s`;
  return `watch disconnected for ${seconds}${r.watch.lastError ? `: ${r.watch.lastError}` : ''}`;
}
