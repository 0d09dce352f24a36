import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appliedEndpoints, peerDelta } from '../../src/wireguard/delta.ts';
import type { DesiredPeer, ObservedPeer, PeerChange } from '../../src/wireguard/types.ts';

const A = 'XoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=';
const B = '7FtuVdfSnMr86+PJ6UX8J0K0GYVY99jq9z07U+qCEGc=';
const C = 'F+TIJYHDLqEbKG4QNWfvpwgKcRSAoSeWlAvDqxnYAEA=';

function desired(publicKey: string, endpoint: string, allowedIPs: string[], keepalive = 25): DesiredPeer {
  return { publicKey, endpoint, allowedIPs, persistentKeepaliveSeconds: keepalive };
}

function observed(publicKey: string, endpoint: string | null, allowedIPs: string[], keepalive = 25): ObservedPeer {
  return {
    publicKey,
    endpoint,
    allowedIPs,
    persistentKeepaliveSeconds: keepalive,
    lastHandshakeSeconds: 1700000000,
    receiveBytes: 10,
    transmitBytes: 20,
  };
}

interface Case {
  name: string;
  desired: DesiredPeer[];
  observed: ObservedPeer[];
  lastApplied?: Record<string, string>;
  expected: PeerChange[];
}

const cases: Case[] = [
  { name: 'nothing desired, nothing there', desired: [], observed: [], expected: [] },
  {
    name: 'adds a missing peer with every field',
    desired: [desired(A, '198.18.0.2:51820', ['10.4.1.0/24', 'fd00:4:0:1::/64'])],
    observed: [],
    expected: [
      { publicKey: A, endpoint: '198.18.0.2:51820', replaceAllowedIPs: ['10.4.1.0/24', 'fd00:4:0:1::/64'], persistentKeepaliveSeconds: 25 },
    ],
  },
  {
    name: 'adds a peer with keepalive off explicitly',
    desired: [desired(A, '198.18.0.2:51820', ['10.4.1.0/24'], 0)],
    observed: [],
    expected: [{ publicKey: A, endpoint: '198.18.0.2:51820', replaceAllowedIPs: ['10.4.1.0/24'], persistentKeepaliveSeconds: 0 }],
  },
  {
    name: 'leaves an identical peer alone (allowed IPs in another order, IPv6 spelt differently)',
    desired: [desired(A, '198.18.0.2:51820', ['FD00:4:0:1:0:0:0:0/64', '10.4.1.0/24'])],
    observed: [observed(A, '198.18.0.2:51820', ['10.4.1.0/24', 'fd00:4:0:1::/64'])],
    expected: [],
  },
  {
    name: 'removes a peer no longer desired',
    desired: [],
    observed: [observed(A, '198.18.0.2:51820', ['10.4.1.0/24'])],
    expected: [{ publicKey: A, remove: true }],
  },
  {
    name: 'replaces allowed IPs exactly when the set differs, and only that',
    desired: [desired(A, '198.18.0.2:51820', ['10.4.1.0/24'])],
    observed: [observed(A, '198.18.0.2:51820', ['10.4.1.0/24', '10.4.2.0/24'])],
    expected: [{ publicKey: A, replaceAllowedIPs: ['10.4.1.0/24'] }],
  },
  {
    name: 'replaces allowed IPs with none',
    desired: [desired(A, '198.18.0.2:51820', [])],
    observed: [observed(A, '198.18.0.2:51820', ['10.4.1.0/24'])],
    expected: [{ publicKey: A, replaceAllowedIPs: [] }],
  },
  {
    name: 'updates only the keepalive',
    desired: [desired(A, '198.18.0.2:51820', ['10.4.1.0/24'], 0)],
    observed: [observed(A, '198.18.0.2:51820', ['10.4.1.0/24'], 25)],
    expected: [{ publicKey: A, persistentKeepaliveSeconds: 0 }],
  },
  {
    name: 'sets the endpoint of a peer the device has none for',
    desired: [desired(A, '198.18.0.2:51820', ['10.4.1.0/24'])],
    observed: [observed(A, null, ['10.4.1.0/24'])],
    lastApplied: { [A]: '198.18.0.2:51820' },
    expected: [{ publicKey: A, endpoint: '198.18.0.2:51820' }],
  },
  {
    name: 'leaves a roamed endpoint alone while the advertised one is the one we applied',
    desired: [desired(A, '198.18.0.2:51820', ['10.4.1.0/24'])],
    observed: [observed(A, '203.0.113.7:40000', ['10.4.1.0/24'])],
    lastApplied: { [A]: '198.18.0.2:51820' },
    expected: [],
  },
  {
    name: 'sets the endpoint when the advertised one changed, even over a roamed one',
    desired: [desired(A, '198.18.0.3:51820', ['10.4.1.0/24'])],
    observed: [observed(A, '203.0.113.7:40000', ['10.4.1.0/24'])],
    lastApplied: { [A]: '198.18.0.2:51820' },
    expected: [{ publicKey: A, endpoint: '198.18.0.3:51820' }],
  },
  {
    name: 'sets a differing endpoint we never applied (after a restart we cannot tell roaming)',
    desired: [desired(A, '198.18.0.2:51820', ['10.4.1.0/24'])],
    observed: [observed(A, '203.0.113.7:40000', ['10.4.1.0/24'])],
    expected: [{ publicKey: A, endpoint: '198.18.0.2:51820' }],
  },
  {
    name: 'handles IPv6 endpoints like any other',
    desired: [desired(A, '[fd00:1::3]:51820', ['fd00:4::/64'])],
    observed: [observed(A, '[fd00:1::2]:51820', ['fd00:4::/64'])],
    lastApplied: { [A]: '[fd00:1::2]:51820' },
    expected: [{ publicKey: A, endpoint: '[fd00:1::3]:51820' }],
  },
  {
    name: 'changes several fields of one peer in one change',
    desired: [desired(A, '198.18.0.3:51820', ['10.4.9.0/24'], 10)],
    observed: [observed(A, '198.18.0.2:51820', ['10.4.1.0/24'], 25)],
    lastApplied: { [A]: '198.18.0.2:51820' },
    expected: [{ publicKey: A, endpoint: '198.18.0.3:51820', replaceAllowedIPs: ['10.4.9.0/24'], persistentKeepaliveSeconds: 10 }],
  },
  {
    name: 'a node whose key changed: removal of the old key first, then the new one',
    desired: [desired(B, '198.18.0.2:51820', ['10.4.1.0/24']), desired(C, '198.18.0.4:51820', ['10.4.4.0/24'])],
    observed: [observed(C, '198.18.0.4:51820', ['10.4.4.0/24']), observed(A, '198.18.0.2:51820', ['10.4.1.0/24'])],
    expected: [
      { publicKey: A, remove: true },
      { publicKey: B, endpoint: '198.18.0.2:51820', replaceAllowedIPs: ['10.4.1.0/24'], persistentKeepaliveSeconds: 25 },
    ],
  },
];

describe('peerDelta', () => {
  for (const testCase of cases) {
    it(testCase.name, () => {
      const changes = peerDelta(testCase.desired, testCase.observed, new Map(Object.entries(testCase.lastApplied ?? {})));
      assert.deepEqual(changes, testCase.expected);
    });
  }

  it('does not alias the desired allowed IPs', () => {
    const peer = desired(A, '198.18.0.2:51820', ['10.4.1.0/24']);
    const [change] = peerDelta([peer], [], new Map());
    change!.replaceAllowedIPs!.push('10.9.9.0/24');
    assert.deepEqual(peer.allowedIPs, ['10.4.1.0/24']);
  });

  it('computes a 10,000-peer delta quickly', () => {
    const wanted = Array.from({ length: 10_000 }, (_, i) =>
      desired(Buffer.alloc(32, i).toString('base64') + String(i), `198.18.${i >> 8}.${i & 255}:51820`, [`10.${i >> 8}.${i & 255}.0/24`]),
    );
    const present = wanted.slice(0, 9_900).map((peer) => observed(peer.publicKey, peer.endpoint, peer.allowedIPs));
    const started = performance.now();
    const changes = peerDelta(wanted, present, appliedEndpoints(wanted));
    const elapsed = performance.now() - started;
    assert.equal(changes.length, 100);
    console.log(`# 10,000-peer delta with 100 additions: ${elapsed.toFixed(1)} ms`);
  });
});

describe('appliedEndpoints', () => {
  it('maps each desired peer to its endpoint', () => {
    assert.deepEqual(
      appliedEndpoints([desired(A, '198.18.0.2:51820', []), desired(B, '[fd00::1]:1', [])]),
      new Map([
        [A, '198.18.0.2:51820'],
        [B, '[fd00::1]:1'],
      ]),
    );
  });
});
