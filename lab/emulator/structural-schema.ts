import { isDeepStrictEqual } from 'node:util';
import { fieldErrors, type FieldError } from './field-errors.ts';
import { isJsonObject, text, type JsonObject, type JsonValue } from './json.ts';

/**
 * What kube-apiserver does with a custom resource against its CRD's
 * structural OpenAPI v3 schema: prune unknown fields (unless
 * x-kubernetes-preserve-unknown-fields), apply defaults, drop nulls of
 * non-nullable fields, then validate (types, required, enum, lengths,
 * bounds, patterns, item counts) with kube-openapi's messages. Pure
 * functions over plain JSON; the schema is the CRD's JSONSchemaProps.
 */
export type Schema = JsonObject;

const PRESERVE = 'x-kubernetes-preserve-unknown-fields';
const INT_OR_STRING = 'x-kubernetes-int-or-string';
const EMBEDDED = 'x-kubernetes-embedded-resource';
/** Root fields (and those of embedded resources) that are never pruned: ObjectMeta is typed elsewhere. */
const META_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

function child(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function schemaAt(schema: Schema, key: 'items' | 'additionalProperties'): Schema | null {
  const value = schema[key];
  return isJsonObject(value) ? value : null;
}

function propertiesOf(schema: Schema): JsonObject {
  return isJsonObject(schema.properties) ? schema.properties : {};
}

function propertySchema(schema: Schema, key: string): Schema | null {
  const property = propertiesOf(schema)[key];
  if (isJsonObject(property)) return property;
  return schemaAt(schema, 'additionalProperties');
}

/** The value without fields the schema does not declare; `unknown` collects their paths (sorted), as kube reports them. */
export function prune(value: JsonObject, schema: Schema): { value: JsonObject; unknown: string[] } {
  const unknown: string[] = [];
  const pruned = pruneValue(value, schema, '', unknown, true) as JsonObject;
  return { value: pruned, unknown: unknown.sort() };
}

function pruneValue(value: JsonValue, schema: Schema | null, path: string, unknown: string[], isRoot: boolean): JsonValue {
  const preserve = schema !== null && schema[PRESERVE] === true;
  if (Array.isArray(value)) {
    const items = schema === null ? null : schemaAt(schema, 'items');
    if (preserve && items === null) return value;
    return value.map((item, i) => pruneValue(item, items, `${path}[${i}]`, unknown, false));
  }
  if (!isJsonObject(value)) return value;
  const embedded = isRoot || (schema !== null && schema[EMBEDDED] === true);
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    if (embedded && META_FIELDS.has(key)) {
      out[key] = v;
      continue;
    }
    const sub = schema === null ? null : propertySchema(schema, key);
    if (sub !== null) out[key] = pruneValue(v, sub, child(path, key), unknown, false);
    else if (preserve || (schema !== null && schema.additionalProperties === true)) out[key] = v;
    else unknown.push(child(path, key));
  }
  return out;
}

/**
 * Structural defaulting: missing properties with a `default` get it;
 * nulls of non-nullable fields become their default or are dropped.
 */
export function applyDefaults(value: JsonValue, schema: Schema): JsonValue {
  if (Array.isArray(value)) {
    const items = schemaAt(schema, 'items');
    return items === null ? value : value.map((item) => applyDefaults(item, items));
  }
  if (!isJsonObject(value)) return value;
  const out: JsonObject = { ...value };
  for (const [key, property] of Object.entries(propertiesOf(schema))) {
    if (!isJsonObject(property)) continue;
    const current = out[key];
    const nonNullableNull = current === null && property.nullable !== true;
    if (current === undefined || nonNullableNull) {
      if (property.default !== undefined) out[key] = structuredClone(property.default);
      else if (nonNullableNull) delete out[key];
    }
  }
  for (const [key, v] of Object.entries(out)) {
    const sub = propertySchema(schema, key);
    if (sub !== null) out[key] = applyDefaults(v, sub);
  }
  return out;
}

/** The JSON type kube-openapi names for a value. */
function jsonType(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(value: JsonValue, schema: Schema): boolean {
  const actual = jsonType(value);
  if (schema[INT_OR_STRING] === true) return actual === 'integer' || actual === 'string';
  const type = schema.type;
  if (typeof type !== 'string' || type === '') return true;
  if (type === 'number') return actual === 'number' || actual === 'integer';
  return actual === type;
}

/** Go's %v of a number: integers plainly, others as Go prints float64. */
function goNumber(n: number): string {
  return String(n);
}

/** Validation errors of `value` at `path` (the root of a custom resource is ''), in kube-openapi's order. */
export function validate(value: JsonValue, schema: Schema, path = ''): FieldError[] {
  const name = path === '' ? '.' : path;
  if (value === null && schema.nullable === true) return [];
  if (!typeMatches(value, schema)) {
    const expected = schema[INT_OR_STRING] === true ? 'integer,string' : text(schema.type);
    const actual = jsonType(value);
    return [fieldErrors.typeInvalid(path, actual, `${name} in body must be of type ${expected}: ${JSON.stringify(actual)}`)];
  }
  const found: FieldError[] = [];
  if (Array.isArray(schema.enum) && !schema.enum.some((allowed) => isDeepStrictEqual(allowed, value))) {
    const supported = schema.enum.map((allowed) => (typeof allowed === 'string' ? allowed : JSON.stringify(allowed)));
    found.push(fieldErrors.notSupported(path, value, supported));
  }
  if (typeof value === 'string') found.push(...stringErrors(value, schema, path, name));
  else if (typeof value === 'number') found.push(...numberErrors(value, schema, path, name));
  else if (Array.isArray(value)) found.push(...arrayErrors(value, schema, path, name));
  else if (isJsonObject(value)) found.push(...objectErrors(value, schema, path, name));
  return found;
}

function stringErrors(value: string, schema: Schema, path: string, name: string): FieldError[] {
  const found: FieldError[] = [];
  // Lengths count characters (runes), as Go's utf8.RuneCountInString.
  const length = [...value].length;
  if (typeof schema.maxLength === 'number' && length > schema.maxLength) found.push(fieldErrors.tooLong(path, schema.maxLength));
  if (typeof schema.minLength === 'number' && length < schema.minLength) {
    found.push(fieldErrors.invalid(path, value, `${name} in body should be at least ${schema.minLength} chars long`));
  }
  if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value)) {
    found.push(fieldErrors.invalid(path, value, `${name} in body should match '${schema.pattern}'`));
  }
  return found;
}

function numberErrors(value: number, schema: Schema, path: string, name: string): FieldError[] {
  const found: FieldError[] = [];
  if (typeof schema.maximum === 'number') {
    const exclusive = schema.exclusiveMaximum === true;
    if (exclusive ? value >= schema.maximum : value > schema.maximum) {
      found.push(fieldErrors.invalid(path, value, `${name} in body should be less than ${exclusive ? '' : 'or equal to '}${goNumber(schema.maximum)}`));
    }
  }
  if (typeof schema.minimum === 'number') {
    const exclusive = schema.exclusiveMinimum === true;
    if (exclusive ? value <= schema.minimum : value < schema.minimum) {
      found.push(fieldErrors.invalid(path, value, `${name} in body should be greater than ${exclusive ? '' : 'or equal to '}${goNumber(schema.minimum)}`));
    }
  }
  if (typeof schema.multipleOf === 'number' && schema.multipleOf > 0 && !Number.isInteger(value / schema.multipleOf)) {
    found.push(fieldErrors.invalid(path, value, `${name} in body should be a multiple of ${goNumber(schema.multipleOf)}`));
  }
  return found;
}

function arrayErrors(value: JsonValue[], schema: Schema, path: string, name: string): FieldError[] {
  const found: FieldError[] = [];
  if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) found.push(fieldErrors.tooMany(path, value.length, schema.maxItems));
  if (typeof schema.minItems === 'number' && value.length < schema.minItems) {
    found.push(fieldErrors.invalid(path, value.length, `${name} in body should have at least ${schema.minItems} items`));
  }
  if (schema.uniqueItems === true && value.some((item, i) => value.findIndex((other) => isDeepStrictEqual(other, item)) !== i)) {
    found.push(fieldErrors.invalid(path, value, `${name} in body shouldn't contain duplicates`));
  }
  const items = schemaAt(schema, 'items');
  if (items !== null) value.forEach((item, i) => found.push(...validate(item, items, `${path}[${i}]`)));
  return found;
}

function objectErrors(value: JsonObject, schema: Schema, path: string, name: string): FieldError[] {
  const found: FieldError[] = [];
  const count = Object.keys(value).length;
  if (typeof schema.maxProperties === 'number' && count > schema.maxProperties) found.push(fieldErrors.tooMany(path, count, schema.maxProperties));
  if (typeof schema.minProperties === 'number' && count < schema.minProperties) {
    found.push(fieldErrors.invalid(path, count, `${name} in body should have at least ${schema.minProperties} properties`));
  }
  const required = Array.isArray(schema.required) ? schema.required : [];
  for (const key of required) {
    if (typeof key === 'string' && value[key] === undefined) found.push(fieldErrors.required(child(path, key)));
  }
  for (const [key, v] of Object.entries(value)) {
    if (path === '' && META_FIELDS.has(key)) continue;
    const sub = propertySchema(schema, key);
    if (sub !== null) found.push(...validate(v, sub, child(path, key)));
  }
  return found;
}

const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];

/**
 * Whether a CRD's schema is structural, the way the apiextensions
 * validation reports it (a subset: types present and known, items for
 * arrays, properties and additionalProperties not both, patterns that
 * compile, an object at the root). `path` names the schema in the CRD.
 */
export function structuralProblems(schema: JsonValue, path: string): FieldError[] {
  if (!isJsonObject(schema)) return [fieldErrors.required(path, 'schemas are required')];
  const found = schemaProblems(schema, path);
  if (schema.type !== undefined && schema.type !== 'object') found.unshift(fieldErrors.invalid(`${path}.type`, schema.type, 'must be object at the root'));
  return found;
}

function schemaProblems(schema: Schema, path: string): FieldError[] {
  const found: FieldError[] = [];
  const type = schema.type;
  const free = schema[INT_OR_STRING] === true || schema[PRESERVE] === true;
  if (type === undefined || type === '') {
    if (!free) found.push(fieldErrors.required(`${path}.type`, 'must not be empty for specified object fields'));
  } else if (typeof type !== 'string' || !TYPES.includes(type)) {
    found.push(fieldErrors.notSupported(`${path}.type`, type, TYPES));
  }
  if (type === 'array' && schemaAt(schema, 'items') === null) found.push(fieldErrors.required(`${path}.items`, 'must be specified'));
  if (isJsonObject(schema.properties) && schema.additionalProperties !== undefined && schema.additionalProperties !== false) {
    found.push(fieldErrors.forbidden(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
  }
  if (typeof schema.pattern === 'string') {
    try {
      new RegExp(schema.pattern);
    } catch (error) {
      found.push(fieldErrors.invalid(`${path}.pattern`, schema.pattern, `must be a valid regular expression, but isn't: ${(error as Error).message}`));
    }
  }
  for (const [key, property] of Object.entries(propertiesOf(schema))) {
    if (isJsonObject(property)) found.push(...schemaProblems(property, `${path}.properties[${key}]`));
  }
  const items = schemaAt(schema, 'items');
  if (items !== null) found.push(...schemaProblems(items, `${path}.items`));
  const additional = schemaAt(schema, 'additionalProperties');
  if (additional !== null) found.push(...schemaProblems(additional, `${path}.additionalProperties`));
  return found;
}
