import type { RemoteStatus } from './remote-status.ts';

/** By default, a watch disconnected for longer than this makes the daemon not ready (docs/http-and-metrics.md). */
export const WATCH_GRACE_MS = 60_000;

/**
 * A pass (device set-up and peer sync) still running after this long is
 * stuck: every command it runs is killed after its timeout (at most 60 s
 * and a grace), a UAPI request times out after 30 s and DNS is never
 * waited on, so only a hang nothing else catches gets here. /healthz then
 * fails, and the liveness probe restarts the daemon.
 */
export const PASS_DEADLINE_MS = 180_000;

export interface Verdict {
  ok: boolean;
  /** remote name → why it is not ok; empty when ok. */
  reasons: Record<string, string>;
}

/**
 * /healthz: every remote's device is initialised (semaphore-wireguard's
 * meaning), and no pass is stuck past its deadline.
 */
export function health(remotes: readonly RemoteStatus[], now: number, deadlineMs = PASS_DEADLINE_MS): Verdict {
  const reasons: Record<string, string> = {};
  for (const r of remotes) {
    const why = stuckPass(r, now, deadlineMs) ?? (r.deviceReady ? null : `device ${r.device} is not initialised`);
    if (why) reasons[r.remote] = why;
  }
  return { ok: Object.keys(reasons).length === 0, reasons };
}

/**
 * /readyz: every remote completed a first sync and its watch is connected,
 * or was within the grace period (a short apiserver blip must not take
 * every node of a cluster out of service at once).
 */
export function readiness(remotes: readonly RemoteStatus[], now: number, graceMs = WATCH_GRACE_MS, deadlineMs = PASS_DEADLINE_MS): Verdict {
  const reasons: Record<string, string> = {};
  for (const r of remotes) {
    const why = stuckPass(r, now, deadlineMs) ?? remoteNotReady(r, now, graceMs);
    if (why) reasons[r.remote] = why;
  }
  return { ok: Object.keys(reasons).length === 0, reasons };
}

function remoteNotReady(r: RemoteStatus, now: number, graceMs: number): string | null {
  if (!r.deviceReady) return `device ${r.device} is not initialised`;
  if (!r.watch.synced) return `no first list of the remote's nodes yet${r.watch.lastError ? ` (${r.watch.lastError})` : ''}`;
  if (r.lastSyncAt === null) return `peers not applied to ${r.device} yet${r.lastSyncError ? ` (${r.lastSyncError})` : ''}`;
  const mirror = staleMirror(r, now, graceMs);
  if (mirror !== null) return mirror;
  if (r.watch.state === 'connected') return null;
  const since = r.watch.disconnectedAt ?? r.watch.connectedAt;
  if (since !== null && now - since <= graceMs) return null;
  const seconds = since === null ? 'ever' : `${Math.round((now - since) / 1000)}s`;
  return `watch disconnected for ${seconds}${r.watch.lastError ? `: ${r.watch.lastError}` : ''}`;
}

/**
 * Source mirror: the local mirror down, or its copy of the remote stale,
 * for longer than the grace by this node's clock. The peers stay as they
 * are; readiness says that changes of the remote no longer arrive.
 */
function staleMirror(r: RemoteStatus, now: number, graceMs: number): string | null {
  if (r.source.kind !== 'mirror') return null;
  const { notFreshSince, state, reason } = r.source.mirror;
  if (notFreshSince === null || now - notFreshSince <= graceMs) return null;
  return `the mirror is ${state} for ${Math.round((now - notFreshSince) / 1000)}s (peers kept as they are): ${reason ?? ''}`;
}

function stuckPass(r: RemoteStatus, now: number, deadlineMs: number): string | null {
  if (r.passStartedAt === null || now - r.passStartedAt <= deadlineMs) return null;
  return `a pass has been running for ${Math.round((now - r.passStartedAt) / 1000)}s, past its deadline of ${Math.round(deadlineMs / 1000)}s: a command or the device is not answering`;
}
