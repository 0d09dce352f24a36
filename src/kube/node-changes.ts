import type { RemoteNode } from './remote-node.ts';

/** A change of a remote node as peering sees it. */
export type NodeChange =
  | { type: 'added'; node: RemoteNode }
  | { type: 'updated'; node: RemoteNode; previous: RemoteNode }
  | { type: 'deleted'; node: RemoteNode };

export function sameProjection(a: RemoteNode, b: RemoteNode): boolean {
  return (
    a.name === b.name &&
    a.publicKey === b.publicKey &&
    a.endpoint === b.endpoint &&
    sameList(a.podCIDRs, b.podCIDRs) &&
    a.refused?.reason === b.refused?.reason &&
    a.refused?.detail === b.refused?.detail
  );
}

/** What replacing `current` by `next` changes; nodes whose projection is equal produce nothing. */
export function changeFor(current: RemoteNode | undefined, next: RemoteNode): NodeChange | null {
  if (!current) return { type: 'added', node: next };
  if (sameProjection(current, next)) return null;
  return { type: 'updated', node: next, previous: current };
}

/**
 * The changes from `current` to the result of a (re)list: additions and
 * updates in the order of the list, then deletions of nodes the list no
 * longer has (deleted while the watch was down).
 */
export function diffStores(current: ReadonlyMap<string, RemoteNode>, listed: ReadonlyMap<string, RemoteNode>): NodeChange[] {
  const changes: NodeChange[] = [];
  for (const node of listed.values()) {
    const change = changeFor(current.get(node.name), node);
    if (change) changes.push(change);
  }
  for (const node of current.values()) {
    if (!listed.has(node.name)) changes.push({ type: 'deleted', node });
  }
  return changes;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
