import { canonicalCidr } from '../ip/cidr.ts';
import type { DesiredPeer, ObservedPeer, PeerChange } from './types.ts';

/**
 * The peer changes that turn what a device has into what is desired:
 * removals of peers no longer desired (first, so a key replaced on a node
 * frees its allowed IPs before the new key takes them), then additions and
 * updates in desired order, each carrying only the fields that differ.
 *
 * Endpoints (SPEC §3.8): WireGuard updates a peer's endpoint when the peer
 * roams or sits behind NAT. An observed endpoint that differs from the
 * desired one is therefore left alone when the desired endpoint is the one
 * we applied last (`lastAppliedEndpoints`, by public key): only a change of
 * the advertised endpoint, or a peer without any endpoint, is written.
 */
/** What the delta compares: a peer as read back, or as we know we configured it. */
export type ComparablePeer = Pick<ObservedPeer, 'publicKey' | 'endpoint' | 'allowedIPs' | 'persistentKeepaliveSeconds'>;

export function peerDelta(
  desired: readonly DesiredPeer[],
  observed: readonly ComparablePeer[],
  lastAppliedEndpoints: ReadonlyMap<string, string>,
): PeerChange[] {
  const wanted = new Map(desired.map((peer) => [peer.publicKey, peer]));
  const present = new Map(observed.map((peer) => [peer.publicKey, peer]));
  const changes: PeerChange[] = [];
  for (const peer of observed) {
    if (!wanted.has(peer.publicKey)) changes.push({ publicKey: peer.publicKey, remove: true });
  }
  for (const peer of wanted.values()) {
    const current = present.get(peer.publicKey);
    const change = current
      ? peerUpdate(peer, current, lastAppliedEndpoints.get(peer.publicKey))
      : {
          publicKey: peer.publicKey,
          endpoint: peer.endpoint,
          replaceAllowedIPs: [...peer.allowedIPs],
          persistentKeepaliveSeconds: peer.persistentKeepaliveSeconds,
        };
    if (change) changes.push(change);
  }
  return changes;
}

function peerUpdate(desired: DesiredPeer, observed: ComparablePeer, lastApplied: string | undefined): PeerChange | null {
  const change: PeerChange = { publicKey: desired.publicKey };
  let changed = false;
  if (endpointNeedsWrite(desired.endpoint, observed.endpoint, lastApplied)) {
    change.endpoint = desired.endpoint;
    changed = true;
  }
  if (!sameSet(desired.allowedIPs, observed.allowedIPs)) {
    change.replaceAllowedIPs = [...desired.allowedIPs];
    changed = true;
  }
  if (desired.persistentKeepaliveSeconds !== observed.persistentKeepaliveSeconds) {
    change.persistentKeepaliveSeconds = desired.persistentKeepaliveSeconds;
    changed = true;
  }
  return changed ? change : null;
}

function endpointNeedsWrite(desired: string, observed: string | null, lastApplied: string | undefined): boolean {
  if (observed === null) return true;
  if (observed === desired) return false;
  return lastApplied !== desired;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  // Text equality is the common case and cheap; canonical forms (an IPv6
  // parse each) only when the spellings differ.
  return sameTextSet(a, b) || sameTextSet(a.map(canonicalCidr), b.map(canonicalCidr));
}

function sameTextSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  if (left.size !== right.size) return false;
  for (const cidr of left) if (!right.has(cidr)) return false;
  return true;
}

/**
 * The endpoints to pass as `lastAppliedEndpoints` next time, once the delta
 * for `desired` has been applied successfully: every desired peer's endpoint
 * is then either written, already observed, or a roamed one whose
 * advertisement had not changed.
 */
export function appliedEndpoints(desired: readonly DesiredPeer[]): Map<string, string> {
  return new Map(desired.map((peer) => [peer.publicKey, peer.endpoint]));
}
