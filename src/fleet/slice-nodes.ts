import { sameProjection, type NodeChange } from '../kube/node-changes.ts';
import type { RemoteNode } from '../kube/remote-node.ts';
import type { StoreChange } from '../kube/store-changes.ts';
import type { SliceProjection } from './slice-projection.ts';

/**
 * The nodes of a remote's PeerSlices, one store by node name as the node
 * watcher keeps them, kept up to date from the changes of the slice store:
 * a slice written for one changed entry costs work for its ≤100 entries,
 * and emits a change for that node only. An unchanged entry keeps its
 * RemoteNode object, so the peering decision's per-node cache still holds.
 *
 * A publisher keeps each node in one slice, but a node can be seen in two
 * for a moment (a slice read before another's write, an edit by hand):
 * then the entry of the slice first by name counts, the same on every
 * reading node, and the node is deleted only when no slice has it.
 */
export class SliceNodes {
  readonly #nodes = new Map<string, RemoteNode>();
  /** Node name → the slices that have an entry for it. */
  readonly #holders = new Map<string, Set<string>>();
  readonly nodes: ReadonlyMap<string, RemoteNode> = this.#nodes;

  /**
   * Applies one change of the slice store; `slices` is that store after
   * the change. Returns the node changes, in the slice's order.
   */
  apply(change: StoreChange<SliceProjection>, slices: ReadonlyMap<string, SliceProjection>): NodeChange[] {
    const slice = change.key;
    const before = change.type === 'added' ? undefined : change.type === 'updated' ? change.previous : change.value;
    const after = change.type === 'deleted' ? undefined : change.value;
    const names = new Set<string>([...(after?.nodes.keys() ?? []), ...(before?.nodes.keys() ?? [])]);
    const changes: NodeChange[] = [];
    for (const name of names) {
      const was = before?.nodes.get(name);
      const is = after?.nodes.get(name);
      if (was !== undefined && is !== undefined && sameProjection(was, is)) continue;
      this.#hold(name, slice, is !== undefined);
      const nodeChange = this.#settle(name, slices);
      if (nodeChange) changes.push(nodeChange);
    }
    return changes;
  }

  #hold(name: string, slice: string, holds: boolean): void {
    let holders = this.#holders.get(name);
    if (holds) {
      if (!holders) this.#holders.set(name, (holders = new Set()));
      holders.add(slice);
    } else if (holders) {
      holders.delete(slice);
      if (holders.size === 0) this.#holders.delete(name);
    }
  }

  /** The node as its first holder says, against what was kept. */
  #settle(name: string, slices: ReadonlyMap<string, SliceProjection>): NodeChange | null {
    const kept = this.#nodes.get(name);
    const holders = this.#holders.get(name);
    const first = holders ? [...holders].reduce((a, b) => (b < a ? b : a)) : undefined;
    const next = first === undefined ? undefined : slices.get(first)?.nodes.get(name);
    if (next === undefined) {
      if (kept === undefined) return null;
      this.#nodes.delete(name);
      return { type: 'deleted', node: kept };
    }
    if (kept === undefined) {
      this.#nodes.set(name, next);
      return { type: 'added', node: next };
    }
    if (sameProjection(kept, next)) return null;
    this.#nodes.set(name, next);
    return { type: 'updated', node: next, previous: kept };
  }
}
