import type { RemoteStatus } from '../peering/remote-status.ts';
import type { ObservedDevice } from '../wireguard/types.ts';

/** What the HTTP server may see of the daemon: read-only. */
export interface DaemonView {
  statuses(): RemoteStatus[];
  /** Reads a device as it is now; the server calls it through its shared snapshot (device-snapshot.ts), at most about once a second. */
  readDevice(name: string): Promise<ObservedDevice>;
}
