import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allKeys, planPass, planPeers, settledEndpoints } from '../../src/peering/peer-plan.ts';
import { peerFingerprint, REJECTION_RETRY_MS, type Rejection } from '../../src/peering/rejected-peers.ts';
import type { ConfiguredPeer } from '../../src/wireguard/configured-device.ts';
import { ADOPTED, type AppliedEndpoint } from '../../src/wireguard/device-state.ts';
import type { DesiredPeer, PeerChange } from '../../src/wireguard/types.ts';

const A = 'XoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=';
const B = '7FtuVdfSnMr86+PJ6UX8J0K0GYVY99jq9z07U+qCEGc=';
const C = 'F+TIJYHDLqEbKG4QNWfvpwgKcRSAoSeWlAvDqxnYAEA=';

function desired(publicKey: string, endpoint: string, allowedIPs: string[], keepalive = 25): DesiredPeer {
  return { publicKey, endpoint, allowedIPs, persistentKeepaliveSeconds: keepalive };
}

function observed(publicKey: string, endpoint: string | null, allowedIPs: string[], keepalive = 25): ConfiguredPeer {
  return { publicKey, endpoint, allowedIPs, persistentKeepaliveSeconds: keepalive };
}

interface Case {
  name: string;
  desired: DesiredPeer[];
  observed: ConfiguredPeer[];
  lastApplied?: Record<string, AppliedEndpoint>;
  /** The keys the pass compares; default every key (a pass after a read of the device). */
  keys?: string[];
  rejected?: string[];
  expected: PeerChange[];
}

const rejection: Rejection = { fingerprint: 'x', at: 0, detail: 'refused' };

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
  {
    name: 'a peer adopted in a live session keeps its roamed endpoint',
    desired: [desired(A, '198.18.0.2:51820', ['10.4.1.0/24'])],
    observed: [observed(A, '203.0.113.7:40000', ['10.4.1.0/24'])],
    lastApplied: { [A]: ADOPTED },
    expected: [],
  },
  {
    name: 'an adopted peer without an endpoint gets the advertised one',
    desired: [desired(A, '198.18.0.2:51820', ['10.4.1.0/24'])],
    observed: [observed(A, null, ['10.4.1.0/24'])],
    lastApplied: { [A]: ADOPTED },
    expected: [{ publicKey: A, endpoint: '198.18.0.2:51820' }],
  },
  {
    name: 'after a restart without adoption (no live session): the advertised endpoint is written',
    desired: [desired(A, '198.18.0.2:51820', ['10.4.1.0/24'])],
    observed: [observed(A, '203.0.113.7:40000', ['10.4.1.0/24'])],
    expected: [{ publicKey: A, endpoint: '198.18.0.2:51820' }],
  },
  {
    name: 'an event pass compares only the keys whose decision changed',
    desired: [desired(A, '198.18.0.9:51820', ['10.4.1.0/24']), desired(B, '198.18.0.3:51820', ['10.4.2.0/24'])],
    observed: [observed(A, '198.18.0.2:51820', ['10.4.1.0/24']), observed(C, '198.18.0.4:51820', ['10.4.4.0/24'])],
    lastApplied: { [A]: '198.18.0.2:51820' },
    keys: [B],
    expected: [{ publicKey: B, endpoint: '198.18.0.3:51820', replaceAllowedIPs: ['10.4.2.0/24'], persistentKeepaliveSeconds: 25 }],
  },
  {
    name: 'a refused peer is held back; its removal is not',
    desired: [desired(A, '198.18.0.2:51820', ['10.4.1.0/24'])],
    observed: [observed(A, '198.18.0.1:51820', ['10.4.9.0/24']), observed(B, '198.18.0.3:51820', ['10.4.2.0/24'])],
    rejected: [A, B],
    expected: [{ publicKey: B, remove: true }],
  },
];

describe('planPeers', () => {
  for (const testCase of cases) {
    it(testCase.name, () => {
      const desiredPeers = new Map(testCase.desired.map((peer) => [peer.publicKey, peer]));
      const device = new Map(testCase.observed.map((peer) => [peer.publicKey, peer]));
      const changes = planPeers({
        keys: testCase.keys ?? allKeys(desiredPeers, device),
        desired: desiredPeers,
        device,
        appliedEndpoints: new Map(Object.entries(testCase.lastApplied ?? {})),
        rejections: new Map((testCase.rejected ?? []).map((key) => [key, rejection])),
      });
      assert.deepEqual(changes, testCase.expected);
    });
  }

  it('does not alias the desired allowed IPs', () => {
    const peer = desired(A, '198.18.0.2:51820', ['10.4.1.0/24']);
    const [change] = planPeers({ keys: [A], desired: new Map([[A, peer]]), device: new Map(), appliedEndpoints: new Map(), rejections: new Map() });
    change!.replaceAllowedIPs!.push('10.9.9.0/24');
    assert.deepEqual(peer.allowedIPs, ['10.4.1.0/24']);
  });
});

describe('settledEndpoints', () => {
  it('records the endpoint of each compared peer that is desired and not refused, and forgets the others', () => {
    const wanted = new Map([
      [A, desired(A, '198.18.0.2:51820', [])],
      [B, desired(B, '[fd00::1]:1', [])],
    ]);
    assert.deepEqual(
      settledEndpoints([A, B, C], wanted, new Map([[B, rejection]])),
      new Map([
        [A, '198.18.0.2:51820'],
        [B, null],
        [C, null],
      ]),
    );
  });
});

describe('planPass', () => {
  const a = desired(A, '198.18.0.2:51820', ['10.4.1.0/24']);
  const b = desired(B, '198.18.0.3:51820', ['10.4.2.0/24']);
  const c = desired(C, '198.18.0.4:51820', ['10.4.3.0/24']);
  const wanted = new Map([
    [A, a],
    [B, b],
    [C, c],
  ]);
  const NOW = 1_000_000;

  it('after a watch event: compares only the keys it names, so a drifted peer elsewhere waits for the tick', () => {
    const plan = planPass({ compare: [C], desired: wanted, device: new Map(), appliedEndpoints: new Map(), rejections: new Map(), now: NOW });
    assert.deepEqual([...plan.keys], [C]);
    assert.deepEqual(plan.changes.map((change) => change.publicKey), [C]);
  });

  it('after a read of the device: compares every key, desired or on the device', () => {
    const device = new Map([[B, observed(B, '198.18.0.3:51820', ['10.4.2.0/24'])], ['gone', observed('gone', null, [])]]);
    const plan = planPass({ compare: 'all', desired: wanted, device, appliedEndpoints: new Map(), rejections: new Map(), now: NOW });
    assert.deepEqual([...plan.keys].sort(), [A, B, C, 'gone'].sort());
    assert.deepEqual(plan.changes.map((change) => [change.publicKey, change.remove ?? false]), [['gone', true], [A, false], [C, false]]);
  });

  it('a refusal still held keeps its peer back; one with new data or past the retry time is tried again in a watch-event pass', () => {
    const rejections = new Map<string, Rejection>([
      [A, { fingerprint: peerFingerprint(a), at: NOW - 1_000, detail: 'held' }],
      [B, { fingerprint: 'older data', at: NOW - 1_000, detail: 'new data' }],
      [C, { fingerprint: peerFingerprint(c), at: NOW - REJECTION_RETRY_MS, detail: 'expired' }],
    ]);
    const plan = planPass({ compare: [], desired: wanted, device: new Map(), appliedEndpoints: new Map(), rejections, now: NOW });
    assert.deepEqual([...plan.rejections.keys()], [A]);
    assert.deepEqual([...plan.keys].sort(), [B, C].sort());
    assert.deepEqual(plan.changes.map((change) => change.publicKey).sort(), [B, C].sort());
  });

  it('a refused peer no longer desired is removed from the device when its refusal lapses', () => {
    const rejections = new Map<string, Rejection>([['old', { fingerprint: 'x', at: NOW, detail: 'refused' }]]);
    const device = new Map([['old', observed('old', '198.18.0.9:51820', ['10.4.9.0/24'])]]);
    const plan = planPass({ compare: [], desired: wanted, device, appliedEndpoints: new Map(), rejections, now: NOW });
    assert.deepEqual(plan.rejections, new Map());
    assert.deepEqual(plan.changes, [{ publicKey: 'old', remove: true }]);
  });
});
