import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from '../clock/backoff.ts';
import { isResponseTooLarge, type KubeClient } from './client.ts';
import { field, stringOrNull } from './json-value.ts';
import { errorFromStatus, isExpired, KubeRequestError } from './kube-request-error.ts';
import { nodeStoreLimit, shown } from './node-bounds.ts';
import { changeFor, diffStores, type NodeChange } from './node-changes.ts';
import { projectNode } from './node-projection.ts';
import type { RemoteNode } from './remote-node.ts';
import type { WatchEvent } from './watch-event.ts';
import { watchEvents } from './watch-stream.ts';

export type WatchState = 'starting' | 'connected' | 'disconnected';

/** What health, /readyz and /status read about a watch. Times are Unix milliseconds. */
export interface WatchStatus {
  state: WatchState;
  /** A first full list has been received. */
  synced: boolean;
  connectedAt: number | null;
  disconnectedAt: number | null;
  lastEventAt: number | null;
  lastError: string | null;
}

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
  backoff?: BackoffPolicy;
  /** Server-side watch duration; default random in [5, 10) minutes like client-go. */
  watchTimeoutSeconds?: number;
  /** No bytes for this long means a dead connection; default twice the apiserver's 1-minute bookmark interval. */
  idleTimeoutMs?: number;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const NODES_PATH = '/api/v1/nodes';
const PAGE_SIZE = 500;
/** 10 Nodes at etcd's 1.5 MiB limit (about twice that as JSON) stay below the client's body cap. */
const MIN_PAGE_SIZE = 10;
const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/**
 * Lists and watches one cluster's Nodes, keeping only their projections
 * (SPEC §3.5). Lists in pages, projecting each page and dropping it, so a
 * 5,000-node cluster never sits in memory as full objects; watches from
 * the list's resourceVersion with bookmarks; relists on 410 and reports the
 * difference (nodes deleted during the gap included); retries anything else
 * with capped, jittered exponential backoff. Node updates that leave the
 * projection unchanged (kubelet heartbeats) are dropped here.
 */
export class NodeWatcher {
  /** Live store of the cluster's nodes by name; read-only for everyone else. */
  readonly nodes: ReadonlyMap<string, RemoteNode>;
  readonly #store = new Map<string, RemoteNode>();
  readonly #options: NodeWatcherOptions;
  readonly #cluster: string;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #backoff: BackoffPolicy;
  readonly #idleTimeoutMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  #running: Promise<void> | null = null;
  #status: WatchStatus = { state: 'starting', synced: false, connectedAt: null, disconnectedAt: null, lastEventAt: null, lastError: null };
  #resourceVersion: string | null = null;
  /** Consecutive failures: the backoff exponent. */
  #failures = 0;
  #eventsSinceList = 0;
  readonly #storeLimit: number;
  /** Nodes were dropped since the store last had room: logged once per episode. */
  #dropping = false;
  #syncWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];

  constructor(options: NodeWatcherOptions) {
    this.#options = options;
    this.nodes = this.#store;
    this.#cluster = options.client.cluster;
    this.#log = options.logger;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }));
    this.#storeLimit = nodeStoreLimit(options.maxNodes);
    options.metrics.nodesDropped.inc({ cluster: this.#cluster }, 0);
  }

  status(): WatchStatus {
    return { ...this.#status };
  }

  /** Resolves once the first full list is in the store; rejects if stopped before. */
  whenSynced(): Promise<void> {
    if (this.#status.synced) return Promise.resolve();
    if (this.#abort.signal.aborted) return Promise.reject(new Error(`node watcher of cluster ${this.#cluster} stopped before its first list`));
    return new Promise((resolve, reject) => this.#syncWaiters.push({ resolve, reject }));
  }

  start(): void {
    if (this.#running) throw new Error(`node watcher of cluster ${this.#cluster} already started`);
    this.#running = this.#run().catch((err: unknown) => {
      this.#log.error({ err }, 'node watcher ended by an unexpected error');
    });
  }

  /** Ends the watch promptly (the open request is aborted) and waits for the loop to finish. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
    this.#options.metrics.watchConnected.set({ cluster: this.#cluster }, 0);
    for (const waiter of this.#syncWaiters.splice(0)) {
      waiter.reject(new Error(`node watcher of cluster ${this.#cluster} stopped before its first list`));
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      let verb: 'list' | 'watch' = 'list';
      try {
        if (this.#resourceVersion === null) await this.#list(signal);
        verb = 'watch';
        const end = await this.#watch(signal);
        if (end === 'expired') {
          await this.#relistAfterExpiry(signal);
        }
      } catch (err) {
        if (signal.aborted) break;
        if (isExpired(err)) {
          await this.#relistAfterExpiry(signal);
          continue;
        }
        this.#failed(verb, err);
        await this.#pause(backoffDelay(this.#failures, this.#backoff, this.#random()), signal);
        this.#failures += 1;
      }
    }
  }

  /**
   * The resourceVersion is too old: relist. Immediately, unless no event
   * came since the last list, so a server that answers 410 to everything
   * is not hammered with full lists.
   */
  async #relistAfterExpiry(signal: AbortSignal): Promise<void> {
    this.#resourceVersion = null;
    this.#log.info({ events: this.#eventsSinceList }, 'resourceVersion expired (410), relisting nodes');
    if (this.#eventsSinceList === 0) {
      await this.#pause(backoffDelay(this.#failures, this.#backoff, this.#random()), signal);
      this.#failures += 1;
    }
  }

  async #pause(ms: number, signal: AbortSignal): Promise<void> {
    try {
      await this.#sleep(ms, signal);
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  async #list(signal: AbortSignal): Promise<void> {
    const listed = new Map<string, RemoteNode>();
    let resourceVersion: string | null;
    let continueToken: string | null = null;
    let pageSize = PAGE_SIZE;
    do {
      // One page at a time: parsed, projected, dropped.
      const answer = await this.#page(continueToken, pageSize, signal);
      const page = answer.page;
      pageSize = answer.pageSize;
      const items = field(page, 'items') ?? [];
      if (!Array.isArray(items)) throw new KubeRequestError(this.#listIdentity(), 200, null, 'node list without items');
      for (const item of items) this.#projectInto(listed, item);
      const metadata = field(page, 'metadata');
      resourceVersion = stringOrNull(field(metadata, 'resourceVersion'));
      continueToken = stringOrNull(field(metadata, 'continue')) || null;
    } while (continueToken !== null);
    if (!resourceVersion) throw new KubeRequestError(this.#listIdentity(), 200, null, 'node list without resourceVersion');

    const changes = diffStores(this.#store, listed);
    for (const change of changes) {
      if (change.type === 'deleted') this.#store.delete(change.node.name);
      else this.#store.set(change.node.name, change.node);
    }
    if (listed.size < this.#storeLimit) this.#roomAgain();
    this.#resourceVersion = resourceVersion;
    this.#eventsSinceList = 0;
    this.#received();
    for (const change of changes) this.#emit(change);
    if (!this.#status.synced) {
      this.#status.synced = true;
      this.#log.info({ nodes: this.#store.size, resourceVersion }, 'first list of nodes complete');
      for (const waiter of this.#syncWaiters.splice(0)) waiter.resolve();
    }
  }

  /** One page of the list. Nodes this large are legal (etcd allows 1.5 MiB each): a page over the body cap is asked for again, smaller. */
  async #page(continueToken: string | null, pageSize: number, signal: AbortSignal): Promise<{ page: unknown; pageSize: number }> {
    for (let size = pageSize; ; ) {
      try {
        const page = await this.#options.client.json({ method: 'GET', path: NODES_PATH, query: { limit: String(size), continue: continueToken ?? undefined }, signal });
        return { page, pageSize: size };
      } catch (err) {
        const smaller = isResponseTooLarge(err) ? smallerPage(size) : null;
        if (smaller === null) throw err;
        this.#log.warn({ pageSize: size, smaller }, 'a page of nodes was over the response size cap: asking for smaller pages');
        size = smaller;
      }
    }
  }

  #projectInto(listed: Map<string, RemoteNode>, item: unknown): void {
    const node = projectNode(item, this.#options.localClusterName, this.#options.annotationDomain);
    if (!node) this.#log.warn('ignoring a listed node without metadata.name');
    else if (listed.has(node.name) || listed.size < this.#storeLimit) listed.set(node.name, node);
    else this.#dropped(node.name);
  }

  /** One watch request, until the server ends it ('ended') or the resourceVersion expires. */
  async #watch(signal: AbortSignal): Promise<'ended' | 'expired'> {
    const body = await this.#options.client.stream({
      method: 'GET',
      path: NODES_PATH,
      query: {
        watch: '1',
        resourceVersion: this.#resourceVersion ?? undefined,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(this.#options.watchTimeoutSeconds ?? Math.floor(300 * (1 + this.#random()))),
      },
      signal,
    });
    this.#connected();
    let events = 0;
    try {
      for await (const event of watchEvents(body, this.#idleTimeoutMs)) {
        if (event.type === 'ERROR') {
          const err = errorFromStatus(this.#watchIdentity(), event.object);
          if (isExpired(err)) return 'expired';
          throw err;
        }
        events += 1;
        this.#eventsSinceList += 1;
        // A watch that delivers is a success: the next failure starts the backoff over.
        this.#failures = 0;
        this.#received();
        this.#apply(event);
      }
    } catch (err) {
      if (err instanceof KubeRequestError || signal.aborted) throw err;
      throw new KubeRequestError(this.#watchIdentity(), null, null, `watch stream broke: ${(err as Error).message}`, err);
    }
    if (events === 0) throw new KubeRequestError(this.#watchIdentity(), null, null, 'the apiserver closed the watch without sending anything');
    return 'ended';
  }

  #apply(event: WatchEvent): void {
    const resourceVersion = stringOrNull(field(field(event.object, 'metadata'), 'resourceVersion'));
    if (event.type !== 'BOOKMARK') {
      const node = projectNode(event.object, this.#options.localClusterName, this.#options.annotationDomain);
      if (!node) this.#log.warn({ type: event.type }, 'ignoring a watch event for a node without metadata.name');
      else if (event.type === 'DELETED') this.#delete(node.name);
      else this.#update(node);
    }
    if (resourceVersion) this.#resourceVersion = resourceVersion;
  }

  #update(node: RemoteNode): void {
    const current = this.#store.get(node.name);
    if (!current && this.#store.size >= this.#storeLimit) {
      this.#dropped(node.name);
      return;
    }
    const change = changeFor(current, node);
    if (!change) return;
    this.#store.set(node.name, node);
    this.#emit(change);
  }

  #delete(name: string): void {
    const known = this.#store.get(name);
    if (!known) return;
    this.#store.delete(name);
    this.#roomAgain();
    this.#emit({ type: 'deleted', node: known });
  }

  /** A new node past the store's limit: not kept, counted; logged on the first of a run of them. */
  #dropped(name: string): void {
    this.#options.metrics.nodesDropped.inc({ cluster: this.#cluster });
    if (this.#dropping) return;
    this.#dropping = true;
    this.#log.error(
      { limit: this.#storeLimit, maxNodes: this.#options.maxNodes, node: shown(name) },
      'the remote sends more nodes than the store holds (twice maxNodes): new nodes are dropped until some are deleted',
    );
  }

  #roomAgain(): void {
    if (!this.#dropping || this.#store.size >= this.#storeLimit) return;
    this.#dropping = false;
    this.#log.info({ nodes: this.#store.size, limit: this.#storeLimit }, 'the node store has room again');
  }

  #emit(change: NodeChange): void {
    try {
      this.#options.onChange(change);
    } catch (err) {
      // A bug in a listener must not stop the watch of a whole cluster.
      this.#log.error({ err, node: change.node.name, change: change.type }, 'node change listener failed');
    }
  }

  /** Per event: only the status field, which the last-event metric reads at scrape time. */
  #received(): void {
    this.#status.lastEventAt = this.#now();
  }

  #connected(): void {
    this.#options.metrics.watchConnected.set({ cluster: this.#cluster }, 1);
    if (this.#status.state === 'connected') return;
    this.#status.state = 'connected';
    this.#status.connectedAt = this.#now();
    this.#log.info({ resourceVersion: this.#resourceVersion }, 'watching nodes');
  }

  #failed(verb: 'list' | 'watch', err: unknown): void {
    const message = (err as Error).message;
    this.#options.metrics.nodeWatcherFailures.inc({ cluster: this.#cluster, verb });
    this.#options.metrics.watchConnected.set({ cluster: this.#cluster }, 0);
    this.#status.lastError = message;
    if (this.#status.state === 'disconnected') {
      this.#log.debug({ verb, err: message, attempt: this.#failures }, 'node watch still failing');
      return;
    }
    this.#status.state = 'disconnected';
    this.#status.disconnectedAt = this.#now();
    this.#log.warn({ verb, err }, 'node watch disconnected, retrying with backoff');
  }

  #listIdentity() {
    return { cluster: this.#cluster, method: 'GET', path: NODES_PATH };
  }

  #watchIdentity() {
    return { cluster: this.#cluster, method: 'GET', path: `${NODES_PATH}?watch=1` };
  }
}

/** The next page size after a page over the body cap: half, or null below the smallest worth asking for. */
export function smallerPage(size: number): number | null {
  const half = Math.floor(size / 2);
  return half >= MIN_PAGE_SIZE ? half : null;
}
