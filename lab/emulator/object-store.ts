import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { EventHistory, type StoreEvent } from './history.ts';
import { objectAt, type JsonObject } from './json.ts';
import { objectNamespace, objectName, orderedMetadata, requestedResourceVersion, timestamp } from './object-meta.ts';
import { makeRecord, objectKey, type ObjectRecord } from './object-record.ts';
import type { Revision } from './revision.ts';
import { errors, type GroupResource } from './status.ts';

export interface ObjectStoreOptions {
  resource: GroupResource;
  historyLimit: number;
  /** Milliseconds since the epoch: creation timestamps and snapshot ages. */
  now: () => number;
  /** Shared by every store of one emulator. */
  revision: Revision;
}

interface Snapshot {
  records: ObjectRecord[];
  takenAt: number;
}

/** etcd compacts every 5 minutes: a continue token lives at least that long. */
const SNAPSHOT_TTL_MS = 5 * 60_000;
/** Bounds what paged lists in flight can pin in memory. */
const MAX_SNAPSHOTS = 8;

/**
 * The emulated etcd + watch cache of one resource: immutable versions
 * keyed like etcd keys (`namespace/name`), a bounded event history for
 * watch resume, and list snapshots so that paged lists are consistent.
 * It knows nothing of a resource's rules (names, validation, status):
 * callers check those first. Throws ApiError for what storage refuses
 * (404, 409).
 */
export class ObjectStore {
  readonly resource: GroupResource;
  private readonly objects = new Map<string, ObjectRecord>();
  private sortedKeys: string[] | null = [];
  private readonly revision: Revision;
  private readonly history: EventHistory;
  private readonly snapshots = new Map<number, Snapshot>();
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly now: () => number;

  constructor(options: ObjectStoreOptions) {
    this.resource = options.resource;
    this.now = options.now;
    this.revision = options.revision;
    this.history = new EventHistory(options.historyLimit, this.revision.current);
  }

  /** The emulator's current resourceVersion (every resource's). */
  get resourceVersion(): number {
    return this.revision.current;
  }

  /** Watches can resume from this resourceVersion or any later one. */
  get firstResumable(): number {
    return this.history.firstResumable;
  }

  get size(): number {
    return this.objects.size;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(namespace: string, name: string): ObjectRecord | undefined {
    return this.objects.get(objectKey(namespace, name));
  }

  /** Current objects in key order (the order of etcd keys, hence of lists); one namespace's when given. */
  list(namespace = ''): ObjectRecord[] {
    this.sortedKeys ??= [...this.objects.keys()].sort(compareKeys);
    const keys = namespace === '' ? this.sortedKeys : namespaceSlice(this.sortedKeys, namespace, (key) => key);
    return keys.map((key) => this.objects.get(key) as ObjectRecord);
  }

  /**
   * Stores a new object; its metadata carries the final name (and
   * namespace). Sets uid, resourceVersion and creationTimestamp.
   */
  create(object: JsonObject): ObjectRecord {
    if (requestedResourceVersion(object) !== null) {
      throw errors.internal('resourceVersion should not be set on objects to be created');
    }
    const name = objectName(object);
    const namespace = objectNamespace(object);
    if (this.objects.has(objectKey(namespace, name))) throw errors.alreadyExists(this.resource, name);
    const uid = randomUUID();
    const rv = this.revision.current + 1;
    const metadata = objectAt(object, 'metadata');
    const stored: JsonObject = {
      ...object,
      metadata: orderedMetadata({ ...metadata, uid, resourceVersion: String(rv), creationTimestamp: timestamp(this.now()) }),
    };
    const record = makeRecord(namespace, name, uid, rv, stored);
    this.objects.set(record.key, record);
    this.sortedKeys = null;
    this.commit({ type: 'ADDED', resourceVersion: rv, record, previous: null });
    return record;
  }

  /**
   * Replaces an object. metadata.resourceVersion in `object`, when set,
   * must be the current one (409 otherwise); uid and creationTimestamp are
   * kept. A write that changes nothing is not a write: no new
   * resourceVersion, no event (like etcd's GuaranteedUpdate).
   */
  update(namespace: string, name: string, object: JsonObject): ObjectRecord {
    const old = this.get(namespace, name);
    if (old === undefined) throw errors.notFound(this.resource, name);
    const precondition = requestedResourceVersion(object);
    if (precondition !== null && precondition !== old.resourceVersion) throw errors.conflict(this.resource, name);
    const oldMetadata = objectAt(old.object, 'metadata');
    const unchanged: JsonObject = {
      ...object,
      metadata: orderedMetadata({
        ...objectAt(object, 'metadata'),
        name,
        ...(namespace === '' ? {} : { namespace }),
        uid: old.uid,
        resourceVersion: String(old.resourceVersion),
        creationTimestamp: oldMetadata.creationTimestamp ?? null,
      }),
    };
    if (isDeepStrictEqual(unchanged, old.object)) return old;
    const rv = this.revision.current + 1;
    const stored = { ...unchanged, metadata: { ...(unchanged.metadata as JsonObject), resourceVersion: String(rv) } };
    const record = makeRecord(namespace, name, old.uid, rv, stored);
    this.objects.set(record.key, record);
    this.commit({ type: 'MODIFIED', resourceVersion: rv, record, previous: old });
    return record;
  }

  /** `precondition`: DeleteOptions.preconditions.resourceVersion. */
  delete(namespace: string, name: string, precondition: number | null = null): ObjectRecord {
    const old = this.get(namespace, name);
    if (old === undefined) throw errors.notFound(this.resource, name);
    if (precondition !== null && precondition !== old.resourceVersion) {
      throw errors.conflict(
        this.resource,
        name,
        `Precondition failed: ResourceVersion in precondition: ${precondition}, ResourceVersion in object meta: ${old.resourceVersion}`,
      );
    }
    const rv = this.revision.current + 1;
    const stored = { ...old.object, metadata: { ...objectAt(old.object, 'metadata'), resourceVersion: String(rv) } };
    const record = makeRecord(namespace, name, old.uid, rv, stored);
    this.objects.delete(record.key);
    this.sortedKeys = null;
    this.commit({ type: 'DELETED', resourceVersion: rv, record, previous: old });
    return record;
  }

  /** Events after `resourceVersion`; null when some are no longer kept (410). */
  eventsSince(resourceVersion: number): StoreEvent[] | null {
    return this.history.since(resourceVersion);
  }

  /**
   * All objects as they were at `resourceVersion`, in key order; undefined
   * when that state can no longer be rebuilt (compacted).
   */
  snapshotAt(resourceVersion: number): ObjectRecord[] | undefined {
    if (resourceVersion === this.revision.current) return this.list();
    this.dropOldSnapshots();
    const kept = this.snapshots.get(resourceVersion);
    if (kept !== undefined) return kept.records;
    const later = this.history.since(resourceVersion);
    if (later === null || resourceVersion > this.revision.current) return undefined;
    if (later.length === 0) return this.list();
    const state = new Map(this.objects);
    for (let i = later.length - 1; i >= 0; i--) {
      const event = later[i] as StoreEvent;
      if (event.previous === null) state.delete(event.record.key);
      else state.set(event.previous.key, event.previous);
    }
    return [...state.keys()].sort(compareKeys).map((key) => state.get(key) as ObjectRecord);
  }

  /** Keeps the state a paged list started from, so its continue tokens stay consistent. */
  rememberSnapshot(resourceVersion: number, records: ObjectRecord[]): void {
    this.dropOldSnapshots();
    if (this.snapshots.has(resourceVersion)) return;
    if (this.snapshots.size >= MAX_SNAPSHOTS) {
      const oldest = this.snapshots.keys().next();
      if (oldest.done !== true) this.snapshots.delete(oldest.value);
    }
    this.snapshots.set(resourceVersion, { records, takenAt: this.now() });
  }

  /** Like an etcd compaction: older resourceVersions are gone for watches and lists. */
  compact(): void {
    this.history.compact(this.revision.current);
    this.snapshots.clear();
  }

  private dropOldSnapshots(): void {
    const limit = this.now() - SNAPSHOT_TTL_MS;
    for (const [rv, snapshot] of this.snapshots) {
      if (snapshot.takenAt < limit) this.snapshots.delete(rv);
    }
  }

  private commit(event: StoreEvent): void {
    this.revision.current = event.resourceVersion;
    this.history.add(event);
    for (const listener of this.listeners) listener(event);
  }
}

/** Byte order of keys, as etcd orders them (names are ASCII). */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The items of one namespace in a key-ordered array: a contiguous run found by binary search. */
export function namespaceSlice<T>(sorted: readonly T[], namespace: string, keyOf: (item: T) => string): T[] {
  const prefix = `${namespace}/`;
  const firstAtOrAfter = (bound: string) => {
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (keyOf(sorted[mid] as T) < bound) low = mid + 1;
      else high = mid;
    }
    return low;
  };
  // '0' is the character after '/': every key of the namespace sorts before `${namespace}0`.
  return sorted.slice(firstAtOrAfter(prefix), firstAtOrAfter(`${namespace}0`));
}
