import type { DesiredPeer } from '../wireguard/types.ts';
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
export function heldRejections(rejections: ReadonlyMap<string, Rejection>, desired: ReadonlyMap<string, DesiredPeer>, now: number, retryMs = REJECTION_RETRY_MS): Map<string, Rejection> {
  const held = new Map<string, Rejection>();
  for (const [key, rejection] of rejections) {
    const peer = desired.get(key);
    if (peer && rejection.fingerprint === peerFingerprint(peer) && now - rejection.at < retryMs) held.set(key, rejection);
  }
  return held;
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
