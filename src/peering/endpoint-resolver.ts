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
  /** Told when a finished look-up changes what a pass would see: ask for a pass. */
  onChange: () => void;
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
  /** When a pass that asks should start a new look-up; Infinity while one is queued or running. */
  refreshAt: number;
}

/**
 * A small cache of hostname endpoints (docs/configuration.md, "Hostname
 * endpoints"). A pass never waits on DNS: it takes what is known now
 * (an address, a failure, or nothing yet) and the look-ups run in the
 * background, a few at a time, each with a timeout; one that changes what
 * a pass would see asks for another pass. So one name that does not
 * resolve, or resolves slowly, never holds back the other peers.
 */
export class EndpointResolver {
  readonly #lookup: Lookup;
  readonly #clock: Clock;
  readonly #onChange: () => void;
  readonly #timeoutMs: number;
  readonly #maxConcurrent: number;
  readonly #resolvedTtlMs: number;
  readonly #failedTtlMs: number;
  readonly #entries = new Map<string, Entry>();
  /** Hosts asked for since the last `sweep`: the others are no longer used. */
  readonly #asked = new Set<string>();
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

  /** What is known of `host` now. Starts a look-up in the background when nothing fresh is known; never waits. */
  resolve(host: string): Resolution {
    this.#asked.add(host);
    let entry = this.#entries.get(host);
    if (!entry) {
      entry = { resolution: { state: 'pending' }, refreshAt: 0 };
      this.#entries.set(host, entry);
    }
    if (entry.refreshAt <= this.#clock.now()) {
      entry.refreshAt = Infinity;
      this.#queue.push(host);
      this.#pump();
    }
    return entry.resolution;
  }

  /** Forgets the hosts not asked for since the last sweep (call once per pass): the cache holds only names in use. */
  sweep(): void {
    for (const host of this.#entries.keys()) if (!this.#asked.has(host)) this.#entries.delete(host);
    this.#queue = this.#queue.filter((host) => this.#asked.has(host));
    this.#asked.clear();
  }

  /** Resolves when no look-up is queued or running. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
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
    entry.refreshAt = this.#clock.now() + (resolution.state === 'resolved' ? this.#resolvedTtlMs : this.#failedTtlMs);
    const changed = JSON.stringify(entry.resolution) !== JSON.stringify(resolution);
    entry.resolution = resolution;
    if (changed) this.#onChange();
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
