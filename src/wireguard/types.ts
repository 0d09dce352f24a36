/**
 * WireGuard data, after wgctrl-go: what a device *is* (observed, read back)
 * and what we want to *change* (a config delta) are different types.
 * Keys are base64 text as `wg` prints them.
 */

/** A peer as read from the device. */
export interface ObservedPeer {
  publicKey: string;
  /** `host:port` or `[v6]:port`; null when WireGuard knows none yet. */
  endpoint: string | null;
  allowedIPs: string[];
  /** 0 when off. */
  persistentKeepaliveSeconds: number;
  /** Unix seconds; 0 when never. */
  lastHandshakeSeconds: number;
  receiveBytes: number;
  transmitBytes: number;
}

/** A device as read back (`wg show <dev> dump`). */
export interface ObservedDevice {
  name: string;
  publicKey: string | null;
  listenPort: number;
  peers: ObservedPeer[];
}

/** A peer as the peering logic wants it on the device. */
export interface DesiredPeer {
  publicKey: string;
  /** `host:port` or `[v6]:port` as advertised by the remote node. */
  endpoint: string;
  allowedIPs: string[];
  persistentKeepaliveSeconds: number;
}

/** One peer's change; fields left undefined are not touched. */
export interface PeerChange {
  publicKey: string;
  remove?: true;
  endpoint?: string;
  /** When set, the peer's allowed IPs are replaced by exactly these. */
  replaceAllowedIPs?: string[];
  persistentKeepaliveSeconds?: number;
}

/** A change to a device: only what differs. */
export interface DeviceChange {
  /** Never logged; reaches `wg` through stdin, never the command line. */
  privateKey?: string;
  listenPort?: number;
  peers: PeerChange[];
}

/**
 * One read of a device: its own settings at once, its peers parsed only
 * when asked. A reconcile tick that finds the configuration as it was
 * (same fingerprint) then costs no parse of thousands of peers
 * (docs/how-it-works.md, "Drift").
 */
export interface DeviceRead {
  readonly publicKey: string | null;
  readonly listenPort: number;
  /**
   * Equal for two reads of the same configuration (private key, listen
   * port, and each peer's key, endpoint, allowed IPs and keepalive, in any
   * order of the peers), different otherwise; counters and handshakes are not
   * part of it. Null when the client cannot tell without parsing.
   */
  readonly configFingerprint: string | null;
  /** The whole device, parsed on the first call. */
  device(): ObservedDevice;
}

/**
 * The four-method client of wgctrl-go, reduced to what clusterwire needs.
 * Real implementations drive `wg` or the UAPI socket; the fake is in memory.
 */
export interface WireGuardClient {
  /** Reads a device; throws when it does not exist. */
  device(name: string): Promise<ObservedDevice>;
  /** Reads a device as `device` does, leaving the parse of its peers to the caller's need. */
  read(name: string): Promise<DeviceRead>;
  /** Applies a change in one call. */
  configure(name: string, change: DeviceChange): Promise<void>;
}

/**
 * The device answered a change with an error: something in the change (a
 * peer) is refused, as opposed to the device not answering at all. A
 * batch rejected this way is applied again in parts to find the peers the
 * device refuses (configure-finding-rejected.ts).
 */
export class ChangeRejectedError extends Error {
  override name = 'ChangeRejectedError';
}
