import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from '../clock/backoff.ts';
import type { KubeClient } from './client.ts';
import { field, stringOrNull } from './json-value.ts';
import { errorFromStatus, isExpired, KubeRequestError } from './kube-request-error.ts';
import { annotationKeys } from './node-projection.ts';
import {
  annotationsPatch,
  desiredAnnotations,
  firstInternalIP,
  missingAnnotations,
  presentAnnotations,
  type Advert,
} from './node-annotations.ts';
import { watchEvents } from './watch-stream.ts';

export interface NodeAdvertiserOptions {
  /** The local cluster. */
  client: KubeClient;
  nodeName: string;
  annotationDomain: string;
  /** One per remote; empty when only removing (`clusterwire cleanup`). */
  adverts: readonly Advert[];
  logger: Logger;
  metrics: Pick<Metrics, 'driftRepairs'>;
  backoff?: BackoffPolicy;
  /** Server-side watch duration; default random in [5, 10) minutes. */
  watchTimeoutSeconds?: number;
  /** No bytes for this long means a dead connection; default 2 minutes. */
  idleTimeoutMs?: number;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
const MERGE_PATCH = 'application/merge-patch+json';

/**
 * Keeps `<remote>.<domain>/pubKey` and `/endpoint` on the local Node
 * (SPEC §3.4) with merge patches that touch only those keys, never a full
 * update. `ensure()` repairs on demand (the daemon calls it every reconcile
 * interval); `start()` also watches the Node so that a removal or edit by
 * someone else is repaired within moments rather than a reconcile period.
 */
export class NodeAdvertiser {
  readonly #options: NodeAdvertiserOptions;
  readonly #log: Logger;
  readonly #path: string;
  readonly #abort = new AbortController();
  readonly #backoff: BackoffPolicy;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** ensure() runs one at a time, so two repairs never race each other. */
  #queue: Promise<unknown> = Promise.resolve();
  #advertised = false;
  #running: Promise<void> | null = null;

  constructor(options: NodeAdvertiserOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.#path = `/api/v1/nodes/${encodeURIComponent(options.nodeName)}`;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }));
  }

  /** Reads the Node and patches what is missing or different; returns the keys it wrote. */
  async ensure(signal?: AbortSignal): Promise<string[]> {
    return (await this.#ensure(signal)).written;
  }

  /** Watches the local Node and repairs the annotations whenever an event shows them wrong. */
  start(): void {
    if (this.#running) throw new Error(`advertiser of node ${this.#options.nodeName} already started`);
    this.#running = this.#run().catch((err: unknown) => {
      this.#log.error({ err }, 'node advertiser ended by an unexpected error');
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  /** Removes the annotations of `remotes` from the local Node (merge patch with nulls); returns the keys removed. */
  async removeAnnotations(remotes: readonly string[]): Promise<string[]> {
    const node = await this.#getNode();
    const present = presentAnnotations(node, remotes, this.#options.annotationDomain);
    if (present.length === 0) return [];
    await this.#patch(new Map(present.map((key) => [key, null])));
    this.#log.info({ node: this.#options.nodeName, keys: present }, 'removed annotations');
    return present;
  }

  #ensure(signal?: AbortSignal): Promise<{ written: string[]; resourceVersion: string | null }> {
    const next = this.#queue.then(
      () => this.#ensureNow(signal),
      () => this.#ensureNow(signal),
    );
    this.#queue = next;
    return next;
  }

  async #ensureNow(signal?: AbortSignal): Promise<{ written: string[]; resourceVersion: string | null }> {
    const node = await this.#getNode(signal);
    const resourceVersion = stringOrNull(field(field(node, 'metadata'), 'resourceVersion'));
    const missing = missingAnnotations(node, this.#desired(node));
    if (missing.size > 0) {
      await this.#patch(missing, signal);
      this.#report([...missing.keys()]);
    }
    this.#advertised = true;
    return { written: [...missing.keys()], resourceVersion };
  }

  #desired(node: unknown): Map<string, string> {
    const ip = firstInternalIP(node);
    if (ip === null) throw new Error(`node ${this.#options.nodeName} has no InternalIP address: no endpoint to advertise`);
    return desiredAnnotations(this.#options.adverts, ip, this.#options.annotationDomain);
  }

  /** First write: the advertisement. Later writes: someone changed them behind our back. */
  #report(keys: string[]): void {
    if (!this.#advertised) {
      this.#log.info({ node: this.#options.nodeName, keys }, 'advertised public keys and endpoints');
      return;
    }
    this.#log.warn({ node: this.#options.nodeName, keys }, 'restored annotations removed or changed by someone else');
    for (const advert of this.#options.adverts) {
      const own = annotationKeys(advert.remote, this.#options.annotationDomain);
      if (keys.includes(own.publicKey) || keys.includes(own.endpoint)) {
        this.#options.metrics.driftRepairs.inc({ device: advert.device, kind: 'annotation' });
      }
    }
  }

  async #getNode(signal?: AbortSignal): Promise<unknown> {
    return this.#options.client.json({ method: 'GET', path: this.#path, signal });
  }

  async #patch(values: ReadonlyMap<string, string | null>, signal?: AbortSignal): Promise<void> {
    await this.#options.client.json({
      method: 'PATCH',
      path: this.#path,
      body: { contentType: MERGE_PATCH, value: annotationsPatch(values) },
      signal,
    });
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    let failing = false;
    while (!signal.aborted) {
      try {
        const { resourceVersion } = await this.#ensure(signal);
        const events = await this.#watch(resourceVersion, signal);
        if (events > 0) failures = 0;
        if (failing) this.#log.info({ node: this.#options.nodeName }, 'watching the local node again');
        failing = false;
        // Ended or expired without a single event: something is off, do not spin.
        if (events === 0) await this.#pause(backoffDelay(failures++, this.#backoff, this.#random()), signal);
      } catch (err) {
        if (signal.aborted) break;
        if (!failing) this.#log.warn({ node: this.#options.nodeName, err }, 'watch of the local node failed, retrying with backoff');
        failing = true;
        await this.#pause(backoffDelay(failures++, this.#backoff, this.#random()), signal);
      }
    }
  }

  /** Watches the local Node until the server ends the watch or the version expires; returns the events seen. */
  async #watch(resourceVersion: string | null, signal: AbortSignal): Promise<number> {
    const identity = { cluster: this.#options.client.cluster, method: 'GET', path: '/api/v1/nodes?watch=1' };
    const body = await this.#options.client.stream({
      method: 'GET',
      path: '/api/v1/nodes',
      query: {
        watch: '1',
        fieldSelector: `metadata.name=${this.#options.nodeName}`,
        resourceVersion: resourceVersion ?? undefined,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(this.#options.watchTimeoutSeconds ?? Math.floor(300 * (1 + this.#random()))),
      },
      signal,
    });
    let events = 0;
    try {
      for await (const event of watchEvents(body, this.#options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS)) {
        if (event.type === 'ERROR') {
          const err = errorFromStatus(identity, event.object);
          if (isExpired(err)) return events;
          throw err;
        }
        events += 1;
        if ((event.type === 'ADDED' || event.type === 'MODIFIED') && this.#drifted(event.object)) {
          await this.#ensure(signal);
        }
      }
    } catch (err) {
      if (err instanceof KubeRequestError || signal.aborted) throw err;
      throw new KubeRequestError(identity, null, null, `watch stream broke: ${(err as Error).message}`, err);
    }
    return events;
  }

  #drifted(node: unknown): boolean {
    return firstInternalIP(node) === null || missingAnnotations(node, this.#desired(node)).size > 0;
  }

  async #pause(ms: number, signal: AbortSignal): Promise<void> {
    try {
      await this.#sleep(ms, signal);
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }
}
