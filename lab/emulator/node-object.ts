import { isJsonObject, objectAt, type JsonObject, type JsonValue } from './json.ts';
import { errors } from './status.ts';

/**
 * Node objects are stored without kind/apiVersion, because list items on
 * the wire carry none, while get and watch objects do: the two wire forms
 * differ only by this prefix.
 */
export const NODE_TYPE_PREFIX = '{"kind":"Node","apiVersion":"v1",';

/** A stored node's JSON (`{...}` without kind) as a full Node object. */
export function withTypeMeta(itemJson: string): string {
  return NODE_TYPE_PREFIX + itemJson.slice(1);
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** kube's ObjectMeta field order, so serialized nodes read like the real ones. */
const METADATA_ORDER = [
  'name',
  'generateName',
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

function requireStringMap(metadata: JsonObject, field: 'labels' | 'annotations'): void {
  const value = metadata[field];
  if (value === undefined || value === null) return;
  if (!isJsonObject(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw errors.badRequest(`json: cannot unmarshal into Go struct field ObjectMeta.metadata.${field} of type map[string]string`);
  }
}

/**
 * Checks the shape of a Node sent by a client (or a control call) and
 * returns it without kind/apiVersion and namespace. Does not check the name:
 * create and update each have their own rule.
 */
export function decodeNode(body: JsonValue): JsonObject {
  if (!isJsonObject(body)) throw errors.badRequest('the object provided is not a JSON object');
  const { kind, apiVersion, ...node } = body;
  if ((kind !== undefined && kind !== 'Node') || (apiVersion !== undefined && apiVersion !== 'v1')) {
    throw errors.badRequest(`the object provided is unrecognized (must be of type Node): ${JSON.stringify(apiVersion)}, Kind=${JSON.stringify(kind)}`);
  }
  const metadata = node.metadata ?? {};
  if (!isJsonObject(metadata)) throw errors.badRequest('json: cannot unmarshal into Go struct field Node.metadata of type v1.ObjectMeta');
  requireStringMap(metadata, 'labels');
  requireStringMap(metadata, 'annotations');
  for (const part of ['spec', 'status'] as const) {
    if (node[part] !== undefined && node[part] !== null && !isJsonObject(node[part])) {
      throw errors.badRequest(`json: cannot unmarshal into Go struct field Node.${part}`);
    }
  }
  // Nodes are cluster-scoped: a namespace sent along is dropped.
  const rest = { ...metadata };
  delete rest.namespace;
  return { ...node, metadata: rest };
}

export function nodeName(node: JsonObject): string {
  const name = objectAt(node, 'metadata').name;
  return typeof name === 'string' ? name : '';
}

export function validateName(name: string): void {
  if (name === '') throw errors.invalid(name, 'metadata.name', 'Required value: name or generateName is required');
  if (name.length > 253 || !NAME.test(name)) {
    throw errors.invalid(
      name,
      'metadata.name',
      `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

/** metadata.resourceVersion sent by a client: null when absent (an unconditional write). */
export function requestedResourceVersion(node: JsonObject): number | null {
  const value = objectAt(node, 'metadata').resourceVersion;
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) {
    throw errors.badRequest(`metadata.resourceVersion: Invalid value: ${JSON.stringify(value)}: must be a decimal number`);
  }
  return Number(value);
}
