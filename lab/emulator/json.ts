/** JSON as it travels on the wire: what node objects and patches are made of. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `key`, or an empty one when absent or not an object. */
export function objectAt(parent: JsonObject, key: string): JsonObject {
  const value = parent[key];
  return isJsonObject(value) ? value : {};
}

/** A string-valued map (labels, annotations); other values are ignored. */
export function stringMapAt(parent: JsonObject, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(objectAt(parent, key))) {
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/** A string value, or '' for anything else (absent, null, a number...). */
export function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
