import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject, JsonValue } from '../../lab/emulator/json.ts';
import { applyJsonPatch, decodeJsonPatch, JsonPatchApplyError, JsonPatchDecodeError } from '../../lab/emulator/json-patch.ts';
import { applyMergePatch } from '../../lab/emulator/merge-patch.ts';
import { NODES } from '../../lab/emulator/core-types.ts';
import { applyPatch, patchTypeOf } from '../../lab/emulator/patch.ts';
import type { WriteContext } from '../../lab/emulator/resource-type.ts';
import { ApiError } from '../../lab/emulator/status.ts';
import { applyStrategicMergePatch as applyStrategic, type ListStrategies } from '../../lab/emulator/strategic-merge-patch.ts';

const NODE_STRATEGIES = NODES.listStrategies as ListStrategies;
const applyStrategicMergePatch = (object: JsonObject, patch: JsonValue) => applyStrategic(object, patch, NODE_STRATEGIES);

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
};

const node: JsonObject = deepFreeze({
  metadata: { name: 'n1', labels: { a: '1', b: '2' }, annotations: { x: 'y' }, finalizers: ['f1'] },
  spec: { podCIDR: '10.0.1.0/24', podCIDRs: ['10.0.1.0/24'], taints: [{ key: 't', effect: 'NoSchedule' }] },
  status: {
    conditions: [
      { type: 'Ready', status: 'True' },
      { type: 'DiskPressure', status: 'False' },
    ],
    addresses: [{ type: 'InternalIP', address: '198.18.0.1' }],
  },
});

describe('JSON merge patch (RFC 7386)', () => {
  // The RFC's own examples.
  const cases: [JsonValue, JsonValue, JsonValue][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  cases.forEach(([target, patch, expected], i) => {
    it(`RFC example ${i + 1}`, () => assert.deepEqual(applyMergePatch(deepFreeze(target), patch), expected));
  });

  it('shares untouched subtrees and leaves the original alone', () => {
    const patched = applyMergePatch(node, { metadata: { labels: { a: null } } }) as JsonObject;
    assert.equal(patched.status, node.status);
    assert.deepEqual((patched.metadata as JsonObject).labels, { b: '2' });
    assert.deepEqual((node.metadata as JsonObject).labels, { a: '1', b: '2' });
  });
});

describe('JSON patch (RFC 6902)', () => {
  const apply = (doc: JsonValue, ops: JsonValue) => applyJsonPatch(deepFreeze(doc), decodeJsonPatch(ops));

  it('add, remove, replace, move, copy and test', () => {
    assert.deepEqual(apply({ a: 1 }, [{ op: 'add', path: '/b', value: 2 }]), { a: 1, b: 2 });
    assert.deepEqual(apply({ a: [1, 3] }, [{ op: 'add', path: '/a/1', value: 2 }]), { a: [1, 2, 3] });
    assert.deepEqual(apply({ a: [1] }, [{ op: 'add', path: '/a/-', value: 2 }]), { a: [1, 2] });
    assert.deepEqual(apply({ a: 1, b: 2 }, [{ op: 'remove', path: '/a' }]), { b: 2 });
    assert.deepEqual(apply({ a: [1, 2, 3] }, [{ op: 'remove', path: '/a/1' }]), { a: [1, 3] });
    assert.deepEqual(apply({ a: 1 }, [{ op: 'replace', path: '/a', value: 9 }]), { a: 9 });
    assert.deepEqual(apply({ a: { x: 1 }, b: {} }, [{ op: 'move', from: '/a/x', path: '/b/y' }]), { a: {}, b: { y: 1 } });
    assert.deepEqual(apply({ a: { x: 1 } }, [{ op: 'copy', from: '/a', path: '/b' }]), { a: { x: 1 }, b: { x: 1 } });
    assert.deepEqual(apply({ a: [1] }, [{ op: 'test', path: '/a', value: [1] }]), { a: [1] });
    assert.deepEqual(apply({ 'a/b': { '~c': 1 } }, [{ op: 'replace', path: '/a~1b/~0c', value: 2 }]), { 'a/b': { '~c': 2 } });
    assert.deepEqual(apply({ a: 1 }, [{ op: 'replace', path: '', value: { b: 2 } }]), { b: 2 });
  });

  it('applies operations in order, all or nothing', () => {
    const doc = deepFreeze({ a: 1 });
    assert.throws(() => apply(doc, [{ op: 'add', path: '/b', value: 2 }, { op: 'test', path: '/a', value: 2 }]), JsonPatchApplyError);
    assert.deepEqual(doc, { a: 1 });
  });

  const failures: [string, JsonValue, JsonValue][] = [
    ['test mismatch', { a: 1 }, [{ op: 'test', path: '/a', value: 2 }]],
    ['remove of a missing key', { a: 1 }, [{ op: 'remove', path: '/b' }]],
    ['replace of a missing key', { a: 1 }, [{ op: 'replace', path: '/b', value: 1 }]],
    ['add below a missing parent', { a: 1 }, [{ op: 'add', path: '/x/y', value: 1 }]],
    ['index out of range', { a: [1] }, [{ op: 'add', path: '/a/5', value: 1 }]],
    ['move into itself', { a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a/b/c' }]],
  ];
  for (const [what, doc, ops] of failures) {
    it(`refuses ${what}`, () => assert.throws(() => apply(doc, ops), JsonPatchApplyError));
  }

  it('rejects malformed patch documents', () => {
    assert.throws(() => decodeJsonPatch({ op: 'add' }), JsonPatchDecodeError);
    assert.throws(() => decodeJsonPatch([{ op: 'frobnicate', path: '/a' }]), JsonPatchDecodeError);
    assert.throws(() => decodeJsonPatch([{ op: 'add', path: '/a' }]), JsonPatchDecodeError);
    assert.throws(() => decodeJsonPatch([{ op: 'move', path: '/a' }]), JsonPatchDecodeError);
  });
});

describe('strategic merge patch for Nodes', () => {
  it('merges annotations and labels like a merge patch', () => {
    const patched = applyStrategicMergePatch(node, { metadata: { annotations: { n: 'm' }, labels: { a: null } } });
    assert.deepEqual(patched.metadata, { ...(node.metadata as JsonObject), annotations: { x: 'y', n: 'm' }, labels: { b: '2' } });
  });

  it('merges conditions and addresses by type', () => {
    const patched = applyStrategicMergePatch(node, {
      status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'PIDPressure', status: 'False' }], addresses: [{ type: 'Hostname', address: 'n1' }] },
    });
    const status = patched.status as JsonObject;
    assert.deepEqual(status.conditions, [
      { type: 'Ready', status: 'False' },
      { type: 'DiskPressure', status: 'False' },
      { type: 'PIDPressure', status: 'False' },
    ]);
    assert.deepEqual(status.addresses, [
      { type: 'InternalIP', address: '198.18.0.1' },
      { type: 'Hostname', address: 'n1' },
    ]);
  });

  it('unions primitive merge lists and replaces lists without a strategy', () => {
    const patched = applyStrategicMergePatch(node, { spec: { podCIDRs: ['fd00:4::/64'], taints: [] } });
    assert.deepEqual((patched.spec as JsonObject).podCIDRs, ['10.0.1.0/24', 'fd00:4::/64']);
    assert.deepEqual((patched.spec as JsonObject).taints, []);
  });

  it('honours $patch, $deleteFromPrimitiveList, $retainKeys and $setElementOrder directives', () => {
    const patched = applyStrategicMergePatch(node, {
      metadata: { labels: { $patch: 'replace', only: 'this' } },
      status: { conditions: [{ type: 'DiskPressure', $patch: 'delete' }], '$setElementOrder/conditions': [{ type: 'Ready' }] },
      spec: { $retainKeys: ['podCIDRs'], podCIDRs: ['10.0.1.0/24'] },
    });
    assert.deepEqual((patched.metadata as JsonObject).labels, { only: 'this' });
    assert.deepEqual((patched.status as JsonObject).conditions, [{ type: 'Ready', status: 'True' }]);
    assert.deepEqual(patched.spec, { podCIDRs: ['10.0.1.0/24'] });
    const trimmed = applyStrategicMergePatch(node, { metadata: { '$deleteFromPrimitiveList/finalizers': ['f1'] } });
    assert.deepEqual((trimmed.metadata as JsonObject).finalizers, []);
  });

  it('refuses list items without their merge key', () => {
    assert.throws(() => applyStrategicMergePatch(node, { status: { conditions: [{ status: 'True' }] } }), /merge key: type/);
  });
});

describe('patch requests', () => {
  it('maps Content-Type to a patch type and refuses others with 415, strategic ones too for custom resources', () => {
    assert.equal(patchTypeOf('application/merge-patch+json', true), 'merge');
    assert.equal(patchTypeOf('application/strategic-merge-patch+json; charset=utf-8', true), 'strategic');
    assert.equal(patchTypeOf('application/json-patch+json', false), 'json');
    assert.throws(() => patchTypeOf('application/apply-patch+yaml', true), (e: unknown) => e instanceof ApiError && e.code === 415);
    assert.throws(
      () => patchTypeOf('application/strategic-merge-patch+json', false),
      (e: unknown) =>
        e instanceof ApiError &&
        e.code === 415 &&
        e.message ===
          'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json (got application/strategic-merge-patch+json)',
    );
  });

  it('reports malformed patches as 400 and inapplicable ones as 422', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error instanceof ApiError ? error.code : -1;
      }
      return 0;
    };
    assert.equal(code(() => applyPatch('json', node, { op: 'add' }, NODE_STRATEGIES)), 400);
    assert.equal(code(() => applyPatch('json', node, [{ op: 'remove', path: '/nope' }], NODE_STRATEGIES)), 422);
    assert.equal(code(() => applyPatch('merge', node, [1], NODE_STRATEGIES)), 400);
    assert.equal(code(() => applyPatch('strategic', node, 'x', NODE_STRATEGIES)), 400);
  });

  it('keeps status on main-resource writes of Nodes and spec on status writes', () => {
    const incoming = { metadata: { name: 'n1' }, spec: { podCIDR: 'changed' }, status: { conditions: [] } };
    const context = (subresource: '' | 'status'): WriteContext => ({ subresource, version: 'v1', fieldValidation: 'Warn', warnings: [] });
    assert.deepEqual(NODES.prepareUpdate(incoming, node, context('')), { ...incoming, status: node.status });
    assert.deepEqual(NODES.prepareUpdate(incoming, node, context('status')), { ...incoming, spec: node.spec });
  });
});
