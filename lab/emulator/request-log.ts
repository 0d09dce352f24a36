/**
 * What the apiserver served, request by request, for tests that count
 * load (how many watches a cluster's daemons or mirrors open, how many
 * bytes they pull): kube's audit log, reduced to what such tests read.
 */
export interface RequestRecord {
  /** Increasing from 1: `entries(after)` reads what came since a mark. */
  readonly seq: number;
  /** Authenticated user name ('' until authentication ran; system:anonymous without a token). */
  user: string;
  /** The client's IP address as the server's socket sees it: tells apart clients that share a user, e.g. a lab node's daemon from a mirror. */
  client: string;
  verb: string;
  /** API group; '' for core and non-resource requests. */
  apiGroup: string;
  /** Resource, `resource/subresource`, or '' for non-resource requests. */
  resource: string;
  namespace: string;
  name: string;
  path: string;
  watch: boolean;
  /** HTTP status, 0 until the response head is written. */
  code: number;
  bytesSent: number;
  /** Milliseconds since the epoch. */
  startedAt: number;
  /** null while the request (a watch, typically) is still open. */
  endedAt: number | null;
}

export interface OpenWatches {
  user: string;
  apiGroup: string;
  resource: string;
  count: number;
}

/** Kept in memory, oldest dropped first; watches still open are kept whatever their age. */
const DEFAULT_LIMIT = 20_000;

export class RequestLog {
  private readonly limit: number;
  private records: RequestRecord[] = [];
  private readonly open = new Set<RequestRecord>();
  private seq = 0;

  constructor(limit = DEFAULT_LIMIT) {
    this.limit = limit;
  }

  begin(fields: Omit<RequestRecord, 'seq' | 'code' | 'bytesSent' | 'endedAt'>): RequestRecord {
    const record: RequestRecord = { ...fields, seq: ++this.seq, code: 0, bytesSent: 0, endedAt: null };
    this.records.push(record);
    if (this.records.length > this.limit * 2) this.records = this.records.slice(-this.limit);
    if (record.watch) this.open.add(record);
    return record;
  }

  end(record: RequestRecord, code: number, nowMs: number): void {
    if (record.endedAt !== null) return;
    record.code = code;
    record.endedAt = nowMs;
    this.open.delete(record);
  }

  /** Records after sequence number `after`, oldest first (copies: the log keeps counting). */
  entries(after = 0): RequestRecord[] {
    return this.records.filter((r) => r.seq > after).map((r) => ({ ...r }));
  }

  /** Open watches by user and resource. */
  openWatches(): OpenWatches[] {
    const counts = new Map<string, OpenWatches>();
    for (const record of this.open) {
      const key = JSON.stringify([record.user, record.apiGroup, record.resource]);
      const entry = counts.get(key) ?? { user: record.user, apiGroup: record.apiGroup, resource: record.resource, count: 0 };
      entry.count++;
      counts.set(key, entry);
    }
    return [...counts.values()].sort((a, b) => (a.user + a.resource < b.user + b.resource ? -1 : 1));
  }
}
