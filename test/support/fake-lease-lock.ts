import { KubeRequestError } from '../../src/kube/kube-request-error.ts';
import type { LeaseAnnotations, LeaseLock, ReadLease } from '../../src/election/lease-lock.ts';
import type { LeaseRecord } from '../../src/election/lease-record.ts';

/** One Lease, as an apiserver keeps it: every write bumps the version, stale writes get 409. */
export class FakeLease {
  record: LeaseRecord | null = null;
  version = 0;
  /** As a merge patch leaves them: written keys replaced, others kept. */
  annotations: Record<string, string> = {};
  /** Every successful write, in order. */
  readonly writes: LeaseRecord[] = [];

  /** A write by someone else (kubectl, another client): bumps the version. */
  overwrite(record: LeaseRecord): void {
    this.record = record;
    this.version++;
  }
}

const conflict = (path: string) => new KubeRequestError({ cluster: 'c1', method: 'PATCH', path }, 409, 'Conflict', 'the object has been modified');

/** A LeaseLock on a FakeLease; `failing` makes every call fail, as a partitioned candidate sees it. */
export class FakeLeaseLock implements LeaseLock {
  readonly description = 'clusterwire/clusterwire-mirror';
  readonly #lease: FakeLease;
  failing = false;

  constructor(lease: FakeLease) {
    this.#lease = lease;
  }

  get(): Promise<ReadLease | null> {
    return this.#answer(() => {
      const { record, version } = this.#lease;
      return record === null ? null : { record: { ...record }, resourceVersion: String(version), annotations: { ...this.#lease.annotations } };
    });
  }

  create(record: LeaseRecord, _signal?: AbortSignal, annotations?: LeaseAnnotations): Promise<string> {
    return this.#answer(() => {
      if (this.#lease.record !== null) throw new KubeRequestError({ cluster: 'c1', method: 'POST', path: 'leases' }, 409, 'AlreadyExists', 'already exists');
      return this.#write(record, annotations);
    });
  }

  update(record: LeaseRecord, resourceVersion: string, _signal?: AbortSignal, annotations?: LeaseAnnotations): Promise<string> {
    return this.#answer(() => {
      if (this.#lease.record === null) throw new KubeRequestError({ cluster: 'c1', method: 'PATCH', path: 'leases' }, 404, 'NotFound', 'not found');
      if (resourceVersion !== String(this.#lease.version)) throw conflict('leases');
      return this.#write(record, annotations);
    });
  }

  /** Answers asynchronously, as a real apiserver would. */
  #answer<T>(fn: () => T): Promise<T> {
    return new Promise((resolve) => {
      this.#check();
      resolve(fn());
    });
  }

  #write(record: LeaseRecord, annotations: LeaseAnnotations | undefined): string {
    this.#lease.record = { ...record };
    this.#lease.annotations = { ...this.#lease.annotations, ...annotations };
    this.#lease.version++;
    this.#lease.writes.push({ ...record });
    return String(this.#lease.version);
  }

  #check(): void {
    if (this.failing) throw new KubeRequestError({ cluster: 'c1', method: 'GET', path: 'leases' }, null, null, 'connect ECONNREFUSED');
  }
}
