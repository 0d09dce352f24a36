import type { NodeEvent } from './history.ts';
import { recordWireJson, type NodeRecord } from './node-record.ts';
import type { NodeStore } from './node-store.ts';
import type { NodePredicate } from './selectors.ts';
import { ApiError, errors } from './status.ts';
import { bookmarkFrame, EncodedEvent, errorFrame, frame, visibleAs, type FrameRenderer } from './watch-frames.ts';
import { Watcher, type WatchOutput } from './watcher.ts';

export interface WatchRequest {
  /** Events after this one; null (resourceVersion '' or '0') starts with the current nodes as ADDED events. */
  resourceVersion: number | null;
  predicate: NodePredicate | null;
  bookmarks: boolean;
  timeoutMs: number;
  /** null: shared JSON frames. */
  render: FrameRenderer | null;
}

export interface WatchHubOptions {
  bookmarkIntervalMs: number;
  maxQueuedBytes: number;
  countBytes: (bytes: number) => void;
}

function* addedFrames(records: NodeRecord[], predicate: NodePredicate | null, render: FrameRenderer | null): Generator<Buffer> {
  for (const record of records) {
    if (predicate !== null && !predicate(record.object)) continue;
    yield render === null ? frame('ADDED', recordWireJson(record)) : render('ADDED', record);
  }
}

function* replayFrames(events: NodeEvent[], predicate: NodePredicate | null, render: FrameRenderer | null): Generator<Buffer> {
  for (const event of events) {
    const type = visibleAs(event, predicate);
    if (type === null) continue;
    const encoded = new EncodedEvent(event);
    yield render === null ? encoded.frame(type) : render(type, encoded.recordFor(type));
  }
}

/**
 * Every open watch: feeds them each store event (encoded once), sends
 * bookmarks on a shared tick and ends each at its timeout.
 */
export class WatchHub {
  private readonly store: NodeStore;
  private readonly options: WatchHubOptions;
  private readonly watchers = new Map<Watcher, NodeJS.Timeout>();
  private readonly unsubscribe: () => void;
  private readonly bookmarkTimer: NodeJS.Timeout;

  constructor(store: NodeStore, options: WatchHubOptions) {
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
      this.options.countBytes(chunk.length);
      output.write(chunk);
      output.end();
      return null;
    }
    const watcher: Watcher = new Watcher(output, initial, {
      predicate: request.predicate,
      bookmarks: request.bookmarks,
      render: request.render,
      maxQueuedBytes: this.options.maxQueuedBytes,
      countBytes: this.options.countBytes,
      onClosed: () => this.forget(watcher),
    });
    if (watcher.isClosed) return null;
    const timer = setTimeout(() => {
      watcher.endAfter(watcher.bookmarks ? bookmarkFrame(this.store.resourceVersion) : undefined);
    }, request.timeoutMs);
    timer.unref();
    this.watchers.set(watcher, timer);
    return watcher;
  }

  /** Every open watch gets ERROR 410 Expired and is closed; history is compacted first. */
  expireAll(): void {
    this.store.compact();
    const rv = this.store.resourceVersion;
    const expired = errorFrame(errors.expired(`too old resource version: ${rv} (${rv})`).status);
    for (const watcher of [...this.watchers.keys()]) watcher.endAfter(expired);
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
    if (rv === null) return addedFrames(store.list(), request.predicate, request.render);
    if (rv > store.resourceVersion) return errors.tooLargeResourceVersion(rv, store.resourceVersion);
    const events = store.eventsSince(rv);
    if (events === null) {
      return errors.expired(`too old resource version: ${rv} (${store.firstResumable})`);
    }
    return replayFrames(events, request.predicate, request.render);
  }

  private forget(watcher: Watcher): void {
    const timer = this.watchers.get(watcher);
    if (timer !== undefined) clearTimeout(timer);
    this.watchers.delete(watcher);
  }

  private broadcast(event: NodeEvent): void {
    if (this.watchers.size === 0) return;
    const encoded = new EncodedEvent(event);
    for (const watcher of this.watchers.keys()) {
      const type = visibleAs(event, watcher.predicate);
      if (type === null) continue;
      watcher.send(watcher.render === null ? encoded.frame(type) : watcher.render(type, encoded.recordFor(type)));
    }
  }

  private sendBookmarks(): void {
    let bookmark: Buffer | undefined;
    for (const watcher of this.watchers.keys()) {
      if (!watcher.bookmarks) continue;
      bookmark ??= bookmarkFrame(this.store.resourceVersion);
      watcher.send(bookmark);
    }
  }
}
