import type { MirrorSourceKind, PublishedPeer } from '../fleet/lease-annotations.ts';

/**
 * What one look at a remote found (src/mirror/publisher-probe.ts): whether
 * it serves PeerSlices to the mirror, and its publisher's Lease as read.
 */
export type PublisherProbe =
  | { kind: 'unreachable'; error: string }
  | {
      kind: 'read';
      /** The list of its slices for this cluster answered (`served`), or 404 (no CRD) or 403 (no grant). */
      slices: 'served' | 'not-served' | 'forbidden';
      /** Null: no Lease, or not allowed to read it. */
      lease: { holder: string; peer: PublishedPeer | null; resourceVersion: string; durationSeconds: number } | null;
    };

export interface SourceDecision {
  /** Null: nothing known yet, keep trying. */
  source: MirrorSourceKind | null;
  why: string;
}

/**
 * Which source the mirror reads a remote from (docs/fleet-mode.md,
 * "Mirroring"): its published slices only on positive evidence that they
 * are complete for this cluster (a publisher leads, and its Lease says it
 * has written this cluster's slices in full since it started leading),
 * else its Nodes. An empty list of slices is never that evidence: it
 * would remove every peer of the remote. A publisher that leads but has
 * not finished its first pass keeps the mirror where it is, so a change of
 * leader on the remote does not flip the source; an unreachable remote
 * changes nothing either. A publisher killed without releasing its Lease
 * leaves it held: `leaseUnmovedMs`, how long the Lease has been at the
 * version it has now by the mirror's own clock, tells it is not renewed. Switching itself never empties the slices: the
 * new source's first full list is in before anything is written
 * (remote-source.ts).
 */
export function decideSource(current: MirrorSourceKind | null, probe: PublisherProbe, localCluster: string, leaseUnmovedMs = 0): SourceDecision {
  if (probe.kind === 'unreachable') return { source: current, why: `the remote is unreachable: ${probe.error}` };
  if (probe.slices === 'not-served') return { source: 'nodes', why: 'the remote serves no PeerSlices (no CRD)' };
  if (probe.slices === 'forbidden') return { source: 'nodes', why: "the mirror may not read the remote's PeerSlices" };
  const lease = probe.lease;
  if (lease === null) return { source: 'nodes', why: "the remote has no publisher Lease (or the mirror may not read it): it does not run clusterwire mirror" };
  if (lease.holder === '') return { source: 'nodes', why: "the remote's publisher Lease is released: no replica publishes" };
  if (leaseUnmovedMs > lease.durationSeconds * 1000) return { source: 'nodes', why: `the remote's publisher Lease has not been renewed for ${Math.round(leaseUnmovedMs / 1000)}s (by this mirror's clock)` };
  if (lease.peer === null) return { source: 'nodes', why: `the remote's publisher does not publish for ${localCluster}` };
  if (!lease.peer.synced) return { source: current ?? 'nodes', why: `the remote's publisher has not written its slices for ${localCluster} in full since it started leading` };
  return { source: 'slices', why: `the remote publishes its slices for ${localCluster}` };
}
