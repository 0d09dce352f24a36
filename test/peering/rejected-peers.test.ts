import assert from 'node:assert/strict';
import { test } from 'node:test';
import { heldRejections, peerFingerprint, rejectionSkips, type Rejection } from '../../src/peering/rejected-peers.ts';
import type { DesiredPeer } from '../../src/wireguard/types.ts';

const key = (n: number) => Buffer.alloc(32, n).toString('base64');
const peer = (n: number, endpoint = `198.18.0.${n}:51820`): DesiredPeer => ({ publicKey: key(n), endpoint, allowedIPs: [`10.4.${n}.0/24`], persistentKeepaliveSeconds: 25 });
const rejection = (p: DesiredPeer, at: number): Rejection => ({ fingerprint: peerFingerprint(p), at, detail: `refused ${p.publicKey}` });

test('heldRejections: a rejection holds while the peer is desired with the same data, until the retry time', async (t) => {
  const rejected = peer(1);
  const cases: { name: string; desired: DesiredPeer[]; now: number; held: boolean }[] = [
    { name: 'same data, soon after', desired: [rejected, peer(2)], now: 1_000, held: true },
    { name: 'same data, just before the retry time', desired: [rejected], now: 299_999, held: true },
    { name: 'same data, at the retry time: tried again', desired: [rejected], now: 300_000, held: false },
    { name: 'a new endpoint: tried again', desired: [peer(1, '198.18.9.9:51820')], now: 1_000, held: false },
    { name: 'new allowed IPs: tried again', desired: [{ ...rejected, allowedIPs: ['10.4.77.0/24'] }], now: 1_000, held: false },
    { name: 'no longer desired: forgotten', desired: [peer(2)], now: 1_000, held: false },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const desired = new Map(c.desired.map((p) => [p.publicKey, p]));
      const held = heldRejections(new Map([[rejected.publicKey, rejection(rejected, 0)]]), desired, c.now, 300_000);
      assert.deepEqual([...held.keys()], c.held ? [rejected.publicKey] : []);
    });
  }
});

test('rejectionSkips names the node, says whether the device still has an older version of the peer', () => {
  const rejections = new Map([[key(1), rejection(peer(1), 0)], [key(2), rejection(peer(2), 0)]]);
  const skips = rejectionSkips(rejections, new Map([[key(1), 'n1'], [key(2), 'n2']]), (k) => k === key(2));
  assert.deepEqual(skips, [
    { node: 'n1', reason: 'device-rejected', peered: false, detail: `refused ${key(1)}` },
    { node: 'n2', reason: 'device-rejected', peered: true, detail: `refused ${key(2)}` },
  ]);
});
