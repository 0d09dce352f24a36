import { PassThrough, type Readable } from 'node:stream';
import type { KubeClient, KubeRequest } from '../../../src/kube/client.ts';

/** One open watch of the fake client: the test writes events into it. */
export class FakeWatch {
  readonly request: KubeRequest;
  readonly body = new PassThrough();

  constructor(request: KubeRequest) {
    this.request = request;
  }

  send(type: string, object: unknown): void {
    this.body.write(`${JSON.stringify({ type, object })}\n`);
  }

  end(): void {
    this.body.end();
  }

  get closed(): boolean {
    return this.body.destroyed || this.body.writableEnded;
  }
}

/**
 * A KubeClient in memory: `json` answers through a handler the test sets,
 * `stream` opens a FakeWatch (or fails, through `onStream`). Requests are
 * recorded in order.
 */
export class FakeKubeClient implements KubeClient {
  readonly cluster = 'c2';
  readonly host = 'fake:6443';
  readonly requests: KubeRequest[] = [];
  readonly watches: FakeWatch[] = [];
  onJson: (request: KubeRequest) => unknown = () => {
    throw new Error('unexpected json request');
  };
  /** Throw to fail the watch request. */
  onStream: (request: KubeRequest) => void = () => {};

  /** Like the real client, a pending request fails as soon as its signal aborts. */
  json(request: KubeRequest): Promise<unknown> {
    this.requests.push(request);
    let answer: Promise<unknown>;
    try {
      answer = Promise.resolve(this.onJson(request));
    } catch (err) {
      answer = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const signal = request.signal;
    if (!signal) return answer;
    // The listener goes once answered: a signal that lives as long as its
    // watcher must not keep every answer reachable (the real client does not).
    let onAbort = () => {};
    return Promise.race([
      answer,
      new Promise<never>((_resolve, reject) => {
        if (signal.aborted) reject(new Error('aborted'));
        onAbort = () => reject(new Error('aborted'));
        signal.addEventListener('abort', onAbort);
      }),
    ]).finally(() => signal.removeEventListener('abort', onAbort));
  }

  stream(request: KubeRequest): Promise<Readable> {
    this.requests.push(request);
    try {
      this.onStream(request);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const watch = new FakeWatch(request);
    request.signal?.addEventListener('abort', () => watch.body.destroy(new Error('aborted')));
    this.watches.push(watch);
    return Promise.resolve(watch.body);
  }

  /** Watch number `index` (0-based), once it is open. */
  async watchAt(index: number): Promise<FakeWatch> {
    await eventually(() => this.watches.length > index, 3000, `watch #${index}`);
    return this.watches[index] as FakeWatch;
  }

  close(): void {}
}

/** A small Node object, shaped like core/v1. */
export function nodeObject(
  name: string,
  opts: { rv?: string; uid?: string; podCIDRs?: string[]; ip?: string; annotations?: Record<string, string>; heartbeat?: string } = {},
): Record<string, unknown> {
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: { name, uid: opts.uid ?? `uid-${name}`, resourceVersion: opts.rv ?? '1', annotations: opts.annotations ?? {} },
    spec: { podCIDR: opts.podCIDRs?.[0], podCIDRs: opts.podCIDRs },
    status: {
      addresses: [
        { type: 'InternalIP', address: opts.ip ?? '198.18.0.1' },
        { type: 'Hostname', address: name },
      ],
      conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: opts.heartbeat ?? '2024-01-01T00:00:00Z' }],
    },
  };
}

/** Polls `condition` every few ms until true, or fails after `ms`. */
export async function eventually(condition: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A Node object as a metadata-only watch sends it (PartialObjectMetadata): its metadata alone. */
export function metadataOf(node: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: node.metadata };
}
