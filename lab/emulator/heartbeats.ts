import { objectAt, type JsonObject, type JsonValue } from './json.ts';
import type { ObjectStore } from './object-store.ts';

/**
 * Kubelet-like status churn: each heartbeat moves every condition's
 * lastHeartbeatTime of one node (round robin), which reaches watchers as a
 * MODIFIED event that changes nothing peering cares about.
 */

/** Node status times have one-second precision; a heartbeat must still change the node, so times only move forward. */
export function heartbeatNode(node: JsonObject, nowMs: number): JsonObject {
  const status = objectAt(node, 'status');
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  let latest = 0;
  for (const condition of conditions) {
    const time = typeof condition === 'object' && condition !== null && !Array.isArray(condition) ? condition.lastHeartbeatTime : undefined;
    if (typeof time === 'string') latest = Math.max(latest, Date.parse(time) || 0);
  }
  const beat = Math.max(Math.floor(nowMs / 1000) * 1000, latest + 1000);
  const time = new Date(beat).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const updated: JsonValue[] = conditions.map((condition) =>
    typeof condition === 'object' && condition !== null && !Array.isArray(condition) ? { ...condition, lastHeartbeatTime: time } : condition,
  );
  return { ...node, status: { ...status, conditions: updated } };
}

/** How many heartbeats are due after `elapsedMs` at `perSecond`, carrying the fraction to the next tick. */
export function dueHeartbeats(perSecond: number, elapsedMs: number, carry: number): { count: number; carry: number } {
  const exact = (perSecond * elapsedMs) / 1000 + carry;
  const count = Math.floor(exact);
  return { count, carry: exact - count };
}

const TICK_MS = 10;

export class Heartbeats {
  private readonly store: ObjectStore;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private names: string[] = [];
  private cursor = 0;

  /** `store`: the Nodes' store. */
  constructor(store: ObjectStore, now: () => number) {
    this.store = store;
    this.now = now;
  }

  start(perSecond: number): void {
    this.stop();
    if (!(perSecond > 0)) throw new Error(`heartbeats need a positive rate, got ${perSecond}`);
    let last = this.now();
    let carry = 0;
    this.timer = setInterval(() => {
      const now = this.now();
      const due = dueHeartbeats(perSecond, now - last, carry);
      last = now;
      carry = due.carry;
      this.beat(due.count, now);
    }, TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private beat(count: number, nowMs: number): void {
    for (let i = 0; i < count; i++) {
      if (this.cursor >= this.names.length) {
        this.names = this.store.list().map((record) => record.name);
        this.cursor = 0;
        if (this.names.length === 0) return;
      }
      const name = this.names[this.cursor++] as string;
      const record = this.store.get('', name);
      if (record !== undefined) this.store.update('', name, heartbeatNode(record.object, nowMs));
    }
  }
}
