import { isDeepStrictEqual } from 'node:util';
import { isJsonObject, type JsonObject, type JsonValue } from './json.ts';

/**
 * Strategic merge patch for built-in types: a merge patch whose lists
 * follow the patch strategies of the Go types instead of being replaced,
 * plus the `$patch`, `$retainKeys`, `$deleteFromPrimitiveList/` and
 * `$setElementOrder/` directives kubectl sends.
 */
export type ListStrategy = { mergeKey: string } | 'primitive';

/** A type's `patchStrategy:"merge"` lists, by path from the object root (list items add no path segment). */
export type ListStrategies = Readonly<Record<string, ListStrategy>>;

/** ObjectMeta's merge lists, which every built-in type has. */
export const METADATA_LIST_STRATEGIES: ListStrategies = {
  'metadata.finalizers': 'primitive',
  'metadata.ownerReferences': { mergeKey: 'uid' },
};

export class StrategicPatchError extends Error {}

const DELETE_FROM = '$deleteFromPrimitiveList/';

function withoutDirectives(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(withoutDirectives);
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    if (!key.startsWith('$')) out[key] = withoutDirectives(v);
  }
  return out;
}

function mergePrimitiveList(original: JsonValue[], patch: JsonValue[]): JsonValue[] {
  const out = [...original];
  for (const item of patch) {
    if (!out.some((existing) => isDeepStrictEqual(existing, item))) out.push(item);
  }
  return out;
}

function mergeKeyedList(original: JsonValue[], patch: JsonValue[], mergeKey: string, path: string, strategies: ListStrategies): JsonValue[] {
  if (patch.some((item) => isJsonObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isJsonObject(item) && item.$patch === 'replace')).map(withoutDirectives);
  }
  const out = [...original];
  for (const item of patch) {
    if (!isJsonObject(item) || !(mergeKey in item)) {
      throw new StrategicPatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey} (${path})`);
    }
    const at = out.findIndex((existing) => isJsonObject(existing) && isDeepStrictEqual(existing[mergeKey], item[mergeKey]));
    if (item.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) {
      out[at] = mergeObject(out[at] as JsonObject, item, path, strategies);
    } else {
      out.push(withoutDirectives(item));
    }
  }
  return out;
}

function mergeObject(original: JsonObject, patch: JsonObject, path: string, strategies: ListStrategies): JsonObject {
  if (patch.$patch === 'replace') return withoutDirectives(patch) as JsonObject;
  const result: JsonObject = { ...original };
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM)) {
      const field = key.slice(DELETE_FROM.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        result[field] = current.filter((item) => !value.some((gone) => isDeepStrictEqual(gone, item)));
      }
      continue;
    }
    // $setElementOrder/ only orders lists; $patch and $retainKeys are handled around the loop.
    if (key.startsWith('$')) continue;
    const childPath = path === '' ? key : `${path}.${key}`;
    if (value === null) {
      delete result[key];
    } else if (isJsonObject(value)) {
      if (value.$patch === 'delete') delete result[key];
      else result[key] = mergeObject(isJsonObject(result[key]) ? result[key] : {}, value, childPath, strategies);
    } else if (Array.isArray(value)) {
      const strategy = strategies[childPath];
      const current = Array.isArray(result[key]) ? result[key] : [];
      if (strategy === undefined) result[key] = withoutDirectives(value);
      else if (strategy === 'primitive') result[key] = mergePrimitiveList(current, value);
      else result[key] = mergeKeyedList(current, value, strategy.mergeKey, childPath, strategies);
    } else {
      result[key] = value;
    }
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) {
      if (!retain.includes(key)) delete result[key];
    }
  }
  return result;
}

export function applyStrategicMergePatch(object: JsonObject, patch: JsonValue, strategies: ListStrategies): JsonObject {
  if (!isJsonObject(patch)) throw new StrategicPatchError('strategic merge patch must be a JSON object');
  return mergeObject(object, patch, '', strategies);
}
