import { isDeepStrictEqual } from 'node:util';
import { isJsonObject, type JsonObject, type JsonValue } from './json.ts';

/**
 * RFC 6902 JSON patch over immutable values: every operation copies the
 * containers along its path and shares the rest.
 */
export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: JsonValue }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

/** The patch document itself is malformed: a 400. */
export class JsonPatchDecodeError extends Error {}
/** The patch does not apply to this object: a 422. */
export class JsonPatchApplyError extends Error {}

export function decodeJsonPatch(body: JsonValue): JsonPatchOperation[] {
  if (!Array.isArray(body)) throw new JsonPatchDecodeError('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  return body.map((entry, index) => {
    if (!isJsonObject(entry) || typeof entry.op !== 'string' || typeof entry.path !== 'string') {
      throw new JsonPatchDecodeError(`operation ${index} must be an object with string "op" and "path"`);
    }
    const { op, path } = entry;
    switch (op) {
      case 'add':
      case 'replace':
      case 'test':
        if (!('value' in entry)) throw new JsonPatchDecodeError(`operation ${index} (${op}) has no "value"`);
        return { op, path, value: entry.value ?? null };
      case 'remove':
        return { op, path };
      case 'move':
      case 'copy':
        if (typeof entry.from !== 'string') throw new JsonPatchDecodeError(`operation ${index} (${op}) has no "from"`);
        return { op, path, from: entry.from };
      default:
        throw new JsonPatchDecodeError(`Unexpected kind: ${op}`);
    }
  });
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new JsonPatchApplyError(`JSON pointer must start with "/": "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(array: JsonValue[], token: string, allowEnd: boolean, path: string): number {
  if (allowEnd && token === '-') return array.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new JsonPatchApplyError(`invalid array index "${token}" in "${path}"`);
  const index = Number(token);
  if (index > array.length || (!allowEnd && index === array.length)) {
    throw new JsonPatchApplyError(`array index ${index} out of bounds in "${path}"`);
  }
  return index;
}

function child(container: JsonValue, token: string, path: string): JsonValue {
  if (Array.isArray(container)) return container[arrayIndex(container, token, false, path)] ?? null;
  if (isJsonObject(container) && Object.hasOwn(container, token)) return container[token] ?? null;
  throw new JsonPatchApplyError(`doc is missing path: "${path}": missing value`);
}

function get(doc: JsonValue, path: string): JsonValue {
  return parsePointer(path).reduce((value, token) => child(value, token, path), doc);
}

/** Copies the containers down to the parent of the last token and lets `edit` change that copy. */
function editParent(
  doc: JsonValue,
  tokens: string[],
  path: string,
  edit: (parent: JsonObject | JsonValue[], key: string) => void,
): JsonValue {
  const [head = '', ...rest] = tokens;
  let copy: JsonObject | JsonValue[];
  if (Array.isArray(doc)) copy = [...doc];
  else if (isJsonObject(doc)) copy = { ...doc };
  else throw new JsonPatchApplyError(`doc is missing path: "${path}": missing value`);
  if (rest.length === 0) {
    edit(copy, head);
    return copy;
  }
  const updated = editParent(child(doc, head, path), rest, path, edit);
  if (Array.isArray(copy)) copy[arrayIndex(copy, head, false, path)] = updated;
  else copy[head] = updated;
  return copy;
}

function add(doc: JsonValue, path: string, value: JsonValue): JsonValue {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  return editParent(doc, tokens, path, (parent, key) => {
    if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, path), 0, value);
    else parent[key] = value;
  });
}

function remove(doc: JsonValue, path: string): JsonValue {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw new JsonPatchApplyError('remove operation does not apply: cannot remove the document root');
  return editParent(doc, tokens, path, (parent, key) => {
    if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false, path), 1);
    else if (Object.hasOwn(parent, key)) delete parent[key];
    else throw new JsonPatchApplyError(`remove operation does not apply: doc is missing path: "${path}"`);
  });
}

function replace(doc: JsonValue, path: string, value: JsonValue): JsonValue {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  return editParent(doc, tokens, path, (parent, key) => {
    if (Array.isArray(parent)) parent[arrayIndex(parent, key, false, path)] = value;
    else if (Object.hasOwn(parent, key)) parent[key] = value;
    else throw new JsonPatchApplyError(`replace operation does not apply: doc is missing key: ${path}: missing value`);
  });
}

function applyOne(doc: JsonValue, operation: JsonPatchOperation): JsonValue {
  switch (operation.op) {
    case 'add':
      return add(doc, operation.path, operation.value);
    case 'remove':
      return remove(doc, operation.path);
    case 'replace':
      return replace(doc, operation.path, operation.value);
    case 'test':
      if (!isDeepStrictEqual(get(doc, operation.path), operation.value)) {
        throw new JsonPatchApplyError(`testing value ${operation.path} failed: test failed`);
      }
      return doc;
    case 'move': {
      if (operation.path.startsWith(`${operation.from}/`)) {
        throw new JsonPatchApplyError(`move operation does not apply: "${operation.from}" is a prefix of "${operation.path}"`);
      }
      const value = get(doc, operation.from);
      return add(remove(doc, operation.from), operation.path, value);
    }
    case 'copy':
      return add(doc, operation.path, get(doc, operation.from));
  }
}

export function applyJsonPatch(doc: JsonValue, operations: JsonPatchOperation[]): JsonValue {
  return operations.reduce(applyOne, doc);
}
