import { isJsonObject, type JsonObject, type JsonValue } from './json.ts';

/**
 * RFC 7386 JSON merge patch. Returns a new value and leaves `target`
 * untouched (stored nodes are shared and never mutated); untouched
 * subtrees are shared with it.
 */
export function applyMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return patch;
  const result: JsonObject = isJsonObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}
