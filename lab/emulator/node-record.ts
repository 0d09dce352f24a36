import type { JsonObject } from './json.ts';
import { withTypeMeta } from './node-object.ts';

/**
 * A stored node version: the object (never mutated; writes make new ones)
 * and its compact JSON, serialized once per write and reused by every
 * list, get and watcher.
 */
export interface NodeRecord {
  readonly name: string;
  readonly resourceVersion: number;
  readonly uid: string;
  /** Without kind/apiVersion; metadata.resourceVersion is set. */
  readonly object: JsonObject;
  /** JSON.stringify(object): the list item form. */
  readonly json: string;
}

export function makeRecord(name: string, uid: string, resourceVersion: number, object: JsonObject): NodeRecord {
  return { name, uid, resourceVersion, object, json: JSON.stringify(object) };
}

/** The Node with kind/apiVersion, as get and watch send it. */
export function recordWireJson(record: NodeRecord): string {
  return withTypeMeta(record.json);
}
