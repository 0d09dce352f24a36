import type { KubeClient } from '../kube/client.ts';
import { field, stringOrNull } from '../kube/json-value.ts';
import { KubeRequestError } from '../kube/kube-request-error.ts';
import { entriesPatch, newSliceObject, peerSlicesPath, storedSlice, type SliceEntry, type StoredSlice } from './peer-slice.ts';

/** The PeerSlices of one namespace, as the publisher reads and writes them. Writes resolve to the slice's new resourceVersion. */
export interface SliceApi {
  /** Every slice matching the label selector, all pages. */
  list(labelSelector: string, signal?: AbortSignal): Promise<StoredSlice[]>;
  create(name: string, labels: Record<string, string>, entries: readonly SliceEntry[], signal?: AbortSignal): Promise<string>;
  /** Replaces the entries if the slice is still at `resourceVersion` (else 409 Conflict). */
  update(name: string, resourceVersion: string, entries: readonly SliceEntry[], signal?: AbortSignal): Promise<string>;
  /** Deletes the slice if it is still at `resourceVersion` (else 409 Conflict). */
  delete(name: string, resourceVersion: string, signal?: AbortSignal): Promise<void>;
}

/** What to do after a write failed: read the slices again and plan again, count it as done, or retry later. */
export type WriteFailure = 'replan' | 'done' | 'retry';

/**
 * A 409 (someone else wrote the slice, or created one of that name) means
 * our view is stale: re-read, re-plan. A 404 on a delete is what we
 * wanted; on an update, the slice is gone: re-read. Anything else (the
 * apiserver down, a 422 nobody expects) is retried later with backoff.
 */
export function writeFailure(kind: 'create' | 'update' | 'delete', err: unknown): WriteFailure {
  const status = err instanceof KubeRequestError ? err.status : null;
  if (status === 409) return 'replan';
  if (status === 404 && kind === 'delete') return 'done';
  if (status === 404 && kind === 'update') return 'replan';
  return 'retry';
}

const PAGE_SIZE = 50;
const MERGE_PATCH = 'application/merge-patch+json';

export class KubeSliceApi implements SliceApi {
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #path: string;

  constructor(client: KubeClient, namespace: string) {
    this.#client = client;
    this.#namespace = namespace;
    this.#path = peerSlicesPath(namespace);
  }

  async list(labelSelector: string, signal?: AbortSignal): Promise<StoredSlice[]> {
    const slices: StoredSlice[] = [];
    let continueToken: string | null = null;
    do {
      const page = await this.#client.json({ method: 'GET', path: this.#path, query: { labelSelector, limit: String(PAGE_SIZE), continue: continueToken ?? undefined }, signal });
      const items = field(page, 'items');
      for (const item of Array.isArray(items) ? items : []) {
        const slice = storedSlice(item);
        if (slice) slices.push(slice);
      }
      continueToken = stringOrNull(field(field(page, 'metadata'), 'continue')) || null;
    } while (continueToken !== null);
    return slices;
  }

  async create(name: string, labels: Record<string, string>, entries: readonly SliceEntry[], signal?: AbortSignal): Promise<string> {
    const created = await this.#client.json({ method: 'POST', path: this.#path, body: { contentType: 'application/json', value: newSliceObject(this.#namespace, name, labels, entries) }, signal });
    return this.#versionOf(created, name);
  }

  async update(name: string, resourceVersion: string, entries: readonly SliceEntry[], signal?: AbortSignal): Promise<string> {
    const patched = await this.#client.json({ method: 'PATCH', path: this.#itemPath(name), body: { contentType: MERGE_PATCH, value: entriesPatch(resourceVersion, entries) }, signal });
    return this.#versionOf(patched, name);
  }

  async delete(name: string, resourceVersion: string, signal?: AbortSignal): Promise<void> {
    await this.#client.json({
      method: 'DELETE',
      path: this.#itemPath(name),
      body: { contentType: 'application/json', value: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion } } },
      signal,
    });
  }

  #itemPath(name: string): string {
    return `${this.#path}/${encodeURIComponent(name)}`;
  }

  #versionOf(object: unknown, name: string): string {
    const version = stringOrNull(field(field(object, 'metadata'), 'resourceVersion'));
    if (!version) throw new Error(`PeerSlice ${this.#namespace}/${name} on cluster ${this.#client.cluster} came back without a resourceVersion`);
    return version;
  }
}
