import type { ObservedDevice, ObservedPeer } from '../wireguard/types.ts';
import { escapeLabelValue, familyHeader, type MetricType } from './prometheus-text.ts';

/**
 * `-peer-metrics`: `full` is semaphore-wireguard's series per peer (5 plus
 * one per allowed prefix); `aggregate` counts each device's peers by
 * handshake age instead, for fleets where thousands of peers per node make
 * per-peer series too many for Prometheus; `off` neither.
 */
export const PEER_METRICS_MODES = ['full', 'aggregate', 'off'] as const;
export type PeerMetricsMode = (typeof PEER_METRICS_MODES)[number];

export interface DeviceFamily {
  name: string;
  help: string;
  type: MetricType;
  labelNames: readonly string[];
}

const family = (name: string, help: string, type: MetricType, labelNames: readonly string[]): DeviceFamily => ({ name, help, type, labelNames });

/** semaphore-wireguard's device collector: names, help, types and labels as it has them. */
const DEVICE_INFO = family('semaphore_wg_device_info', 'Metadata about a device.', 'gauge', ['device', 'public_key']);
const PEER_INFO = family(
  'semaphore_wg_peer_info',
  "Metadata about a peer. The public_key label on peer metrics refers to the peer's public key; not the device's public key.",
  'gauge',
  ['device', 'public_key', 'endpoint'],
);
const PEER_ALLOWED_IPS = family('semaphore_wg_peer_allowed_ips_info', "Metadata about each of a peer's allowed IP subnets for a given device.", 'gauge', ['device', 'public_key', 'allowed_ips']);
const PEER_RECEIVE = family('semaphore_wg_peer_receive_bytes_total', 'Number of bytes received from a given peer.', 'counter', ['device', 'public_key']);
const PEER_TRANSMIT = family('semaphore_wg_peer_transmit_bytes_total', 'Number of bytes transmitted to a given peer.', 'counter', ['device', 'public_key']);
const PEER_HANDSHAKE = family('semaphore_wg_peer_last_handshake_seconds', 'UNIX timestamp for the last handshake with a given peer.', 'gauge', ['device', 'public_key']);
const PEERS_BY_HANDSHAKE_AGE = family(
  'clusterwire_peers_by_handshake_age',
  'Peers on each device by the age of their last handshake: never, under_3m (session usable), 3m_to_10m (session expired), over_10m.',
  'gauge',
  ['device', 'age'],
);

/** Every family the device snapshot may render, for the docs test. */
export const DEVICE_FAMILIES: readonly DeviceFamily[] = [DEVICE_INFO, PEER_INFO, PEER_ALLOWED_IPS, PEER_RECEIVE, PEER_TRANSMIT, PEER_HANDSHAKE, PEERS_BY_HANDSHAKE_AGE];

/** semaphore-wireguard's series per peer: the sample lines of one peer, after `name{device="…",public_key="…"`. */
const PER_PEER: readonly { family: DeviceFamily; lines: (series: string, p: ObservedPeer) => string }[] = [
  { family: PEER_INFO, lines: (series, p) => `${series},endpoint="${escapeLabelValue(p.endpoint ?? '')}"} 1\n` },
  { family: PEER_ALLOWED_IPS, lines: (series, p) => p.allowedIPs.map((ip) => `${series},allowed_ips="${escapeLabelValue(ip)}"} 1\n`).join('') },
  { family: PEER_RECEIVE, lines: (series, p) => `${series}} ${p.receiveBytes}\n` },
  { family: PEER_TRANSMIT, lines: (series, p) => `${series}} ${p.transmitBytes}\n` },
  { family: PEER_HANDSHAKE, lines: (series, p) => `${series}} ${p.lastHandshakeSeconds}\n` },
];

/**
 * Handshake age buckets. WireGuard re-handshakes every 2 minutes while a
 * peer carries traffic (persistent keepalive counts) and rejects a session
 * 3 minutes after its handshake: a peer older than 3 minutes cannot carry
 * traffic now. Over 10 minutes it is more than a blip (a node rebooting).
 */
export const HANDSHAKE_AGES = ['never', 'under_3m', '3m_to_10m', 'over_10m'] as const;
export type HandshakeAge = (typeof HANDSHAKE_AGES)[number];

export function handshakeAge(lastHandshakeSeconds: number, nowSeconds: number): HandshakeAge {
  if (lastHandshakeSeconds === 0) return 'never';
  const age = nowSeconds - lastHandshakeSeconds;
  return age < 180 ? 'under_3m' : age < 600 ? '3m_to_10m' : 'over_10m';
}

/** Entries (a sample line, or a peer's allowed-IP lines) per piece yielded: ~30 KB, young garbage, none kept. */
const LINES_PER_PIECE = 256;

/**
 * The device series of one scrape as Prometheus text, straight from the
 * devices as read, in pieces to be written to the response as they come:
 * no prom-client objects (at 5,000 peers those cost ~300 ms and ~80 MB of
 * RSS per scrape), no array of every line, no 3 MB string or buffer. Each
 * family's samples are contiguous, as the format requires. `nowSeconds`
 * is when the devices were read.
 */
export function* renderDeviceMetrics(devices: readonly ObservedDevice[], mode: PeerMetricsMode, nowSeconds: number): Generator<string> {
  let lines: string[] = [familyHeader(DEVICE_INFO.name, DEVICE_INFO.help, DEVICE_INFO.type)];
  const piece = () => {
    const text = lines.join('');
    lines = [];
    return text;
  };
  for (const d of devices) lines.push(`${DEVICE_INFO.name}{device="${escapeLabelValue(d.name)}",public_key="${escapeLabelValue(d.publicKey ?? '')}"} 1\n`);
  if (mode === 'full') {
    for (const { family: f, lines: peerLines } of PER_PEER) {
      lines.push(familyHeader(f.name, f.help, f.type));
      for (const d of devices) {
        const device = escapeLabelValue(d.name);
        for (const p of d.peers) {
          lines.push(peerLines(`${f.name}{device="${device}",public_key="${escapeLabelValue(p.publicKey)}"`, p));
          if (lines.length >= LINES_PER_PIECE) yield piece();
        }
      }
    }
  }
  if (mode !== 'off') {
    // In both full and aggregate, so an alert on handshake ages survives a change of mode.
    lines.push(familyHeader(PEERS_BY_HANDSHAKE_AGE.name, PEERS_BY_HANDSHAKE_AGE.help, PEERS_BY_HANDSHAKE_AGE.type));
    for (const d of devices) {
      const counts = new Map<HandshakeAge, number>(HANDSHAKE_AGES.map((age) => [age, 0]));
      for (const p of d.peers) {
        const age = handshakeAge(p.lastHandshakeSeconds, nowSeconds);
        counts.set(age, (counts.get(age) ?? 0) + 1);
      }
      const device = escapeLabelValue(d.name);
      for (const [age, count] of counts) lines.push(`${PEERS_BY_HANDSHAKE_AGE.name}{device="${device}",age="${age}"} ${count}\n`);
    }
  }
  yield piece();
}
