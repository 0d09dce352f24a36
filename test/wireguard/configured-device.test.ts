import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyDeviceChange,
  configuredFromObserved,
  EMPTY_CONFIGURED_DEVICE,
  restoringChange,
} from '../../src/wireguard/configured-device.ts';

const PRIVATE = 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=';
const A = 'XoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=';
const B = '7FtuVdfSnMr86+PJ6UX8J0K0GYVY99jq9z07U+qCEGc=';

describe('applyDeviceChange', () => {
  it('adds, updates field by field and removes peers, without touching the input', () => {
    const start = applyDeviceChange(EMPTY_CONFIGURED_DEVICE, {
      privateKey: PRIVATE,
      listenPort: 51820,
      peers: [{ publicKey: A, endpoint: '198.18.0.2:1', replaceAllowedIPs: ['10.0.1.0/24'], persistentKeepaliveSeconds: 25 }],
    });
    const updated = applyDeviceChange(start, { peers: [{ publicKey: A, endpoint: '198.18.0.3:1' }] });
    assert.deepEqual(updated.peers.get(A), {
      publicKey: A,
      endpoint: '198.18.0.3:1',
      allowedIPs: ['10.0.1.0/24'],
      persistentKeepaliveSeconds: 25,
    });
    assert.equal(start.peers.get(A)!.endpoint, '198.18.0.2:1');
    assert.equal(updated.privateKey, PRIVATE);
    assert.equal(updated.listenPort, 51820);
    const removed = applyDeviceChange(updated, { peers: [{ publicKey: A, remove: true }] });
    assert.equal(removed.peers.size, 0);
    assert.equal(EMPTY_CONFIGURED_DEVICE.peers.size, 0);
  });

  it('moves an allowed IP given to another peer, as WireGuard does', () => {
    const both = applyDeviceChange(EMPTY_CONFIGURED_DEVICE, {
      peers: [
        { publicKey: A, replaceAllowedIPs: ['10.0.1.0/24', '10.0.2.0/24'] },
        { publicKey: B, replaceAllowedIPs: ['10.0.2.0/24'] },
      ],
    });
    assert.deepEqual(both.peers.get(A)!.allowedIPs, ['10.0.1.0/24']);
    assert.deepEqual(both.peers.get(B)!.allowedIPs, ['10.0.2.0/24']);
    // Once given up, an address stays with its new owner even if A's list is rewritten without it.
    const rewritten = applyDeviceChange(both, { peers: [{ publicKey: A, replaceAllowedIPs: ['10.0.3.0/24'] }] });
    assert.deepEqual(rewritten.peers.get(B)!.allowedIPs, ['10.0.2.0/24']);
  });
});

describe('restoringChange', () => {
  it('rebuilds the same configuration on an empty device', () => {
    const device = applyDeviceChange(EMPTY_CONFIGURED_DEVICE, {
      privateKey: PRIVATE,
      listenPort: 51820,
      peers: [
        { publicKey: A, endpoint: '198.18.0.2:1', replaceAllowedIPs: ['10.0.1.0/24'], persistentKeepaliveSeconds: 25 },
        { publicKey: B, replaceAllowedIPs: ['fd00:4::/64'], persistentKeepaliveSeconds: 0 },
      ],
    });
    const change = restoringChange(device);
    assert.deepEqual(change, {
      privateKey: PRIVATE,
      listenPort: 51820,
      peers: [
        { publicKey: A, endpoint: '198.18.0.2:1', replaceAllowedIPs: ['10.0.1.0/24'], persistentKeepaliveSeconds: 25 },
        { publicKey: B, replaceAllowedIPs: ['fd00:4::/64'], persistentKeepaliveSeconds: 0 },
      ],
    });
    assert.deepEqual(applyDeviceChange(EMPTY_CONFIGURED_DEVICE, change), device);
  });

  it('comes from an observed device too', () => {
    const device = configuredFromObserved(
      {
        name: 'wg0',
        publicKey: null,
        listenPort: 1,
        peers: [
          {
            publicKey: A,
            endpoint: null,
            allowedIPs: ['10.0.0.0/24'],
            persistentKeepaliveSeconds: 5,
            lastHandshakeSeconds: 9,
            receiveBytes: 9,
            transmitBytes: 9,
          },
        ],
      },
      PRIVATE,
    );
    assert.deepEqual(restoringChange(device), {
      privateKey: PRIVATE,
      listenPort: 1,
      peers: [{ publicKey: A, replaceAllowedIPs: ['10.0.0.0/24'], persistentKeepaliveSeconds: 5 }],
    });
  });
});
