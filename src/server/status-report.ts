import type { RemoteStatus } from '../peering/remote-status.ts';
import type { ObservedPeer } from '../wireguard/types.ts';
import type { DaemonView } from './daemon-view.ts';

/** One remote in GET /status: the loop's own view plus the device as it is now. */
export interface RemoteReport extends RemoteStatus {
  devicePeers: ObservedPeer[] | null;
  deviceError: string | null;
}

export interface StatusReport {
  generatedAt: string;
  remotes: RemoteReport[];
}

export async function buildStatusReport(view: DaemonView, now: number): Promise<StatusReport> {
  const remotes = await Promise.all(
    view.statuses().map(async (status): Promise<RemoteReport> => {
      try {
        const device = await view.readDevice(status.device);
        return { ...status, devicePeers: device.peers, deviceError: null };
      } catch (error) {
        return { ...status, devicePeers: null, deviceError: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  return { generatedAt: new Date(now).toISOString(), remotes };
}
