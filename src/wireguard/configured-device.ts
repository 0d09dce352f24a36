import type { DeviceChange, ObservedDevice } from './types.ts';

/** A peer as configured: what a `set` wrote, without runtime counters. */
export interface ConfiguredPeer {
  readonly publicKey: string;
  readonly endpoint: string | null;
  readonly allowedIPs: readonly string[];
  readonly persistentKeepaliveSeconds: number;
}

/**
 * What has been written to a device, with WireGuard's semantics: enough to
 * write it again to a fresh one (a restarted wireguard-go) and to model one
 * in memory (the fake). Changed in place, so applying a change costs what
 * the change holds, not what the device holds.
 */
export class ConfiguredDevice {
  privateKey: string | null = null;
  listenPort = 0;
  readonly #peers = new Map<string, ConfiguredPeer>();
  /** Allowed IP → the peer that has it: an allowed IP belongs to one peer only. */
  readonly #owners = new Map<string, string>();

  /** The configuration a device reports, with the private key we know it has. */
  static fromObserved(observed: ObservedDevice, privateKey: string | null): ConfiguredDevice {
    const device = new ConfiguredDevice();
    device.apply({
      ...(privateKey === null ? {} : { privateKey }),
      listenPort: observed.listenPort,
      peers: observed.peers.map((peer) => ({
        publicKey: peer.publicKey,
        ...(peer.endpoint === null ? {} : { endpoint: peer.endpoint }),
        // Not copied: apply() keeps its own array.
        replaceAllowedIPs: peer.allowedIPs,
        persistentKeepaliveSeconds: peer.persistentKeepaliveSeconds,
      })),
    });
    return device;
  }

  get peers(): ReadonlyMap<string, ConfiguredPeer> {
    return this.#peers;
  }

  /**
   * The device reports exactly these peers (key, endpoint, allowed IPs in
   * the same order, keepalive): a check that allocates nothing, so a read
   * that finds nothing new costs no new model of the device.
   */
  holdsSamePeers(observed: ObservedDevice): boolean {
    if (observed.peers.length !== this.#peers.size) return false;
    for (const peer of observed.peers) {
      const known = this.#peers.get(peer.publicKey);
      if (!known || known.endpoint !== peer.endpoint || known.persistentKeepaliveSeconds !== peer.persistentKeepaliveSeconds) return false;
      if (known.allowedIPs.length !== peer.allowedIPs.length || !known.allowedIPs.every((cidr, i) => cidr === peer.allowedIPs[i])) return false;
    }
    return true;
  }

  /**
   * The device after a change: a change to an unknown peer creates it,
   * fields left out are kept, allowed IPs are replaced when given, and an
   * allowed IP given to another peer is taken from the one that had it.
   */
  apply(change: DeviceChange): void {
    if (change.privateKey !== undefined) this.privateKey = change.privateKey;
    if (change.listenPort !== undefined) this.listenPort = change.listenPort;
    for (const peerChange of change.peers) {
      const previous = this.#peers.get(peerChange.publicKey);
      if (peerChange.remove) {
        for (const cidr of previous?.allowedIPs ?? []) this.#owners.delete(cidr);
        this.#peers.delete(peerChange.publicKey);
        continue;
      }
      let allowedIPs = previous?.allowedIPs ?? [];
      if (peerChange.replaceAllowedIPs) {
        for (const cidr of allowedIPs) this.#owners.delete(cidr);
        allowedIPs = [...new Set(peerChange.replaceAllowedIPs)];
        for (const cidr of allowedIPs) this.#take(cidr, peerChange.publicKey);
      }
      this.#peers.set(peerChange.publicKey, {
        publicKey: peerChange.publicKey,
        endpoint: peerChange.endpoint ?? previous?.endpoint ?? null,
        allowedIPs,
        persistentKeepaliveSeconds: peerChange.persistentKeepaliveSeconds ?? previous?.persistentKeepaliveSeconds ?? 0,
      });
    }
  }

  /** The change that writes this whole configuration onto an empty device. */
  restoringChange(): DeviceChange {
    return {
      ...(this.privateKey === null ? {} : { privateKey: this.privateKey }),
      ...(this.listenPort === 0 ? {} : { listenPort: this.listenPort }),
      peers: [...this.#peers.values()].map((peer) => ({
        publicKey: peer.publicKey,
        ...(peer.endpoint === null ? {} : { endpoint: peer.endpoint }),
        replaceAllowedIPs: [...peer.allowedIPs],
        persistentKeepaliveSeconds: peer.persistentKeepaliveSeconds,
      })),
    };
  }

  #take(cidr: string, owner: string): void {
    const previousOwner = this.#owners.get(cidr);
    this.#owners.set(cidr, owner);
    if (previousOwner === undefined || previousOwner === owner) return;
    const peer = this.#peers.get(previousOwner);
    if (peer) this.#peers.set(previousOwner, { ...peer, allowedIPs: peer.allowedIPs.filter((other) => other !== cidr) });
  }
}
