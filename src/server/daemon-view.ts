import type { RemoteStatus } from '../peering/remote-status.ts';
import type { ObservedDevice } from '../wireguard/types.ts';

/** What the HTTP server may see of the daemon: read-only. */
export interface DaemonView {
  statuses(): RemoteStatus[];
  /** Reads a device as it is now (for /status and scrape-time metrics). */
  readDevice(name: string): Promise<ObservedDevice>;
}
