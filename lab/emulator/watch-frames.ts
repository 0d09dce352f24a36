import { objectAt } from './json.ts';
import type { NodeEvent } from './history.ts';
import { makeRecord, recordWireJson, type NodeRecord } from './node-record.ts';
import type { NodePredicate } from './selectors.ts';
import type { StatusBody } from './status.ts';

/** One line of a watch stream: `{"type":...,"object":...}\n`, encoded once. */
export function frame(type: string, objectJson: string): Buffer {
  return Buffer.from(`{"type":"${type}","object":${objectJson}}\n`);
}

/** BOOKMARK objects carry nothing but the resourceVersion (kube sends an empty Node). */
export function bookmarkFrame(resourceVersion: number): Buffer {
  return frame('BOOKMARK', `{"kind":"Node","apiVersion":"v1","metadata":{"resourceVersion":"${resourceVersion}"}}`);
}

export function errorFrame(status: StatusBody): Buffer {
  return frame('ERROR', JSON.stringify(status));
}

export type VisibleType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A watcher's own encoding of events (Tables for kubectl); watchers without one share JSON frames. */
export type FrameRenderer = (type: VisibleType, record: NodeRecord) => Buffer;

/**
 * What a watcher with a selector sees of an event, as the apiserver's
 * cacheWatcher decides it: a node entering the selection is ADDED, one
 * leaving it is DELETED, one outside it is not seen at all.
 */
export function visibleAs(event: NodeEvent, matches: NodePredicate | null): VisibleType | null {
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
 */
export class EncodedEvent {
  readonly event: NodeEvent;
  private readonly frames = new Map<VisibleType, Buffer>();

  constructor(event: NodeEvent) {
    this.event = event;
  }

  frame(type: VisibleType): Buffer {
    let encoded = this.frames.get(type);
    if (encoded === undefined) {
      encoded = frame(type, recordWireJson(this.recordFor(type)));
      this.frames.set(type, encoded);
    }
    return encoded;
  }

  /** The node sent as `type`: one leaving a selection is its previous content at the event's resourceVersion. */
  recordFor(type: VisibleType): NodeRecord {
    const { event } = this;
    if (type !== 'DELETED' || event.type === 'DELETED' || event.previous === null) return event.record;
    const previous = event.previous;
    const metadata = { ...objectAt(previous.object, 'metadata'), resourceVersion: String(event.resourceVersion) };
    return makeRecord(previous.name, previous.uid, event.resourceVersion, { ...previous.object, metadata });
  }
}
