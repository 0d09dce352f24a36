import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADOPTED, DeviceState, LIVE_SESSION_SECONDS } from '../../src/wireguard/device-state.ts';
import { parsedDeviceRead } from '../../src/wireguard/device-read.ts';
import type { DeviceRead, ObservedDevice, ObservedPeer } from '../../src/wireguard/types.ts';

const PRIVATE = 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=';
const A = 'XoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=';
const B = '7FtuVdfSnMr86+PJ6UX8J0K0GYVY99jq9z07U+qCEGc=';
const C = 'F+TIJYHDLqEbKG4QNWfvpwgKcRSAoSeWlAvDqxnYAEA=';
const NOW_MS = 1_800_000_000_000;

function peer(publicKey: string, endpoint: string | null, lastHandshakeSeconds: number): ObservedPeer {
  return { publicKey, endpoint, allowedIPs: ['10.4.1.0/24'], persistentKeepaliveSeconds: 25, lastHandshakeSeconds, receiveBytes: 0, transmitBytes: 0 };
}

/** The keys the state knows on the device; null while unknown. (A function: `assert.equal(state.peers, null)` narrows the property for good.) */
function keysOn(state: DeviceState): string[] | null {
  const peers = state.peers;
  return peers === null ? null : [...peers.keys()];
}

function device(...peers: ObservedPeer[]): ObservedDevice {
  return { name: 'wg-c2', publicKey: null, listenPort: 51821, peers };
}

describe('DeviceState', () => {
  it('is unknown until read, follows accepted changes, and is unknown again after a failed one', () => {
    const state = new DeviceState(PRIVATE);
    assert.equal(state.peers, null);
    state.read(parsedDeviceRead(device(peer(A, '198.18.0.1:51820', 0)), null), null);
    assert.deepEqual(keysOn(state), [A]);
    state.applied({ peers: [{ publicKey: B, endpoint: '198.18.0.2:51820', replaceAllowedIPs: ['10.4.2.0/24'] }, { publicKey: A, remove: true }] });
    assert.deepEqual(keysOn(state), [B]);
    state.unknown();
    assert.equal(state.peers, null);
  });

  it('restores what it last knew, stale or not, with its own private key', () => {
    const state = new DeviceState(PRIVATE);
    state.read(parsedDeviceRead(device(peer(A, '198.18.0.1:51820', 0)), null), null);
    state.unknown();
    assert.deepEqual(state.restoringChange(), {
      privateKey: PRIVATE,
      listenPort: 51821,
      peers: [{ publicKey: A, endpoint: '198.18.0.1:51820', replaceAllowedIPs: ['10.4.1.0/24'], persistentKeepaliveSeconds: 25 }],
    });
  });

  it('on the first read of an adopted device, a peer in a live session keeps its endpoint (ADOPTED); no others', () => {
    const state = new DeviceState(PRIVATE);
    const now = NOW_MS / 1000;
    state.recordEndpoints(new Map([[C, '198.18.0.3:51820']]));
    state.read(
      parsedDeviceRead(device(
        peer(A, '203.0.113.7:4000', now - 30),
        peer(B, '203.0.113.8:4000', now - LIVE_SESSION_SECONDS - 1),
        peer(C, '203.0.113.9:4000', now - 30),
        peer(Buffer.alloc(32, 7).toString('base64'), null, now - 30),
        peer(Buffer.alloc(32, 8).toString('base64'), '203.0.113.10:4000', 0),
      ), null),
      NOW_MS,
    );
    assert.deepEqual(
      state.appliedEndpoints,
      new Map<string, string | typeof ADOPTED>([
        [C, '198.18.0.3:51820'],
        [A, ADOPTED],
      ]),
      'live: A; B too old, C already known, no endpoint, never a handshake',
    );
  });

  it('records and forgets applied endpoints', () => {
    const state = new DeviceState(PRIVATE);
    state.recordEndpoints(new Map([[A, '198.18.0.1:51820'], [B, '198.18.0.2:51820']]));
    state.recordEndpoints(new Map([[A, null]]));
    assert.deepEqual(state.appliedEndpoints, new Map([[B, '198.18.0.2:51820']]));
  });

  it('a read that finds the peers as the state has them says so and keeps the same model; any difference, or an unknown state, is a change', () => {
    const state = new DeviceState(PRIVATE);
    state.read(parsedDeviceRead(device(peer(A, '198.18.0.1:51820', 0)), null), null);
    assert.equal(state.lastReadChanged, true, 'first read');
    const model = state.peers;
    // Handshakes and counters are not configuration: the idle tick's case.
    state.read(parsedDeviceRead(device({ ...peer(A, '198.18.0.1:51820', 0), lastHandshakeSeconds: 5, receiveBytes: 9 }), null), null);
    assert.equal(state.lastReadChanged, false);
    assert.equal(state.peers, model);
    const differences: [string, ObservedDevice][] = [
      ['a peer removed by hand', device()],
      ['a peer added by hand', device(peer(A, '198.18.0.1:51820', 0), peer(B, null, 0))],
      ['a roamed endpoint', device(peer(A, '198.18.0.9:51820', 0))],
      ['another keepalive', device({ ...peer(A, '198.18.0.1:51820', 0), persistentKeepaliveSeconds: 0 })],
      ['another allowed IP', device({ ...peer(A, '198.18.0.1:51820', 0), allowedIPs: ['10.4.9.0/24'] })],
      ['one more allowed IP', device({ ...peer(A, '198.18.0.1:51820', 0), allowedIPs: ['10.4.1.0/24', 'fd00:4::/64'] })],
    ];
    for (const [what, changed] of differences) {
      const fresh = new DeviceState(PRIVATE);
      fresh.read(parsedDeviceRead(device(peer(A, '198.18.0.1:51820', 0)), null), null);
      fresh.read(parsedDeviceRead(changed, null), null);
      assert.equal(fresh.lastReadChanged, true, what);
      assert.deepEqual(keysOn(fresh), changed.peers.map((p) => p.publicKey), what);
    }
    state.applied({ peers: [{ publicKey: A, endpoint: '198.18.0.2:51820' }] });
    state.read(parsedDeviceRead(device(peer(A, '198.18.0.2:51820', 0)), null), null);
    assert.equal(state.lastReadChanged, false, 'the device holds what was applied');
    state.unknown();
    state.read(parsedDeviceRead(device(peer(A, '198.18.0.2:51820', 0)), null), null);
    assert.equal(state.lastReadChanged, true, 'after a failed change the state is read again whatever it holds');
  });
  it('a read with the fingerprint it was last read from is not parsed; a change applied, a failure, an adoption or no fingerprint parse again', () => {
    let parses = 0;
    const counted = (observed: ObservedDevice, fingerprint: string | null): DeviceRead => ({
      ...parsedDeviceRead(observed, fingerprint),
      device: () => {
        parses++;
        return observed;
      },
    });
    const one = device(peer(A, '198.18.0.1:51820', 0));
    const state = new DeviceState(PRIVATE);
    state.read(counted(one, 'f1'), null);
    assert.equal(parses, 1, 'the first read');
    const model = state.peers;
    state.read(counted(one, 'f1'), null);
    assert.deepEqual([parses, state.lastReadChanged, state.peers === model], [1, false, true], 'same fingerprint: no parse, no change, same model');
    state.read(counted(device(peer(A, '198.18.0.9:51820', 0)), 'f2'), null);
    assert.deepEqual([parses, state.lastReadChanged], [2, true], 'another fingerprint: parsed, the roam found');
    state.read(counted(device(peer(A, '198.18.0.9:51820', 0)), 'f2'), null);
    assert.equal(parses, 2);

    state.applied({ peers: [] });
    state.read(counted(device(peer(A, '198.18.0.9:51820', 0)), 'f2'), null);
    assert.equal(parses, 2, 'an empty change changes nothing');
    state.applied({ peers: [{ publicKey: A, endpoint: '198.18.0.1:51820' }] });
    state.read(counted(one, 'f2'), null);
    assert.equal(parses, 3, 'after a change the state differs from that read: parsed whatever the fingerprint');
    state.unknown();
    state.read(counted(one, 'f1'), null);
    assert.equal(parses, 4, 'after a failed change');
    state.read(counted(one, 'f1'), NOW_MS);
    assert.equal(parses, 5, 'the first read of an adopted device looks at every session');
    state.read(counted(one, null), null);
    state.read(counted(one, null), null);
    assert.equal(parses, 7, 'a client without fingerprints');
  });
});
