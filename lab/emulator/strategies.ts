import { isDeepStrictEqual } from 'node:util';
import { objectAt, type JsonObject } from './json.ts';
import type { ResourceType } from './resource-type.ts';

/**
 * Pieces of registry strategies that several resources share: who may
 * write status, and metadata.generation.
 */

/** Sets `part` of `object` to old's (or removes it when old has none). */
function withPartOf(object: JsonObject, old: JsonObject, part: string): JsonObject {
  const result: JsonObject = { ...object };
  if (old[part] === undefined) delete result[part];
  else result[part] = old[part];
  return result;
}

/** A main-resource update of a resource with a status subresource keeps the stored status. */
export function keepStatus(object: JsonObject, old: JsonObject): JsonObject {
  return withPartOf(object, old, 'status');
}

/** A status update of a Node or Namespace keeps the stored spec. */
export function keepSpec(object: JsonObject, old: JsonObject): JsonObject {
  return withPartOf(object, old, 'spec');
}

/**
 * A status update of a custom resource (or CRD) changes the status only:
 * the rest is the stored object, except the resourceVersion precondition
 * the client sent.
 */
export function onlyStatus(object: JsonObject, old: JsonObject): JsonObject {
  const resourceVersion = objectAt(object, 'metadata').resourceVersion;
  const metadata = { ...objectAt(old, 'metadata') };
  if (resourceVersion === undefined) delete metadata.resourceVersion;
  else metadata.resourceVersion = resourceVersion;
  const result: JsonObject = { ...old, metadata };
  if (object.status === undefined) delete result.status;
  else result.status = object.status;
  return result;
}

/** Create cannot set status (custom resources with a status subresource, CRDs). */
export function withoutStatus(object: JsonObject): JsonObject {
  const rest = { ...object };
  delete rest.status;
  return rest;
}

export function withGeneration(object: JsonObject, generation: number): JsonObject {
  return { ...object, metadata: { ...objectAt(object, 'metadata'), generation } };
}

/** Generation + 1 when `changed` says the object's desired state changed, else the stored generation. */
export function nextGeneration(object: JsonObject, old: JsonObject, changed: (a: JsonObject, b: JsonObject) => boolean): JsonObject {
  const generation = objectAt(old, 'metadata').generation;
  const current = typeof generation === 'number' ? generation : 1;
  return withGeneration(object, changed(object, old) ? current + 1 : current);
}

/** Everything but metadata differs (custom resources count status too unless a status subresource exists). */
export function nonMetadataChanged(a: JsonObject, b: JsonObject): boolean {
  return !isDeepStrictEqual({ ...a, metadata: null }, { ...b, metadata: null });
}

export function specChanged(a: JsonObject, b: JsonObject): boolean {
  return !isDeepStrictEqual(a.spec, b.spec);
}

/** The strategy of a resource with no rules beyond ObjectMeta's. */
export const PLAIN_STRATEGY: Pick<ResourceType, 'prepareCreate' | 'prepareUpdate' | 'validate'> = {
  prepareCreate: (object) => object,
  prepareUpdate: (object) => object,
  validate: () => [],
};
