import type { ObjectPredicate } from './selectors.ts';
import type { FrameRenderer } from './watch-frames.ts';

/** What a watcher writes to: a ServerResponse in practice. */
export interface WatchOutput {
  write(chunk: Buffer): boolean;
  end(): void;
  destroy(): void;
  once(event: 'drain', listener: () => void): unknown;
}

export interface WatcherOptions {
  predicate: ObjectPredicate | null;
  bookmarks: boolean;
  render: FrameRenderer | null;
  /** `{"kind":...,"apiVersion":...,` of the version watched: JSON frames and bookmarks carry it. */
  typeMeta: string;
  /** Frames carry the objects' metadata alone (PartialObjectMetadata). */
  metadataOnly: boolean;
  /** Past this many bytes waiting for a slow client, the watch is closed (as the apiserver drops unresponsive watchers). */
  maxQueuedBytes: number;
  countBytes: (bytes: number) => void;
  onClosed: () => void;
}

/**
 * One open watch stream. Writes go straight to the socket until it pushes
 * back; then frames queue (by reference: frames are shared) until 'drain'.
 * Initial frames (the ADDED list or a history replay) are pulled lazily so
 * a 10,000-object initial list never sits in memory twice.
 */
export class Watcher {
  readonly predicate: ObjectPredicate | null;
  readonly bookmarks: boolean;
  readonly render: FrameRenderer | null;
  readonly typeMeta: string;
  readonly metadataOnly: boolean;
  private readonly output: WatchOutput;
  private readonly options: WatcherOptions;
  private initial: Iterator<Buffer> | null;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private waitingForDrain = false;
  private endAfterFlush = false;
  private closed = false;

  constructor(output: WatchOutput, initial: Iterable<Buffer>, options: WatcherOptions) {
    this.output = output;
    this.options = options;
    this.predicate = options.predicate;
    this.bookmarks = options.bookmarks;
    this.render = options.render;
    this.typeMeta = options.typeMeta;
    this.metadataOnly = options.metadataOnly;
    this.initial = initial[Symbol.iterator]();
    this.pump();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(chunk: Buffer): void {
    if (this.closed || this.endAfterFlush) return;
    if (this.waitingForDrain || this.initial !== null || this.queue.length > 0) {
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
      if (this.queuedBytes > this.options.maxQueuedBytes) this.finish();
      return;
    }
    this.write(chunk);
  }

  /** Sends what is queued, then ends the stream cleanly. */
  endAfter(last?: Buffer): void {
    if (this.closed || this.endAfterFlush) return;
    if (last !== undefined) this.send(last);
    this.endAfterFlush = true;
    if (!this.waitingForDrain) this.pump();
  }

  /** Ends the stream now, dropping what is queued. */
  finish(): void {
    if (this.closed) return;
    this.close();
    this.output.end();
  }

  /** Cuts the connection, as a crashing apiserver would. */
  abort(): void {
    if (this.closed) return;
    this.close();
    this.output.destroy();
  }

  /** The client went away. */
  detach(): void {
    this.close();
  }

  private close(): void {
    this.closed = true;
    this.initial = null;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.options.onClosed();
  }

  private write(chunk: Buffer): boolean {
    this.options.countBytes(chunk.length);
    if (this.output.write(chunk)) return true;
    this.waitingForDrain = true;
    this.output.once('drain', () => {
      this.waitingForDrain = false;
      this.pump();
    });
    return false;
  }

  private next(): Buffer | undefined {
    if (this.initial !== null) {
      const step = this.initial.next();
      if (step.done !== true) return step.value;
      this.initial = null;
    }
    const chunk = this.queue.shift();
    if (chunk !== undefined) this.queuedBytes -= chunk.length;
    return chunk;
  }

  private pump(): void {
    while (!this.closed) {
      const chunk = this.next();
      if (chunk === undefined) break;
      if (!this.write(chunk)) return;
    }
    if (this.endAfterFlush && !this.closed) this.finish();
  }
}
