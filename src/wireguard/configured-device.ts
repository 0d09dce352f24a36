import type { DeviceChange, ObservedDevice } from './types.ts';

/** A peer as configured: what a `set` wrote, without runtime counters. */
export interface ConfiguredPeer {
  publicKey: string;
  endpoint: string | null;
  allowedIPs: string[];
  persistentKeepaliveSeconds: number;
}

/**
 * What has been written to a device: enough to write it again to a fresh
 * one (a restarted wireguard-go) and to model one in memory (the fake).
 */
export interface ConfiguredDevice {
  privateKey: string | null;
  listenPort: number;
  peers: ReadonlyMap<string, ConfiguredPeer>;
}

export const EMPTY_CONFIGURED_DEVICE: ConfiguredDevice = { privateKey: null, listenPort: 0, peers: new Map() };

/**
 * The device after a change, with WireGuard's semantics: a change to an
 * unknown peer creates it, allowed IPs are replaced when given, and an
 * allowed IP belongs to one peer only (giving it to another takes it away).
 */
export function applyDeviceChange(device: ConfiguredDevice, change: DeviceChange): ConfiguredDevice {
  const peers = new Map(device.peers);
  const owners = new Map<string, string>();
  for (const peer of peers.values()) for (const cidr of peer.allowedIPs) owners.set(cidr, peer.publicKey);

  for (const peerChange of change.peers) {
    const previous = peers.get(peerChange.publicKey);
    if (peerChange.remove) {
      peers.delete(peerChange.publicKey);
      for (const cidr of previous?.allowedIPs ?? []) owners.delete(cidr);
      continue;
    }
    let allowedIPs = previous?.allowedIPs ?? [];
    if (peerChange.replaceAllowedIPs) {
      for (const cidr of allowedIPs) owners.delete(cidr);
      allowedIPs = [...new Set(peerChange.replaceAllowedIPs)];
      for (const cidr of allowedIPs) takeAllowedIP(peers, owners, cidr, peerChange.publicKey);
    }
    peers.set(peerChange.publicKey, {
      publicKey: peerChange.publicKey,
      endpoint: peerChange.endpoint ?? previous?.endpoint ?? null,
      allowedIPs,
      persistentKeepaliveSeconds: peerChange.persistentKeepaliveSeconds ?? previous?.persistentKeepaliveSeconds ?? 0,
    });
  }
  return {
    privateKey: change.privateKey ?? device.privateKey,
    listenPort: change.listenPort ?? device.listenPort,
    peers,
  };
}

function takeAllowedIP(peers: Map<string, ConfiguredPeer>, owners: Map<string, string>, cidr: string, owner: string): void {
  const previousOwner = owners.get(cidr);
  owners.set(cidr, owner);
  if (previousOwner === undefined || previousOwner === owner) return;
  const peer = peers.get(previousOwner);
  if (peer) peers.set(previousOwner, { ...peer, allowedIPs: peer.allowedIPs.filter((other) => other !== cidr) });
}

/** The configuration a device reports, with the private key we know it has. */
export function configuredFromObserved(observed: ObservedDevice, privateKey: string | null): ConfiguredDevice {
  return {
    privateKey,
    listenPort: observed.listenPort,
    peers: new Map(
      observed.peers.map((peer) => [
        peer.publicKey,
        {
          publicKey: peer.publicKey,
          endpoint: peer.endpoint,
          allowedIPs: [...peer.allowedIPs],
          persistentKeepaliveSeconds: peer.persistentKeepaliveSeconds,
        },
      ]),
    ),
  };
}

/** The change that writes a whole configuration onto an empty device. */
export function restoringChange(device: ConfiguredDevice): DeviceChange {
  return {
    ...(device.privateKey === null ? {} : { privateKey: device.privateKey }),
    ...(device.listenPort === 0 ? {} : { listenPort: device.listenPort }),
    peers: [...device.peers.values()].map((peer) => ({
      publicKey: peer.publicKey,
      ...(peer.endpoint === null ? {} : { endpoint: peer.endpoint }),
      replaceAllowedIPs: [...peer.allowedIPs],
      persistentKeepaliveSeconds: peer.persistentKeepaliveSeconds,
    })),
  };
}
