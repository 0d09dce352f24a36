import type { KubeClient } from '../kube/client.ts';
import { field, stringOrNull } from '../kube/json-value.ts';
import { KubeRequestError } from '../kube/kube-request-error.ts';
import { leaseRecordOf, type LeaseRecord } from './lease-record.ts';

/** A lease as read: its record, the version a write must be preconditioned on, and its string annotations. */
export interface ReadLease {
  record: LeaseRecord;
  resourceVersion: string;
  annotations: Readonly<Record<string, string>>;
}

/** Annotations written with the record (docs/fleet-mode.md, "Freshness"); others' annotations are kept. */
export type LeaseAnnotations = Readonly<Record<string, string>>;

/** The lock an elector competes for; every write is conditional, so two writers never both succeed. */
export interface LeaseLock {
  /** `namespace/name`, for logs. */
  readonly description: string;
  /** Null when the Lease does not exist. */
  get(signal?: AbortSignal): Promise<ReadLease | null>;
  /** Creates the Lease; fails (409) if someone created it first. Resolves to its resourceVersion. */
  create(record: LeaseRecord, signal?: AbortSignal, annotations?: LeaseAnnotations): Promise<string>;
  /** Writes the record if the Lease is still at `resourceVersion` (else 409 Conflict). Resolves to the new resourceVersion. */
  update(record: LeaseRecord, resourceVersion: string, signal?: AbortSignal, annotations?: LeaseAnnotations): Promise<string>;
}

const MERGE_PATCH = 'application/merge-patch+json';

/** The string-valued annotations of an object (unchecked JSON). */
function stringAnnotations(object: unknown): Record<string, string> {
  const annotations = field(field(object, 'metadata'), 'annotations');
  const result: Record<string, string> = {};
  if (typeof annotations !== 'object' || annotations === null) return result;
  for (const [key, value] of Object.entries(annotations)) if (typeof value === 'string') result[key] = value;
  return result;
}

/** A `coordination.k8s.io/v1` Lease through the project's kube client. */
export class KubeLeaseLock implements LeaseLock {
  readonly description: string;
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #name: string;

  constructor(client: KubeClient, namespace: string, name: string) {
    this.#client = client;
    this.#namespace = namespace;
    this.#name = name;
    this.description = `${namespace}/${name}`;
  }

  async get(signal?: AbortSignal): Promise<ReadLease | null> {
    let lease: unknown;
    try {
      lease = await this.#client.json({ method: 'GET', path: this.#path(this.#name), signal });
    } catch (err) {
      if (err instanceof KubeRequestError && err.status === 404) return null;
      throw err;
    }
    return { record: leaseRecordOf(lease), resourceVersion: this.#versionOf(lease), annotations: stringAnnotations(lease) };
  }

  async create(record: LeaseRecord, signal?: AbortSignal, annotations?: LeaseAnnotations): Promise<string> {
    const metadata = { name: this.#name, namespace: this.#namespace, ...(annotations ? { annotations } : {}) };
    const lease = await this.#client.json({
      method: 'POST',
      path: this.#path(),
      body: { contentType: 'application/json', value: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec: record } },
      signal,
    });
    return this.#versionOf(lease);
  }

  /** A merge patch of the spec with the resourceVersion as precondition: labels and annotations others set are kept. */
  async update(record: LeaseRecord, resourceVersion: string, signal?: AbortSignal, annotations?: LeaseAnnotations): Promise<string> {
    const lease = await this.#client.json({
      method: 'PATCH',
      path: this.#path(this.#name),
      body: { contentType: MERGE_PATCH, value: { metadata: { resourceVersion, ...(annotations ? { annotations } : {}) }, spec: record } },
      signal,
    });
    return this.#versionOf(lease);
  }

  #path(name?: string): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.#namespace)}/leases`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  #versionOf(lease: unknown): string {
    const version = stringOrNull(field(field(lease, 'metadata'), 'resourceVersion'));
    if (!version) throw new Error(`Lease ${this.description} on cluster ${this.#client.cluster} came without a resourceVersion`);
    return version;
  }
}
