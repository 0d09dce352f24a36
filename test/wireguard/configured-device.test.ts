import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfiguredDevice } from '../../src/wireguard/configured-device.ts';
import type { DeviceChange } from '../../src/wireguard/types.ts';

const PRIVATE = 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=';
const A = 'XoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=';
const B = '7FtuVdfSnMr86+PJ6UX8J0K0GYVY99jq9z07U+qCEGc=';

function after(...changes: DeviceChange[]): ConfiguredDevice {
  const device = new ConfiguredDevice();
  for (const change of changes) device.apply(change);
  return device;
}

describe('ConfiguredDevice.apply', () => {
  it('adds, updates field by field and removes peers', () => {
    const device = after({
      privateKey: PRIVATE,
      listenPort: 51820,
      peers: [{ publicKey: A, endpoint: '198.18.0.2:1', replaceAllowedIPs: ['10.0.1.0/24'], persistentKeepaliveSeconds: 25 }],
    });
    const before = device.peers.get(A);
    device.apply({ peers: [{ publicKey: A, endpoint: '198.18.0.3:1' }] });
    assert.deepEqual(device.peers.get(A), { publicKey: A, endpoint: '198.18.0.3:1', allowedIPs: ['10.0.1.0/24'], persistentKeepaliveSeconds: 25 });
    assert.equal(before?.endpoint, '198.18.0.2:1', 'a peer read before a change is not changed under its reader');
    assert.equal(device.privateKey, PRIVATE);
    assert.equal(device.listenPort, 51820);
    device.apply({ peers: [{ publicKey: A, remove: true }] });
    assert.equal(device.peers.size, 0);
  });

  it('moves an allowed IP given to another peer, as WireGuard does', () => {
    const device = after({
      peers: [
        { publicKey: A, replaceAllowedIPs: ['10.0.1.0/24', '10.0.2.0/24'] },
        { publicKey: B, replaceAllowedIPs: ['10.0.2.0/24'] },
      ],
    });
    assert.deepEqual(device.peers.get(A)!.allowedIPs, ['10.0.1.0/24']);
    assert.deepEqual(device.peers.get(B)!.allowedIPs, ['10.0.2.0/24']);
    // Once given up, an address stays with its new owner even if A's list is rewritten without it.
    device.apply({ peers: [{ publicKey: A, replaceAllowedIPs: ['10.0.3.0/24'] }] });
    assert.deepEqual(device.peers.get(B)!.allowedIPs, ['10.0.2.0/24']);
    // A removed peer's addresses are free: another peer taking one later takes it from nobody.
    device.apply({ peers: [{ publicKey: B, remove: true }, { publicKey: A, replaceAllowedIPs: ['10.0.3.0/24', '10.0.2.0/24'] }] });
    assert.deepEqual(device.peers.get(A)!.allowedIPs, ['10.0.3.0/24', '10.0.2.0/24']);
  });
});

describe('ConfiguredDevice.restoringChange', () => {
  it('rebuilds the same configuration on an empty device', () => {
    const device = after({
      privateKey: PRIVATE,
      listenPort: 51820,
      peers: [
        { publicKey: A, endpoint: '198.18.0.2:1', replaceAllowedIPs: ['10.0.1.0/24'], persistentKeepaliveSeconds: 25 },
        { publicKey: B, replaceAllowedIPs: ['fd00:4::/64'], persistentKeepaliveSeconds: 0 },
      ],
    });
    const change = device.restoringChange();
    assert.deepEqual(change, {
      privateKey: PRIVATE,
      listenPort: 51820,
      peers: [
        { publicKey: A, endpoint: '198.18.0.2:1', replaceAllowedIPs: ['10.0.1.0/24'], persistentKeepaliveSeconds: 25 },
        { publicKey: B, replaceAllowedIPs: ['fd00:4::/64'], persistentKeepaliveSeconds: 0 },
      ],
    });
    assert.deepEqual(after(change).restoringChange(), change);
  });

  it('comes from an observed device too', () => {
    const device = ConfiguredDevice.fromObserved(
      {
        name: 'wg0',
        publicKey: null,
        listenPort: 1,
        peers: [{ publicKey: A, endpoint: null, allowedIPs: ['10.0.0.0/24'], persistentKeepaliveSeconds: 5, lastHandshakeSeconds: 9, receiveBytes: 9, transmitBytes: 9 }],
      },
      PRIVATE,
    );
    assert.deepEqual(device.restoringChange(), {
      privateKey: PRIVATE,
      listenPort: 1,
      peers: [{ publicKey: A, replaceAllowedIPs: ['10.0.0.0/24'], persistentKeepaliveSeconds: 5 }],
    });
  });
});
