import type { WatchStatus } from '../kube/node-watcher.ts';

/** Why a remote node is not (fully) peered. */
export type SkipReason =
  | 'missing-annotation'
  | 'bad-public-key'
  | 'bad-endpoint'
  | 'bad-pod-cidr'
  | 'no-pod-cidr'
  | 'pod-cidr-outside-subnets'
  | 'pod-cidr-conflict'
  | 'duplicate-public-key';

export interface SkippedNode {
  node: string;
  reason: SkipReason;
  /** True when the node is still a peer with the rest of its data (a pod CIDR was dropped). */
  peered: boolean;
  /** Human-readable, safe to log: never contains secrets. */
  detail: string;
}


/**
 * What one remote's peering loop reports about itself: read by /healthz,
 * /readyz, /status and `clusterwire status`. Times are Unix milliseconds.
 */
export interface RemoteStatus {
  remote: string;
  device: string;
  publicKey: string | null;
  listenPort: number;
  /** The link exists and is configured (semaphore's /healthz meaning). */
  deviceReady: boolean;
  watch: WatchStatus;
  /** Last time desired peers were pushed to the device successfully. */
  lastSyncAt: number | null;
  lastSyncError: string | null;
  peers: { desired: number; applied: number };
  skipped: SkippedNode[];
}
