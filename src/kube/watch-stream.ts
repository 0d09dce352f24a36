import type { Readable } from 'node:stream';
import { parseWatchEvent, type WatchEvent } from './watch-event.ts';
import { LineSplitter } from './watch-lines.ts';

/**
 * The events of a watch response, parsed line by line as bytes arrive.
 * Fails when nothing at all arrives for `idleTimeoutMs`: a connection that
 * died without a FIN (NAT timeout, node lost) looks exactly like a quiet
 * watch, and only the missing bookmarks tell them apart.
 */
export async function* watchEvents(body: Readable, idleTimeoutMs: number): AsyncGenerator<WatchEvent, void, undefined> {
  const splitter = new LineSplitter();
  const timer = setTimeout(() => body.destroy(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      timer.refresh();
      for (const line of splitter.push(chunk)) yield parseWatchEvent(line);
    }
    const last = splitter.end();
    if (last !== null) yield parseWatchEvent(last);
  } finally {
    clearTimeout(timer);
    body.destroy();
  }
}
