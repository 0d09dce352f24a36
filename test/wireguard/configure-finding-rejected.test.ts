import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configureFindingRejected } from '../../src/wireguard/configure-finding-rejected.ts';
import { FakeWireGuardClient } from '../../src/wireguard/fake-client.ts';
import type { PeerChange, WireGuardClient } from '../../src/wireguard/types.ts';

const key = (n: number) => Buffer.alloc(32, n).toString('base64');
const add = (n: number): PeerChange => ({ publicKey: key(n), endpoint: `198.18.0.${n}:51820`, replaceAllowedIPs: [`10.4.${n}.0/24`], persistentKeepaliveSeconds: 25 });

function counted(client: WireGuardClient) {
  const calls: number[] = [];
  const wrapped: WireGuardClient = { device: (name) => client.device(name), read: (name) => client.read(name), configure: (name, change) => (calls.push(change.peers.length), client.configure(name, change)) };
  return { wrapped, calls };
}

for (const { name, total, bad } of [
  { name: 'one refused among 100', total: 100, bad: [37] },
  { name: 'three refused among 100', total: 100, bad: [1, 50, 100] },
  { name: 'the only change refused', total: 1, bad: [1] },
  { name: 'every change refused', total: 8, bad: [1, 2, 3, 4, 5, 6, 7, 8] },
  { name: 'nothing refused', total: 20, bad: [] },
]) {
  test(`configureFindingRejected: ${name}: each refused change found alone, every other applied`, async () => {
    const wg = new FakeWireGuardClient();
    wg.addDevice('wg0');
    for (const n of bad) wg.refusePeer(key(n));
    const changes = Array.from({ length: total }, (_, i) => add(i + 1));
    const { wrapped, calls } = counted(wg);
    const rejected = await configureFindingRejected(wrapped, 'wg0', changes);
    assert.deepEqual(rejected.map((r) => r.change.publicKey), bad.map(key));
    assert.ok(rejected.every((r) => r.error.name === 'ChangeRejectedError'));
    const peers = (await wg.device('wg0')).peers.map((p) => p.publicKey).sort();
    assert.deepEqual(peers, changes.map((c) => c.publicKey).filter((k) => !bad.map(key).includes(k)).sort());
    const bound = bad.length === 0 ? 1 : 2 * bad.length * Math.ceil(Math.log2(total) + 1);
    assert.ok(calls.length <= bound, `${calls.length} calls for ${bad.length} refused among ${total}`);
  });
}

test('configureFindingRejected keeps the order of changes: a removal before the add that takes its range', async () => {
  const wg = new FakeWireGuardClient();
  wg.addDevice('wg0');
  await wg.configure('wg0', { peers: [add(1)] });
  wg.refusePeer(key(9));
  const changes: PeerChange[] = [{ publicKey: key(1), remove: true }, { ...add(2), replaceAllowedIPs: ['10.4.1.0/24'] }, add(9)];
  await configureFindingRejected(wg, 'wg0', changes);
  assert.deepEqual((await wg.device('wg0')).peers.map((p) => [p.publicKey, p.allowedIPs]), [[key(2), ['10.4.1.0/24']]]);
});

test('configureFindingRejected stops at an error that is not a refusal: what was applied is unknown', async () => {
  const wg = new FakeWireGuardClient();
  wg.addDevice('wg0');
  wg.failNextConfigure(new Error('UAPI set on wg0 failed: connect ENOENT'));
  await assert.rejects(configureFindingRejected(wg, 'wg0', [add(1), add(2)]), /ENOENT/);
});
