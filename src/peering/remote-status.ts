import type { PublisherLeaseStatus } from '../fleet/lease-poller.ts';
import type { MirrorSourceStatus } from '../fleet/slice-watcher.ts';
import type { WatchStatus } from '../kube/node-watcher.ts';
import type { SkipReason } from './skip-reasons.ts';

export type { SkipReason } from './skip-reasons.ts';

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
  /** Where the remote's nodes come from (docs/fleet-mode.md); `watch` is the watch of that source. */
  source: SourceStatus;
  /** Last time desired peers were pushed to the device successfully. */
  lastSyncAt: number | null;
  lastSyncError: string | null;
  peers: { desired: number; applied: number };
  /** The remote node each desired peer stands for, by public key (from the last peer decision). */
  peerNodes: ReadonlyMap<string, string>;
  skipped: SkippedNode[];
  /** When the pass running now started (device set-up and peer sync); null between passes. */
  passStartedAt: number | null;
}

/**
 * A remote's source: its Nodes, the PeerSlices its publisher writes for
 * this cluster (with the publisher's Lease), or those the local mirror
 * mirrors from it (with the mirror's freshness).
 */
export type SourceStatus =
  | { kind: 'nodes' }
  | { kind: 'slices'; namespace: string; slices: number; ignoredEntries: number; publisher: PublisherLeaseStatus }
  | { kind: 'mirror'; namespace: string; slices: number; ignoredEntries: number; mirror: MirrorSourceStatus };
