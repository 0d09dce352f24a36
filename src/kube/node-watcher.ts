import type { BackoffPolicy } from '../clock/backoff.ts';
import type { Clock } from '../clock/clock.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { KubeClient } from './client.ts';
import { Informer, type WatchStatus } from './informer.ts';
import { nodeStoreLimit } from './node-bounds.ts';
import { nodeChange, sameProjection, type NodeChange } from './node-changes.ts';
import { needsWholeNode, projectNode, withWholeNode } from './node-projection.ts';
import type { RemoteNode } from './remote-node.ts';

export type { WatchState, WatchStatus } from './informer.ts';

export interface NodeWatcherOptions {
  client: KubeClient;
  /** Whose annotations to read on the remote nodes: the local cluster's name. */
  localClusterName: string;
  annotationDomain: string;
  logger: Logger;
  metrics: Pick<Metrics, 'nodeWatcherFailures' | 'watchConnected' | 'nodesDropped'>;
  /** The remote's maxNodes: the store keeps at most nodeStoreLimit(maxNodes) nodes. */
  maxNodes: number;
  /** Called for every change of a node's projection, in the order the apiserver sent them. */
  onChange: (change: NodeChange) => void;
  clock: Clock;
  random: () => number;
  backoff?: BackoffPolicy;
  pageSize?: number;
  watchTimeoutSeconds?: number;
  idleTimeoutMs?: number;
}

/**
 * A remote cluster's Nodes as peering needs them (docs/how-it-works.md,
 * "Watch"): the informer over `/api/v1/nodes`, keeping RemoteNode
 * projections. The list is of whole Nodes; the watch is of their metadata
 * only, because kubelet status writes (most events) change nothing peering
 * reads and a Node's pod CIDRs never change once set: a would-be peer
 * whose CIDRs are not known yet is read once by name.
 */
export class NodeWatcher {
  /** Live store of the cluster's nodes by name; read-only for everyone else. */
  readonly nodes: ReadonlyMap<string, RemoteNode>;
  readonly #informer: Informer<RemoteNode>;

  constructor(options: NodeWatcherOptions) {
    const cluster = options.client.cluster;
    const { metrics, localClusterName, annotationDomain } = options;
    metrics.nodesDropped.inc({ cluster }, 0);
    this.#informer = new Informer<RemoteNode>({
      client: options.client,
      path: '/api/v1/nodes',
      names: { singular: 'node', plural: 'nodes' },
      project: (object, known) => projectNode(object, localClusterName, annotationDomain, known.get(nameOf(object))),
      keyOf: (node) => node.name,
      same: sameProjection,
      maxObjects: nodeStoreLimit(options.maxNodes),
      onChange: (change) => options.onChange(nodeChange(change)),
      metadataOnly: { needsObject: needsWholeNode, complete: withWholeNode },
      logger: options.logger,
      metrics: {
        failed: (verb) => metrics.nodeWatcherFailures.inc({ cluster, verb }),
        connected: (up) => metrics.watchConnected.set({ cluster }, up ? 1 : 0),
        dropped: () => metrics.nodesDropped.inc({ cluster }),
      },
      clock: options.clock,
      random: options.random,
      backoff: options.backoff,
      pageSize: options.pageSize,
      watchTimeoutSeconds: options.watchTimeoutSeconds,
      idleTimeoutMs: options.idleTimeoutMs,
    });
    this.nodes = this.#informer.objects;
  }

  status(): WatchStatus {
    return this.#informer.status();
  }

  whenSynced(): Promise<void> {
    return this.#informer.whenSynced();
  }

  start(): void {
    this.#informer.start();
  }

  stop(): Promise<void> {
    return this.#informer.stop();
  }
}

/** The store key a Node object would have (its name; a name over its bound is never a known key). */
function nameOf(object: unknown): string {
  const name = (object as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' ? name : '';
}
