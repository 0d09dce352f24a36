import type { StoreEvent } from './history.ts';
import type { ObjectRecord } from './object-record.ts';
import type { ObjectStore } from './object-store.ts';
import type { ObjectPredicate } from './selectors.ts';
import { ApiError, errors } from './status.ts';
import { bookmarkFrame, EncodedEvent, errorFrame, frame, objectFrameJson, visibleAs, type FrameRenderer } from './watch-frames.ts';
import { Watcher, type WatchOutput } from './watcher.ts';

export interface WatchRequest {
  /** Events after this one; null (resourceVersion '' or '0') starts with the current objects as ADDED events. */
  resourceVersion: number | null;
  /** Namespace and selectors together. */
  predicate: ObjectPredicate | null;
  bookmarks: boolean;
  timeoutMs: number;
  /** null: shared JSON frames. */
  render: FrameRenderer | null;
  /** `{"kind":...,"apiVersion":...,` of the version watched (PartialObjectMetadata's when `metadataOnly`). */
  typeMeta: string;
  /** `as=PartialObjectMetadata`: events carry the objects' metadata alone. */
  metadataOnly: boolean;
  /** Bytes this watch sends (the request log's count). */
  countBytes: (bytes: number) => void;
}

export interface WatchHubOptions {
  bookmarkIntervalMs: number;
  maxQueuedBytes: number;
}

function* addedFrames(records: ObjectRecord[], request: WatchRequest): Generator<Buffer> {
  const { predicate, render, typeMeta, metadataOnly } = request;
  for (const record of records) {
    if (predicate !== null && !predicate(record.object)) continue;
    yield render === null ? frame('ADDED', objectFrameJson(typeMeta, record, metadataOnly)) : render('ADDED', record);
  }
}

function* replayFrames(events: StoreEvent[], request: WatchRequest): Generator<Buffer> {
  for (const event of events) {
    const type = visibleAs(event, request.predicate);
    if (type === null) continue;
    const encoded = new EncodedEvent(event);
    yield request.render === null ? encoded.frame(type, request.typeMeta, request.metadataOnly) : request.render(type, encoded.recordFor(type));
  }
}

/**
 * Every open watch of one resource: feeds them each store event (encoded
 * once per API version), sends bookmarks on a shared tick and ends each
 * at its timeout.
 */
export class WatchHub {
  private readonly store: ObjectStore;
  private readonly options: WatchHubOptions;
  private readonly watchers = new Map<Watcher, NodeJS.Timeout>();
  private readonly unsubscribe: () => void;
  private readonly bookmarkTimer: NodeJS.Timeout;

  constructor(store: ObjectStore, options: WatchHubOptions) {
    this.store = store;
    this.options = options;
    this.unsubscribe = store.subscribe((event) => this.broadcast(event));
    this.bookmarkTimer = setInterval(() => this.sendBookmarks(), options.bookmarkIntervalMs);
    this.bookmarkTimer.unref();
  }

  get open(): number {
    return this.watchers.size;
  }

  /**
   * Starts a watch on `output`. Resolving the start point and registering
   * happen in one synchronous step, so no event can fall between them.
   * Returns the watcher, or null when the stream was answered with an ERROR.
   */
  watch(output: WatchOutput, request: WatchRequest): Watcher | null {
    const initial = this.initialFrames(request);
    if (initial instanceof ApiError) {
      // Past authentication and parsing, the apiserver reports watch errors in the stream.
      const chunk = errorFrame(initial.status);
      request.countBytes(chunk.length);
      output.write(chunk);
      output.end();
      return null;
    }
    const watcher: Watcher = new Watcher(output, initial, {
      predicate: request.predicate,
      bookmarks: request.bookmarks,
      render: request.render,
      typeMeta: request.typeMeta,
      metadataOnly: request.metadataOnly,
      maxQueuedBytes: this.options.maxQueuedBytes,
      countBytes: request.countBytes,
      onClosed: () => this.forget(watcher),
    });
    if (watcher.isClosed) return null;
    const timer = setTimeout(() => {
      watcher.endAfter(watcher.bookmarks ? bookmarkFrame(watcher.typeMeta, this.store.resourceVersion) : undefined);
    }, request.timeoutMs);
    timer.unref();
    this.watchers.set(watcher, timer);
    return watcher;
  }

  /** Every open watch gets ERROR 410 Expired and is closed (the caller compacts history first). */
  expireAll(): void {
    const rv = this.store.resourceVersion;
    const expired = errorFrame(errors.expired(`too old resource version: ${rv} (${rv})`).status);
    for (const watcher of [...this.watchers.keys()]) watcher.endAfter(expired);
  }

  /** Ends every watch cleanly after what is queued (the resource is going away). */
  endAll(): void {
    for (const watcher of [...this.watchers.keys()]) watcher.endAfter();
  }

  /** Cuts every watch connection. */
  abortAll(): void {
    for (const watcher of [...this.watchers.keys()]) watcher.abort();
  }

  stop(): void {
    clearInterval(this.bookmarkTimer);
    this.unsubscribe();
    this.abortAll();
  }

  private initialFrames(request: WatchRequest): Iterable<Buffer> | ApiError {
    const { store } = this;
    const rv = request.resourceVersion;
    if (rv === null) return addedFrames(store.list(), request);
    if (rv > store.resourceVersion) return errors.tooLargeResourceVersion(rv, store.resourceVersion);
    const events = store.eventsSince(rv);
    if (events === null) {
      return errors.expired(`too old resource version: ${rv} (${store.firstResumable})`);
    }
    return replayFrames(events, request);
  }

  private forget(watcher: Watcher): void {
    const timer = this.watchers.get(watcher);
    if (timer !== undefined) clearTimeout(timer);
    this.watchers.delete(watcher);
  }

  private broadcast(event: StoreEvent): void {
    if (this.watchers.size === 0) return;
    const encoded = new EncodedEvent(event);
    for (const watcher of this.watchers.keys()) {
      const type = visibleAs(event, watcher.predicate);
      if (type === null) continue;
      watcher.send(watcher.render === null ? encoded.frame(type, watcher.typeMeta, watcher.metadataOnly) : watcher.render(type, encoded.recordFor(type)));
    }
  }

  private sendBookmarks(): void {
    const bookmarks = new Map<string, Buffer>();
    for (const watcher of this.watchers.keys()) {
      if (!watcher.bookmarks) continue;
      let bookmark = bookmarks.get(watcher.typeMeta);
      if (bookmark === undefined) {
        bookmark = bookmarkFrame(watcher.typeMeta, this.store.resourceVersion);
        bookmarks.set(watcher.typeMeta, bookmark);
      }
      watcher.send(bookmark);
    }
  }
}
