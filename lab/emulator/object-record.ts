import type { JsonObject } from './json.ts';

/**
 * A stored object version: the object (never mutated; writes make new
 * ones) and its compact JSON, serialized once per write and reused by
 * every list, get and watcher.
 */
export interface ObjectRecord {
  /** `name`, or `namespace/name`: the etcd key below the resource's prefix. */
  readonly key: string;
  /** '' for cluster-scoped objects. */
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: number;
  readonly uid: string;
  /** Without kind/apiVersion; metadata.resourceVersion is set. */
  readonly object: JsonObject;
  /** JSON.stringify(object). */
  readonly json: string;
}

export function objectKey(namespace: string, name: string): string {
  return namespace === '' ? name : `${namespace}/${name}`;
}

export function makeRecord(namespace: string, name: string, uid: string, resourceVersion: number, object: JsonObject): ObjectRecord {
  return { key: objectKey(namespace, name), namespace, name, uid, resourceVersion, object, json: JSON.stringify(object) };
}

/** `{"kind":"Node","apiVersion":"v1",`: what turns a stored object's JSON into its wire form. */
export function typeMetaPrefix(apiVersion: string, kind: string): string {
  return `{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(apiVersion)},`;
}

/** The object with kind/apiVersion, as get and watch send it (stored JSON always has metadata, so never `{}`). */
export function withTypeMeta(prefix: string, json: string): string {
  return prefix + json.slice(1);
}

/** The object as PartialObjectMetadata: `prefix` (its kind and apiVersion) and the metadata alone. */
export function metadataOnlyJson(prefix: string, object: JsonObject): string {
  return `${prefix}"metadata":${JSON.stringify(object.metadata ?? {})}}`;
}
