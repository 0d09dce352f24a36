import { constants } from 'node:os';
import { keyFromHex, keyToHex, publicKeyOf } from './keys.ts';
import type { DeviceChange, ObservedDevice, ObservedPeer } from './types.ts';

/**
 * The text of WireGuard's cross-platform configuration protocol
 * (https://www.wireguard.com/xplatform/), spoken on a userspace
 * implementation's `/run/wireguard/<dev>.sock`. Keys are hex there.
 */

export const UAPI_GET_REQUEST = 'get=1\n\n';

/** The `set=1` request for a change, or null when there is nothing to send. */
export function uapiSetRequest(change: DeviceChange): string | null {
  if (change.privateKey === undefined && change.listenPort === undefined && change.peers.length === 0) {
    return null;
  }
  const lines = ['set=1'];
  if (change.privateKey !== undefined) lines.push(`private_key=${keyToHex(change.privateKey)}`);
  if (change.listenPort !== undefined) lines.push(`listen_port=${change.listenPort}`);
  for (const peer of change.peers) {
    lines.push(`public_key=${keyToHex(peer.publicKey)}`);
    if (peer.remove) {
      lines.push('remove=true');
      continue;
    }
    if (peer.endpoint !== undefined) lines.push(`endpoint=${peer.endpoint}`);
    if (peer.persistentKeepaliveSeconds !== undefined) {
      lines.push(`persistent_keepalive_interval=${peer.persistentKeepaliveSeconds}`);
    }
    if (peer.replaceAllowedIPs !== undefined) {
      lines.push('replace_allowed_ips=true');
      for (const cidr of peer.replaceAllowedIPs) lines.push(`allowed_ip=${cidr}`);
    }
  }
  return `${lines.join('\n')}\n\n`;
}

/**
 * The errno of a response: every response ends with `errno=N` and a blank
 * line. Implementations send negative values (wireguard-go: -EINVAL).
 */
export function uapiErrno(response: string): number {
  const match = /(?:^|\n)errno=(-?\d+)\n\n$/.exec(response);
  if (!match) throw new Error(`UAPI response does not end with errno (${describeResponse(response)})`);
  return Number(match[1]);
}

/**
 * A response's shape without its content: a `get` response holds the
 * private key, so errors and logs never quote a byte of one.
 */
function describeResponse(response: string): string {
  return `${response.length} characters, ${response.split('\n').length - 1} line breaks`;
}

/** `-22` → `EINVAL (22)`, for error messages. */
export function describeErrno(errno: number): string {
  const code = Math.abs(errno);
  const name = Object.entries(constants.errno).find(([, value]) => value === code)?.[0];
  return name ? `${name} (${code})` : String(code);
}

/** Parses a `get=1` response into what `wg show dump` would report. */
export function parseUapiGet(device: string, response: string): ObservedDevice {
  const errno = uapiErrno(response);
  if (errno !== 0) throw new Error(`UAPI get on ${device} answered errno ${describeErrno(errno)}`);

  let publicKey: string | null = null;
  let listenPort = 0;
  const peers: ObservedPeer[] = [];
  let peer: ObservedPeer | null = null;
  // An indexed loop: a device of 5,000 peers has ~40,000 lines, read on every reconcile tick.
  const lines = response.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as string;
    if (line === '') continue;
    const equals = line.indexOf('=');
    if (equals < 0) throw new Error(`UAPI get on ${device}: line ${index + 1} has no '=' (${line.length} characters)`);
    const key = line.slice(0, equals);
    const value = line.slice(equals + 1);
    if (key === 'public_key') {
      peer = {
        publicKey: keyFromHex(value),
        endpoint: null,
        allowedIPs: [],
        persistentKeepaliveSeconds: 0,
        lastHandshakeSeconds: 0,
        receiveBytes: 0,
        transmitBytes: 0,
      };
      peers.push(peer);
    } else if (peer === null) {
      if (key === 'private_key') publicKey = publicKeyOf(keyFromHex(value));
      else if (key === 'listen_port') listenPort = parseCount(device, key, value);
    } else {
      applyPeerField(device, peer, key, value);
    }
  }
  return { name: device, publicKey, listenPort, peers };
}

/**
 * The device's own settings from the start of a `get=1` response: the
 * lines before its first peer (`uapiInterfaceText`). Parses no peer.
 */
export function parseUapiInterface(device: string, interfaceText: string): { publicKey: string | null; listenPort: number } {
  let publicKey: string | null = null;
  let listenPort = 0;
  for (const line of interfaceText.split('\n')) {
    const equals = line.indexOf('=');
    if (equals < 0) continue;
    const key = line.slice(0, equals);
    const value = line.slice(equals + 1);
    if (key === 'private_key') publicKey = publicKeyOf(keyFromHex(value));
    else if (key === 'listen_port') listenPort = parseCount(device, key, value);
  }
  return { publicKey, listenPort };
}

const PEER_START = Buffer.from('\npublic_key=');

/** The lines of a `get=1` response before its first peer, decoded alone. */
export function uapiInterfaceText(response: Buffer): string {
  const firstPeer = response.indexOf(PEER_START);
  return response.toString('utf8', 0, firstPeer < 0 ? response.length : firstPeer);
}

const NEWLINE = 0x0a;
const LOWER_A = 0x61;
const LOWER_L = 0x6c;
const LOWER_R = 0x72;
const LOWER_T = 0x74;

/**
 * A 64-bit fingerprint of the configuration in a `get=1` response: every
 * line but the runtime ones (`last_handshake_time_*`, `rx_bytes`,
 * `tx_bytes`, the only keys starting with "la", "r" or "t"). Computed over
 * the bytes in one pass, allocating nothing: at 5,000 peers (1.6 MB) it
 * costs ~4 ms where the parse costs ~25 ms and its garbage. Two FNV-style
 * lanes; not a defence against crafted input, which the device's own
 * configuration is not.
 */
export function uapiConfigFingerprint(response: Uint8Array): string {
  let first = 0x811c9dc5 | 0;
  let second = 0x9747b28c | 0;
  let skip = false;
  let lineStart = true;
  for (let i = 0; i < response.length; i++) {
    const byte = response[i] as number;
    if (lineStart) {
      skip = byte === LOWER_R || byte === LOWER_T || (byte === LOWER_L && response[i + 1] === LOWER_A);
      lineStart = false;
    }
    if (byte === NEWLINE) lineStart = true;
    if (skip) continue;
    first = Math.imul(first ^ byte, 0x01000193);
    second = Math.imul(second ^ byte, 0x5bd1e995);
    second ^= second >>> 15;
  }
  return (first >>> 0).toString(16).padStart(8, '0') + (second >>> 0).toString(16).padStart(8, '0');
}

function applyPeerField(device: string, peer: ObservedPeer, key: string, value: string): void {
  switch (key) {
    case 'endpoint':
      peer.endpoint = value;
      break;
    case 'allowed_ip':
      peer.allowedIPs.push(value);
      break;
    case 'persistent_keepalive_interval':
      peer.persistentKeepaliveSeconds = parseCount(device, key, value);
      break;
    case 'last_handshake_time_sec':
      peer.lastHandshakeSeconds = parseCount(device, key, value);
      break;
    case 'rx_bytes':
      peer.receiveBytes = parseCount(device, key, value);
      break;
    case 'tx_bytes':
      peer.transmitBytes = parseCount(device, key, value);
      break;
    // preshared_key, protocol_version, last_handshake_time_nsec, errno: not observed.
  }
}

/** `key` is one of the field names above, never reply bytes. */
function parseCount(device: string, key: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`UAPI get on ${device}: ${key} is not a number (${value.length} characters)`);
  return Number(value);
}
