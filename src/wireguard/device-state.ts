import { ConfiguredDevice, type ConfiguredPeer } from './configured-device.ts';
import type { DeviceChange, DeviceRead } from './types.ts';

/**
 * The endpoint of a peer found on a device this process adopted, in a live
 * session: whatever the node advertises now counts as applied, so a
 * roamed endpoint is kept (docs/how-it-works.md, "Endpoints after a restart").
 */
export const ADOPTED = Symbol('adopted');

/** The advertised endpoint last written to a peer, or ADOPTED. */
export type AppliedEndpoint = string | typeof ADOPTED;

/**
 * A session is live when its last handshake is younger than this: WireGuard
 * rekeys every 2 minutes while a peer is in use (keepalives count) and
 * refuses a session's keys after 180 s (REJECT_AFTER_TIME).
 */
export const LIVE_SESSION_SECONDS = 180;

/**
 * What one device holds, as far as this process knows: the one copy, read
 * by the peering pass (what to change) and by the userspace supervisor
 * (what to write to a restarted wireguard-go). It is replaced by a read of
 * the device, follows every change the device accepted, and is unknown
 * after a change that failed, until the next read.
 */
export class DeviceState {
  readonly #privateKey: string;
  #config = new ConfiguredDevice();
  #known = false;
  #lastReadChanged = true;
  /** The configuration fingerprint of the read this state matches; null after a change or when the client gives none. */
  #fingerprint: string | null = null;
  readonly #endpoints = new Map<string, AppliedEndpoint>();

  constructor(privateKey: string) {
    this.#privateKey = privateKey;
    this.#config.privateKey = privateKey;
  }

  /** The device's peers by public key, or null when they must be read first. */
  get peers(): ReadonlyMap<string, ConfiguredPeer> | null {
    return this.#known ? this.#config.peers : null;
  }

  /** The advertised endpoint last given to each peer (docs/how-it-works.md, "Drift"). */
  get appliedEndpoints(): ReadonlyMap<string, AppliedEndpoint> {
    return this.#endpoints;
  }

  /**
   * What a read of the device found. `adoptedAtMs`: this is the first read
   * of a device this process did not create (a daemon restart): the peers
   * in a live session keep the endpoint they have (ADOPTED). A read whose
   * configuration fingerprint is the one this state was last read from,
   * with no change applied since, is not parsed: nothing drifted.
   */
  read(read: DeviceRead, adoptedAtMs: number | null): void {
    if (this.#known && adoptedAtMs === null && read.configFingerprint !== null && read.configFingerprint === this.#fingerprint) {
      this.#lastReadChanged = false;
      return;
    }
    const observed = read.device();
    this.#lastReadChanged = !this.#known || !this.#config.holdsSamePeers(observed);
    if (this.#lastReadChanged) this.#config = ConfiguredDevice.fromObserved(observed, this.#privateKey);
    else this.#config.listenPort = observed.listenPort;
    this.#known = true;
    this.#fingerprint = read.configFingerprint;
    if (adoptedAtMs === null) return;
    for (const peer of observed.peers) {
      const live = peer.lastHandshakeSeconds > 0 && adoptedAtMs / 1000 - peer.lastHandshakeSeconds < LIVE_SESSION_SECONDS;
      if (peer.endpoint !== null && live && !this.#endpoints.has(peer.publicKey)) this.#endpoints.set(peer.publicKey, ADOPTED);
    }
  }

  /**
   * False when the last read found the peers exactly as this state already
   * had them (the idle reconcile tick at any scale): nothing drifted, so
   * there is no peer to compare again.
   */
  get lastReadChanged(): boolean {
    return this.#lastReadChanged;
  }

  /** The device accepted this change: its configuration is no longer the one last read. */
  applied(change: DeviceChange): void {
    if (change.privateKey === undefined && change.listenPort === undefined && change.peers.length === 0) return;
    this.#config.apply(change);
    this.#fingerprint = null;
  }

  /** A change failed part way: what the device holds is unknown until it is read. */
  unknown(): void {
    this.#known = false;
    this.#fingerprint = null;
  }

  /** After a pass: the endpoint now applied to each of these peers, or null to forget it. */
  recordEndpoints(endpoints: ReadonlyMap<string, string | null>): void {
    for (const [key, endpoint] of endpoints) {
      if (endpoint === null) this.#endpoints.delete(key);
      else this.#endpoints.set(key, endpoint);
    }
  }

  /** The change that writes what the device last held onto an empty one (a restarted wireguard-go). */
  restoringChange(): DeviceChange {
    return this.#config.restoringChange();
  }
}
