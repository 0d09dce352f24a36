/**
 * What the leader of `clusterwire mirror` says about itself in its Lease
 * (docs/fleet-mode.md, "Freshness"): written with each renewal, so saying
 * it costs no write of its own, and read with the one GET a reader makes
 * of the Lease anyway. Values are JSON by remote or peer cluster name.
 * Times in them are the writer's clock, for people: a reader judges the
 * mirror's liveness by its own clock, from the Lease's renewals.
 */

/** The peer clusters whose slices this cluster's leader publishes, and whether each set is complete. */
export const PUBLISHED_PEERS_ANNOTATION = 'clusterwire.io/published-peers';
/** The remotes this cluster's leader mirrors: from which source, and whether their slices match it. */
export const MIRRORED_REMOTES_ANNOTATION = 'clusterwire.io/mirrored-remotes';

/** A reader keeps nothing of an annotation longer than this: no real fleet comes near it. */
const MAX_ANNOTATION_LENGTH = 65_536;

export interface PublishedPeer {
  /** The slices for this peer have been written in full since this leader started leading. */
  synced: boolean;
}

/** Where the mirror reads a remote from: its published slices, or its Nodes; null while undecided. */
export type MirrorSourceKind = 'slices' | 'nodes';

export interface MirroredRemote {
  source: MirrorSourceKind | null;
  /** The source is listed and watched, and the mirrored slices match it. */
  synced: boolean;
  /** When `synced` last changed, RFC 3339 by the mirror's clock; null before. */
  since: string | null;
}

export function publishedPeersAnnotation(peers: ReadonlyMap<string, PublishedPeer>): string {
  return JSON.stringify(Object.fromEntries([...peers].map(([peer, p]) => [peer, { synced: p.synced }])));
}

export function mirroredRemotesAnnotation(remotes: ReadonlyMap<string, MirroredRemote>): string {
  return JSON.stringify(Object.fromEntries([...remotes].map(([remote, m]) => [remote, { source: m.source, synced: m.synced, since: m.since }])));
}

/** One peer's entry of a published-peers annotation (unchecked text from another cluster); null when absent or malformed. */
export function publishedPeer(annotation: string | undefined, peer: string): PublishedPeer | null {
  const entry = entryOf(annotation, peer);
  if (entry === null || typeof entry.synced !== 'boolean') return null;
  return { synced: entry.synced };
}

/** One remote's entry of a mirrored-remotes annotation; null when absent or malformed. */
export function mirroredRemote(annotation: string | undefined, remote: string): MirroredRemote | null {
  const entry = entryOf(annotation, remote);
  if (entry === null || typeof entry.synced !== 'boolean') return null;
  const source = entry.source === 'slices' || entry.source === 'nodes' ? entry.source : null;
  const since = typeof entry.since === 'string' && entry.since.length <= 64 ? entry.since : null;
  return { source, synced: entry.synced, since };
}

function entryOf(annotation: string | undefined, key: string): Record<string, unknown> | null {
  if (annotation === undefined || annotation.length > MAX_ANNOTATION_LENGTH) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(annotation);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.hasOwn(parsed, key)) return null;
  const entry = (parsed as Record<string, unknown>)[key];
  return typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? (entry as Record<string, unknown>) : null;
}
