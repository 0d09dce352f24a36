import { canonicalCidr } from '../net/cidr.ts';
import type { ConfiguredPeer } from '../wireguard/configured-device.ts';
import { ADOPTED, type AppliedEndpoint } from '../wireguard/device-state.ts';
import type { DesiredPeer, PeerChange } from '../wireguard/types.ts';
import { heldRejections, type Rejection } from './rejected-peers.ts';

export interface PeerPlanInput {
  /**
   * The public keys to compare: every key desired or on the device when the
   * device was just read (allKeys), else only the keys whose decision
   * changed since the last pass: the others already match.
   */
  keys: Iterable<string>;
  desired: ReadonlyMap<string, DesiredPeer>;
  /** What the device holds (DeviceState). */
  device: ReadonlyMap<string, ConfiguredPeer>;
  appliedEndpoints: ReadonlyMap<string, AppliedEndpoint>;
  /** Peers the device refused: their changes are held back, and the device keeps what it has for them. */
  rejections: ReadonlyMap<string, Rejection>;
}

/**
 * The peer changes of one pass, a pure function of the decision and the
 * device: removals of peers no longer desired first (so a key replaced on
 * a node frees its allowed IPs before the new key takes them), then
 * additions and updates, each carrying only the fields that differ.
 *
 * Endpoints: WireGuard updates a peer's endpoint when the peer roams or
 * sits behind NAT. An endpoint on the device that differs from the desired
 * one is left alone while the desired one is the one applied last (or the
 * peer was adopted in a live session): only a change of the advertised
 * endpoint, or a peer without any endpoint, is written.
 */
export function planPeers(input: PeerPlanInput): PeerChange[] {
  const removals: PeerChange[] = [];
  const updates: PeerChange[] = [];
  for (const key of input.keys) {
    const wanted = input.desired.get(key);
    const current = input.device.get(key);
    if (!wanted) {
      if (current) removals.push({ publicKey: key, remove: true });
      continue;
    }
    if (input.rejections.has(key)) continue;
    const change = current
      ? peerUpdate(wanted, current, input.appliedEndpoints.get(key))
      : { publicKey: key, endpoint: wanted.endpoint, replaceAllowedIPs: [...wanted.allowedIPs], persistentKeepaliveSeconds: wanted.persistentKeepaliveSeconds };
    if (change) updates.push(change);
  }
  return [...removals, ...updates];
}

export interface PassInput {
  /**
   * 'all' when the device was just read (every peer is compared, which
   * repairs drift), else the keys whose decision changed since the last
   * pass (PeerDecisions.update).
   */
  compare: 'all' | Iterable<string>;
  desired: ReadonlyMap<string, DesiredPeer>;
  device: ReadonlyMap<string, ConfiguredPeer>;
  appliedEndpoints: ReadonlyMap<string, AppliedEndpoint>;
  /** The device's refusals so far. */
  rejections: ReadonlyMap<string, Rejection>;
  now: number;
}

export interface PassPlan {
  /** The keys compared: their endpoints are recorded after the apply (settledEndpoints). */
  keys: Set<string>;
  changes: PeerChange[];
  /** The refusals that still hold; the others are tried again in this pass. */
  rejections: Map<string, Rejection>;
}

/**
 * One pass of the peering, as data: which keys to compare, the changes, and
 * the refusals still held back. A refusal that no longer holds (new data,
 * or older than the retry time) puts its key among the compared ones, so a
 * pass after a watch event tries it again without comparing every peer.
 */
export function planPass(input: PassInput): PassPlan {
  const held = heldRejections(input.rejections, input.desired, input.now);
  const keys = input.compare === 'all' ? allKeys(input.desired, input.device) : new Set(input.compare);
  if (input.compare !== 'all') for (const key of input.rejections.keys()) if (!held.has(key)) keys.add(key);
  const changes = planPeers({ keys, desired: input.desired, device: input.device, appliedEndpoints: input.appliedEndpoints, rejections: held });
  return { keys, changes, rejections: held };
}

/** Every key desired or on the device: what a pass compares after a read of the device. */
export function allKeys(desired: ReadonlyMap<string, unknown>, device: ReadonlyMap<string, unknown>): Set<string> {
  // No spread into arrays: this runs over every peer on each reconcile tick.
  const keys = new Set(desired.keys());
  for (const key of device.keys()) keys.add(key);
  return keys;
}

/**
 * The endpoints to record once a pass applied its changes: each compared
 * peer that is desired and not refused now has its advertised endpoint
 * (written, already there, or a roamed one whose advertisement did not
 * change); the others are forgotten, so a peer refused now is written
 * when it is tried again.
 */
export function settledEndpoints(keys: Iterable<string>, desired: ReadonlyMap<string, DesiredPeer>, rejections: ReadonlyMap<string, Rejection>): Map<string, string | null> {
  const endpoints = new Map<string, string | null>();
  for (const key of keys) {
    const peer = desired.get(key);
    endpoints.set(key, peer && !rejections.has(key) ? peer.endpoint : null);
  }
  return endpoints;
}

function peerUpdate(desired: DesiredPeer, current: ConfiguredPeer, applied: AppliedEndpoint | undefined): PeerChange | null {
  const change: PeerChange = { publicKey: desired.publicKey };
  let changed = false;
  if (endpointNeedsWrite(desired.endpoint, current.endpoint, applied)) {
    change.endpoint = desired.endpoint;
    changed = true;
  }
  if (!sameSet(desired.allowedIPs, current.allowedIPs)) {
    change.replaceAllowedIPs = [...desired.allowedIPs];
    changed = true;
  }
  if (desired.persistentKeepaliveSeconds !== current.persistentKeepaliveSeconds) {
    change.persistentKeepaliveSeconds = desired.persistentKeepaliveSeconds;
    changed = true;
  }
  return changed ? change : null;
}

function endpointNeedsWrite(desired: string, current: string | null, applied: AppliedEndpoint | undefined): boolean {
  if (current === null) return true;
  if (current === desired) return false;
  return applied !== ADOPTED && applied !== desired;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  // Text equality is the common case and cheap; canonical forms only when the spellings differ.
  return sameTextSet(a, b) || sameTextSet(a.map(canonicalCidr), b.map(canonicalCidr));
}

function sameTextSet(a: readonly string[], b: readonly string[]): boolean {
  // Same texts in the same order (nearly every peer on a reconcile tick): no sets to build.
  if (a.length === b.length && a.every((cidr, i) => cidr === b[i])) return true;
  const left = new Set(a);
  const right = new Set(b);
  if (left.size !== right.size) return false;
  for (const cidr of left) if (!right.has(cidr)) return false;
  return true;
}
