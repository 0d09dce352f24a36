/**
 * What an apiserver served over a window, per kind of client, from two
 * snapshots of the emulator's request log (lab/emulator/request-log.ts):
 * requests that began in the window count whole, requests still open at
 * its start (watches) count for what they sent since.
 */
import type { RequestRecord } from '../lab/emulator/request-log.ts';

export interface Served {
  bytes: number;
  requests: number;
}

/** Bytes and requests between `before` and `after` (two requestLog() snapshots), summed per `kindOf(user)`. */
export function servedBetween<K extends string>(before: readonly RequestRecord[], after: readonly RequestRecord[], kindOf: (user: string) => K): Map<K, Served> {
  const mark = before.reduce((max, r) => Math.max(max, r.seq), 0);
  const sentBefore = new Map(before.map((r) => [r.seq, r.bytesSent]));
  const served = new Map<K, Served>();
  for (const record of after) {
    const inWindow = record.seq > mark;
    // A request of before's time that the snapshot lacks (dropped from the log's head) ended long before.
    const bytes = inWindow ? record.bytesSent : record.bytesSent - (sentBefore.get(record.seq) ?? record.bytesSent);
    if (!inWindow && bytes === 0) continue;
    const kind = kindOf(record.user);
    const total = served.get(kind) ?? { bytes: 0, requests: 0 };
    total.bytes += bytes;
    if (inWindow) total.requests += 1;
    served.set(kind, total);
  }
  return served;
}
