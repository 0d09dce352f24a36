import { isObject } from './json-value.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** One line of a watch stream: the object is unchecked JSON (a Node, or a Status for ERROR). */
export interface WatchEvent {
  type: WatchEventType;
  object: unknown;
}

const TYPES: ReadonlySet<string> = new Set<WatchEventType>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

export function parseWatchEvent(line: string): WatchEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (cause) {
    throw new Error(`watch event is not JSON: ${line.slice(0, 100)}`, { cause });
  }
  if (!isObject(parsed) || typeof parsed.type !== 'string' || !TYPES.has(parsed.type) || !isObject(parsed.object)) {
    throw new Error(`malformed watch event: ${line.slice(0, 100)}`);
  }
  return { type: parsed.type as WatchEventType, object: parsed.object };
}
