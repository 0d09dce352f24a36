import type { DesiredPeer, PeerChange } from '../wireguard/types.ts';
import type { SkippedNode } from './remote-status.ts';

/** The device refused a peer with this data, at this time. */
export interface Rejection {
  fingerprint: string;
  at: number;
  /** Why, as shown in /status; fixed when it happens so it is logged once. */
  detail: string;
}

/** A rejected peer is tried again after this long, even if its data did not change. */
export const REJECTION_RETRY_MS = 5 * 60_000;

/** What the device was given of a peer: a new fingerprint means new data, worth trying again. */
export function peerFingerprint(peer: DesiredPeer): string {
  return JSON.stringify([peer.endpoint, peer.allowedIPs, peer.persistentKeepaliveSeconds]);
}

/**
 * The rejections that still hold: the peer is still desired, with the data
 * the device refused, and the refusal is younger than `retryMs`.
 */
export function heldRejections(rejections: ReadonlyMap<string, Rejection>, desired: readonly DesiredPeer[], now: number, retryMs = REJECTION_RETRY_MS): Map<string, Rejection> {
  const held = new Map<string, Rejection>();
  if (rejections.size === 0) return held;
  for (const peer of desired) {
    const rejection = rejections.get(peer.publicKey);
    if (rejection && rejection.fingerprint === peerFingerprint(peer) && now - rejection.at < retryMs) held.set(peer.publicKey, rejection);
  }
  return held;
}

/** The changes worth sending: a rejected peer's change is held back, and the device keeps what it has for that key. */
export function withoutRejected(changes: readonly PeerChange[], rejections: ReadonlyMap<string, Rejection>): PeerChange[] {
  return rejections.size === 0 ? [...changes] : changes.filter((change) => change.remove || !rejections.has(change.publicKey));
}

/** The rejected peers as skipped nodes; `peered` when the device still has an older version of the peer. */
export function rejectionSkips(rejections: ReadonlyMap<string, Rejection>, nodeOf: ReadonlyMap<string, string>, onDevice: (publicKey: string) => boolean): SkippedNode[] {
  return [...rejections].map(([publicKey, rejection]) => ({
    node: nodeOf.get(publicKey) ?? publicKey,
    reason: 'device-rejected',
    peered: onDevice(publicKey),
    detail: rejection.detail,
  }));
}
