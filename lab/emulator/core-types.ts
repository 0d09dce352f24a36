import { fieldErrors, type FieldError } from './field-errors.ts';
import { isJsonObject, objectAt, type JsonObject, text } from './json.ts';
import { NODE_PRINTER } from './node-table.ts';
import { objectName } from './object-meta.ts';
import { ALL_VERBS, STATUS_SUBRESOURCE, type ResourceType } from './resource-type.ts';
import { errors } from './status.ts';
import { keepSpec, keepStatus, PLAIN_STRATEGY } from './strategies.ts';
import { METADATA_LIST_STRATEGIES } from './strategic-merge-patch.ts';
import { AGE_COLUMN, ageCell, column, NAME_COLUMN, nameCell, type Printer } from './tables.ts';

/** core/v1 resources: Nodes, Namespaces, ConfigMaps, Secrets, ServiceAccounts. */

const CORE = { group: '', versions: ['v1'], categories: [], custom: false, allowUnconditionalUpdate: true } as const;

export const NODES: ResourceType = {
  ...CORE,
  resource: 'nodes',
  singular: 'node',
  kind: 'Node',
  listKind: 'NodeList',
  namespaced: false,
  shortNames: ['no'],
  verbs: ALL_VERBS,
  subresources: [STATUS_SUBRESOURCE],
  nameRule: 'subdomain',
  listStrategies: {
    ...METADATA_LIST_STRATEGIES,
    'spec.podCIDRs': 'primitive',
    'status.conditions': { mergeKey: 'type' },
    'status.addresses': { mergeKey: 'type' },
  },
  fields: { 'spec.unschedulable': (node) => String(objectAt(node, 'spec').unschedulable === true) },
  printer: NODE_PRINTER,
  // Nodes may set status on create (the kubelet registers with it).
  prepareCreate: (node) => node,
  prepareUpdate: (node, old, context) => (context.subresource === 'status' ? keepSpec(node, old) : keepStatus(node, old)),
  validate: (node, old) => (old === null ? [] : nodeUpdateErrors(node, old)),
};

/** `spec.podCIDRs`, or the single `spec.podCIDR` (which v1 keeps equal to its first entry). */
function podCIDRsOf(node: JsonObject): string[] {
  const spec = objectAt(node, 'spec');
  if (Array.isArray(spec.podCIDRs) && spec.podCIDRs.length > 0) return spec.podCIDRs.map(String);
  return typeof spec.podCIDR === 'string' && spec.podCIDR !== '' ? [spec.podCIDR] : [];
}

/**
 * kube's ValidateNodeUpdate, the part clients rely on: pod CIDRs are set
 * once (by the node IPAM controller) and never changed, which is what
 * lets a client watch Node metadata only and read the CIDRs once.
 */
function nodeUpdateErrors(node: JsonObject, old: JsonObject): FieldError[] {
  const before = podCIDRsOf(old);
  const after = podCIDRsOf(node);
  if (before.length === 0 || (before.length === after.length && before.every((cidr, i) => cidr === after[i]))) return [];
  return [fieldErrors.forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid')];
}

/** Set on every namespace by defaulting since 1.21; selectors rely on it. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

function withNameLabel(namespace: JsonObject): JsonObject {
  const metadata = objectAt(namespace, 'metadata');
  return { ...namespace, metadata: { ...metadata, labels: { ...objectAt(metadata, 'labels'), [NAMESPACE_NAME_LABEL]: objectName(namespace) } } };
}

export const NAMESPACES: ResourceType = {
  ...CORE,
  resource: 'namespaces',
  singular: 'namespace',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  namespaced: false,
  shortNames: ['ns'],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [STATUS_SUBRESOURCE],
  nameRule: 'label',
  listStrategies: METADATA_LIST_STRATEGIES,
  fields: { 'status.phase': (namespace) => text(objectAt(namespace, 'status').phase) },
  printer: {
    columns: [NAME_COLUMN, column('Status', 'The status of the namespace'), AGE_COLUMN],
    cells: (namespace, nowMs) => [nameCell(namespace), text(objectAt(namespace, 'status').phase), ageCell(namespace, nowMs)],
  },
  prepareCreate: (namespace) => {
    const spec = objectAt(namespace, 'spec');
    const finalizers = Array.isArray(spec.finalizers) ? spec.finalizers : [];
    return {
      ...withNameLabel(namespace),
      spec: { ...spec, finalizers: finalizers.includes('kubernetes') ? finalizers : [...finalizers, 'kubernetes'] },
      status: { phase: 'Active' },
    };
  },
  prepareUpdate: (namespace, old, context) => {
    if (context.subresource === 'status') return keepSpec(withNameLabel(namespace), old);
    // spec.finalizers change only through /finalize (which the emulator does not serve: namespaces go at once).
    const spec = { ...objectAt(namespace, 'spec') };
    const oldFinalizers = objectAt(old, 'spec').finalizers;
    if (oldFinalizers === undefined) delete spec.finalizers;
    else spec.finalizers = oldFinalizers;
    return keepStatus({ ...withNameLabel(namespace), spec }, old);
  },
  validate: () => [],
};

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const CONFIG_KEY_MESSAGE =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const MAX_DATA_BYTES = 1024 * 1024;

/** IsConfigMapKey, for ConfigMap and Secret data keys. */
function configKeyProblems(key: string): string[] {
  const problems: string[] = [];
  if (key.length > 253) problems.push('must be no more than 253 characters');
  if (!CONFIG_KEY.test(key)) problems.push(CONFIG_KEY_MESSAGE);
  if (key === '.') problems.push("must not be '.'");
  else if (key === '..') problems.push("must not be '..'");
  else if (key.startsWith('..')) problems.push("must not start with '..'");
  return problems;
}

/** Keys and total size of data maps; `base64Parts` hold bytes as base64. */
function dataErrors(object: JsonObject, parts: readonly string[], base64Parts: readonly string[]): FieldError[] {
  const found: FieldError[] = [];
  let bytes = 0;
  const seen = new Set<string>();
  for (const part of parts) {
    for (const [key, value] of Object.entries(objectAt(object, part))) {
      found.push(...configKeyProblems(key).map((p) => fieldErrors.invalid(`${part}[${key}]`, key, p)));
      if (seen.has(key)) found.push(fieldErrors.duplicate(`${part}[${key}]`, key));
      seen.add(key);
      bytes += typeof value === 'string' ? (base64Parts.includes(part) ? Buffer.from(value, 'base64').length : Buffer.byteLength(value)) : 0;
    }
  }
  if (bytes > MAX_DATA_BYTES) found.push(fieldErrors.tooLong(parts[0] ?? 'data', MAX_DATA_BYTES));
  return found;
}

/** ConfigMaps and Secrets marked immutable keep their data. */
function immutableErrors(object: JsonObject, old: JsonObject | null, parts: readonly string[]): FieldError[] {
  if (old === null || old.immutable !== true) return [];
  const found: FieldError[] = [];
  if (object.immutable !== true) found.push(fieldErrors.forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const part of parts) {
    if (JSON.stringify(object[part] ?? null) !== JSON.stringify(old[part] ?? null)) {
      found.push(fieldErrors.forbidden(part, 'field is immutable when `immutable` is set'));
    }
  }
  return found;
}

/** Maps of strings: anything else fails to decode into the Go type (400), as kube answers. */
function requireStringMaps(object: JsonObject, kind: string, parts: readonly string[]): void {
  for (const part of parts) {
    const value = object[part];
    if (value === undefined || value === null) continue;
    if (!isJsonObject(value) || Object.values(value).some((v) => typeof v !== 'string')) {
      throw errors.badRequest(`json: cannot unmarshal into Go struct field ${kind}.${part} of type map[string]string`);
    }
  }
}

function dataCount(object: JsonObject, parts: readonly string[]): number {
  return parts.reduce((sum, part) => sum + Object.keys(objectAt(object, part)).length, 0);
}

const CONFIGMAP_PARTS = ['data', 'binaryData'];

export const CONFIGMAPS: ResourceType = {
  ...CORE,
  resource: 'configmaps',
  singular: 'configmap',
  kind: 'ConfigMap',
  listKind: 'ConfigMapList',
  namespaced: true,
  shortNames: ['cm'],
  verbs: ALL_VERBS,
  subresources: [],
  nameRule: 'subdomain',
  listStrategies: METADATA_LIST_STRATEGIES,
  fields: {},
  printer: {
    columns: [NAME_COLUMN, column('Data', 'Data contains the configuration data.', 0, 'integer'), AGE_COLUMN],
    cells: (map, nowMs) => [nameCell(map), dataCount(map, CONFIGMAP_PARTS), ageCell(map, nowMs)],
  },
  prepareCreate: (map) => {
    requireStringMaps(map, 'ConfigMap', CONFIGMAP_PARTS);
    return map;
  },
  prepareUpdate: (map) => {
    requireStringMaps(map, 'ConfigMap', CONFIGMAP_PARTS);
    return map;
  },
  validate: (map, old) => [...dataErrors(map, CONFIGMAP_PARTS, ['binaryData']), ...immutableErrors(map, old, CONFIGMAP_PARTS)],
};

export const SERVICE_ACCOUNT_TOKEN_TYPE = 'kubernetes.io/service-account-token';
export const SERVICE_ACCOUNT_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
export const SERVICE_ACCOUNT_UID_ANNOTATION = 'kubernetes.io/service-account.uid';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Secret data is []byte: JSON carries it as padded base64, and anything else fails to decode (400). */
function requireBase64(secret: JsonObject): void {
  for (const [key, value] of Object.entries(objectAt(secret, 'data'))) {
    if (typeof value === 'string' && !BASE64.test(value)) {
      throw errors.badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${firstBadBase64Byte(value)} (data[${key}])`);
    }
  }
}

function firstBadBase64Byte(value: string): number {
  const bad = value.search(/[^A-Za-z0-9+/=]/);
  return bad >= 0 ? bad : Math.max(0, value.length - (value.length % 4 || 4));
}

/** stringData is write-only: merged into data (base64) on every write, never stored. */
function mergeStringData(secret: JsonObject): JsonObject {
  requireStringMaps(secret, 'Secret', ['data', 'stringData']);
  requireBase64(secret);
  const { stringData, ...rest } = secret;
  const type = typeof rest.type === 'string' && rest.type !== '' ? rest.type : 'Opaque';
  if (!isJsonObject(stringData)) return { ...rest, type };
  const data: JsonObject = { ...objectAt(rest, 'data') };
  for (const [key, value] of Object.entries(stringData)) data[key] = Buffer.from(text(value)).toString('base64');
  return { ...rest, data, type };
}

export const SECRETS: ResourceType = {
  ...CORE,
  resource: 'secrets',
  singular: 'secret',
  kind: 'Secret',
  listKind: 'SecretList',
  namespaced: true,
  shortNames: [],
  verbs: ALL_VERBS,
  subresources: [],
  nameRule: 'subdomain',
  listStrategies: METADATA_LIST_STRATEGIES,
  fields: { type: (secret) => text(secret.type) },
  printer: {
    columns: [NAME_COLUMN, column('Type', 'The type of the secret'), column('Data', 'The number of keys in the secret', 0, 'integer'), AGE_COLUMN],
    cells: (secret, nowMs) => [nameCell(secret), text(secret.type), dataCount(secret, ['data']), ageCell(secret, nowMs)],
  },
  prepareCreate: mergeStringData,
  prepareUpdate: mergeStringData,
  validate: (secret, old) => {
    const found = [...dataErrors(secret, ['data'], ['data']), ...immutableErrors(secret, old, ['data'])];
    if (old !== null && old.type !== secret.type) found.push(fieldErrors.invalid('type', text(secret.type), 'field is immutable'));
    if (secret.type === SERVICE_ACCOUNT_TOKEN_TYPE) {
      const name = objectAt(objectAt(secret, 'metadata'), 'annotations')[SERVICE_ACCOUNT_NAME_ANNOTATION];
      if (typeof name !== 'string' || name === '') found.push(fieldErrors.required(`metadata.annotations[${SERVICE_ACCOUNT_NAME_ANNOTATION}]`));
    }
    return found;
  },
};

const SERVICE_ACCOUNT_PRINTER: Printer = {
  columns: [NAME_COLUMN, column('Secrets', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.', 0, 'integer'), AGE_COLUMN],
  cells: (account, nowMs) => [nameCell(account), Array.isArray(account.secrets) ? account.secrets.length : 0, ageCell(account, nowMs)],
};

export const SERVICE_ACCOUNTS: ResourceType = {
  ...CORE,
  ...PLAIN_STRATEGY,
  resource: 'serviceaccounts',
  singular: 'serviceaccount',
  kind: 'ServiceAccount',
  listKind: 'ServiceAccountList',
  namespaced: true,
  shortNames: ['sa'],
  verbs: ALL_VERBS,
  subresources: [{ name: 'token', verbs: ['create'], kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' } }],
  nameRule: 'subdomain',
  listStrategies: { ...METADATA_LIST_STRATEGIES, secrets: { mergeKey: 'name' }, imagePullSecrets: { mergeKey: 'name' } },
  fields: {},
  printer: SERVICE_ACCOUNT_PRINTER,
};
