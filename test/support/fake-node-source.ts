import type { NodeChange } from '../../src/kube/node-changes.ts';
import type { WatchStatus } from '../../src/kube/node-watcher.ts';
import type { RemoteNode } from '../../src/kube/remote-node.ts';
import type { NodeSource } from '../../src/peering/remote-peering.ts';

/** The remote's nodes, changed by the test, reported as the node watcher reports them. */
export class FakeNodeSource implements NodeSource {
  readonly nodes = new Map<string, RemoteNode>();
  synced = false;
  onChange: (change: NodeChange) => void = () => undefined;
  status(): WatchStatus {
    return { state: this.synced ? 'connected' : 'starting', synced: this.synced, connectedAt: null, disconnectedAt: null, lastEventAt: null, lastError: null };
  }
  start(): void {}
  stop(): Promise<void> {
    return Promise.resolve();
  }
  put(node: RemoteNode): void {
    const previous = this.nodes.get(node.name);
    this.nodes.set(node.name, node);
    this.onChange(previous ? { type: 'updated', node, previous } : { type: 'added', node });
  }
  delete(name: string): void {
    const node = this.nodes.get(name);
    if (!node) return;
    this.nodes.delete(name);
    this.onChange({ type: 'deleted', node });
  }
  /** The first full list, as NodeWatcher reports it: every node it holds is added. */
  list(): void {
    this.synced = true;
    for (const node of this.nodes.values()) this.onChange({ type: 'added', node });
  }
}
