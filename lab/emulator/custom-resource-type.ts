import { crdVersions } from './crd-type.ts';
import { errors } from './status.ts';
import { isJsonObject, objectAt, type JsonObject, type JsonValue, text } from './json.ts';
import { parseSimpleJsonPath, valueAt } from './json-path.ts';
import { ALL_VERBS, STATUS_SUBRESOURCE, type ResourceType, type WriteContext } from './resource-type.ts';
import { keepStatus, nextGeneration, nonMetadataChanged, onlyStatus, withGeneration, withoutStatus } from './strategies.ts';
import { applyDefaults, prune, validate, type Schema } from './structural-schema.ts';
import { AGE_COLUMN, ageOf, NAME_COLUMN, nameCell, type Printer } from './tables.ts';

/**
 * The resource a CustomResourceDefinition serves: its names, served
 * versions, printer columns and the custom resource strategy (pruning,
 * defaulting, schema validation, status subresource, generation).
 */

const KUBE_VERSION = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

/** kube's version priority: GA before beta before alpha, higher numbers first, other names last by name. */
export function compareVersionPriority(a: string, b: string): number {
  const ma = KUBE_VERSION.exec(a);
  const mb = KUBE_VERSION.exec(b);
  if (ma === null || mb === null) {
    if (ma !== null) return -1;
    if (mb !== null) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const level = (m: RegExpExecArray) => (m[2] === undefined ? 2 : m[2] === 'beta' ? 1 : 0);
  return level(mb) - level(ma) || Number(mb[1]) - Number(ma[1]) || Number(mb[3] ?? 0) - Number(ma[3] ?? 0);
}

function cell(type: string, value: JsonValue | undefined, nowMs: number): JsonValue {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      return typeof value === 'string' ? ageOf(value, nowMs) : null;
    default:
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

/** NAME plus the version's additionalPrinterColumns, or NAME and AGE when it declares none (serveDefaultColumnsIfEmpty). */
function customResourcePrinter(version: JsonObject): Printer {
  const declared = Array.isArray(version.additionalPrinterColumns) ? version.additionalPrinterColumns.filter(isJsonObject) : [];
  if (declared.length === 0) return { columns: [NAME_COLUMN, AGE_COLUMN], cells: (object, nowMs) => [nameCell(object), ageOf(objectAt(object, 'metadata').creationTimestamp, nowMs)] };
  const columns = declared.map((c) => ({
    name: text(c.name),
    type: text(c.type) || 'string',
    format: text(c.format),
    description: typeof c.description === 'string' ? c.description : `Custom resource definition column (in JSONPath format): ${text(c.jsonPath)}`,
    priority: typeof c.priority === 'number' ? c.priority : 0,
  }));
  const paths = declared.map((c) => parseSimpleJsonPath(text(c.jsonPath)) ?? []);
  return {
    columns: [NAME_COLUMN, ...columns],
    cells: (object, nowMs) => [nameCell(object), ...columns.map((c, i) => cell(c.type, valueAt(object, paths[i] ?? []), nowMs))],
  };
}

function schemaOf(version: JsonObject): Schema {
  const schema = objectAt(version, 'schema').openAPIV3Schema;
  return isJsonObject(schema) ? schema : {};
}

/**
 * Prunes unknown fields and applies defaults under the version's schema.
 * Unknown fields fail the request (fieldValidation=Strict) or become
 * warnings (Warn, the default), as kube's strict decoding reports them.
 */
function coerce(object: JsonObject, schema: Schema, context: WriteContext): JsonObject {
  const { value, unknown } = prune(object, schema);
  if (unknown.length > 0 && context.fieldValidation === 'Strict') {
    throw errors.badRequest(`strict decoding error: ${unknown.map((path) => `unknown field "${path}"`).join(', ')}`);
  }
  if (context.fieldValidation === 'Warn') context.warnings.push(...unknown.map((path) => `unknown field "${path}"`));
  return applyDefaults(value, schema) as JsonObject;
}

/** The ResourceType of a CRD's custom resources (the CRD is valid: it passed crdErrors). */
export function customResourceType(crd: JsonObject): ResourceType {
  const spec = objectAt(crd, 'spec');
  const names = objectAt(spec, 'names');
  const served = crdVersions(crd).filter((v) => v.served === true);
  const byName = new Map(served.map((v) => [text(v.name), v]));
  const storage = crdVersions(crd).find((v) => v.storage === true) ?? served[0] ?? {};
  const statusSubresource = served.some((v) => isJsonObject(objectAt(v, 'subresources').status));
  const schemaFor = (version: string) => schemaOf(byName.get(version) ?? storage);
  const kind = text(names.kind);
  return {
    group: text(spec.group),
    versions: [...byName.keys()].sort(compareVersionPriority),
    resource: text(names.plural),
    singular: text(names.singular),
    kind,
    listKind: text(names.listKind),
    namespaced: spec.scope === 'Namespaced',
    shortNames: Array.isArray(names.shortNames) ? names.shortNames.map(text) : [],
    categories: Array.isArray(names.categories) ? names.categories.map(text) : [],
    verbs: ALL_VERBS,
    subresources: statusSubresource ? [STATUS_SUBRESOURCE] : [],
    nameRule: 'subdomain',
    listStrategies: null,
    fields: {},
    printer: customResourcePrinter(storage),
    custom: true,
    allowUnconditionalUpdate: false,
    prepareCreate: (object, context) => {
      const coerced = coerce(statusSubresource ? withoutStatus(object) : object, schemaFor(context.version), context);
      return withGeneration(coerced, 1);
    },
    prepareUpdate: (object, old, context) => {
      if (context.subresource === 'status') return coerce(onlyStatus(object, old), schemaFor(context.version), context);
      const scoped = statusSubresource ? keepStatus(object, old) : object;
      return nextGeneration(coerce(scoped, schemaFor(context.version), context), old, nonMetadataChanged);
    },
    validate: (object, _old, context) => validate(object, schemaFor(context.version)),
  };
}
