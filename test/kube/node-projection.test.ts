import assert from 'node:assert/strict';
import { test } from 'node:test';
import { projectNode } from '../../src/kube/node-projection.ts';

const D = 'wireguard.semaphore.uw.io';

test('projectNode keeps only what peering with the local cluster needs', async (t) => {
  const cases: { name: string; obj: unknown; want: ReturnType<typeof projectNode> }[] = [
    {
      name: 'podCIDRs wins over podCIDR',
      obj: { metadata: { name: 'n1' }, spec: { podCIDR: '10.4.1.0/24', podCIDRs: ['10.4.1.0/24', 'fd00:4:0:1::/64'] } },
      want: { name: 'n1', podCIDRs: ['10.4.1.0/24', 'fd00:4:0:1::/64'], internalIPs: [], publicKey: null, endpoint: null },
    },
    {
      name: 'podCIDR alone',
      obj: { metadata: { name: 'n1' }, spec: { podCIDR: '10.4.1.0/24' } },
      want: { name: 'n1', podCIDRs: ['10.4.1.0/24'], internalIPs: [], publicKey: null, endpoint: null },
    },
    {
      name: 'empty podCIDRs falls back to podCIDR',
      obj: { metadata: { name: 'n1' }, spec: { podCIDR: '10.4.1.0/24', podCIDRs: [] } },
      want: { name: 'n1', podCIDRs: ['10.4.1.0/24'], internalIPs: [], publicKey: null, endpoint: null },
    },
    {
      name: 'no spec at all',
      obj: { metadata: { name: 'n1' } },
      want: { name: 'n1', podCIDRs: [], internalIPs: [], publicKey: null, endpoint: null },
    },
    {
      name: 'InternalIPs in order, other address types ignored',
      obj: {
        metadata: { name: 'n1' },
        status: {
          addresses: [
            { type: 'Hostname', address: 'n1' },
            { type: 'InternalIP', address: '198.18.0.5' },
            { type: 'ExternalIP', address: '203.0.113.9' },
            { type: 'InternalIP', address: 'fd12::5' },
          ],
        },
      },
      want: { name: 'n1', podCIDRs: [], internalIPs: ['198.18.0.5', 'fd12::5'], publicKey: null, endpoint: null },
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
      want: { name: 'n1', podCIDRs: [], internalIPs: [], publicKey: 'KEY1', endpoint: '198.18.0.5:51820' },
    },
    {
      name: 'annotations of another cluster only',
      obj: { metadata: { name: 'n1', annotations: { [`c3.${D}/pubKey`]: 'KEY3' } } },
      want: { name: 'n1', podCIDRs: [], internalIPs: [], publicKey: null, endpoint: null },
    },
    {
      name: 'non-string values are ignored',
      obj: { metadata: { name: 'n1', annotations: { [`c1.${D}/pubKey`]: 5 } }, spec: { podCIDRs: [7, '10.4.1.0/24'] } },
      want: { name: 'n1', podCIDRs: ['10.4.1.0/24'], internalIPs: [], publicKey: null, endpoint: null },
    },
    { name: 'no name', obj: { metadata: {} }, want: null },
    { name: 'not an object', obj: 'n1', want: null },
  ];
  for (const c of cases) {
    await t.test(c.name, () => assert.deepEqual(projectNode(c.obj, 'c1', D), c.want));
  }
});

test('projectNode honours a custom annotation domain', () => {
  const obj = { metadata: { name: 'n1', annotations: { 'c1.example.org/pubKey': 'K', [`c1.${D}/pubKey`]: 'OLD' } } };
  assert.equal(projectNode(obj, 'c1', 'example.org')?.publicKey, 'K');
});
