import type { Cancel, Clock } from '../clock/clock.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from '../clock/backoff.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { KubeClient } from './client.ts';
import { Informer } from './informer.ts';
import {
  advertKeys,
  annotationsPatch,
  desiredAnnotations,
  missingAnnotations,
  projectLocalNode,
  sameLocalNode,
  type Advert,
  type LocalNode,
} from './node-annotations.ts';
import { annotationKeys } from './node-projection.ts';

export interface NodeAdvertiserOptions {
  /** The local cluster. */
  client: KubeClient;
  nodeName: string;
  annotationDomain: string;
  /** One per remote; empty when only removing (`clusterwire cleanup`). */
  adverts: readonly Advert[];
  /** Names the node already (the daemon's child logger): lines add only what they are about. */
  logger: Logger;
  metrics: Pick<Metrics, 'driftRepairs'>;
  clock: Clock;
  /** In [0, 1): backoff jitter. */
  random: () => number;
  backoff?: BackoffPolicy;
  /** A fresh read of the Node this often, for a watch that is down or missed an edit; none when unset. */
  checkIntervalMs?: number;
  /** Server-side watch duration; default random in [5, 10) minutes. */
  watchTimeoutSeconds?: number;
  /** No bytes for this long means a dead connection; default 2 minutes. */
  idleTimeoutMs?: number;
}

const MERGE_PATCH = 'application/merge-patch+json';
/** The local Node is selected by name: one object. */
const MAX_LOCAL_NODES = 1;

/**
 * Keeps `<remote>.<domain>/pubKey` and `/endpoint` on the local Node
 * (docs/how-it-works.md, "Advertise") with merge patches that touch only
 * those keys, never a full update, for each remote once it is `ready()`:
 * once this node's device for that remote holds the remote's peers, so a
 * remote node that adds us on seeing the annotations gets its first
 * handshake answered. Before that, nothing is written for that remote
 * (annotations already there from a previous run stay as they are). A
 * remote whose apiserver is down holds back only its own advertisement.
 * `start()` watches the Node (an informer selecting it by name) so that a
 * removal or edit by someone else is repaired within moments; a fresh read
 * every `checkIntervalMs` while that watch is down or not yet synced covers
 * what it cannot show (with the watch up, the read costs an idle node a TLS
 * connection and a whole Node every interval for nothing).
 */
export class NodeAdvertiser {
  readonly #o: NodeAdvertiserOptions;
  readonly #log: Logger;
  readonly #path: string;
  readonly #abort = new AbortController();
  readonly #backoff: BackoffPolicy;
  readonly #keys: string[];
  readonly #informer: Informer<LocalNode>;
  /** Remotes whose device is ready: their annotations are kept. */
  readonly #ready = new Set<string>();
  /** Remotes whose annotations were in place after a write or a check: a later write for them is a repair. */
  readonly #advertised = new Set<string>();
  /** ensure() runs one at a time, so two repairs never race each other. */
  #queue: Promise<unknown> = Promise.resolve();
  #wanted = false;
  #wake: (() => void) | null = null;
  #tick: Cancel | null = null;
  #running: Promise<void> | null = null;

  constructor(options: NodeAdvertiserOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#path = `/api/v1/nodes/${encodeURIComponent(options.nodeName)}`;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#keys = advertKeys(
      options.adverts.map((advert) => advert.remote),
      options.annotationDomain,
    );
    this.#informer = new Informer<LocalNode>({
      client: options.client,
      path: '/api/v1/nodes',
      fieldSelector: `metadata.name=${options.nodeName}`,
      names: { singular: 'local node', plural: 'local nodes' },
      project: (object) => projectLocalNode(object, this.#keys),
      keyOf: (node) => node.name,
      same: sameLocalNode,
      maxObjects: MAX_LOCAL_NODES,
      onChange: (change) => {
        if (change.type !== 'deleted' && this.#drifted(change.value)) this.#request();
      },
      logger: options.logger,
      // The local watch is not semaphore's node watcher: its failures are logged, not counted.
      metrics: { failed: () => {}, connected: () => {}, dropped: () => {} },
      clock: options.clock,
      random: options.random,
      backoff: this.#backoff,
      watchTimeoutSeconds: options.watchTimeoutSeconds,
      idleTimeoutMs: options.idleTimeoutMs,
    });
  }

  /**
   * The device for `remote` holds its peers (its first sync is done): its
   * annotations are written now and kept from then on. Idempotent.
   */
  ready(remote: string): void {
    if (this.#ready.has(remote) || !this.#o.adverts.some((advert) => advert.remote === remote)) return;
    this.#ready.add(remote);
    this.#request();
  }

  /** Reads the Node and patches what is missing or different for the ready remotes; returns the keys it wrote. */
  ensure(signal?: AbortSignal): Promise<string[]> {
    const next = this.#queue.then(
      () => this.#ensureNow(signal),
      () => this.#ensureNow(signal),
    );
    this.#queue = next;
    return next;
  }

  /** Watches the local Node and repairs the annotations whenever it shows them wrong. */
  start(): void {
    if (this.#running) throw new Error(`advertiser of node ${this.#o.nodeName} already started`);
    this.#informer.start();
    this.#scheduleCheck();
    this.#running = this.#run().catch((err: unknown) => {
      this.#log.error({ err }, 'node advertiser ended by an unexpected error');
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#tick?.();
    this.#wake?.();
    await Promise.all([this.#running, this.#informer.stop()]);
  }

  async #ensureNow(signal?: AbortSignal): Promise<string[]> {
    const ready = this.#o.adverts.filter((advert) => this.#ready.has(advert.remote));
    if (ready.length === 0) return [];
    const node = projectLocalNode(await this.#getNode(signal), this.#keys);
    if (!node) throw new Error(`node ${this.#o.nodeName} as read has no metadata.name`);
    const missing = missingAnnotations(node, this.#desired(node, ready));
    if (missing.size > 0) {
      await this.#patch(missing, signal);
      this.#report([...missing.keys()], ready);
    }
    for (const advert of ready) this.#advertised.add(advert.remote);
    return [...missing.keys()];
  }

  #desired(node: LocalNode, adverts: readonly Advert[]): Map<string, string> {
    if (node.internalIP === null) throw new Error(`node ${this.#o.nodeName} has no InternalIP address: no endpoint to advertise`);
    return desiredAnnotations(adverts, node.internalIP, this.#o.annotationDomain);
  }

  #drifted(node: LocalNode): boolean {
    const ready = this.#o.adverts.filter((advert) => this.#ready.has(advert.remote));
    if (ready.length === 0) return false;
    return node.internalIP === null || missingAnnotations(node, this.#desired(node, ready)).size > 0;
  }

  /** A remote's first write: the advertisement. Later writes: someone changed them behind our back. */
  #report(keys: string[], adverts: readonly Advert[]): void {
    const written = adverts.filter((advert) => {
      const own = annotationKeys(advert.remote, this.#o.annotationDomain);
      return keys.includes(own.publicKey) || keys.includes(own.endpoint);
    });
    const fresh = written.filter((advert) => !this.#advertised.has(advert.remote));
    const repaired = written.filter((advert) => this.#advertised.has(advert.remote));
    if (fresh.length > 0) {
      this.#log.info({ remotes: fresh.map((advert) => advert.remote), keys }, 'advertised public keys and endpoints');
    }
    if (repaired.length === 0) return;
    this.#log.warn({ remotes: repaired.map((advert) => advert.remote), keys }, 'restored annotations removed or changed by someone else');
    for (const advert of repaired) this.#o.metrics.driftRepairs.inc({ device: advert.device, kind: 'annotation' });
  }

  #getNode(signal?: AbortSignal): Promise<unknown> {
    return this.#o.client.json({ method: 'GET', path: this.#path, signal });
  }

  async #patch(values: ReadonlyMap<string, string | null>, signal?: AbortSignal): Promise<void> {
    await this.#o.client.json({
      method: 'PATCH',
      path: this.#path,
      body: { contentType: MERGE_PATCH, value: annotationsPatch(values) },
      signal,
    });
  }

  /** Asks the loop for an ensure() pass; requests while one is waiting fold into it. */
  #request(): void {
    this.#wanted = true;
    this.#wake?.();
  }

  #scheduleCheck(): void {
    const interval = this.#o.checkIntervalMs;
    if (interval === undefined || this.#abort.signal.aborted) return;
    this.#tick = this.#o.clock.schedule(() => {
      // A connected watch has shown every change of the Node already (#drifted): a read would only repeat it.
      const watch = this.#informer.status();
      if (!watch.synced || watch.state !== 'connected') this.#request();
      this.#scheduleCheck();
    }, interval);
  }

  /** One ensure() per request, retried with backoff until it succeeds; a failure is logged when it starts and when it ends. */
  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      if (!this.#wanted) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = null;
        continue;
      }
      this.#wanted = false;
      try {
        await this.ensure(signal);
        if (failures > 0) this.#log.info('annotations of the local node in place again');
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (failures === 0) this.#log.warn({ err }, 'advertising on the local node failed, retrying with backoff');
        this.#wanted = true;
        try {
          await this.#o.clock.sleep(backoffDelay(failures++, this.#backoff, this.#o.random()), signal);
        } catch (sleepError) {
          if (!signal.aborted) throw sleepError;
        }
      }
    }
  }
}
