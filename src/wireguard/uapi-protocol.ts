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
const LOWER_E = 0x65;
const LOWER_L = 0x6c;
const LOWER_P = 0x70;
const LOWER_R = 0x72;
const LOWER_T = 0x74;
const LOWER_U = 0x75;

/**
 * A fingerprint of the configuration in a `get=1` response: every line but
 * the runtime ones (`last_handshake_time_*`, `rx_bytes`, `tx_bytes`, the
 * only keys starting with "la", "r" or "t") and `errno`. wireguard-go lists
 * its peers in Go map order, which changes from one read to the next, so
 * each peer's lines (from its `public_key`) are hashed alone and the peer
 * hashes are added up: the same peers in any order give the same
 * fingerprint. One pass over the bytes, a line at a time, allocating
 * only its four lanes: ~2.3 ms at 5,000 peers (1.6 MB), where the parse costs ~25 ms
 * and its garbage. It runs once per reconcile tick, long after the JIT
 * last saw it: the line loops are small functions called thousands of
 * times per read, which V8 keeps compiled (one loop over the whole reply
 * cost 10-20 ms on a cold call, 2.3 ms warm).
 * Two FNV-style lanes with a final mix per peer; not a defence against
 * crafted input, which the device's own configuration is not.
 */
export function uapiConfigFingerprint(response: Uint8Array): string {
  const length = response.length;
  // [device first, device second, peer first, peer second]
  const lanes = new Int32Array([FIRST_SEED, SECOND_SEED, FIRST_SEED, SECOND_SEED]);
  let sumFirst = 0;
  let sumSecond = 0;
  let inPeer = false;
  let i = 0;
  while (i < length) {
    const first = response[i] as number;
    const second = i + 1 < length ? (response[i + 1] as number) : 0;
    if (first === LOWER_E && second === LOWER_R) break;
    if (first === LOWER_P && second === LOWER_U) {
      if (inPeer) {
        sumFirst = (sumFirst + fmix32(lanes[2] as number)) | 0;
        sumSecond = (sumSecond + fmix32(lanes[3] as number)) | 0;
      }
      inPeer = true;
      lanes[2] = FIRST_SEED;
      lanes[3] = SECOND_SEED;
    }
    if (first === LOWER_R || first === LOWER_T || (first === LOWER_L && second === LOWER_A)) i = skipLine(response, i);
    else i = hashLine(response, i, lanes, inPeer ? 2 : 0);
  }
  if (inPeer) {
    sumFirst = (sumFirst + fmix32(lanes[2] as number)) | 0;
    sumSecond = (sumSecond + fmix32(lanes[3] as number)) | 0;
  }
  return hex32(fmix32(lanes[0] as number)) + hex32(fmix32(lanes[1] as number)) + hex32(sumFirst) + hex32(sumSecond);
}

/** The index after the line starting at `from`. */
function skipLine(response: Uint8Array, from: number): number {
  let i = from;
  while (i < response.length && response[i] !== NEWLINE) i++;
  return i + 1;
}

/** Hashes the line starting at `from`, its newline included, into lanes[at] and lanes[at + 1]; the index after it. */
function hashLine(response: Uint8Array, from: number, lanes: Int32Array, at: number): number {
  let a = lanes[at] as number;
  let b = lanes[at + 1] as number;
  let i = from;
  while (i < response.length) {
    const byte = response[i] as number;
    a = Math.imul(a ^ byte, 0x01000193);
    b = Math.imul(b ^ byte, 0x5bd1e995) ^ byte;
    i++;
    if (byte === NEWLINE) break;
  }
  lanes[at] = a;
  lanes[at + 1] = b;
  return i;
}

const FIRST_SEED = 0x811c9dc5 | 0;
const SECOND_SEED = 0x9747b28c | 0;

/** murmur3's finalizer: sums of mixed hashes do not cancel the way raw FNV values can. */
function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

function hex32(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
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
