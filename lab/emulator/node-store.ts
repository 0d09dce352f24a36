import { randomBytes, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { objectAt, type JsonObject } from './json.ts';
import { EventHistory, type NodeEvent } from './history.ts';
import { makeRecord, type NodeRecord } from './node-record.ts';
import { nodeName, orderedMetadata, requestedResourceVersion, validateName } from './node-object.ts';
import { errors } from './status.ts';

export interface NodeStoreOptions {
  historyLimit: number;
  /** Milliseconds since the epoch: creation timestamps and snapshot ages. */
  now: () => number;
}

interface Snapshot {
  records: NodeRecord[];
  takenAt: number;
}

/** etcd compacts every 5 minutes: a continue token lives at least that long. */
const SNAPSHOT_TTL_MS = 5 * 60_000;
/** Bounds what paged lists in flight can pin in memory. */
const MAX_SNAPSHOTS = 8;

function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function generatedName(prefix: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return prefix + Array.from(randomBytes(5), (b) => alphabet[b % alphabet.length]).join('');
}

/**
 * The emulated etcd + watch cache for Nodes: one global resourceVersion
 * that every write bumps, immutable versions, a bounded event history for
 * watch resume, and list snapshots so that paged lists are consistent.
 * Throws ApiError for what the apiserver would refuse.
 */
export class NodeStore {
  private readonly nodes = new Map<string, NodeRecord>();
  private sortedNames: string[] | null = [];
  private rv = 1;
  private readonly history: EventHistory;
  private readonly snapshots = new Map<number, Snapshot>();
  private readonly listeners = new Set<(event: NodeEvent) => void>();
  private readonly now: () => number;

  constructor(options: NodeStoreOptions) {
    this.now = options.now;
    this.history = new EventHistory(options.historyLimit, this.rv);
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Watches can resume from this resourceVersion or any later one. */
  get firstResumable(): number {
    return this.history.firstResumable;
  }

  subscribe(listener: (event: NodeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(name: string): NodeRecord | undefined {
    return this.nodes.get(name);
  }

  /** Current nodes in name order (the order of etcd keys, hence of lists). */
  list(): NodeRecord[] {
    this.sortedNames ??= [...this.nodes.keys()].sort(compareNames);
    return this.sortedNames.map((name) => this.nodes.get(name) as NodeRecord);
  }

  /** `node` comes from decodeNode. */
  create(node: JsonObject): NodeRecord {
    const metadata = objectAt(node, 'metadata');
    if (requestedResourceVersion(node) !== null) {
      throw errors.internal('resourceVersion should not be set on objects to be created');
    }
    let name = nodeName(node);
    if (name === '' && typeof metadata.generateName === 'string' && metadata.generateName !== '') {
      name = generatedName(metadata.generateName);
    }
    validateName(name);
    if (this.nodes.has(name)) throw errors.alreadyExists(name);
    const uid = randomUUID();
    const rv = this.rv + 1;
    const object: JsonObject = {
      ...node,
      metadata: orderedMetadata({ ...metadata, name, uid, resourceVersion: String(rv), creationTimestamp: timestamp(this.now()) }),
    };
    const record = makeRecord(name, uid, rv, object);
    this.nodes.set(name, record);
    this.sortedNames = null;
    this.commit({ type: 'ADDED', resourceVersion: rv, record, previous: null });
    return record;
  }

  /**
   * Replaces a node. metadata.resourceVersion in `node`, when set, must be
   * the current one (409 otherwise); uid and creationTimestamp are kept.
   * A write that changes nothing is not a write: no new resourceVersion,
   * no event (like etcd's GuaranteedUpdate).
   */
  update(name: string, node: JsonObject): NodeRecord {
    const old = this.nodes.get(name);
    if (old === undefined) throw errors.notFound(name);
    const precondition = requestedResourceVersion(node);
    if (precondition !== null && precondition !== old.resourceVersion) throw errors.conflict(name);
    const metadata = objectAt(node, 'metadata');
    if (metadata.uid !== undefined && metadata.uid !== '' && metadata.uid !== old.uid) {
      throw errors.invalid(name, 'metadata.uid', `Invalid value: ${JSON.stringify(metadata.uid)}: field is immutable`);
    }
    const oldMetadata = objectAt(old.object, 'metadata');
    const unchanged: JsonObject = {
      ...node,
      metadata: orderedMetadata({
        ...metadata,
        name,
        uid: old.uid,
        resourceVersion: String(old.resourceVersion),
        creationTimestamp: oldMetadata.creationTimestamp ?? null,
      }),
    };
    if (isDeepStrictEqual(unchanged, old.object)) return old;
    const rv = this.rv + 1;
    const object = { ...unchanged, metadata: { ...(unchanged.metadata as JsonObject), resourceVersion: String(rv) } };
    const record = makeRecord(name, old.uid, rv, object);
    this.nodes.set(name, record);
    this.commit({ type: 'MODIFIED', resourceVersion: rv, record, previous: old });
    return record;
  }

  /** `precondition`: DeleteOptions.preconditions.resourceVersion. */
  delete(name: string, precondition: number | null = null): NodeRecord {
    const old = this.nodes.get(name);
    if (old === undefined) throw errors.notFound(name);
    if (precondition !== null && precondition !== old.resourceVersion) throw errors.conflict(name);
    const rv = this.rv + 1;
    const object = { ...old.object, metadata: { ...objectAt(old.object, 'metadata'), resourceVersion: String(rv) } };
    const record = makeRecord(name, old.uid, rv, object);
    this.nodes.delete(name);
    this.sortedNames = null;
    this.commit({ type: 'DELETED', resourceVersion: rv, record, previous: old });
    return record;
  }

  /** Events after `resourceVersion`; null when some are no longer kept (410). */
  eventsSince(resourceVersion: number): NodeEvent[] | null {
    return this.history.since(resourceVersion);
  }

  /**
   * All nodes as they were at `resourceVersion`, in name order; undefined
   * when that state can no longer be rebuilt (compacted).
   */
  snapshotAt(resourceVersion: number): NodeRecord[] | undefined {
    if (resourceVersion === this.rv) return this.list();
    this.dropOldSnapshots();
    const kept = this.snapshots.get(resourceVersion);
    if (kept !== undefined) return kept.records;
    const later = this.history.since(resourceVersion);
    if (later === null || resourceVersion > this.rv) return undefined;
    const state = new Map(this.nodes);
    for (let i = later.length - 1; i >= 0; i--) {
      const event = later[i] as NodeEvent;
      if (event.previous === null) state.delete(event.record.name);
      else state.set(event.previous.name, event.previous);
    }
    return [...state.keys()].sort(compareNames).map((name) => state.get(name) as NodeRecord);
  }

  /** Keeps the state a paged list started from, so its continue tokens stay consistent. */
  rememberSnapshot(resourceVersion: number, records: NodeRecord[]): void {
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
    this.history.compact(this.rv);
    this.snapshots.clear();
  }

  private dropOldSnapshots(): void {
    const limit = this.now() - SNAPSHOT_TTL_MS;
    for (const [rv, snapshot] of this.snapshots) {
      if (snapshot.takenAt < limit) this.snapshots.delete(rv);
    }
  }

  private commit(event: NodeEvent): void {
    this.rv = event.resourceVersion;
    this.history.add(event);
    for (const listener of this.listeners) listener(event);
  }
}

/** Byte order of names, as etcd orders keys (names are ASCII). */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
