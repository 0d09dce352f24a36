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

  new Gauge({
    name: 'semaphore_wg_device_info',
    help: 'WireGuard devices managed by clusterwire, with their public key.',
    labelNames: ['device', 'public_key'] as const,
    registers,
    async collect() {
      this.reset();
      for (const d of await devices()) this.set({ device: d.name, public_key: d.publicKey ?? '' }, 1);
    },
  });
  new Gauge({
    name: 'semaphore_wg_peer_info',
    help: 'WireGuard peers on each device, with their current endpoint.',
    labelNames: ['device', 'public_key', 'endpoint'] as const,
    registers,
    async collect() {
      this.reset();
      for (const d of await devices()) {
        for (const p of d.peers) this.set({ device: d.name, public_key: p.publicKey, endpoint: p.endpoint ?? '' }, 1);
      }
    },
  });
  new Gauge({
    name: 'semaphore_wg_peer_allowed_ips_info',
    help: 'Allowed IPs of each WireGuard peer, one series per prefix.',
    labelNames: ['device', 'public_key', 'allowed_ips'] as const,
    registers,
    async collect() {
      this.reset();
      for (const d of await devices()) {
        for (const p of d.peers) {
          for (const ip of p.allowedIPs) this.set({ device: d.name, public_key: p.publicKey, allowed_ips: ip }, 1);
        }
      }
    },
  });
  new Counter({
    name: 'semaphore_wg_peer_receive_bytes_total',
    help: 'Bytes received from each peer, as the device counts them.',
    labelNames: ['device', 'public_key'] as const,
    registers,
    async collect() {
      this.reset();
      for (const d of await devices()) {
        for (const p of d.peers) this.inc({ device: d.name, public_key: p.publicKey }, p.receiveBytes);
      }
    },
  });
  new Counter({
    name: 'semaphore_wg_peer_transmit_bytes_total',
    help: 'Bytes sent to each peer, as the device counts them.',
    labelNames: ['device', 'public_key'] as const,
    registers,
    async collect() {
      this.reset();
      for (const d of await devices()) {
        for (const p of d.peers) this.inc({ device: d.name, public_key: p.publicKey }, p.transmitBytes);
      }
    },
  });
  new Gauge({
    name: 'semaphore_wg_peer_last_handshake_seconds',
    help: 'Unix time of the last handshake with each peer (0: never).',
    labelNames: ['device', 'public_key'] as const,
    registers,
    async collect() {
      this.reset();
      for (const d of await devices()) {
        for (const p of d.peers) this.set({ device: d.name, public_key: p.publicKey }, p.lastHandshakeSeconds);
      }
    },
  });
}

/** A device that cannot be read (being recreated) is left out of this scrape, not fatal to it. */
async function readAll(view: DaemonView): Promise<ObservedDevice[]> {
  const results = await Promise.allSettled(view.statuses().map((s) => view.readDevice(s.device)));
  return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
}
