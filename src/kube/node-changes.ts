import type { RemoteNode } from './remote-node.ts';
import type { StoreChange } from './store-changes.ts';

/** A change of a remote node as peering sees it. */
export type NodeChange =
  | { type: 'added'; node: RemoteNode }
  | { type: 'updated'; node: RemoteNode; previous: RemoteNode }
  | { type: 'deleted'; node: RemoteNode };

/** Equal projections: an update between them (a kubelet heartbeat) changes nothing for peering. */
export function sameProjection(a: RemoteNode, b: RemoteNode): boolean {
  return (
    a.name === b.name &&
    a.uid === b.uid &&
    a.publicKey === b.publicKey &&
    a.endpoint === b.endpoint &&
    sameList(a.podCIDRs, b.podCIDRs) &&
    a.refused?.reason === b.refused?.reason &&
    a.refused?.detail === b.refused?.detail
  );
}

/** The node watcher's store change, as peering reads it. */
export function nodeChange(change: StoreChange<RemoteNode>): NodeChange {
  switch (change.type) {
    case 'added':
      return { type: 'added', node: change.value };
    case 'updated':
      return { type: 'updated', node: change.value, previous: change.previous };
    case 'deleted':
      return { type: 'deleted', node: change.value };
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
