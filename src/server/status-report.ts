import type { RemoteStatus } from '../peering/remote-status.ts';
import type { ObservedPeer } from '../wireguard/types.ts';
import type { DeviceSnapshot } from './device-snapshot.ts';

/** A peer on the device, with the remote node it stands for. */
export interface ReportedPeer extends ObservedPeer {
  /** From the last peer decision; null for a key no remote node shows now (being removed, or added by hand). */
  node: string | null;
}

/** One remote in GET /status: the loop's own view plus its device as last read. */
export interface RemoteReport extends Omit<RemoteStatus, 'peerNodes'> {
  devicePeers: ReportedPeer[] | null;
  deviceError: string | null;
}

export interface StatusReport {
  generatedAt: string;
  /** When the devices were read (the snapshot /status and /metrics share; at most ~1 s old). */
  devicesReadAt: string;
  remotes: RemoteReport[];
}

/** Pure: the remotes' status now, with the shared device snapshot. */
export function buildStatusReport(statuses: readonly RemoteStatus[], snapshot: DeviceSnapshot, now: number): StatusReport {
  const remotes = statuses.map(({ peerNodes, ...status }): RemoteReport => {
    const reading = snapshot.devices.get(status.device);
    if (!reading?.ok) return { ...status, devicePeers: null, deviceError: reading?.error ?? 'not read yet' };
    const devicePeers = reading.device.peers.map((peer) => ({ node: peerNodes.get(peer.publicKey) ?? null, ...peer }));
    return { ...status, devicePeers, deviceError: null };
  });
  return { generatedAt: new Date(now).toISOString(), devicesReadAt: new Date(snapshot.readAt).toISOString(), remotes };
}
