import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerChange } from '../../src/wireguard/types.ts';
import { ARGUMENT_BUDGET_BYTES, argumentBytes, wgConfigText, wgInvocations } from '../../src/wireguard/wg-commands.ts';

const PRIVATE = 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=';
const A = 'XoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=';
const B = '7FtuVdfSnMr86+PJ6UX8J0K0GYVY99jq9z07U+qCEGc=';
const FILE = '/tmp/clusterwire-wg-0123/input';

function keyOf(i: number): string {
  return Buffer.alloc(32, 0).fill(String(i).padStart(8, '0')).toString('base64');
}

describe('wgInvocations', () => {
  it('does nothing for an empty change', () => {
    assert.deepEqual(wgInvocations('wg-c2', { peers: [] }, FILE), []);
  });

  it('builds one `wg set` for a small change, every kind of peer change included', () => {
    const peers: PeerChange[] = [
      { publicKey: A, remove: true },
      { publicKey: B, endpoint: '[fd00::1]:51820', replaceAllowedIPs: ['10.4.1.0/24', 'fd00:4::/64'], persistentKeepaliveSeconds: 25 },
      { publicKey: A, persistentKeepaliveSeconds: 0 },
      { publicKey: B, replaceAllowedIPs: [] },
    ];
    assert.deepEqual(wgInvocations('wg-c2', { listenPort: 51821, peers }, FILE), [
      {
        args: [
          'set', 'wg-c2', 'listen-port', '51821',
          'peer', A, 'remove',
          'peer', B, 'endpoint', '[fd00::1]:51820', 'persistent-keepalive', '25', 'allowed-ips', '10.4.1.0/24,fd00:4::/64',
          'peer', A, 'persistent-keepalive', 'off',
          'peer', B, 'allowed-ips', '',
        ],
      },
    ]);
  });

  it('passes the private key through the input file, never as an argument', () => {
    const [invocation, ...rest] = wgInvocations('wg-c2', { privateKey: PRIVATE, peers: [] }, FILE);
    assert.deepEqual(rest, []);
    assert.deepEqual(invocation, { args: ['set', 'wg-c2', 'private-key', FILE], inputFileContent: `${PRIVATE}\n` });
  });

  it('moves a large change to stdin (addconf) and keeps removals and clears as arguments within the budget', () => {
    const adds: PeerChange[] = Array.from({ length: 10_000 }, (_, i) => ({
      publicKey: keyOf(i),
      endpoint: `198.18.${i >> 8}.${i & 255}:51820`,
      replaceAllowedIPs: [`10.${i >> 8}.${i & 255}.0/24`],
      persistentKeepaliveSeconds: 25,
    }));
    const removals: PeerChange[] = Array.from({ length: 10_000 }, (_, i) => ({ publicKey: keyOf(20_000 + i), remove: true }));
    const clear: PeerChange = { publicKey: A, replaceAllowedIPs: [] };
    const invocations = wgInvocations('wg-c2', { privateKey: PRIVATE, listenPort: 51820, peers: [...removals, clear, ...adds] }, FILE);

    const sets = invocations.slice(0, -1);
    const addconf = invocations.at(-1)!;
    assert.ok(sets.length > 1, 'removals are split over several runs');
    for (const set of sets) {
      assert.ok(argumentBytes(set.args) <= ARGUMENT_BUDGET_BYTES, `${argumentBytes(set.args)} bytes`);
      assert.equal(set.inputFileContent, undefined);
      assert.ok(!set.args.includes(PRIVATE));
    }
    const removedKeys = sets.flatMap((set) => set.args.filter((_, i, args) => args[i - 1] === 'peer'));
    assert.deepEqual(removedKeys, [...removals.map((peer) => peer.publicKey), A]);
    assert.deepEqual(addconf.args, ['addconf', 'wg-c2', FILE]);
    assert.ok(addconf.inputFileContent!.startsWith(`[Interface]\nPrivateKey = ${PRIVATE}\nListenPort = 51820\n[Peer]\n`));
    assert.equal(addconf.inputFileContent!.match(/\[Peer\]/g)!.length, 10_000);
    assert.ok(addconf.inputFileContent!.includes(`PublicKey = ${keyOf(9999)}\nEndpoint = 198.18.39.15:51820\nPersistentKeepalive = 25\nAllowedIPs = 10.39.15.0/24\n`));
  });
});

describe('wgConfigText', () => {
  it('writes only what is set', () => {
    assert.equal(
      wgConfigText(undefined, undefined, [
        { publicKey: A, endpoint: '198.18.0.2:51820' },
        { publicKey: B, persistentKeepaliveSeconds: 0, replaceAllowedIPs: ['10.0.0.0/24', 'fd00:4::/64'] },
      ]),
      `[Peer]\nPublicKey = ${A}\nEndpoint = 198.18.0.2:51820\n[Peer]\nPublicKey = ${B}\nPersistentKeepalive = off\nAllowedIPs = 10.0.0.0/24, fd00:4::/64\n`,
    );
  });

  it('refuses what a config file cannot say', () => {
    assert.throws(() => wgConfigText(undefined, undefined, [{ publicKey: A, remove: true }]), /neither remove/);
    assert.throws(() => wgConfigText(undefined, undefined, [{ publicKey: A, replaceAllowedIPs: [] }]), /clear/);
  });
});
