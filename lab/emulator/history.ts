import type { ObjectRecord } from './object-record.ts';

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One write, as watchers see it. */
export interface StoreEvent {
  readonly type: StoreEventType;
  readonly resourceVersion: number;
  /** The new state; for DELETED the last state stamped with the deletion's resourceVersion. */
  readonly record: ObjectRecord;
  /** The state before the write; null for ADDED. */
  readonly previous: ObjectRecord | null;
}

/**
 * The last `limit` events, like the apiserver's watch cache: a watch can
 * resume from any resourceVersion at or after `firstResumable`; older ones
 * get 410 Expired.
 */
export class EventHistory {
  private readonly limit: number;
  private events: StoreEvent[] = [];
  private start = 0;
  private resumableFrom: number;

  constructor(limit: number, currentResourceVersion: number) {
    this.limit = limit;
    this.resumableFrom = currentResourceVersion;
  }

  get firstResumable(): number {
    return this.resumableFrom;
  }

  get size(): number {
    return this.events.length - this.start;
  }

  add(event: StoreEvent): void {
    this.events.push(event);
    if (this.size > this.limit) {
      const evicted = this.events[this.start];
      this.start++;
      if (evicted !== undefined) this.resumableFrom = evicted.resourceVersion;
      // Drop the evicted prefix in bulk: amortized O(1) per event.
      if (this.start >= this.limit) {
        this.events = this.events.slice(this.start);
        this.start = 0;
      }
    }
  }

  /** Events after `resourceVersion`, oldest first; null when they are no longer all kept. */
  since(resourceVersion: number): StoreEvent[] | null {
    if (resourceVersion < this.resumableFrom) return null;
    let low = this.start;
    let high = this.events.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.events[mid]?.resourceVersion ?? 0) <= resourceVersion) low = mid + 1;
      else high = mid;
    }
    return this.events.slice(low);
  }

  /** Forgets everything up to `currentResourceVersion`, like an etcd compaction. */
  compact(currentResourceVersion: number): void {
    this.events = [];
    this.start = 0;
    this.resumableFrom = currentResourceVersion;
  }
}
