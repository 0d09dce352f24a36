import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWgDump } from '../../src/wireguard/wg-dump.ts';

const PRIVATE = 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=';
const PUBLIC = 'F+TIJYHDLqEbKG4QNWfvpwgKcRSAoSeWlAvDqxnYAEA=';
const PEER_A = 'XoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=';
const PEER_B = '7FtuVdfSnMr86+PJ6UX8J0K0GYVY99jq9z07U+qCEGc=';
const PEER_C = 'ec5ubtfSnMr86+PJ6UX8J0K0GYVY99jq9z07U+qCEGc=';

describe('parseWgDump', () => {
  it('reads a device without peers (and drops the private key)', () => {
    const device = parseWgDump('wg-c2', `${PRIVATE}\t${PUBLIC}\t51820\toff\n`);
    assert.deepEqual(device, { name: 'wg-c2', publicKey: PUBLIC, listenPort: 51820, peers: [] });
    assert.ok(!JSON.stringify(device).includes(PRIVATE));
  });

  it('reads a device with no key yet', () => {
    assert.deepEqual(parseWgDump('wg0', '(none)\t(none)\t46775\toff\n'), {
      name: 'wg0',
      publicKey: null,
      listenPort: 46775,
      peers: [],
    });
  });

  it('reads one peer with every field set', () => {
    const text = `${PRIVATE}\t${PUBLIC}\t51821\t0x1234\n${PEER_A}\t(none)\t198.18.0.2:51820\t10.4.1.0/24,10.4.2.0/24\t1700000000\t1234\t5678\t25\n`;
    assert.deepEqual(parseWgDump('wg-c2', text).peers, [
      {
        publicKey: PEER_A,
        endpoint: '198.18.0.2:51820',
        allowedIPs: ['10.4.1.0/24', '10.4.2.0/24'],
        persistentKeepaliveSeconds: 25,
        lastHandshakeSeconds: 1700000000,
        receiveBytes: 1234,
        transmitBytes: 5678,
      },
    ]);
  });

  it('reads many peers: IPv6 endpoints and CIDRs, no endpoint, no allowed IPs, keepalive off', () => {
    const text = [
      `${PRIVATE}\t${PUBLIC}\t51820\toff`,
      `${PEER_A}\t(none)\t[fd00:1::2]:51820\t10.4.1.0/24,fd00:4:0:1::/64\t0\t0\t0\toff`,
      `${PEER_B}\t(none)\t(none)\t(none)\t0\t0\t0\t25`,
      `${PEER_C}\t(none)\t198.18.0.9:1\t10.4.9.0/24\t1\t2\t3\t65535`,
      '',
    ].join('\n');
    const { peers } = parseWgDump('wg-c2', text);
    assert.deepEqual(
      peers.map((peer) => [peer.publicKey, peer.endpoint, peer.allowedIPs, peer.persistentKeepaliveSeconds]),
      [
        [PEER_A, '[fd00:1::2]:51820', ['10.4.1.0/24', 'fd00:4:0:1::/64'], 0],
        [PEER_B, null, [], 25],
        [PEER_C, '198.18.0.9:1', ['10.4.9.0/24'], 65535],
      ],
    );
  });

  it('reads 5,000 peers', () => {
    const lines = [`${PRIVATE}\t${PUBLIC}\t51820\toff`];
    for (let i = 0; i < 5000; i += 1) {
      lines.push(`${PEER_A}\t(none)\t198.18.${i >> 8}.${i & 255}:51820\t10.${i >> 8}.${i & 255}.0/24\t0\t0\t0\t25`);
    }
    const started = performance.now();
    const device = parseWgDump('wg-c2', lines.join('\n'));
    const elapsed = performance.now() - started;
    assert.equal(device.peers.length, 5000);
    assert.equal(device.peers[4999]!.allowedIPs[0], '10.19.135.0/24');
    console.log(`# parsed a 5,000-peer dump in ${elapsed.toFixed(1)} ms`);
  });

  for (const [name, text, error] of [
    ['empty output', '', /printed nothing/],
    ['a short device line', `${PRIVATE}\t${PUBLIC}\n`, /device line has 2 fields/],
    ['a short peer line', `${PRIVATE}\t${PUBLIC}\t1\toff\n${PEER_A}\t(none)\n`, /line 2 has 2 fields/],
    ['a non-numeric port', `${PRIVATE}\t${PUBLIC}\tport\toff\n`, /listen port is not a number/],
    [
      'a non-numeric counter',
      `${PRIVATE}\t${PUBLIC}\t1\toff\n${PEER_A}\t(none)\t(none)\t(none)\t0\tx\t0\toff\n`,
      /transfer rx is not a number/,
    ],
  ] as const) {
    it(`rejects ${name}`, () => assert.throws(() => parseWgDump('wg-c2', text), error));
  }
});
