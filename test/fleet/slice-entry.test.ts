import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sliceEntryFor, type EntryDecision } from '../../src/fleet/slice-entry.ts';
import { projectNode } from '../../src/kube/node-projection.ts';

const D = 'wireguard.semaphore.uw.io';
const KEY = `${'a'.repeat(42)}A=`;

/** A local Node as the apiserver serves it, with the annotations the daemon writes for peer cluster c2 (and c3). */
function node(annotations: Record<string, unknown>, spec: Record<string, unknown> = { podCIDR: '10.2.1.0/24', podCIDRs: ['10.2.1.0/24'] }, name = 'n1') {
  return { metadata: { name, annotations }, spec, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
}

test('a local Node becomes a slice entry for one peer cluster, or is left out with a reason', async (t) => {
  const both = { [`c2.${D}/pubKey`]: KEY, [`c2.${D}/endpoint`]: '198.18.0.2:51821' };
  const cases: { name: string; obj: unknown; want: EntryDecision }[] = [
    {
      name: 'key, endpoint and pod CIDR for c2',
      obj: node({ ...both, [`c3.${D}/pubKey`]: 'other' }),
      want: { ok: true, entry: { node: 'n1', publicKey: KEY, endpoint: '198.18.0.2:51821', podCIDRs: ['10.2.1.0/24'] } },
    },
    {
      name: 'dual stack',
      obj: node(both, { podCIDRs: ['10.2.1.0/24', 'fd02::/64'] }),
      want: { ok: true, entry: { node: 'n1', publicKey: KEY, endpoint: '198.18.0.2:51821', podCIDRs: ['10.2.1.0/24', 'fd02::/64'] } },
    },
    {
      name: 'no pod CIDR yet: published, the daemons judge it as they judge the Node',
      obj: node(both, {}),
      want: { ok: true, entry: { node: 'n1', publicKey: KEY, endpoint: '198.18.0.2:51821', podCIDRs: [] } },
    },
    {
      name: 'an endpoint the daemons refuse is theirs to judge',
      obj: node({ ...both, [`c2.${D}/endpoint`]: '127.0.0.1:51821' }),
      want: { ok: true, entry: { node: 'n1', publicKey: KEY, endpoint: '127.0.0.1:51821', podCIDRs: ['10.2.1.0/24'] } },
    },
    {
      name: 'annotations for another peer only',
      obj: node({ [`c3.${D}/pubKey`]: KEY, [`c3.${D}/endpoint`]: '198.18.0.2:51822' }),
      want: { ok: false, reason: 'missing-annotation', detail: 'no pubKey or endpoint annotation for this peer cluster (is the daemon running on the node?)' },
    },
    {
      name: 'no endpoint',
      obj: node({ [`c2.${D}/pubKey`]: KEY }),
      want: { ok: false, reason: 'missing-annotation', detail: 'no endpoint annotation for this peer cluster (is the daemon running on the node?)' },
    },
    {
      name: 'an empty endpoint',
      obj: node({ ...both, [`c2.${D}/endpoint`]: '' }),
      want: { ok: false, reason: 'missing-annotation', detail: 'no endpoint annotation for this peer cluster (is the daemon running on the node?)' },
    },
    {
      name: 'a key that is not a WireGuard key (the CRD would refuse the whole slice)',
      obj: node({ ...both, [`c2.${D}/pubKey`]: `${'a'.repeat(42)}B=` }),
      want: { ok: false, reason: 'bad-public-key', detail: `'${'a'.repeat(42)}B=' is not a WireGuard public key` },
    },
    {
      name: 'a key over its bound',
      obj: node({ ...both, [`c2.${D}/pubKey`]: 'k'.repeat(300) }),
      want: { ok: false, reason: 'value-too-long', detail: `pubKey annotation is 300 characters, more than 44: '${'k'.repeat(127)}…'` },
    },
    {
      name: 'an endpoint over its bound',
      obj: node({ ...both, [`c2.${D}/endpoint`]: `${'h'.repeat(300)}:1` }),
      want: { ok: false, reason: 'value-too-long', detail: `endpoint annotation is 302 characters, more than 261: '${'h'.repeat(127)}…'` },
    },
    {
      name: 'three pod CIDRs',
      obj: node(both, { podCIDRs: ['10.2.1.0/24', 'fd02::/64', '10.9.0.0/24'] }),
      want: { ok: false, reason: 'too-many-pod-cidrs', detail: 'spec.podCIDRs has 3 entries, more than 2 (one per family)' },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const projected = projectNode(c.obj, 'c2', D);
      assert.ok(projected);
      assert.deepEqual(sliceEntryFor(projected), c.want);
    });
  }
});

test('a name over its bound is left out, and only a short stand-in is kept', () => {
  const projected = projectNode(node({}, {}, 'n'.repeat(300)), 'c2', D);
  assert.ok(projected);
  const decision = sliceEntryFor(projected);
  assert.equal(decision.ok, false);
  assert.ok(!decision.ok && decision.reason === 'value-too-long');
  assert.ok(projected.name.length < 100);
});
