import { Counter, Gauge, type Registry } from 'prom-client';
import type { ObservedDevice } from '../wireguard/types.ts';
import type { DaemonView } from './daemon-view.ts';

/** Reads within this window share one device read: one scrape reads each device once. */
const SNAPSHOT_TTL_MS = 1_000;

/**
 * semaphore-wireguard's device and peer metrics, read from the devices at
 * scrape time rather than mirrored, so they show what the kernel or
 * wireguard-go actually has, including peers someone added by hand.
 */
export function registerDeviceMetrics(registry: Registry, view: DaemonView, now: () => number = Date.now): void {
  let snapshot: { at: number; devices: Promise<ObservedDevice[]> } | null = null;
  const devices = (): Promise<ObservedDevice[]> => {
    const t = now();
    if (!snapshot || t - snapshot.at > SNAPSHOT_TTL_MS) snapshot = { at: t, devices: readAll(view) };
    return snapshot.devices;
  };
  const registers = [registry];
  // One family per row: its samples come from the devices as read for this scrape.
  const families: { name: string; help: string; type: 'gauge' | 'counter'; labelNames: string[]; samples: (d: ObservedDevice) => [Record<string, string>, number][] }[] = [
    {
      name: 'semaphore_wg_device_info',
      help: 'WireGuard devices managed by clusterwire, with their public key.',
      type: 'gauge',
      labelNames: ['device', 'public_key'],
      samples: (d) => [[{ device: d.name, public_key: d.publicKey ?? '' }, 1]],
    },
    {
      name: 'semaphore_wg_peer_info',
      help: 'WireGuard peers on each device, with their current endpoint.',
      type: 'gauge',
      labelNames: ['device', 'public_key', 'endpoint'],
      samples: (d) => d.peers.map((p) => [{ device: d.name, public_key: p.publicKey, endpoint: p.endpoint ?? '' }, 1]),
    },
    {
      name: 'semaphore_wg_peer_allowed_ips_info',
      help: 'Allowed IPs of each WireGuard peer, one series per prefix.',
      type: 'gauge',
      labelNames: ['device', 'public_key', 'allowed_ips'],
      samples: (d) => d.peers.flatMap((p) => p.allowedIPs.map((ip): [Record<string, string>, number] => [{ device: d.name, public_key: p.publicKey, allowed_ips: ip }, 1])),
    },
    {
      name: 'semaphore_wg_peer_receive_bytes_total',
      help: 'Bytes received from each peer, as the device counts them.',
      type: 'counter',
      labelNames: ['device', 'public_key'],
      samples: (d) => d.peers.map((p) => [{ device: d.name, public_key: p.publicKey }, p.receiveBytes]),
    },
    {
      name: 'semaphore_wg_peer_transmit_bytes_total',
      help: 'Bytes sent to each peer, as the device counts them.',
      type: 'counter',
      labelNames: ['device', 'public_key'],
      samples: (d) => d.peers.map((p) => [{ device: d.name, public_key: p.publicKey }, p.transmitBytes]),
    },
    {
      name: 'semaphore_wg_peer_last_handshake_seconds',
      help: 'Unix time of the last handshake with each peer (0: never).',
      type: 'gauge',
      labelNames: ['device', 'public_key'],
      samples: (d) => d.peers.map((p) => [{ device: d.name, public_key: p.publicKey }, p.lastHandshakeSeconds]),
    },
  ];
  for (const family of families) {
    const { name, help, labelNames, samples } = family;
    if (family.type === 'counter') {
      new Counter({
        name, help, labelNames, registers,
        async collect() {
          this.reset();
          for (const d of await devices()) for (const [labels, value] of samples(d)) this.inc(labels, value);
        },
      });
    } else {
      new Gauge({
        name, help, labelNames, registers,
        async collect() {
          this.reset();
          for (const d of await devices()) for (const [labels, value] of samples(d)) this.set(labels, value);
        },
      });
    }
  }
}

/** A device that cannot be read (being recreated) is left out of this scrape, not fatal to it. */
async function readAll(view: DaemonView): Promise<ObservedDevice[]> {
  const results = await Promise.allSettled(view.statuses().map((s) => view.readDevice(s.device)));
  return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
}
