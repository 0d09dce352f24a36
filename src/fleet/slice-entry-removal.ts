import { KubeRequestError } from '../kube/kube-request-error.ts';
import { SOURCE_CLUSTER_LABEL, type StoredSlice } from './peer-slice.ts';
import type { SliceApi } from './slice-api.ts';

/** What removing `node` does to one slice: nothing, a rewrite without its entry, or a delete when it was the last. */
export type EntryRemoval = { kind: 'none' } | { kind: 'update'; slice: StoredSlice } | { kind: 'delete'; slice: StoredSlice };

export function entryRemoval(slice: StoredSlice, node: string): EntryRemoval {
  const rest = slice.entries.filter((entry) => entry.node !== node);
  if (rest.length === slice.entries.length) return { kind: 'none' };
  return rest.length === 0 ? { kind: 'delete', slice } : { kind: 'update', slice: { ...slice, entries: rest } };
}

/** How often a slice changed under us is read again before giving up. */
const ATTEMPTS = 3;

/**
 * Removes a local node from every PeerSlice this cluster published
 * (`clusterwire cleanup`, docs/fleet-mode.md): peer clusters reading
 * slices stop peering with it even when no mirror runs any more to do it.
 * Writes are conditional on each slice's resourceVersion; a slice changed
 * meanwhile (a running mirror) is read again. No PeerSlice resource (the
 * CRD is not installed) is nothing to do. Returns the slices changed.
 */
export async function removeNodeFromSlices(api: SliceApi, source: string, node: string): Promise<string[]> {
  const changed: string[] = [];
  for (let attempt = 1; ; attempt++) {
    let slices: StoredSlice[];
    try {
      slices = await api.list(`${SOURCE_CLUSTER_LABEL}=${source}`);
    } catch (err) {
      if (err instanceof KubeRequestError && err.status === 404) return changed;
      throw err;
    }
    try {
      for (const slice of slices) {
        const removal = entryRemoval(slice, node);
        if (removal.kind === 'update') await api.update(slice.name, slice.resourceVersion, removal.slice.entries);
        if (removal.kind === 'delete') await api.delete(slice.name, slice.resourceVersion);
        if (removal.kind !== 'none') changed.push(slice.name);
      }
      return changed;
    } catch (err) {
      const conflict = err instanceof KubeRequestError && (err.status === 409 || err.status === 404);
      if (!conflict || attempt >= ATTEMPTS) throw new Error(`removing node ${node} from the PeerSlices of ${source} failed`, { cause: err });
    }
  }
}
