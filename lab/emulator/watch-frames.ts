import { objectAt } from './json.ts';
import type { StoreEvent } from './history.ts';
import { makeRecord, metadataOnlyJson, withTypeMeta, type ObjectRecord } from './object-record.ts';
import type { ObjectPredicate } from './selectors.ts';
import type { StatusBody } from './status.ts';

/** One line of a watch stream: `{"type":...,"object":...}\n`, encoded once. */
export function frame(type: string, objectJson: string): Buffer {
  return Buffer.from(`{"type":"${type}","object":${objectJson}}\n`);
}

/** BOOKMARK objects carry nothing but kind, apiVersion and the resourceVersion (kube sends an empty object). */
export function bookmarkFrame(typeMeta: string, resourceVersion: number): Buffer {
  return frame('BOOKMARK', `${typeMeta}"metadata":{"resourceVersion":"${resourceVersion}"}}`);
}

export function errorFrame(status: StatusBody): Buffer {
  return frame('ERROR', JSON.stringify(status));
}

export type VisibleType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A watcher's own encoding of events (Tables for kubectl); watchers without one share JSON frames. */
export type FrameRenderer = (type: VisibleType, record: ObjectRecord) => Buffer;

/**
 * What a watcher with a selector sees of an event, as the apiserver's
 * cacheWatcher decides it: an object entering the selection is ADDED, one
 * leaving it is DELETED, one outside it is not seen at all.
 */
export function visibleAs(event: StoreEvent, matches: ObjectPredicate | null): VisibleType | null {
  if (matches === null) return event.type;
  const before = event.previous !== null && matches(event.previous.object);
  if (event.type === 'DELETED') return before ? 'DELETED' : null;
  const now = matches(event.record.object);
  if (now) return before ? 'MODIFIED' : 'ADDED';
  return before ? 'DELETED' : null;
}

/**
 * An event's frames, built on first use and shared by every watcher that
 * sends them: 1,000 events/s to N watchers costs 1,000 serializations.
 * Frames are kept per type-meta prefix (the API version a watcher asked
 * for, or PartialObjectMetadata's for a metadata-only watcher).
 */
export class EncodedEvent {
  readonly event: StoreEvent;
  private readonly frames = new Map<string, Buffer>();

  constructor(event: StoreEvent) {
    this.event = event;
  }

  frame(type: VisibleType, typeMeta: string, metadataOnly = false): Buffer {
    const cacheKey = `${type} ${typeMeta}`;
    let encoded = this.frames.get(cacheKey);
    if (encoded === undefined) {
      encoded = frame(type, objectFrameJson(typeMeta, this.recordFor(type), metadataOnly));
      this.frames.set(cacheKey, encoded);
    }
    return encoded;
  }

  /** The object sent as `type`: one leaving a selection is its previous content at the event's resourceVersion. */
  recordFor(type: VisibleType): ObjectRecord {
    const { event } = this;
    if (type !== 'DELETED' || event.type === 'DELETED' || event.previous === null) return event.record;
    const previous = event.previous;
    const metadata = { ...objectAt(previous.object, 'metadata'), resourceVersion: String(event.resourceVersion) };
    return makeRecord(previous.namespace, previous.name, previous.uid, event.resourceVersion, { ...previous.object, metadata });
  }
}

/** A watch event's object: the whole object, or its metadata alone for a metadata-only watch. */
export function objectFrameJson(typeMeta: string, record: ObjectRecord, metadataOnly: boolean): string {
  return metadataOnly ? metadataOnlyJson(typeMeta, record.object) : withTypeMeta(typeMeta, record.json);
}
