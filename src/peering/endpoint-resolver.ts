import type { Cancel, Clock } from '../clock/clock.ts';
import { shown } from '../kube/node-bounds.ts';
import { parseCidr } from '../net/cidr.ts';
import { addressRefusal, addressText } from './endpoint.ts';

/**
 * Looks a hostname up once: one address, or a rejection. Must stop when
 * `signal` aborts (the resolver gives up on it after its timeout).
 */
export type Lookup = (host: string, signal: AbortSignal) => Promise<string>;

/** What a pass knows of a hostname endpoint. */
export type Resolution =
  | { state: 'resolved'; address: string }
  | { state: 'pending' }
  | { state: 'failed'; reason: 'unresolvable-endpoint' | 'bad-endpoint'; detail: string };

export interface EndpointResolverOptions {
  lookup: Lookup;
  clock: Clock;
  /** Told when a finished look-up changes what a pass would see of `host`: decide its nodes again. */
  onChange: (host: string) => void;
  /** A look-up without an answer by then fails; default 5 s. */
  timeoutMs?: number;
  /** Look-ups running at once; the rest wait their turn. Default 4. */
  maxConcurrent?: number;
  /** An address is looked up again after this long; default 60 s. */
  resolvedTtlMs?: number;
  /** A failed name is tried again after this long; default 10 s. */
  failedTtlMs?: number;
}

interface Entry {
  resolution: Resolution;
  /** The next look-up, scheduled when the last one finished; null while one is queued or running. */
  refresh: Cancel | null;
}

/**
 * A small cache of hostname endpoints (docs/configuration.md, "Hostname
 * endpoints"). A pass never waits on DNS: it takes what is known now
 * (an address, a failure, or nothing yet) and the look-ups run in the
 * background, a few at a time, each with a timeout. A name asked for once
 * is looked up again when its answer expires, until it is forgotten (no
 * node uses it); a look-up that changes what a pass would see reports the
 * name. So one name that does not resolve, or resolves slowly, never holds
 * back the other peers, and a pass asks only for the names of the nodes
 * it decides.
 */
export class EndpointResolver {
  readonly #lookup: Lookup;
  readonly #clock: Clock;
  readonly #onChange: (host: string) => void;
  readonly #timeoutMs: number;
  readonly #maxConcurrent: number;
  readonly #resolvedTtlMs: number;
  readonly #failedTtlMs: number;
  readonly #entries = new Map<string, Entry>();
  #queue: string[] = [];
  readonly #running = new Set<Promise<void>>();

  constructor(options: EndpointResolverOptions) {
    this.#lookup = options.lookup;
    this.#clock = options.clock;
    this.#onChange = options.onChange;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#maxConcurrent = options.maxConcurrent ?? 4;
    this.#resolvedTtlMs = options.resolvedTtlMs ?? 60_000;
    this.#failedTtlMs = options.failedTtlMs ?? 10_000;
  }

  /** What is known of `host` now. The first ask starts a look-up in the background; never waits. */
  resolve(host: string): Resolution {
    let entry = this.#entries.get(host);
    if (!entry) {
      entry = { resolution: { state: 'pending' }, refresh: null };
      this.#entries.set(host, entry);
      this.#enqueue(host);
    }
    return entry.resolution;
  }

  /** No node uses `host` any more: no more look-ups of it, and the cache holds only names in use. */
  forget(host: string): void {
    this.#entries.get(host)?.refresh?.();
    this.#entries.delete(host);
    this.#queue = this.#queue.filter((queued) => queued !== host);
  }

  /** Forgets every name: no look-up is started or scheduled after this. */
  stop(): void {
    for (const host of [...this.#entries.keys()]) this.forget(host);
  }

  /** Resolves when no look-up is queued or running. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
  }

  #enqueue(host: string): void {
    this.#queue.push(host);
    this.#pump();
  }

  #pump(): void {
    while (this.#running.size < this.#maxConcurrent && this.#queue.length > 0) {
      const host = this.#queue.shift() as string;
      const running: Promise<void> = this.#lookUp(host).finally(() => {
        this.#running.delete(running);
        this.#pump();
      });
      this.#running.add(running);
    }
  }

  /** One look-up; never rejects. */
  async #lookUp(host: string): Promise<void> {
    const abort = new AbortController();
    let cancelTimeout: Cancel = () => undefined;
    // The timeout does not rely on the look-up honouring its signal: it settles the look-up's slot either way.
    const timeout = new Promise<never>((_resolve, reject) => {
      cancelTimeout = this.#clock.schedule(() => {
        abort.abort();
        reject(new Error(`no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
    });
    let resolution: Resolution;
    try {
      resolution = checkedAddress(await Promise.race([this.#lookup(host, abort.signal), timeout]));
    } catch (error) {
      resolution = { state: 'failed', reason: 'unresolvable-endpoint', detail: error instanceof Error ? error.message : String(error) };
    } finally {
      cancelTimeout();
    }
    const entry = this.#entries.get(host);
    if (!entry) return;
    entry.refresh = this.#clock.schedule(
      () => {
        entry.refresh = null;
        if (this.#entries.get(host) === entry) this.#enqueue(host);
      },
      resolution.state === 'resolved' ? this.#resolvedTtlMs : this.#failedTtlMs,
    );
    const changed = JSON.stringify(entry.resolution) !== JSON.stringify(resolution);
    entry.resolution = resolution;
    if (changed) this.#onChange(host);
  }
}

/** An answer passes the same address policy as an advertised IP endpoint. */
function checkedAddress(address: string): Resolution {
  const parsed = parseCidr(address.includes(':') ? `${address}/128` : `${address}/32`);
  if (!parsed.ok) return { state: 'failed', reason: 'unresolvable-endpoint', detail: `the answer '${shown(address)}' is not an IP address` };
  const refusal = addressRefusal(parsed.cidr);
  if (refusal !== null) return { state: 'failed', reason: 'bad-endpoint', detail: `resolves to ${refusal}` };
  return { state: 'resolved', address: addressText(parsed.cidr) };
}
