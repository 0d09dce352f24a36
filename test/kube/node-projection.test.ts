import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needsWholeNode, projectNode, withWholeNode } from '../../src/kube/node-projection.ts';
import type { RemoteNode } from '../../src/kube/remote-node.ts';

const D = 'wireguard.semaphore.uw.io';

test('projectNode keeps only what peering with the local cluster needs', async (t) => {
  const cases: { name: string; obj: unknown; want: ReturnType<typeof projectNode> }[] = [
    {
      name: 'podCIDRs wins over podCIDR',
      obj: { metadata: { name: 'n1' }, spec: { podCIDR: '10.4.1.0/24', podCIDRs: ['10.4.1.0/24', 'fd00:4:0:1::/64'] } },
      want: { name: 'n1', podCIDRs: ['10.4.1.0/24', 'fd00:4:0:1::/64'], refused: null, publicKey: null, endpoint: null },
    },
    {
      name: 'podCIDR alone',
      obj: { metadata: { name: 'n1' }, spec: { podCIDR: '10.4.1.0/24' } },
      want: { name: 'n1', podCIDRs: ['10.4.1.0/24'], refused: null, publicKey: null, endpoint: null },
    },
    {
      name: 'empty podCIDRs falls back to podCIDR',
      obj: { metadata: { name: 'n1' }, spec: { podCIDR: '10.4.1.0/24', podCIDRs: [] } },
      want: { name: 'n1', podCIDRs: ['10.4.1.0/24'], refused: null, publicKey: null, endpoint: null },
    },
    {
      name: 'no spec at all',
      obj: { metadata: { name: 'n1' } },
      want: { name: 'n1', podCIDRs: [], refused: null, publicKey: null, endpoint: null },
    },
    {
      name: 'annotations for the local cluster only',
      obj: {
        metadata: {
          name: 'n1',
          annotations: {
            [`c1.${D}/pubKey`]: 'KEY1',
            [`c1.${D}/endpoint`]: '198.18.0.5:51820',
            [`c3.${D}/pubKey`]: 'KEY3',
            [`c3.${D}/endpoint`]: '198.18.0.5:51821',
            'other.example/pubKey': 'nope',
          },
        },
      },
      want: { name: 'n1', podCIDRs: [], refused: null, publicKey: 'KEY1', endpoint: '198.18.0.5:51820' },
    },
    {
      name: 'annotations of another cluster only',
      obj: { metadata: { name: 'n1', annotations: { [`c3.${D}/pubKey`]: 'KEY3' } } },
      want: { name: 'n1', podCIDRs: [], refused: null, publicKey: null, endpoint: null },
    },
    {
      name: 'non-string values are ignored',
      obj: { metadata: { name: 'n1', annotations: { [`c1.${D}/pubKey`]: 5 } }, spec: { podCIDRs: [7, '10.4.1.0/24'] } },
      want: { name: 'n1', podCIDRs: ['10.4.1.0/24'], refused: null, publicKey: null, endpoint: null },
    },
    { name: 'no name', obj: { metadata: {} }, want: null },
    { name: 'not an object', obj: 'n1', want: null },
  ];
  for (const c of cases) {
    await t.test(c.name, () => assert.deepEqual(projectNode(c.obj, 'c1', D), c.want));
  }
});

const NODE = { metadata: { name: 'n1', annotations: { [`c1.${D}/pubKey`]: Buffer.alloc(32, 1).toString('base64'), [`c1.${D}/endpoint`]: '198.18.0.5:51820' } }, spec: { podCIDR: '10.4.1.0/24', podCIDRs: ['10.4.1.0/24'] } };

/** NODE with `patch` applied: metadata.annotations merged, spec replaced when given. */
function nodeWith(patch: { name?: string; annotations?: Record<string, unknown>; spec?: unknown }): unknown {
  return {
    metadata: { name: patch.name ?? NODE.metadata.name, annotations: { ...NODE.metadata.annotations, ...patch.annotations } },
    spec: patch.spec ?? NODE.spec,
  };
}

test('projectNode refuses values over their bounds, keeping none of the node\'s values', async (t) => {
  const long = (n: number, c = 'a') => c.repeat(n);
  const cases: { name: string; obj: unknown; node?: string; reason: 'value-too-long' | 'too-many-pod-cidrs'; detail: string }[] = [
    {
      name: 'pubKey of 45 characters',
      obj: nodeWith({ annotations: { [`c1.${D}/pubKey`]: long(45, 'K') } }),
      reason: 'value-too-long',
      detail: `pubKey annotation is 45 characters, more than 44: '${long(45, 'K')}'`,
    },
    {
      name: 'pubKey of a megabyte',
      obj: nodeWith({ annotations: { [`c1.${D}/pubKey`]: long(1 << 20, 'K') } }),
      reason: 'value-too-long',
      detail: `pubKey annotation is 1048576 characters, more than 44: '${long(127, 'K')}…'`,
    },
    {
      name: 'endpoint of 262 characters',
      obj: nodeWith({ annotations: { [`c1.${D}/endpoint`]: `${long(256)}:51820` } }),
      reason: 'value-too-long',
      detail: `endpoint annotation is 262 characters, more than 261: '${long(127)}…'`,
    },
    {
      name: 'three pod CIDRs',
      obj: nodeWith({ spec: { podCIDRs: ['10.4.1.0/24', 'fd00:4::/64', '10.4.2.0/24'] } }),
      reason: 'too-many-pod-cidrs',
      detail: 'spec.podCIDRs has 3 entries, more than 2 (one per family)',
    },
    {
      name: '10,000 pod CIDRs',
      obj: nodeWith({ spec: { podCIDRs: Array.from({ length: 10_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`) } }),
      reason: 'too-many-pod-cidrs',
      detail: 'spec.podCIDRs has 10000 entries, more than 2 (one per family)',
    },
    {
      name: 'a pod CIDR of 65 characters',
      obj: nodeWith({ spec: { podCIDRs: ['10.4.1.0/24', `${long(62, '1')}/24`] } }),
      reason: 'value-too-long',
      detail: `a pod CIDR is 65 characters, more than 64: '${long(62, '1')}/24'`,
    },
    {
      name: 'a long spec.podCIDR alone',
      obj: nodeWith({ spec: { podCIDR: long(100, '9') } }),
      reason: 'value-too-long',
      detail: `spec.podCIDR is 100 characters, more than 64: '${long(100, '9')}'`,
    },
    {
      name: 'a name of 254 characters',
      obj: nodeWith({ name: long(254, 'n') }),
      node: `${long(64, 'n')}…`,
      reason: 'value-too-long',
      detail: `metadata.name is 254 characters, more than 253: '${long(127, 'n')}…'`,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const got = projectNode(c.obj, 'c1', D);
      assert.ok(got);
      // A refusal of the pod CIDRs says so: a metadata-only event keeps it (the CIDRs cannot change).
      const inSpec = c.detail.includes('pod CIDR') || c.detail.startsWith('spec.') ? { refusedInSpec: true } : {};
      assert.deepEqual({ ...got, name: got.name.slice(0, 65) }, { name: c.node ?? 'n1', podCIDRs: [], publicKey: null, endpoint: null, refused: { reason: c.reason, detail: c.detail }, ...inSpec });
      assert.ok(JSON.stringify(got).length < 600, `the projection keeps ${JSON.stringify(got).length} characters`);
    });
  }
});

test('projectNode keeps values exactly at their bounds', () => {
  const name = 'n'.repeat(253);
  const endpoint = `${'h'.repeat(255)}:51820`;
  const cidrs = ['10.4.1.0/24', '0000:0000:0000:0000:0000:ffff:255.255.255.255/128'];
  const got = projectNode(nodeWith({ name, annotations: { [`c1.${D}/endpoint`]: endpoint }, spec: { podCIDRs: cidrs } }), 'c1', D);
  assert.deepEqual(got, { name, podCIDRs: cidrs, publicKey: NODE.metadata.annotations[`c1.${D}/pubKey`], endpoint, refused: null });
});

test('an over-long name stands in as its start and a hash: bounded, stable, distinct', () => {
  const a = projectNode(nodeWith({ name: `${'n'.repeat(300)}a` }), 'c1', D)?.name ?? '';
  const b = projectNode(nodeWith({ name: `${'n'.repeat(300)}b` }), 'c1', D)?.name ?? '';
  assert.equal(a.length, 81);
  assert.notEqual(a, b);
  assert.equal(projectNode(nodeWith({ name: `${'n'.repeat(300)}a` }), 'c1', D)?.name, a);
});

test('projectNode honours a custom annotation domain', () => {
  const obj = { metadata: { name: 'n1', annotations: { 'c1.example.org/pubKey': 'K', [`c1.${D}/pubKey`]: 'OLD' } } };
  assert.equal(projectNode(obj, 'c1', 'example.org')?.publicKey, 'K');
});

test('a metadata-only object takes the spec part of the same object (same uid) from what is known', async (t) => {
  const annotated = { [`c1.${D}/pubKey`]: 'K'.repeat(43) + '=', [`c1.${D}/endpoint`]: '198.18.0.5:51820' };
  const whole = projectNode({ metadata: { name: 'n1', uid: 'u1' }, spec: { podCIDR: '10.4.1.0/24' } }, 'c1', D);
  const tooMany = projectNode({ metadata: { name: 'n1', uid: 'u1' }, spec: { podCIDRs: ['10.4.1.0/24', 'fd00::/64', '10.5.0.0/24'] } }, 'c1', D);
  const metadata = (uid: string | undefined, annotations = {}) => ({ kind: 'PartialObjectMetadata', metadata: { name: 'n1', uid, annotations } });
  assert.ok(whole && tooMany);
  const cases: [string, unknown, RemoteNode | undefined, Partial<RemoteNode>, boolean][] = [
    // name, object, known, expected fields, needsWholeNode
    ['same uid: its CIDRs', metadata('u1', annotated), whole, { podCIDRs: ['10.4.1.0/24'], refused: null }, false],
    ['same uid, refused for its CIDRs: still refused', metadata('u1', annotated), tooMany, { podCIDRs: [], refused: tooMany.refused, refusedInSpec: true }, false],
    ['another uid: CIDRs unknown, read it', metadata('u2', annotated), whole, { podCIDRs: [], uid: 'u2' }, true],
    ['no uid: CIDRs unknown, read it', metadata(undefined, annotated), whole, { podCIDRs: [] }, true],
    ['nothing known, not a would-be peer: not read', metadata('u1'), undefined, { podCIDRs: [], publicKey: null }, false],
    ['a refused annotation wins over known CIDRs', metadata('u1', { [`c1.${D}/pubKey`]: 'x'.repeat(45) }), whole, { podCIDRs: [], publicKey: null, refused: { reason: 'value-too-long', detail: "pubKey annotation is 45 characters, more than 44: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'" } }, false],
  ];
  for (const [name, object, known, want, read] of cases) {
    await t.test(name, () => {
      const node = projectNode(object, 'c1', D, known);
      assert.ok(node);
      for (const [key, value] of Object.entries(want)) assert.deepEqual(node[key as keyof RemoteNode], value, key);
      assert.equal(needsWholeNode(node), read);
    });
  }
});

test('withWholeNode takes the CIDRs (or their refusal) of the node read, only if it is the same object', () => {
  const fromMetadata = projectNode({ metadata: { name: 'n1', uid: 'u1' } }, 'c1', D);
  assert.ok(fromMetadata);
  assert.deepEqual(withWholeNode(fromMetadata, { metadata: { name: 'n1', uid: 'u1' }, spec: { podCIDRs: ['10.4.1.0/24'] } }).podCIDRs, ['10.4.1.0/24']);
  assert.equal(withWholeNode(fromMetadata, { metadata: { name: 'n1', uid: 'u2' }, spec: { podCIDRs: ['10.4.1.0/24'] } }), fromMetadata);
  const refused = withWholeNode(fromMetadata, { metadata: { name: 'n1', uid: 'u1' }, spec: { podCIDR: `10.4.1.0/${'9'.repeat(70)}` } });
  assert.equal(refused.refused?.reason, 'value-too-long');
  assert.equal(refused.refusedInSpec, true);
  assert.equal(refused.uid, 'u1');
});
