import type { RemoteStatus } from '../../src/peering/remote-status.ts';

/** A remote in the state of a healthy, synced, connected daemon; override what a case changes. */
export function remoteStatus(overrides: Partial<Omit<RemoteStatus, 'watch'>> & { watch?: Partial<RemoteStatus['watch']> } = {}): RemoteStatus {
  const { watch, ...rest } = overrides;
  return {
    remote: 'c2',
    device: 'wireguard.c2',
    publicKey: 'pub',
    listenPort: 51820,
    deviceReady: true,
    lastSyncAt: 1_000,
    lastSyncError: null,
    peers: { desired: 1, applied: 1 },
    peerNodes: new Map(),
    skipped: [],
    passStartedAt: null,
    source: { kind: 'nodes' },
    ...rest,
    watch: { state: 'connected', synced: true, connectedAt: 1_000, disconnectedAt: null, lastEventAt: 1_000, lastError: null, ...watch },
  };
}
