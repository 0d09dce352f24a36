import { fieldErrors, type FieldError } from './field-errors.ts';
import { isJsonObject, objectAt, type JsonObject, type JsonValue, text } from './json.ts';
import { parseSimpleJsonPath } from './json-path.ts';
import { nameProblems, objectName, timestamp } from './object-meta.ts';
import { ALL_VERBS, STATUS_SUBRESOURCE, type ResourceType } from './resource-type.ts';
import { keepStatus, nextGeneration, onlyStatus, specChanged, withGeneration, withoutStatus } from './strategies.ts';
import { METADATA_LIST_STRATEGIES } from './strategic-merge-patch.ts';
import { structuralProblems } from './structural-schema.ts';
import { column, NAME_COLUMN, nameCell } from './tables.ts';

/**
 * apiextensions.k8s.io/v1 CustomResourceDefinitions as stored objects:
 * defaulting, validation (a faithful subset), and the status the naming
 * and establishing controllers give them.
 */
export const APIEXTENSIONS_GROUP = 'apiextensions.k8s.io';

const SCOPES = ['Cluster', 'Namespaced'];
const COLUMN_TYPES = ['boolean', 'date', 'integer', 'number', 'string'];

const strings = (value: JsonValue | undefined): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

export function crdVersions(crd: JsonObject): JsonObject[] {
  const versions = objectAt(crd, 'spec').versions;
  return Array.isArray(versions) ? versions.filter(isJsonObject) : [];
}

/** SetDefaults_CustomResourceDefinitionSpec: singular, listKind and the conversion strategy. */
function withDefaults(crd: JsonObject): JsonObject {
  const spec = objectAt(crd, 'spec');
  const names = objectAt(spec, 'names');
  const kind = typeof names.kind === 'string' ? names.kind : '';
  return {
    ...crd,
    spec: {
      ...spec,
      names: {
        ...names,
        ...(typeof names.singular === 'string' && names.singular !== '' ? {} : { singular: kind.toLowerCase() }),
        ...(typeof names.listKind === 'string' && names.listKind !== '' ? {} : { listKind: `${kind}List` }),
      },
      conversion: isJsonObject(spec.conversion) ? spec.conversion : { strategy: 'None' },
    },
  };
}

/** status.storedVersions gains the storage version, as the strategy keeps it. */
function withStoredVersion(crd: JsonObject, old: JsonObject | null): JsonObject {
  const status = old === null ? {} : objectAt(old, 'status');
  const stored = strings(status.storedVersions);
  const storage = crdVersions(crd).find((v) => v.storage === true)?.name;
  const storedVersions = typeof storage === 'string' && !stored.includes(storage) ? [...stored, storage] : stored;
  return { ...crd, status: { ...status, storedVersions } };
}

function namesErrors(names: JsonObject): FieldError[] {
  const found: FieldError[] = [];
  for (const field of ['plural', 'singular'] as const) {
    const value = names[field];
    if (typeof value !== 'string' || value === '') found.push(fieldErrors.required(`spec.names.${field}`));
    else found.push(...nameProblems('label', value).map((p) => fieldErrors.invalid(`spec.names.${field}`, value, p)));
  }
  for (const field of ['kind', 'listKind'] as const) {
    if (typeof names[field] !== 'string' || names[field] === '') found.push(fieldErrors.required(`spec.names.${field}`));
  }
  if (names.kind === names.listKind && typeof names.kind === 'string' && names.kind !== '') {
    found.push(fieldErrors.invalid('spec.names.listKind', text(names.listKind), 'kind and listKind cannot be the same'));
  }
  strings(names.shortNames).forEach((short, i) =>
    found.push(...nameProblems('label', short).map((p) => fieldErrors.invalid(`spec.names.shortNames[${i}]`, short, p))),
  );
  return found;
}

function versionErrors(version: JsonObject, path: string): FieldError[] {
  const found: FieldError[] = [];
  const name = typeof version.name === 'string' ? version.name : '';
  if (name === '') found.push(fieldErrors.required(`${path}.name`));
  else found.push(...nameProblems('label', name).map((p) => fieldErrors.invalid(`${path}.name`, name, p)));
  found.push(...structuralProblems(objectAt(version, 'schema').openAPIV3Schema ?? null, `${path}.schema.openAPIV3Schema`));
  const columns = Array.isArray(version.additionalPrinterColumns) ? version.additionalPrinterColumns : [];
  columns.forEach((value, i) => {
    const c = isJsonObject(value) ? value : {};
    const at = `${path}.additionalPrinterColumns[${i}]`;
    if (typeof c.name !== 'string' || c.name === '') found.push(fieldErrors.required(`${at}.name`));
    if (typeof c.type !== 'string' || !COLUMN_TYPES.includes(c.type)) found.push(fieldErrors.notSupported(`${at}.type`, c.type ?? '', COLUMN_TYPES));
    if (typeof c.jsonPath !== 'string' || c.jsonPath === '') found.push(fieldErrors.required(`${at}.jsonPath`));
    else if (parseSimpleJsonPath(c.jsonPath) === null) found.push(fieldErrors.invalid(`${at}.jsonPath`, c.jsonPath, 'must be a simple json path'));
  });
  return found;
}

/** ValidateCustomResourceDefinition, the parts that matter to clients. */
export function crdErrors(crd: JsonObject, old: JsonObject | null): FieldError[] {
  const found: FieldError[] = [];
  const spec = objectAt(crd, 'spec');
  const names = objectAt(spec, 'names');
  const group = typeof spec.group === 'string' ? spec.group : '';
  const name = objectName(crd);
  if (name !== `${text(names.plural)}.${group}`) {
    found.push(fieldErrors.invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  }
  if (group === '') found.push(fieldErrors.required('spec.group'));
  else if (!group.includes('.')) found.push(fieldErrors.invalid('spec.group', group, 'should be a domain with at least one dot'));
  else found.push(...nameProblems('subdomain', group).map((p) => fieldErrors.invalid('spec.group', group, p)));
  if (typeof spec.scope !== 'string' || !SCOPES.includes(spec.scope)) found.push(fieldErrors.notSupported('spec.scope', spec.scope ?? '', SCOPES));
  found.push(...namesErrors(names));
  const versions = crdVersions(crd);
  const storage = versions.filter((v) => v.storage === true).length;
  if (versions.length === 0 || storage !== 1) {
    found.push(fieldErrors.invalid('spec.versions', spec.versions ?? null, 'must have exactly one version marked as storage version'));
  }
  const seen = new Set<string>();
  versions.forEach((version, i) => {
    found.push(...versionErrors(version, `spec.versions[${i}]`));
    if (typeof version.name === 'string') {
      if (seen.has(version.name)) found.push(fieldErrors.duplicate(`spec.versions[${i}].name`, version.name));
      seen.add(version.name);
    }
  });
  if (old !== null) {
    const oldScope = objectAt(old, 'spec').scope;
    if (oldScope !== spec.scope) found.push(fieldErrors.invalid('spec.scope', spec.scope ?? '', 'field is immutable'));
    if (objectAt(old, 'spec').group !== spec.group) found.push(fieldErrors.invalid('spec.group', group, 'field is immutable'));
  }
  return found;
}

function condition(type: string, reason: string, message: string, nowMs: number): JsonObject {
  return { type, status: 'True', lastTransitionTime: timestamp(nowMs), reason, message };
}

/**
 * The status the naming and establishing controllers write: names
 * accepted, established. Conditions keep their transition times when
 * already true.
 */
export function establishedStatus(crd: JsonObject, nowMs: number): JsonObject {
  const status = objectAt(crd, 'status');
  const names = objectAt(objectAt(crd, 'spec'), 'names');
  const previous = Array.isArray(status.conditions) ? status.conditions.filter(isJsonObject) : [];
  const keep = (wanted: JsonObject) => previous.find((c) => c.type === wanted.type && c.status === 'True') ?? wanted;
  return {
    ...status,
    conditions: [
      keep(condition('NamesAccepted', 'NoConflicts', 'no conflicts found', nowMs)),
      keep(condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted', nowMs)),
    ],
    acceptedNames: names,
  };
}

/** What a deleted CRD shows while its custom resources are removed. */
export function terminatingStatus(crd: JsonObject, nowMs: number): JsonObject {
  const status = objectAt(crd, 'status');
  const previous = Array.isArray(status.conditions) ? status.conditions.filter(isJsonObject) : [];
  return {
    ...status,
    conditions: [
      ...previous.filter((c) => c.type !== 'Terminating'),
      { ...condition('Terminating', 'InstanceDeletionInProgress', 'CustomResource deletion is in progress', nowMs) },
    ],
  };
}

export const CUSTOM_RESOURCE_DEFINITIONS: ResourceType = {
  group: APIEXTENSIONS_GROUP,
  versions: ['v1'],
  resource: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  kind: 'CustomResourceDefinition',
  listKind: 'CustomResourceDefinitionList',
  namespaced: false,
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  verbs: ALL_VERBS,
  subresources: [STATUS_SUBRESOURCE],
  nameRule: null,
  listStrategies: METADATA_LIST_STRATEGIES,
  fields: {},
  printer: {
    columns: [NAME_COLUMN, { ...column('Created At', 'CreationTimestamp is a timestamp representing the server time when this object was created.'), type: 'date' }],
    cells: (crd) => [nameCell(crd), text(objectAt(crd, 'metadata').creationTimestamp)],
  },
  custom: false,
  allowUnconditionalUpdate: true,
  prepareCreate: (crd) => withStoredVersion(withGeneration(withoutStatus(withDefaults(crd)), 1), null),
  prepareUpdate: (crd, old, context) => {
    if (context.subresource === 'status') return onlyStatus(crd, old);
    return withStoredVersion(nextGeneration(keepStatus(withDefaults(crd), old), old, specChanged), old);
  },
  validate: (crd, old) => crdErrors(crd, old),
};
