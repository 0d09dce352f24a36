/**
 * The demo's choices as plain data (lab/demo.ts runs them): which lab a
 * source asks for, and the table that says where each daemon reads each
 * remote from.
 */
import { everyRemoteFrom, type LabSource, type LabSources } from './lab-config.ts';

/** Mirror replicas per cluster in the fleet demo, as deploy/fleet runs them. */
export const DEMO_MIRROR_REPLICAS = 2;

/** `nodes`: the daemons read the remote Nodes, no mirror. `slices` or `mirror`: two mirrors per cluster, every remote read from that source. */
export function demoFleet(source: LabSource, clusters: readonly string[]): { mirrorReplicas: number; sources: LabSources } {
  if (source === 'nodes') return { mirrorReplicas: 0, sources: {} };
  return { mirrorReplicas: DEMO_MIRROR_REPLICAS, sources: everyRemoteFrom(clusters, source) };
}

/** One row per node and remote, from each daemon's /status: what it actually reads, not what it was asked to. */
export function sourceRows(statuses: readonly { node: string; remotes: readonly { remote: string; source: { kind: string } }[] }[]): string[][] {
  return statuses.flatMap(({ node, remotes }) => remotes.map((r) => [node, r.remote, r.source.kind]));
}

/** A cluster's mirror replicas for the demo's table: identity, role, URL. */
export function mirrorRows(cluster: string, replicas: readonly { identity: string; url: string }[], holder: string | null): string[][] {
  return replicas.map((m) => [cluster, m.identity, m.identity === holder ? 'leader' : 'standby', m.url]);
}
