/** Narrowing helpers for JSON.parse output, which is `unknown` until checked. */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value[key]` when value is an object, else undefined. */
export function field(value: unknown, key: string): unknown {
  return isObject(value) ? value[key] : undefined;
}

export function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
