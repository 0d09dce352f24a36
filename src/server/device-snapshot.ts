import type { ObservedDevice } from '../wireguard/types.ts';

/** Reads within this window share one snapshot (docs/http-and-metrics.md: at most ~1 s old). */
export const DEVICE_SNAPSHOT_TTL_MS = 1_000;

/** One device as last read, or why it could not be read (being recreated, process restarting). */
export type DeviceReading = { ok: true; device: ObservedDevice } | { ok: false; error: string };

export interface DeviceSnapshot {
  /** When the read began, Unix milliseconds: the data is at least this fresh. */
  readAt: number;
  /** By device name, in the order the daemon lists its remotes. */
  devices: ReadonlyMap<string, DeviceReading>;
}

export interface DeviceSnapshotOptions {
  /** The devices to read: one per configured remote. */
  devices: () => readonly string[];
  /** One read of a device (`wg show dump`, or a UAPI get for wireguard-go). */
  read: (device: string) => Promise<ObservedDevice>;
  now: () => number;
}

/**
 * The device state /status and /metrics serve, read at most once per TTL:
 * requests while a read is in flight wait for that read (single flight),
 * requests within the TTL of the last read get it as it is. However often
 * the endpoints are asked, the daemon reads each device at most about once
 * a second, so no request makes it fork `wg` or talk to wireguard-go.
 */
export function deviceSnapshots(options: DeviceSnapshotOptions): () => Promise<DeviceSnapshot> {
  let last: DeviceSnapshot | null = null;
  let reading: Promise<DeviceSnapshot> | null = null;
  return () => {
    if (last !== null && options.now() - last.readAt < DEVICE_SNAPSHOT_TTL_MS) return Promise.resolve(last);
    reading ??= readAll(options).then((snapshot) => {
      last = snapshot;
      reading = null;
      return snapshot;
    });
    return reading;
  };
}

/** Never rejects: a device that cannot be read is reported as such, the others still are. */
async function readAll({ devices, read, now }: DeviceSnapshotOptions): Promise<DeviceSnapshot> {
  const readAt = now();
  const names = devices();
  const results = await Promise.allSettled(names.map((name) => read(name)));
  const readings = new Map<string, DeviceReading>();
  names.forEach((name, i) => {
    const result = results[i];
    if (result?.status === 'fulfilled') readings.set(name, { ok: true, device: result.value });
    else readings.set(name, { ok: false, error: result?.reason instanceof Error ? result.reason.message : String(result?.reason) });
  });
  return { readAt, devices: readings };
}
