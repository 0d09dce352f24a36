import type { Clock } from '../clock/clock.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from '../clock/backoff.ts';
import type { Logger } from '../log.ts';
import { isResponseTooLarge, type KubeClient } from './client.ts';
import { field, stringOrNull } from './json-value.ts';
import { errorFromStatus, isExpired, KubeRequestError } from './kube-request-error.ts';
import { objectPath } from './object-path.ts';
import { changeFor, diffStores, type SameProjection, type StoreChange } from './store-changes.ts';
import type { WatchEvent } from './watch-event.ts';
import { watchEventBatches } from './watch-stream.ts';

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

/** The request an informer failed in, as `semaphore_wg_node_watcher_failures_total` labels it. */
export type InformerVerb = 'list' | 'watch' | 'get';

/** What an informer reports, bound by its owner to its own metrics and labels. */
export interface InformerMetrics {
  failed(verb: InformerVerb): void;
  /** The watch request is open (true) or failed (false). */
  connected(up: boolean): void;
  /** A new object was not kept: the store is full. */
  dropped(): void;
}

/**
 * Watching metadata only (`PartialObjectMetadata`): an event is ~1 KB of
 * metadata instead of the whole object, for a projection whose other
 * fields cannot change once set (a Node's pod CIDRs). The list is still of
 * full objects. A metadata event is projected with the store at hand (the
 * projection carries the unchanging fields over from the same object);
 * when that is not enough, the object is read by name: once, or while the
 * object still lacks it, at most every READ_AGAIN_MS.
 */
export interface MetadataOnlyWatch<P> {
  /** This projection, made from metadata, lacks what only the full object has. */
  needsObject(projection: P): boolean;
  /** The projection completed from the full object (a GET by name, newer than the event or equal to it). */
  complete(projection: P, object: unknown): P;
}

export interface InformerOptions<P> {
  client: KubeClient;
  /** The collection: `/api/v1/nodes`, `/apis/<group>/<version>/namespaces/<ns>/<resource>`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** How logs name the objects: `{ singular: 'node', plural: 'nodes' }`. */
  names: { singular: string; plural: string };
  /**
   * What to keep of an object (unchecked JSON: an item of the list, the
   * object of a watch event); null for something unusable (no name), which
   * is logged and skipped. Pure: it may read `known`, the store as it is.
   */
  project: (object: unknown, known: ReadonlyMap<string, P>) => P | null;
  /** The store key of a projection (bounded: it is held for every object). */
  keyOf: (projection: P) => string;
  /** Equal projections are no change: the update is dropped here. */
  same: SameProjection<P>;
  /** Past this many objects, new keys are dropped (counted, logged once) until some are deleted. */
  maxObjects: number;
  /** Called for every change of the store, in the order the apiserver sent them. */
  onChange: (change: StoreChange<P>) => void;
  metadataOnly?: MetadataOnlyWatch<P>;
  logger: Logger;
  metrics: InformerMetrics;
  clock: Clock;
  /** In [0, 1): backoff jitter and the watch duration. */
  random: () => number;
  backoff?: BackoffPolicy;
  /** Objects per list page. */
  pageSize?: number;
  /** Server-side watch duration; default random in [5, 10) minutes like client-go. */
  watchTimeoutSeconds?: number;
  /** No bytes for this long means a dead connection; default twice the apiserver's 1-minute bookmark interval. */
  idleTimeoutMs?: number;
}

/**
 * 500 is client-go's page. Measured at 5,000 realistic Nodes (~15 KB each):
 * pages of 100 cost ~15 MB less RSS than pages of 500 after the first list,
 * for 40 more requests (one keep-alive connection; ~1 ms each on a LAN).
 */
export const DEFAULT_PAGE_SIZE = 100;
/** 10 Nodes at etcd's 1.5 MiB limit (about twice that as JSON) stay below the client's body cap. */
const MIN_PAGE_SIZE = 10;
const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
/**
 * An object read for what its metadata lacks, and found still lacking it
 * (a Node annotated before it got pod CIDRs, or in a cluster that never
 * sets them), is read again at most this often: not on every one of its
 * status writes, each of which would cost a GET and hold up the watch.
 */
export const READ_AGAIN_MS = 60_000;
const NOT_ACCEPTABLE = 406;

/**
 * One list → watch loop over any resource, keeping only projections of
 * its objects (docs/how-it-works.md, "Watch"):
 * - lists in pages, each projected and dropped, so a large cluster never
 *   sits in memory as full objects; a page over the client's body cap is
 *   asked for again, smaller;
 * - watches from the list's resourceVersion with bookmarks, optionally
 *   metadata only (falling back to full objects when the apiserver answers
 *   406);
 * - relists on 410 and reports the difference, deletions during the gap
 *   included;
 * - retries anything else with capped, jittered exponential backoff;
 * - drops updates whose projection is unchanged, and keeps at most
 *   `maxObjects`.
 * The node watcher, the local node advertiser and the PeerSlice watchers
 * are this loop with their own path, selectors and projection.
 */
export class Informer<P> {
  /** Live store of projections by key; read-only for everyone else. */
  readonly objects: ReadonlyMap<string, P>;
  readonly #store = new Map<string, P>();
  readonly #o: InformerOptions<P>;
  readonly #cluster: string;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #backoff: BackoffPolicy;
  readonly #idleTimeoutMs: number;
  #running: Promise<void> | null = null;
  #status: WatchStatus = { state: 'starting', synced: false, connectedAt: null, disconnectedAt: null, lastEventAt: null, lastError: null };
  #resourceVersion: string | null = null;
  /** Consecutive failures: the backoff exponent. */
  #failures = 0;
  #eventsSinceList = 0;
  /** The request under way, for the failure metric. */
  #verb: InformerVerb = 'list';
  /** Cleared for good when the apiserver refuses PartialObjectMetadata. */
  #metadataWatch: boolean;
  /** New objects were dropped since the store last had room: logged once per episode. */
  #dropping = false;
  #syncWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  /** When each object read by name last came back still lacking what its metadata lacks (metadataOnly). */
  readonly #readStillLacking = new Map<string, number>();

  constructor(options: InformerOptions<P>) {
    this.#o = options;
    this.objects = this.#store;
    this.#cluster = options.client.cluster;
    this.#log = options.logger;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#metadataWatch = options.metadataOnly !== undefined;
  }

  status(): WatchStatus {
    return { ...this.#status };
  }

  /** Resolves once the first full list is in the store; rejects if stopped before. */
  whenSynced(): Promise<void> {
    if (this.#status.synced) return Promise.resolve();
    if (this.#abort.signal.aborted) return Promise.reject(this.#stoppedError());
    return new Promise((resolve, reject) => this.#syncWaiters.push({ resolve, reject }));
  }

  start(): void {
    if (this.#running) throw new Error(`${this.#o.names.singular} watcher of cluster ${this.#cluster} already started`);
    this.#running = this.#run().catch((err: unknown) => {
      this.#log.error({ err }, `${this.#o.names.singular} watcher ended by an unexpected error`);
    });
  }

  /** Ends the watch promptly (the open request is aborted) and waits for the loop to finish. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
    this.#o.metrics.connected(false);
    for (const waiter of this.#syncWaiters.splice(0)) waiter.reject(this.#stoppedError());
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        if (this.#resourceVersion === null) await this.#list(signal);
        const end = await this.#watch(signal);
        if (end === 'expired') await this.#relistAfterExpiry(signal);
      } catch (err) {
        if (signal.aborted) break;
        if (isExpired(err)) {
          await this.#relistAfterExpiry(signal);
          continue;
        }
        if (this.#verb === 'watch' && this.#metadataWatch && err instanceof KubeRequestError && err.status === NOT_ACCEPTABLE) {
          this.#metadataWatch = false;
          this.#log.info({ err: err.message }, `the apiserver does not serve PartialObjectMetadata: watching whole ${this.#o.names.plural}`);
          continue;
        }
        this.#failed(this.#verb, err);
        await this.#pause(backoffDelay(this.#failures, this.#backoff, this.#o.random()), signal);
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
    this.#log.info({ events: this.#eventsSinceList }, `resourceVersion expired (410), relisting ${this.#o.names.plural}`);
    if (this.#eventsSinceList === 0) {
      await this.#pause(backoffDelay(this.#failures, this.#backoff, this.#o.random()), signal);
      this.#failures += 1;
    }
  }

  async #pause(ms: number, signal: AbortSignal): Promise<void> {
    try {
      await this.#o.clock.sleep(ms, signal);
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  async #list(signal: AbortSignal): Promise<void> {
    this.#verb = 'list';
    const listed = new Map<string, P>();
    let resourceVersion: string | null;
    let continueToken: string | null = null;
    let pageSize = this.#o.pageSize ?? DEFAULT_PAGE_SIZE;
    do {
      ({ resourceVersion, continueToken, pageSize } = await this.#listPage(listed, continueToken, pageSize, signal));
    } while (continueToken !== null);
    if (!resourceVersion) throw new KubeRequestError(this.#identity(), 200, null, `${this.#o.names.singular} list without resourceVersion`);

    const changes = diffStores(this.#store, listed, this.#o.same);
    for (const change of changes) {
      if (change.type === 'deleted') this.#store.delete(change.key);
      else this.#store.set(change.key, change.value);
    }
    if (listed.size < this.#o.maxObjects) this.#roomAgain();
    // The list had whole objects: whatever was lacking is now as complete as it gets.
    this.#readStillLacking.clear();
    this.#resourceVersion = resourceVersion;
    this.#eventsSinceList = 0;
    this.#received();
    for (const change of changes) this.#emit(change);
    if (!this.#status.synced) {
      this.#status.synced = true;
      this.#log.info({ [this.#o.names.plural]: this.#store.size, resourceVersion }, `first list of ${this.#o.names.plural} complete`);
      for (const waiter of this.#syncWaiters.splice(0)) waiter.resolve();
    }
  }

  /**
   * One page at a time: read, projected into `listed`, dropped. In a call
   * of its own, so that no variable of the list's loop still holds the
   * previous page while the next one is read.
   */
  async #listPage(
    listed: Map<string, P>,
    continueToken: string | null,
    pageSize: number,
    signal: AbortSignal,
  ): Promise<{ resourceVersion: string | null; continueToken: string | null; pageSize: number }> {
    const answer = await this.#page(continueToken, pageSize, signal);
    const items = field(answer.page, 'items') ?? [];
    if (!Array.isArray(items)) throw new KubeRequestError(this.#identity(), 200, null, `${this.#o.names.singular} list without items`);
    for (const item of items) this.#projectInto(listed, item);
    const metadata = field(answer.page, 'metadata');
    return {
      resourceVersion: stringOrNull(field(metadata, 'resourceVersion')),
      continueToken: stringOrNull(field(metadata, 'continue')) || null,
      pageSize: answer.pageSize,
    };
  }

  /** One page of the list. Objects this large are legal (etcd allows 1.5 MiB each): a page over the body cap is asked for again, smaller. */
  async #page(continueToken: string | null, pageSize: number, signal: AbortSignal): Promise<{ page: unknown; pageSize: number }> {
    for (let size = pageSize; ; ) {
      try {
        const page = await this.#o.client.json({ method: 'GET', path: this.#o.path, query: { ...this.#selectors(), limit: String(size), continue: continueToken ?? undefined }, signal });
        return { page, pageSize: size };
      } catch (err) {
        const smaller = isResponseTooLarge(err) ? smallerPage(size) : null;
        if (smaller === null) throw err;
        this.#log.warn({ pageSize: size, smaller }, `a page of ${this.#o.names.plural} was over the response size cap: asking for smaller pages`);
        size = smaller;
      }
    }
  }

  #projectInto(listed: Map<string, P>, item: unknown): void {
    const projection = this.#o.project(item, this.#store);
    if (!projection) {
      this.#log.warn(`ignoring a listed ${this.#o.names.singular} without metadata.name`);
      return;
    }
    const key = this.#o.keyOf(projection);
    if (listed.has(key) || listed.size < this.#o.maxObjects) listed.set(key, projection);
    else this.#dropped(key);
  }

  /** One watch request, until the server ends it ('ended') or the resourceVersion expires. */
  async #watch(signal: AbortSignal): Promise<'ended' | 'expired'> {
    this.#verb = 'watch';
    const body = await this.#o.client.stream({
      method: 'GET',
      path: this.#o.path,
      accept: this.#metadataWatch ? METADATA_ACCEPT : undefined,
      query: {
        ...this.#selectors(),
        watch: '1',
        resourceVersion: this.#resourceVersion ?? undefined,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(this.#o.watchTimeoutSeconds ?? Math.floor(300 * (1 + this.#o.random()))),
      },
      signal,
    });
    this.#connected();
    let events = 0;
    try {
      for await (const batch of watchEventBatches(body, this.#idleTimeoutMs, this.#o.clock)) {
        for (const event of batch) {
          if (event.type === 'ERROR') {
            const err = errorFromStatus(this.#identity(true), event.object);
            if (isExpired(err)) return 'expired';
            throw err;
          }
          events += 1;
          this.#eventsSinceList += 1;
          // A watch that delivers is a success: the next failure starts the backoff over.
          this.#failures = 0;
          const fetching = this.#apply(event);
          if (fetching) await fetching;
        }
        this.#received();
      }
    } catch (err) {
      if (err instanceof KubeRequestError || signal.aborted) throw err;
      throw new KubeRequestError(this.#identity(true), null, null, `watch stream broke: ${(err as Error).message}`, err);
    }
    if (events === 0) throw new KubeRequestError(this.#identity(true), null, null, 'the apiserver closed the watch without sending anything');
    return 'ended';
  }

  /** Applies one event; returns a promise only when the object must be read first (a metadata event that is not enough). */
  #apply(event: WatchEvent): Promise<void> | undefined {
    const resourceVersion = stringOrNull(field(field(event.object, 'metadata'), 'resourceVersion'));
    if (event.type !== 'BOOKMARK') {
      const projection = this.#o.project(event.object, this.#store);
      if (!projection) {
        this.#log.warn({ type: event.type }, `ignoring a watch event for a ${this.#o.names.singular} without metadata.name`);
      } else if (event.type === 'DELETED') {
        this.#delete(this.#o.keyOf(projection));
      } else if (this.#hasRoomFor(projection)) {
        const details = this.#o.metadataOnly;
        if (details && field(event.object, 'kind') === 'PartialObjectMetadata' && details.needsObject(projection) && this.#mayRead(projection)) {
          return this.#completeThenUpdate(projection, event.object, details).then(() => {
            if (resourceVersion) this.#resourceVersion = resourceVersion;
          });
        }
        this.#update(projection);
      }
    }
    if (resourceVersion) this.#resourceVersion = resourceVersion;
    return undefined;
  }

  /** Reads the object by name for what its metadata lacks. Gone already (404): the DELETED event follows; until then the projection stays as it is. */
  async #completeThenUpdate(projection: P, metadataObject: unknown, details: MetadataOnlyWatch<P>): Promise<void> {
    const metadata = field(metadataObject, 'metadata');
    const path = objectPath(this.#o.path, stringOrNull(field(metadata, 'namespace')), stringOrNull(field(metadata, 'name')) ?? '');
    this.#verb = 'get';
    let object: unknown = null;
    try {
      object = await this.#o.client.json({ method: 'GET', path, signal: this.#abort.signal });
    } catch (err) {
      if (!(err instanceof KubeRequestError && err.status === 404)) throw err;
    }
    this.#verb = 'watch';
    const completed = object === null ? projection : details.complete(projection, object);
    const key = this.#o.keyOf(completed);
    if (details.needsObject(completed)) this.#readStillLacking.set(key, this.#o.clock.now());
    else this.#readStillLacking.delete(key);
    this.#update(completed);
  }

  #mayRead(projection: P): boolean {
    const readAt = this.#readStillLacking.get(this.#o.keyOf(projection));
    return readAt === undefined || this.#o.clock.now() - readAt >= READ_AGAIN_MS;
  }

  #hasRoomFor(projection: P): boolean {
    const key = this.#o.keyOf(projection);
    if (this.#store.has(key) || this.#store.size < this.#o.maxObjects) return true;
    this.#dropped(key);
    return false;
  }

  #update(projection: P): void {
    const key = this.#o.keyOf(projection);
    const change = changeFor(key, this.#store.get(key), projection, this.#o.same);
    if (!change) return;
    this.#store.set(key, projection);
    this.#emit(change);
  }

  #delete(key: string): void {
    const known = this.#store.get(key);
    this.#readStillLacking.delete(key);
    if (known === undefined) return;
    this.#store.delete(key);
    this.#roomAgain();
    this.#emit({ type: 'deleted', key, value: known });
  }

  /** A new object past the store's limit: not kept, counted; logged on the first of a run of them. */
  #dropped(key: string): void {
    this.#o.metrics.dropped();
    if (this.#dropping) return;
    this.#dropping = true;
    const { plural } = this.#o.names;
    this.#log.error(
      { limit: this.#o.maxObjects, key },
      `the apiserver sends more ${plural} than the store holds (${this.#o.maxObjects}): new ${plural} are dropped until some are deleted`,
    );
  }

  #roomAgain(): void {
    if (!this.#dropping || this.#store.size >= this.#o.maxObjects) return;
    this.#dropping = false;
    this.#log.info({ [this.#o.names.plural]: this.#store.size, limit: this.#o.maxObjects }, `the ${this.#o.names.singular} store has room again`);
  }

  #emit(change: StoreChange<P>): void {
    try {
      this.#o.onChange(change);
    } catch (err) {
      // A bug in a listener must not stop the watch of a whole cluster.
      this.#log.error({ err, key: change.key, change: change.type }, `${this.#o.names.singular} change listener failed`);
    }
  }

  /** Per batch of events: only the status field, which the last-event metric reads at scrape time. */
  #received(): void {
    this.#status.lastEventAt = this.#o.clock.now();
  }

  #connected(): void {
    this.#o.metrics.connected(true);
    if (this.#status.state === 'connected') return;
    this.#status.state = 'connected';
    this.#status.connectedAt = this.#o.clock.now();
    this.#log.info({ resourceVersion: this.#resourceVersion, metadataOnly: this.#metadataWatch }, `watching ${this.#o.names.plural}`);
  }

  #failed(verb: InformerVerb, err: unknown): void {
    const message = (err as Error).message;
    this.#o.metrics.failed(verb);
    this.#o.metrics.connected(false);
    this.#status.lastError = message;
    if (this.#status.state === 'disconnected') {
      this.#log.debug({ verb, err: message, attempt: this.#failures }, `${this.#o.names.singular} watch still failing`);
      return;
    }
    this.#status.state = 'disconnected';
    this.#status.disconnectedAt = this.#o.clock.now();
    this.#log.warn({ verb, err }, `${this.#o.names.singular} watch disconnected, retrying with backoff`);
  }

  #selectors(): Record<string, string | undefined> {
    return { labelSelector: this.#o.labelSelector, fieldSelector: this.#o.fieldSelector };
  }

  #identity(watch = false) {
    return { cluster: this.#cluster, method: 'GET', path: watch ? `${this.#o.path}?watch=1` : this.#o.path };
  }

  #stoppedError(): Error {
    return new Error(`${this.#o.names.singular} watcher of cluster ${this.#cluster} stopped before its first list`);
  }
}

/** The next page size after a page over the body cap: half, or null below the smallest worth asking for. */
export function smallerPage(size: number): number | null {
  const half = Math.floor(size / 2);
  return half >= MIN_PAGE_SIZE ? half : null;
}
