import { randomBytes } from 'node:crypto';
import { fieldErrors, type FieldError } from './field-errors.ts';
import { isJsonObject, objectAt, type JsonObject, type JsonValue } from './json.ts';
import { errors } from './status.ts';

/** ObjectMeta rules every resource shares: names, labels, annotations, server-set fields. */

/** kube's ObjectMeta field order, so serialized objects read like the real ones. */
const METADATA_ORDER = [
  'name',
  'generateName',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];

export function orderedMetadata(metadata: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of METADATA_ORDER) {
    if (metadata[key] !== undefined) out[key] = metadata[key];
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (!(key in out)) out[key] = value;
  }
  return out;
}

/** metav1.Time: RFC 3339 with one-second precision. */
export function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** generateName's suffix: five characters from the apiserver's alphabet. */
export function generatedName(prefix: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return prefix + Array.from(randomBytes(5), (b) => alphabet[b % alphabet.length]).join('');
}

export function objectName(object: JsonObject): string {
  const name = objectAt(object, 'metadata').name;
  return typeof name === 'string' ? name : '';
}

export function objectNamespace(object: JsonObject): string {
  const namespace = objectAt(object, 'metadata').namespace;
  return typeof namespace === 'string' ? namespace : '';
}

/** metadata.resourceVersion sent by a client: null when absent (an unconditional write). */
export function requestedResourceVersion(object: JsonObject): number | null {
  const value = objectAt(object, 'metadata').resourceVersion;
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) {
    throw errors.badRequest(`metadata.resourceVersion: Invalid value: ${JSON.stringify(value)}: must be a decimal number`);
  }
  return Number(value);
}

function requireStringMap(metadata: JsonObject, field: 'labels' | 'annotations'): void {
  const value = metadata[field];
  if (value === undefined || value === null) return;
  if (!isJsonObject(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw errors.badRequest(`json: cannot unmarshal into Go struct field ObjectMeta.metadata.${field} of type map[string]string`);
  }
}

/**
 * Checks what a client sent against the endpoint's kind and the shape of
 * ObjectMeta, and returns the object without kind/apiVersion (stored
 * objects carry none; the wire form adds them back).
 */
export function decodeObject(body: JsonValue, apiVersion: string, kind: string): JsonObject {
  if (!isJsonObject(body)) throw errors.badRequest('the object provided is not a JSON object');
  const { kind: sentKind, apiVersion: sentVersion, ...object } = body;
  if (sentKind !== undefined && sentKind !== kind) {
    throw errors.badRequest(`the object provided is unrecognized (must be of type ${kind}): ${JSON.stringify(sentVersion)}, Kind=${JSON.stringify(sentKind)}`);
  }
  if (sentVersion !== undefined && sentVersion !== apiVersion) {
    throw errors.badRequest(`the API version in the data (${JSON.stringify(sentVersion)}) does not match the expected API version (${apiVersion})`);
  }
  const metadata = object.metadata ?? {};
  if (!isJsonObject(metadata)) throw errors.badRequest(`json: cannot unmarshal into Go struct field ${kind}.metadata of type v1.ObjectMeta`);
  requireStringMap(metadata, 'labels');
  requireStringMap(metadata, 'annotations');
  for (const field of ['name', 'generateName', 'namespace', 'uid'] as const) {
    if (metadata[field] !== undefined && metadata[field] !== null && typeof metadata[field] !== 'string') {
      throw errors.badRequest(`json: cannot unmarshal into Go struct field ObjectMeta.metadata.${field} of type string`);
    }
  }
  return { ...object, metadata };
}

export type NameRule = 'subdomain' | 'label' | 'pathSegment';

const NONE: string[] = [];

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MESSAGE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MESSAGE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** The problems of a name under a rule (apimachinery's IsDNS1123Subdomain and friends); empty when valid. */
export function nameProblems(rule: NameRule, name: string): string[] {
  switch (rule) {
    case 'subdomain':
      if (name.length <= 253 && SUBDOMAIN.test(name)) return NONE;
      return [...(name.length > 253 ? ['must be no more than 253 characters'] : []), ...(SUBDOMAIN.test(name) ? [] : [SUBDOMAIN_MESSAGE])];
    case 'label':
      return [...(name.length > 63 ? ['must be no more than 63 characters'] : []), ...(LABEL.test(name) ? [] : [LABEL_MESSAGE])];
    case 'pathSegment':
      if (name === '.' || name === '..') return [`may not be '${name}'`];
      return [...(name.includes('/') ? ["may not contain '/'"] : []), ...(name.includes('%') ? ["may not contain '%'"] : [])];
  }
}

/** Label and annotation keys repeat across objects (every node has the same dozen): each is checked once. */
const checkedKeys = new Map<string, string[]>();
const MAX_CHECKED_KEYS = 4096;

/** IsQualifiedName: `[prefix/]name`, as label and annotation keys are. */
function qualifiedNameProblems(key: string): string[] {
  let problems = checkedKeys.get(key);
  if (problems === undefined) {
    problems = keyProblems(key);
    if (checkedKeys.size >= MAX_CHECKED_KEYS) checkedKeys.clear();
    checkedKeys.set(key, problems);
  }
  return problems;
}

function keyProblems(key: string): string[] {
  const parts = key.split('/');
  let name = key;
  const problems: string[] = [];
  if (parts.length === 2) {
    const [prefix = '', rest = ''] = parts;
    name = rest;
    if (prefix === '') problems.push('prefix part must be non-empty');
    else problems.push(...nameProblems('subdomain', prefix).map((p) => `prefix part ${p}`));
  } else if (parts.length > 2) {
    return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
  }
  if (name === '') problems.push('name part must be non-empty');
  else if (name.length > 63) problems.push('name part must be no more than 63 characters');
  if (name !== '' && !QUALIFIED_NAME_PART.test(name)) problems.push(QUALIFIED_NAME_MESSAGE);
  return problems;
}

const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/**
 * ValidateObjectMeta's checks: the name under the resource's rule (when
 * `rule` is not null: some resources check their names themselves),
 * label keys and values, annotation keys and their total size.
 */
export function objectMetaErrors(object: JsonObject, rule: NameRule | null): FieldError[] {
  // Every write of every object comes through here: nothing is allocated unless something is wrong.
  const metadata = objectAt(object, 'metadata');
  const found: FieldError[] = [];
  const name = objectName(object);
  if (name === '') found.push(fieldErrors.required('metadata.name', 'name or generateName is required'));
  else if (rule !== null) for (const p of nameProblems(rule, name)) found.push(fieldErrors.invalid('metadata.name', name, p));
  const labels = objectAt(metadata, 'labels');
  for (const key in labels) {
    for (const p of qualifiedNameProblems(key)) found.push(fieldErrors.invalid('metadata.labels', key, p));
    const value = labels[key];
    const text = typeof value === 'string' ? value : '';
    if (text.length > 63) found.push(fieldErrors.invalid('metadata.labels', text, 'must be no more than 63 characters'));
    if (!LABEL_VALUE.test(text)) found.push(fieldErrors.invalid('metadata.labels', text, LABEL_VALUE_MESSAGE));
  }
  const annotations = objectAt(metadata, 'annotations');
  let annotationChars = 0;
  for (const key in annotations) {
    for (const p of qualifiedNameProblems(key.toLowerCase())) found.push(fieldErrors.invalid('metadata.annotations', key, p));
    const value = annotations[key];
    annotationChars += key.length + (typeof value === 'string' ? value.length : 0);
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes: count bytes only when the total might be over.
  if (annotationChars * 3 > MAX_ANNOTATIONS_BYTES) {
    const bytes = Object.entries(annotations).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(typeof value === 'string' ? value : ''), 0);
    if (bytes > MAX_ANNOTATIONS_BYTES) {
      found.push({ type: 'FieldValueTooLong', field: 'metadata.annotations', detail: `must have at most ${MAX_ANNOTATIONS_BYTES} bytes` });
    }
  }
  return found;
}
