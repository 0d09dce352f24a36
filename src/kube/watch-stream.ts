import type { Readable } from 'node:stream';
import type { Clock } from '../clock/clock.ts';
import { parseWatchEvent, type WatchEvent } from './watch-event.ts';
import { LineSplitter } from './watch-lines.ts';

/**
 * The events of a watch response, parsed line by line as bytes arrive, one
 * batch per chunk read (a chunk holds many small events: one await per
 * chunk, not per event). Fails when nothing at all arrives for
 * `idleTimeoutMs`: a connection that died without a FIN (NAT timeout, node
 * lost) looks exactly like a quiet watch, and only the missing bookmarks
 * tell them apart.
 */
export async function* watchEventBatches(body: Readable, idleTimeoutMs: number, clock: Clock): AsyncGenerator<WatchEvent[], void, undefined> {
  const splitter = new LineSplitter();
  let lastDataAt = clock.now();
  // One timer per watch, re-armed only when it fires: a chunk costs a clock read, not a timer.
  let cancel = clock.schedule(function check() {
    const quietFor = clock.now() - lastDataAt;
    if (quietFor >= idleTimeoutMs) body.destroy(new Error(`no data for ${idleTimeoutMs} ms`));
    else cancel = clock.schedule(check, idleTimeoutMs - quietFor);
  }, idleTimeoutMs);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      lastDataAt = clock.now();
      const lines = splitter.push(chunk);
      if (lines.length > 0) yield lines.map(parseWatchEvent);
    }
    const last = splitter.end();
    if (last !== null) yield [parseWatchEvent(last)];
  } finally {
    cancel();
    body.destroy();
  }
}
