import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeWireGuardClient } from '../../src/wireguard/fake-client.ts';

const PRIVATE = 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=';
const PUBLIC = 'F+TIJYHDLqEbKG4QNWfvpwgKcRSAoSeWlAvDqxnYAEA=';
const A = 'XoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=';

describe('FakeWireGuardClient', () => {
  it('keeps what was configured and reports it like a device', async () => {
    const wg = new FakeWireGuardClient();
    wg.addDevice('wg0');
    await wg.configure('wg0', {
      privateKey: PRIVATE,
      listenPort: 51820,
      peers: [{ publicKey: A, endpoint: '198.18.0.2:1', replaceAllowedIPs: ['10.0.0.0/24'], persistentKeepaliveSeconds: 25 }],
    });
    const device = await wg.device('wg0');
    assert.equal(device.publicKey, PUBLIC);
    assert.equal(device.listenPort, 51820);
    assert.deepEqual(device.peers.map((peer) => [peer.publicKey, peer.endpoint, peer.allowedIPs]), [
      [A, '198.18.0.2:1', ['10.0.0.0/24']],
    ]);
    assert.equal(wg.changes.length, 1);
  });

  it('roams a peer until its endpoint is written again', async () => {
    const wg = new FakeWireGuardClient();
    wg.addDevice('wg0');
    await wg.configure('wg0', { peers: [{ publicKey: A, endpoint: '198.18.0.2:1' }] });
    wg.roam('wg0', A, '203.0.113.9:4000');
    assert.equal((await wg.device('wg0')).peers[0]!.endpoint, '203.0.113.9:4000');
    await wg.configure('wg0', { peers: [{ publicKey: A, endpoint: '198.18.0.3:1' }] });
    assert.equal((await wg.device('wg0')).peers[0]!.endpoint, '198.18.0.3:1');
  });

  it('fails on a missing device and on an injected failure, changing nothing', async () => {
    const wg = new FakeWireGuardClient();
    await assert.rejects(wg.device('nope'), /no device nope/);
    wg.addDevice('wg0');
    wg.failNextConfigure(new Error('boom'));
    await assert.rejects(wg.configure('wg0', { peers: [{ publicKey: A }] }), /boom/);
    assert.deepEqual((await wg.device('wg0')).peers, []);
    assert.deepEqual(wg.changes, []);
    wg.deleteDevice('wg0');
    assert.equal(wg.hasDevice('wg0'), false);
  });
});
