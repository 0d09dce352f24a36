/**
 * How an informer's store changes (informer.ts), as plain data. A
 * projection equal to the one kept is no change at all: that is how a
 * kubelet heartbeat, which rewrites a Node's status but nothing peering
 * reads, costs nothing past the projection.
 */
export type StoreChange<P> =
  | { type: 'added'; key: string; value: P }
  | { type: 'updated'; key: string; value: P; previous: P }
  | { type: 'deleted'; key: string; value: P };

/** Whether two projections are the same for whoever reads the store. */
export type SameProjection<P> = (a: P, b: P) => boolean;

/** What replacing `current` by `next` under `key` changes; null when the projections are the same. */
export function changeFor<P>(key: string, current: P | undefined, next: P, same: SameProjection<P>): StoreChange<P> | null {
  if (current === undefined) return { type: 'added', key, value: next };
  if (same(current, next)) return null;
  return { type: 'updated', key, value: next, previous: current };
}

/**
 * The changes from `current` to the result of a (re)list: additions and
 * updates in the order of the list, then deletions of what the list no
 * longer has (deleted while the watch was down).
 */
export function diffStores<P>(current: ReadonlyMap<string, P>, listed: ReadonlyMap<string, P>, same: SameProjection<P>): StoreChange<P>[] {
  const changes: StoreChange<P>[] = [];
  for (const [key, value] of listed) {
    const change = changeFor(key, current.get(key), value, same);
    if (change) changes.push(change);
  }
  for (const [key, value] of current) {
    if (!listed.has(key)) changes.push({ type: 'deleted', key, value });
  }
  return changes;
}
