import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { crdErrors, CUSTOM_RESOURCE_DEFINITIONS, establishedStatus } from '../../lab/emulator/crd-type.ts';
import { compareVersionPriority, customResourceType } from '../../lab/emulator/custom-resource-type.ts';
import { fieldErrorText } from '../../lab/emulator/field-errors.ts';
import type { JsonObject, JsonValue } from '../../lab/emulator/json.ts';
import type { WriteContext } from '../../lab/emulator/resource-type.ts';
import { ApiError } from '../../lab/emulator/status.ts';
import { applyDefaults, prune, structuralProblems, validate, type Schema } from '../../lab/emulator/structural-schema.ts';

const fixture = async (): Promise<JsonObject> => parse(await readFile(join(import.meta.dirname, 'fixtures', 'peerslices-crd.yaml'), 'utf8')) as JsonObject;

const ENTRY: Schema = {
  type: 'object',
  required: ['node', 'publicKey'],
  properties: {
    node: { type: 'string', maxLength: 10 },
    publicKey: { type: 'string', pattern: '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$' },
    weight: { type: 'integer', minimum: 1, maximum: 5 },
    ratio: { type: 'number', exclusiveMinimum: true, minimum: 0 },
    mode: { type: 'string', enum: ['direct', 'relay'] },
    podCIDRs: { type: 'array', maxItems: 2, items: { type: 'string' } },
  },
};
const SCHEMA: Schema = {
  type: 'object',
  required: ['entries'],
  properties: {
    entries: { type: 'array', maxItems: 3, items: ENTRY },
    free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { known: { type: 'object', properties: { a: { type: 'string' } } } } },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    port: { 'x-kubernetes-int-or-string': true },
    defaulted: { type: 'object', properties: { mode: { type: 'string', default: 'direct' }, nothing: { type: 'string' } } },
    maybe: { type: 'string', nullable: true },
  },
};
const KEY = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

describe('structural schema: pruning', () => {
  it('drops undeclared fields and reports their paths, sorted, as kube does', () => {
    const { value, unknown } = prune(
      {
        metadata: { name: 'x', extra: 1 },
        entries: [{ node: 'a', publicKey: KEY, bogus: true }, { node: 'b', publicKey: KEY, nested: { deep: 1 } }],
        top: 'gone',
        labels: { any: 'kept' },
        free: { whatever: [1, 2], known: { a: 'x', b: 'pruned below a declared property' } },
      },
      SCHEMA,
    );
    assert.deepEqual(unknown, ['entries[0].bogus', 'entries[1].nested', 'free.known.b', 'top']);
    assert.deepEqual(value, {
      metadata: { name: 'x', extra: 1 },
      entries: [{ node: 'a', publicKey: KEY }, { node: 'b', publicKey: KEY }],
      labels: { any: 'kept' },
      free: { whatever: [1, 2], known: { a: 'x' } },
    });
  });

  it('keeps apiVersion, kind and metadata of embedded resources', () => {
    const schema: Schema = { type: 'object', properties: { template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: { type: 'object' } } } } };
    const { value, unknown } = prune({ template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {}, other: 1 } }, schema);
    assert.deepEqual(unknown, ['template.other']);
    assert.deepEqual(value, { template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {} } });
  });
});

describe('structural schema: defaulting', () => {
  it('fills missing defaulted fields and drops nulls of non-nullable fields', () => {
    assert.deepEqual(applyDefaults({ defaulted: { nothing: null }, maybe: null }, SCHEMA), { defaulted: { mode: 'direct' }, maybe: null });
    assert.deepEqual(applyDefaults({ defaulted: { mode: 'relay' } }, SCHEMA), { defaulted: { mode: 'relay' } });
    assert.deepEqual(applyDefaults({}, SCHEMA), {}, 'no default for an absent parent');
  });
});

describe('structural schema: validation with kube-openapi messages', () => {
  const valid = { entries: [{ node: 'a', publicKey: KEY }] };
  const cases: [string, JsonValue, string[]][] = [
    ['a valid object', valid, []],
    ['a missing required field', {}, ['entries: Required value']],
    ['a missing required item field', { entries: [{ node: 'a' }] }, ['entries[0].publicKey: Required value']],
    [
      'a wrong type',
      { entries: [{ node: 7, publicKey: KEY }] },
      ['entries[0].node: Invalid value: "integer": entries[0].node in body must be of type string: "integer"'],
    ],
    ['a non-integer for an integer', { ...valid, entries: [{ node: 'a', publicKey: KEY, weight: 1.5 }] }, ['entries[0].weight: Invalid value: "number": entries[0].weight in body must be of type integer: "number"']],
    ['too many items', { entries: [valid.entries[0], valid.entries[0], valid.entries[0], valid.entries[0]] as JsonValue }, ['entries: Too many: 4: must have at most 3 items']],
    ['too long a string', { entries: [{ node: 'a-very-long-node-name', publicKey: KEY }] }, ['entries[0].node: Too long: may not be more than 10 bytes']],
    [
      'a pattern mismatch',
      { entries: [{ node: 'a', publicKey: 'not-a-key' }] },
      ["entries[0].publicKey: Invalid value: \"not-a-key\": entries[0].publicKey in body should match '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$'"],
    ],
    ['below the minimum', { entries: [{ node: 'a', publicKey: KEY, weight: 0 }] }, ['entries[0].weight: Invalid value: 0: entries[0].weight in body should be greater than or equal to 1']],
    ['above the maximum', { entries: [{ node: 'a', publicKey: KEY, weight: 9 }] }, ['entries[0].weight: Invalid value: 9: entries[0].weight in body should be less than or equal to 5']],
    ['at an exclusive minimum', { entries: [{ node: 'a', publicKey: KEY, ratio: 0 }] }, ['entries[0].ratio: Invalid value: 0: entries[0].ratio in body should be greater than 0']],
    ['a value outside the enum', { entries: [{ node: 'a', publicKey: KEY, mode: 'tunnel' }] }, ['entries[0].mode: Unsupported value: "tunnel": supported values: "direct", "relay"']],
    ['int-or-string with a boolean', { ...valid, port: true }, ['port: Invalid value: "boolean": port in body must be of type integer,string: "boolean"']],
    ['int-or-string with a string', { ...valid, port: 'http' }, []],
    ['null where nullable', { ...valid, maybe: null }, []],
    ['several problems at once', { entries: [{ node: 7 }] }, ['entries[0].publicKey: Required value', 'entries[0].node: Invalid value: "integer": entries[0].node in body must be of type string: "integer"']],
  ];
  for (const [what, value, expected] of cases) {
    it(what, () => assert.deepEqual(validate(value, SCHEMA).map(fieldErrorText), expected));
  }
});

describe('CRD schemas must be structural', () => {
  const path = 'spec.versions[0].schema.openAPIV3Schema';
  const cases: [string, JsonValue, string[]][] = [
    ['a missing schema', null, [`${path}: Required value: schemas are required`]],
    ['a root that is not an object', { type: 'array', items: { type: 'string' } }, [`${path}.type: Invalid value: "array": must be object at the root`]],
    ['a property without type', { type: 'object', properties: { spec: { properties: {} } } }, [`${path}.properties[spec].type: Required value: must not be empty for specified object fields`]],
    ['an unknown type', { type: 'object', properties: { a: { type: 'map' } } }, [`${path}.properties[a].type: Unsupported value: "map": supported values: "array", "boolean", "integer", "number", "object", "string"`]],
    ['an array without items', { type: 'object', properties: { a: { type: 'array' } } }, [`${path}.properties[a].items: Required value: must be specified`]],
    ['a preserved field without type', { type: 'object', properties: { a: { 'x-kubernetes-preserve-unknown-fields': true } } }, []],
  ];
  for (const [what, schema, expected] of cases) {
    it(what, () => assert.deepEqual(structuralProblems(schema, path).map(fieldErrorText), expected));
  }
});

describe('CustomResourceDefinition validation', () => {
  it('accepts the PeerSlice fixture and defaults its names and conversion', async () => {
    const crd = await fixture();
    const context: WriteContext = { subresource: '', version: 'v1', fieldValidation: 'Strict', warnings: [] };
    const stored = CUSTOM_RESOURCE_DEFINITIONS.prepareCreate(crd, context);
    assert.deepEqual(crdErrors(stored, null), []);
    const spec = stored.spec as JsonObject;
    assert.equal((spec.names as JsonObject).listKind, 'PeerSliceList');
    assert.deepEqual(spec.conversion, { strategy: 'None' });
    assert.deepEqual(stored.status, { storedVersions: ['v1alpha1'] });
    assert.equal((stored.metadata as JsonObject).generation, 1);
    const status = establishedStatus(stored, Date.parse('2026-01-01T00:00:00Z'));
    assert.deepEqual((status.conditions as JsonObject[]).map((c) => `${c.type as string}=${c.status as string}`), ['NamesAccepted=True', 'Established=True']);
  });

  it('refuses a CRD whose name, group, scope or versions are wrong, as kube words it', async () => {
    const crd = await fixture();
    const spec = crd.spec as JsonObject;
    const broken: JsonObject = {
      ...crd,
      metadata: { name: 'slices.clusterwire.io' },
      spec: { ...spec, group: 'clusterwire', scope: 'Global', versions: [{ name: 'v1', served: true, storage: false, schema: { openAPIV3Schema: { type: 'object' } } }] },
    };
    assert.deepEqual(crdErrors(broken, null).map(fieldErrorText), [
      'metadata.name: Invalid value: "slices.clusterwire.io": must be spec.names.plural+"."+spec.group',
      'spec.group: Invalid value: "clusterwire": should be a domain with at least one dot',
      'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
      'spec.names.listKind: Required value',
      'spec.versions: Invalid value: [{"name":"v1","served":true,"storage":false,"schema":{"openAPIV3Schema":{"type":"object"}}}]: must have exactly one version marked as storage version',
    ]);
    const changedScope = { ...crd, spec: { ...spec, scope: 'Cluster' } };
    assert.ok(crdErrors(changedScope, crd).some((e) => fieldErrorText(e) === 'spec.scope: Invalid value: "Cluster": field is immutable'));
  });

  it('orders served versions as kube prefers them', () => {
    assert.deepEqual(['v1alpha1', 'v2', 'foo', 'v1beta2', 'v1', 'v1beta1', 'v10'].sort(compareVersionPriority), ['v10', 'v2', 'v1', 'v1beta2', 'v1beta1', 'v1alpha1', 'foo']);
  });
});

describe('custom resource strategy', () => {
  const crd: JsonObject = {
    metadata: { name: 'widgets.example.io' },
    spec: {
      group: 'example.io',
      scope: 'Cluster',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { size: { type: 'integer', default: 1 } } },
                status: { type: 'object', properties: { ready: { type: 'boolean' } } },
              },
            },
          },
        },
      ],
    },
  };
  const widgets = customResourceType(crd);
  const context = (fieldValidation: 'Strict' | 'Warn' | 'Ignore', subresource: '' | 'status' = ''): WriteContext => ({ subresource, version: 'v1', fieldValidation, warnings: [] });

  it('drops status on create, prunes and defaults, and starts at generation 1', () => {
    const warn = context('Warn');
    const created = widgets.prepareCreate({ metadata: { name: 'w' }, spec: { colour: 'red' }, status: { ready: true } }, warn);
    assert.deepEqual(created, { metadata: { name: 'w', generation: 1 }, spec: { size: 1 } });
    assert.deepEqual(warn.warnings, ['unknown field "spec.colour"']);
    assert.throws(
      () => widgets.prepareCreate({ metadata: { name: 'w' }, spec: { colour: 'red' } }, context('Strict')),
      (error: unknown) => error instanceof ApiError && error.code === 400 && error.message === 'strict decoding error: unknown field "spec.colour"',
    );
    const ignore = context('Ignore');
    widgets.prepareCreate({ metadata: { name: 'w' }, spec: { colour: 'red' } }, ignore);
    assert.deepEqual(ignore.warnings, []);
  });

  it('bumps generation for spec changes only, keeps status on the main resource and spec on /status', () => {
    const old = { metadata: { name: 'w', generation: 1 }, spec: { size: 1 }, status: { ready: false } };
    const relabelled = widgets.prepareUpdate({ ...old, metadata: { name: 'w', labels: { a: 'b' } } }, old, context('Warn'));
    assert.equal((relabelled.metadata as JsonObject).generation, 1);
    const resized = widgets.prepareUpdate({ ...old, spec: { size: 3 }, status: { ready: true } }, old, context('Warn'));
    assert.equal((resized.metadata as JsonObject).generation, 2);
    assert.deepEqual(resized.status, { ready: false }, 'the main resource does not write status');
    const status = widgets.prepareUpdate({ ...old, metadata: { name: 'w', resourceVersion: '9' }, spec: { size: 5 }, status: { ready: true } }, old, context('Warn', 'status'));
    assert.deepEqual(status, { metadata: { name: 'w', generation: 1, resourceVersion: '9' }, spec: { size: 1 }, status: { ready: true } });
  });

  it('takes no strategic merge patches and needs a resourceVersion on update, as kube', () => {
    assert.equal(widgets.listStrategies, null);
    assert.equal(widgets.allowUnconditionalUpdate, false);
    assert.deepEqual(widgets.subresources.map((s) => s.name), ['status']);
    assert.equal(widgets.namespaced, false);
  });
});
