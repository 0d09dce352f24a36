import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject } from '../../lab/emulator/json.ts';
import { NODES } from '../../lab/emulator/core-types.ts';
import { exactFieldValue, objectSelector, parseFieldSelector, parseLabelSelector } from '../../lab/emulator/selectors.ts';

const nodeSelector = (labels: string, fields: string) => objectSelector(labels, fields, NODES.fields);

const node = (name: string, labels: Record<string, string>, unschedulable = false): JsonObject => ({
  metadata: { name, labels },
  spec: unschedulable ? { unschedulable: true } : {},
});
const names = (nodes: JsonObject[]) => nodes.map((n) => (n.metadata as JsonObject).name);

const a = node('a', { role: 'edge', zone: 'z1', tier: '3' });
const b = node('b', { role: 'core', zone: 'z2' }, true);
const c = node('c', {});

describe('label selectors', () => {
  const cases: [string, string[]][] = [
    ['role=edge', ['a']],
    ['role==edge', ['a']],
    ['role!=edge', ['b', 'c']],
    ['role', ['a', 'b']],
    ['!role', ['c']],
    ['role in (edge, core)', ['a', 'b']],
    ['role notin (edge)', ['b', 'c']],
    ['role,zone=z2', ['b']],
    ['zone in (z1,z2),role=edge', ['a']],
    ['tier>2', ['a']],
    ['tier<3', []],
    ['  role = core ', ['b']],
  ];
  for (const [selector, expected] of cases) {
    it(`"${selector}" selects ${expected.join(',') || 'nothing'}`, () => {
      const predicate = parseLabelSelector(selector);
      assert.ok(predicate);
      assert.deepEqual(names([a, b, c].filter(predicate)), expected);
    });
  }

  it('an empty selector selects everything (null)', () => {
    assert.equal(parseLabelSelector(''), null);
  });

  for (const bad of ['role=(x', 'in (a)', '=x', 'role in (a b)', 'a b']) {
    it(`rejects "${bad}"`, () => {
      assert.throws(() => parseLabelSelector(bad), /unable to parse requirement/);
    });
  }
});

describe('field selectors', () => {
  const cases: [string, string[]][] = [
    ['metadata.name=b', ['b']],
    ['metadata.name==a', ['a']],
    ['metadata.name!=a', ['b', 'c']],
    ['spec.unschedulable=true', ['b']],
    ['spec.unschedulable=false,metadata.name!=c', ['a']],
    ['metadata.namespace=', ['a', 'b', 'c']],
  ];
  for (const [selector, expected] of cases) {
    it(`"${selector}" selects ${expected.join(',')}`, () => {
      const predicate = parseFieldSelector(selector, NODES.fields);
      assert.ok(predicate);
      assert.deepEqual(names([a, b, c].filter(predicate)), expected);
    });
  }

  it('selects any object by metadata.name and metadata.namespace, and only those without fields of its own', () => {
    const maps = [
      { metadata: { name: 'x', namespace: 'a' } },
      { metadata: { name: 'y', namespace: 'a' } },
      { metadata: { name: 'x', namespace: 'b' } },
    ];
    const predicate = parseFieldSelector('metadata.namespace=a,metadata.name!=y');
    assert.ok(predicate);
    assert.deepEqual(maps.filter(predicate), [maps[0]]);
    assert.throws(() => parseFieldSelector('spec.unschedulable=true'), /field label not supported: spec.unschedulable/);
  });

  it('reads the name an exact metadata.name selector requires (what RBAC resourceNames see for a list)', () => {
    assert.equal(exactFieldValue('metadata.name=lease-a', 'metadata.name'), 'lease-a');
    assert.equal(exactFieldValue('spec.x=1,metadata.name==b', 'metadata.name'), 'b');
    assert.equal(exactFieldValue('metadata.name!=b', 'metadata.name'), null);
    assert.equal(exactFieldValue('', 'metadata.name'), null);
  });

  it('rejects fields Nodes cannot be selected by, as the apiserver does', () => {
    assert.throws(() => parseFieldSelector('status.phase=Running', NODES.fields), /field label not supported: status.phase/);
    assert.throws(() => parseFieldSelector('metadata.name', NODES.fields), /invalid selector/);
  });

  it('combines with a label selector', () => {
    const predicate = nodeSelector('role', 'metadata.name!=a');
    assert.ok(predicate);
    assert.deepEqual(names([a, b, c].filter(predicate)), ['b']);
    assert.equal(nodeSelector('', ''), null);
  });
});
