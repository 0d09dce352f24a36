import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredPeers } from '../../src/peering/desired-peers.ts';
import type { RemoteNode } from '../../src/kube/remote-node.ts';
import type { SkipReason } from '../../src/peering/remote-status.ts';
import type { Resolution } from '../../src/peering/endpoint-resolver.ts';
import { peeringInput, testResolve } from '../support/peering-input.ts';

const key = (n: number) => Buffer.alloc(32, n).toString('base64');
const K1 = key(1);
const K2 = key(2);

function node(name: string, overrides: Partial<RemoteNode> = {}): RemoteNode {
  return { name, podCIDRs: ['10.4.1.0/24'], refused: null, publicKey: K1, endpoint: '198.18.0.2:51820', ...overrides };
}

interface Case {
  name: string;
  nodes: RemoteNode[];
  subnets?: string[];
  keepalive?: number;
  /** node name → allowed IPs of its peer */
  peers: Record<string, string[]>;
  skipped?: { node: string; reason: SkipReason; peered?: boolean; detail?: RegExp | string }[];
  endpoints?: Record<string, string>;
  maxNodes?: number;
  ownPublicKey?: string;
  resolve?: (host: string) => Resolution;
  /** Endpoints the device has, by public key. */
  device?: Record<string, string>;
}

const K3 = key(3);
const pending = (): Resolution => ({ state: 'pending' });
const refused = (detail: string) => ({ reason: 'value-too-long' as const, detail });

const cases: Case[] = [
  { name: 'one good node', nodes: [node('a')], peers: { a: ['10.4.1.0/24'] } },
  { name: 'no nodes', nodes: [], peers: {} },
  {
    name: 'two pod CIDRs of one family: refused, as the apiserver would',
    nodes: [node('a', { podCIDRs: ['10.4.1.0/24', '10.4.2.0/24'] })],
    peers: {},
    skipped: [{ node: 'a', reason: 'bad-pod-cidr', detail: 'two IPv4 pod CIDRs: at most one per family' }],
  },
  { name: 'dual stack node, dual stack remote', subnets: ['10.4.0.0/16', 'fd00:4::/56'], nodes: [node('a', { podCIDRs: ['10.4.1.0/24', 'fd00:4:0:1::/64'] })], peers: { a: ['10.4.1.0/24', 'fd00:4:0:1::/64'] } },
  {
    name: 'dual stack node, IPv4-only remote: IPv6 part dropped, node still peered',
    nodes: [node('a', { podCIDRs: ['10.4.1.0/24', 'fd00:4:0:1::/64'] })],
    peers: { a: ['10.4.1.0/24'] },
    skipped: [{ node: 'a', reason: 'pod-cidr-outside-subnets', peered: true, detail: /fd00:4:0:1::\/64.*peered with 10.4.1.0\/24/ }],
  },
  { name: 'IPv6-only node', subnets: ['fd00:4::/56'], nodes: [node('a', { podCIDRs: ['fd00:4:0:2::/64'], endpoint: '[fd00:198::2]:51820' })], peers: { a: ['fd00:4:0:2::/64'] }, endpoints: { a: '[fd00:198::2]:51820' } },
  { name: 'pod CIDR outside the declared subnets', nodes: [node('a', { podCIDRs: ['10.5.1.0/24'] })], peers: {}, skipped: [{ node: 'a', reason: 'pod-cidr-outside-subnets', detail: /10.5.1.0\/24 is not inside the declared pod subnets 10.4.0.0\/16/ }] },
  { name: '0.0.0.0/0 claim is refused, not trimmed', nodes: [node('evil', { podCIDRs: ['0.0.0.0/0'] }), node('good', { publicKey: K2 })], peers: { good: ['10.4.1.0/24'] }, skipped: [{ node: 'evil', reason: 'pod-cidr-outside-subnets' }] },
  { name: 'claim of the whole remote subnet is allowed (inside, not beyond)', nodes: [node('a', { podCIDRs: ['10.4.0.0/16'] })], peers: { a: ['10.4.0.0/16'] } },
  { name: 'claim larger than the subnet is refused', nodes: [node('a', { podCIDRs: ['10.0.0.0/8'] })], peers: {}, skipped: [{ node: 'a', reason: 'pod-cidr-outside-subnets' }] },
  { name: 'malformed pod CIDR', nodes: [node('a', { podCIDRs: ['10.4.1.0/33'] })], peers: {}, skipped: [{ node: 'a', reason: 'bad-pod-cidr', detail: /10.4.1.0\/33/ }] },
  { name: 'pod CIDR with host bits', nodes: [node('a', { podCIDRs: ['10.4.1.7/24'] })], peers: {}, skipped: [{ node: 'a', reason: 'bad-pod-cidr', detail: /host bits/ }] },
  { name: 'no pod CIDR at all', nodes: [node('a', { podCIDRs: [] })], peers: {}, skipped: [{ node: 'a', reason: 'no-pod-cidr' }] },
  { name: 'missing pubKey annotation', nodes: [node('a', { publicKey: null })], peers: {}, skipped: [{ node: 'a', reason: 'missing-annotation', detail: /no pubKey annotation/ }] },
  { name: 'missing endpoint annotation', nodes: [node('a', { endpoint: null })], peers: {}, skipped: [{ node: 'a', reason: 'missing-annotation', detail: /no endpoint annotation/ }] },
  { name: 'missing both annotations', nodes: [node('a', { endpoint: null, publicKey: null })], peers: {}, skipped: [{ node: 'a', reason: 'missing-annotation', detail: /pubKey and endpoint/ }] },
  { name: 'bad base64 key', nodes: [node('a', { publicKey: 'not-a-key!' })], peers: {}, skipped: [{ node: 'a', reason: 'bad-public-key' }] },
  { name: 'key of 31 bytes', nodes: [node('a', { publicKey: Buffer.alloc(31, 1).toString('base64') })], peers: {}, skipped: [{ node: 'a', reason: 'bad-public-key' }] },
  { name: 'endpoint without port', nodes: [node('a', { endpoint: '198.18.0.2' })], peers: {}, skipped: [{ node: 'a', reason: 'bad-endpoint' }] },
  { name: 'endpoint port out of range', nodes: [node('a', { endpoint: '198.18.0.2:70000' })], peers: {}, skipped: [{ node: 'a', reason: 'bad-endpoint', detail: /70000/ }] },
  { name: 'IPv6 endpoint without brackets', nodes: [node('a', { endpoint: 'fd00::2:51820' })], peers: {}, skipped: [{ node: 'a', reason: 'bad-endpoint' }] },
  { name: 'bad IPv4 endpoint', nodes: [node('a', { endpoint: '198.18.0.300:51820' })], peers: {}, skipped: [{ node: 'a', reason: 'bad-endpoint' }] },
  { name: 'hostname endpoint: the resolved address goes to the device', nodes: [node('a', { endpoint: 'node-a.c2.example:51820' })], peers: { a: ['10.4.1.0/24'] }, endpoints: { a: '198.18.5.5:51820' } },
  { name: 'IP endpoints are written in canonical form', nodes: [node('a', { endpoint: '[FD00:0::2]:51820' })], peers: { a: ['10.4.1.0/24'] }, endpoints: { a: '[fd00::2]:51820' } },
  {
    name: 'a hostname that does not resolve: skipped, the others peered',
    nodes: [node('a', { endpoint: 'nowhere.c2.example:51820' }), node('b', { publicKey: K2, podCIDRs: ['10.4.2.0/24'] })],
    peers: { b: ['10.4.2.0/24'] },
    skipped: [{ node: 'a', reason: 'unresolvable-endpoint', detail: 'nowhere.c2.example: ENOTFOUND nowhere.c2.example' }],
  },
  {
    name: 'a hostname being looked up: skipped for now',
    resolve: pending,
    nodes: [node('a', { endpoint: 'node-a.c2.example:51820' })],
    peers: {},
    skipped: [{ node: 'a', reason: 'resolving-endpoint', detail: 'looking up node-a.c2.example' }],
  },
  {
    name: 'a hostname that does not resolve keeps the endpoint the device has for the key',
    device: { [K1]: '198.18.7.7:51820' },
    nodes: [node('a', { endpoint: 'nowhere.c2.example:51820' })],
    peers: { a: ['10.4.1.0/24'] },
    endpoints: { a: '198.18.7.7:51820' },
    skipped: [{ node: 'a', reason: 'unresolvable-endpoint', peered: true, detail: /the device keeps 198.18.7.7:51820$/ }],
  },
  {
    name: 'a hostname resolving to loopback is refused',
    resolve: () => ({ state: 'failed', reason: 'bad-endpoint', detail: 'resolves to 127.0.0.1 is a loopback address' }),
    nodes: [node('a', { endpoint: 'local.c2.example:51820' })],
    peers: {},
    skipped: [{ node: 'a', reason: 'bad-endpoint', detail: 'local.c2.example: resolves to 127.0.0.1 is a loopback address' }],
  },
  { name: 'loopback endpoint', nodes: [node('a', { endpoint: '127.0.0.1:51820' })], peers: {}, skipped: [{ node: 'a', reason: 'bad-endpoint', detail: 'endpoint annotation: 127.0.0.1 is a loopback address' }] },
  {
    name: 'IPv6 zone endpoint',
    nodes: [node('a', { endpoint: '[fe80::1%eth0]:51820' })],
    peers: {},
    skipped: [{ node: 'a', reason: 'bad-endpoint', detail: "endpoint annotation: 'fe80::1%eth0' has an IPv6 zone (%): it names an interface of the remote node, not of this one" }],
  },
  {
    name: 'a value refused at projection',
    nodes: [node('a', { publicKey: null, endpoint: null, podCIDRs: [], refused: refused("pubKey annotation is 45 characters, more than 44: 'x'") }), node('b', { publicKey: K2, podCIDRs: ['10.4.2.0/24'] })],
    peers: { b: ['10.4.2.0/24'] },
    skipped: [{ node: 'a', reason: 'value-too-long', detail: "pubKey annotation is 45 characters, more than 44: 'x'" }],
  },
  {
    name: "the device's own public key: skipped (WireGuard would ignore it)",
    ownPublicKey: K1,
    nodes: [node('a'), node('b', { publicKey: K2, podCIDRs: ['10.4.2.0/24'] })],
    peers: { b: ['10.4.2.0/24'] },
    skipped: [{ node: 'a', reason: 'duplicate-public-key', detail: 'same public key as this device: WireGuard would ignore the peer' }],
  },
  {
    name: 'maxNodes: the nodes past it by name are skipped, whatever they carry',
    maxNodes: 2,
    nodes: [node('c', { publicKey: K3, podCIDRs: ['10.4.3.0/24'] }), node('a'), node('b', { publicKey: K2, podCIDRs: ['10.4.2.0/24'] }), node('d', { publicKey: 'garbage' })],
    peers: { a: ['10.4.1.0/24'], b: ['10.4.2.0/24'] },
    skipped: [
      { node: 'c', reason: 'too-many-nodes', detail: 'maxNodes is 2: the nodes past it by name are not peered' },
      { node: 'd', reason: 'too-many-nodes' },
    ],
  },
  {
    name: 'duplicate key: the first by name is kept',
    nodes: [node('b', { podCIDRs: ['10.4.2.0/24'] }), node('a')],
    peers: { a: ['10.4.1.0/24'] },
    skipped: [{ node: 'b', reason: 'duplicate-public-key', detail: /same public key as node a/ }],
  },
  {
    name: 'overlapping pod CIDRs: the first by name keeps the range',
    nodes: [node('b', { publicKey: K2, podCIDRs: ['10.4.1.0/25'] }), node('a')],
    peers: { a: ['10.4.1.0/24'] },
    skipped: [{ node: 'b', reason: 'pod-cidr-conflict', detail: /overlaps 10.4.1.0\/24 of node a/ }],
  },
  {
    name: 'a bad node does not block the others',
    nodes: [node('a', { publicKey: 'garbage' }), node('b', { publicKey: K2, podCIDRs: ['10.4.2.0/24'] })],
    peers: { b: ['10.4.2.0/24'] },
    skipped: [{ node: 'a', reason: 'bad-public-key' }],
  },
  { name: 'keepalive passed through', keepalive: 0, nodes: [node('a')], peers: { a: ['10.4.1.0/24'] } },
  { name: 'a node skipped for a bad key does not reserve its key', nodes: [node('a', { podCIDRs: [] }), node('b', { podCIDRs: ['10.4.2.0/24'] })], peers: { b: ['10.4.2.0/24'] }, skipped: [{ node: 'a', reason: 'no-pod-cidr' }] },
];

for (const c of cases) {
  test(`desiredPeers: ${c.name}`, () => {
    const keepalive = c.keepalive ?? 25;
    const decision = desiredPeers({
      podSubnets: c.subnets ?? ['10.4.0.0/16'],
      persistentKeepaliveSeconds: keepalive,
      nodes: c.nodes,
      maxNodes: c.maxNodes ?? 20_000,
      ownPublicKey: c.ownPublicKey ?? null,
      resolve: c.resolve ?? testResolve,
      deviceEndpoint: (publicKey) => c.device?.[publicKey] ?? null,
    });
    const byKey = new Map(c.nodes.map((n) => [n.publicKey, n.name]));
    const got: Record<string, string[]> = Object.fromEntries(decision.peers.map((p) => [byKey.get(p.publicKey) ?? '?', p.allowedIPs]));
    assert.deepEqual(got, c.peers);
    for (const p of decision.peers) assert.equal(p.persistentKeepaliveSeconds, keepalive);
    for (const [name, endpoint] of Object.entries(c.endpoints ?? {})) {
      assert.equal(decision.peers.find((p) => byKey.get(p.publicKey) === name)?.endpoint, endpoint);
    }
    const expected = c.skipped ?? [];
    assert.deepEqual(
      decision.skipped.map((s) => [s.node, s.reason, s.peered]),
      expected.map((s) => [s.node, s.reason, s.peered ?? false]),
    );
    expected.forEach((s, i) => {
      if (typeof s.detail === 'string') assert.equal(decision.skipped[i]?.detail, s.detail);
      else if (s.detail) assert.match(decision.skipped[i]?.detail ?? '', s.detail);
    });
    assert.deepEqual(Object.fromEntries(decision.nodeOf), Object.fromEntries(decision.peers.map((p) => [p.publicKey, byKey.get(p.publicKey)])));
  });
}

test('desiredPeers: the result does not depend on the order nodes arrive in', () => {
  const nodes = [node('c', { publicKey: K2, podCIDRs: ['10.4.3.0/24'] }), node('a'), node('b', { podCIDRs: ['10.4.1.0/24'] })];
  const one = desiredPeers(peeringInput({ podSubnets: ['10.4.0.0/16'], nodes }));
  const two = desiredPeers(peeringInput({ podSubnets: ['10.4.0.0/16'], nodes: [...nodes].reverse() }));
  assert.deepEqual(one, two);
});
