import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeErrno, parseUapiGet, parseUapiInterface, uapiConfigFingerprint, uapiErrno, uapiInterfaceText, uapiSetRequest } from '../../src/wireguard/uapi-protocol.ts';

const PRIVATE = 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=';
const PRIVATE_HEX = '60fee2e1d9a6d11bcc90412a0d7588841a1e92f158c988eb8c2d38a806e3596e';
const PUBLIC = 'F+TIJYHDLqEbKG4QNWfvpwgKcRSAoSeWlAvDqxnYAEA=';
const A = 'XoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=';
const A_HEX = '5e8519878a5fd399b3f4a9c16c2232da715e1c0ea74f865c822642bc69ef9037';
const B = '7FtuVdfSnMr86+PJ6UX8J0K0GYVY99jq9z07U+qCEGc=';
const B_HEX = 'ec5b6e55d7d29ccafcebe3c9e945fc2742b4198558f7d8eaf73d3b53ea821067';

describe('uapiSetRequest', () => {
  it('is null for an empty change', () => {
    assert.equal(uapiSetRequest({ peers: [] }), null);
  });

  it('writes the key and port in hex and decimal', () => {
    assert.equal(
      uapiSetRequest({ privateKey: PRIVATE, listenPort: 51820, peers: [] }),
      `set=1\nprivate_key=${PRIVATE_HEX}\nlisten_port=51820\n\n`,
    );
  });

  it('writes an added peer, an update and a removal', () => {
    const request = uapiSetRequest({
      peers: [
        { publicKey: A, remove: true },
        {
          publicKey: B,
          endpoint: '[fd00:1::2]:51820',
          persistentKeepaliveSeconds: 25,
          replaceAllowedIPs: ['10.4.1.0/24', 'fd00:4:0:1::/64'],
        },
        { publicKey: A, endpoint: '198.18.0.2:51820' },
        { publicKey: B, persistentKeepaliveSeconds: 0, replaceAllowedIPs: [] },
      ],
    });
    assert.equal(
      request,
      [
        'set=1',
        `public_key=${A_HEX}`,
        'remove=true',
        `public_key=${B_HEX}`,
        'endpoint=[fd00:1::2]:51820',
        'persistent_keepalive_interval=25',
        'replace_allowed_ips=true',
        'allowed_ip=10.4.1.0/24',
        'allowed_ip=fd00:4:0:1::/64',
        `public_key=${A_HEX}`,
        'endpoint=198.18.0.2:51820',
        `public_key=${B_HEX}`,
        'persistent_keepalive_interval=0',
        'replace_allowed_ips=true',
        '',
        '',
      ].join('\n'),
    );
  });
});

describe('uapiErrno', () => {
  it('reads success and failure', () => {
    assert.equal(uapiErrno('errno=0\n\n'), 0);
    assert.equal(uapiErrno('listen_port=1\nerrno=0\n\n'), 0);
    assert.equal(uapiErrno('errno=-22\n\n'), -22);
  });

  it('rejects a response without errno', () => {
    assert.throws(() => uapiErrno('listen_port=1\n'), /does not end with errno/);
  });

  it('names errno values', () => {
    assert.equal(describeErrno(-22), 'EINVAL (22)');
    assert.equal(describeErrno(-98), 'EADDRINUSE (98)');
  });
});

describe('parseUapiGet', () => {
  it('parses what wireguard-go answers (captured), deriving the public key', () => {
    const response = [
      `private_key=${PRIVATE_HEX}`,
      'listen_port=51820',
      `public_key=${A_HEX}`,
      'preshared_key=0000000000000000000000000000000000000000000000000000000000000000',
      'protocol_version=1',
      'endpoint=198.18.0.2:51820',
      'last_handshake_time_sec=1700000000',
      'last_handshake_time_nsec=5',
      'tx_bytes=92',
      'rx_bytes=148',
      'persistent_keepalive_interval=25',
      'allowed_ip=10.9.0.0/24',
      'allowed_ip=fd00:9::/64',
      `public_key=${B_HEX}`,
      'preshared_key=0000000000000000000000000000000000000000000000000000000000000000',
      'protocol_version=1',
      'last_handshake_time_sec=0',
      'last_handshake_time_nsec=0',
      'tx_bytes=0',
      'rx_bytes=0',
      'persistent_keepalive_interval=0',
      'errno=0',
      '',
      '',
    ].join('\n');
    assert.deepEqual(parseUapiGet('wg-c2', response), {
      name: 'wg-c2',
      publicKey: PUBLIC,
      listenPort: 51820,
      peers: [
        {
          publicKey: A,
          endpoint: '198.18.0.2:51820',
          allowedIPs: ['10.9.0.0/24', 'fd00:9::/64'],
          persistentKeepaliveSeconds: 25,
          lastHandshakeSeconds: 1700000000,
          receiveBytes: 148,
          transmitBytes: 92,
        },
        {
          publicKey: B,
          endpoint: null,
          allowedIPs: [],
          persistentKeepaliveSeconds: 0,
          lastHandshakeSeconds: 0,
          receiveBytes: 0,
          transmitBytes: 0,
        },
      ],
    });
  });

  it('parses a device without key or port', () => {
    assert.deepEqual(parseUapiGet('wg0', 'errno=0\n\n'), { name: 'wg0', publicKey: null, listenPort: 0, peers: [] });
  });

  it('fails on an errno, with its name', () => {
    assert.throws(() => parseUapiGet('wg0', 'errno=-5\n\n'), /UAPI get on wg0 answered errno EIO \(5\)/);
  });

  it('fails on a malformed line or number, saying where, not what', () => {
    assert.throws(() => parseUapiGet('wg0', 'listen_port=1\ngarbage\nerrno=0\n\n'), { message: "UAPI get on wg0: line 2 has no '=' (7 characters)" });
    assert.throws(() => parseUapiGet('wg0', 'listen_port=x1\nerrno=0\n\n'), { message: 'UAPI get on wg0: listen_port is not a number (2 characters)' });
  });
});

describe('no UAPI error quotes the reply: a get reply holds the private key', () => {
  const privateKeyLine = `private_key=${PRIVATE_HEX}`;
  // Each reply is broken in one way, with the private key somewhere in it.
  const replies: [name: string, reply: string][] = [
    ['cut off before errno', `${privateKeyLine}\nlisten_port=51820\n`],
    ['the key at the very end, no errno', `listen_port=51820\n${privateKeyLine}`],
    ['errno not last', `errno=0\n${privateKeyLine}\n\n`],
    ['a line without =', `${privateKeyLine}\n${PRIVATE_HEX}\nerrno=0\n\n`],
    ['the key in a number field', `${privateKeyLine}\nlisten_port=${PRIVATE_HEX}\nerrno=0\n\n`],
    ['the key in a peer counter', `${privateKeyLine}\npublic_key=${A_HEX}\nrx_bytes=${PRIVATE_HEX}\nerrno=0\n\n`],
    ['a truncated private key', `private_key=${PRIVATE_HEX.slice(0, 40)}\nerrno=0\n\n`],
  ];
  // Any 8 characters of the key, in hex or base64, would be a leak.
  const fragments = (text: string) => Array.from({ length: text.length - 7 }, (_, i) => text.slice(i, i + 8));
  const secrets = [...fragments(PRIVATE_HEX), ...fragments(PRIVATE)];

  for (const [name, reply] of replies) {
    it(name, () => {
      const error = (() => {
        try {
          parseUapiGet('wg0', reply);
        } catch (caught) {
          return caught as Error;
        }
        return assert.fail('expected an error');
      })();
      assert.match(error.message, /^(UAPI|not a 32-byte hex key)/);
      const leaked = secrets.filter((secret) => error.message.includes(secret) || String(error.stack).includes(secret));
      assert.deepEqual(leaked, [], error.message);
    });
  }

  it('describes a reply without errno by its size only', () => {
    assert.throws(() => uapiErrno(`${privateKeyLine}\nlisten_port=51820\n`), { message: 'UAPI response does not end with errno (95 characters, 2 line breaks)' });
  });
});

describe('uapiConfigFingerprint', () => {
  /** A captured-shape get reply: the private key, the port, and one peer with runtime fields. */
  const reply = (fields: { port?: number; endpoint?: string; keepalive?: number; allowed?: string[]; handshake?: number; rx?: number; tx?: number; peers?: string[] } = {}) =>
    Buffer.from(
      [
        `private_key=${PRIVATE_HEX}`,
        `listen_port=${fields.port ?? 51820}`,
        ...(fields.peers ?? [A_HEX]).flatMap((key) => [
          `public_key=${key}`,
          'preshared_key=0000000000000000000000000000000000000000000000000000000000000000',
          'protocol_version=1',
          `endpoint=${fields.endpoint ?? '198.18.0.2:51820'}`,
          `last_handshake_time_sec=${fields.handshake ?? 0}`,
          `last_handshake_time_nsec=${fields.handshake ?? 0}`,
          `tx_bytes=${fields.tx ?? 0}`,
          `rx_bytes=${fields.rx ?? 0}`,
          `persistent_keepalive_interval=${fields.keepalive ?? 25}`,
          ...(fields.allowed ?? ['10.9.0.0/24']).map((cidr) => `allowed_ip=${cidr}`),
        ]),
        'errno=0',
        '',
        '',
      ].join('\n'),
    );
  const base = uapiConfigFingerprint(reply());

  it('is the same for the same configuration whatever the handshakes and counters', () => {
    assert.equal(uapiConfigFingerprint(reply({ handshake: 1700000000, rx: 123456, tx: 98765 })), base);
    assert.match(base, /^[0-9a-f]{32}$/);
  });

  const differences: [string, Buffer][] = [
    ['another listen port', reply({ port: 51821 })],
    ['another endpoint (a roam)', reply({ endpoint: '198.18.0.3:51820' })],
    ['another keepalive', reply({ keepalive: 0 })],
    ['another allowed IP', reply({ allowed: ['10.9.1.0/24'] })],
    ['one more allowed IP', reply({ allowed: ['10.9.0.0/24', 'fd00:9::/64'] })],
    ['another peer key', reply({ peers: [B_HEX] })],
    ['one more peer', reply({ peers: [A_HEX, B_HEX] })],
    ['no peer', reply({ peers: [] })],
  ];
  for (const [what, changed] of differences) {
    it(`differs for ${what}`, () => assert.notEqual(uapiConfigFingerprint(changed), base));
  }

  it('is the same for the same peers in another order (wireguard-go lists them in Go map order, new at each read)', () => {
    assert.equal(uapiConfigFingerprint(reply({ peers: [A_HEX, B_HEX] })), uapiConfigFingerprint(reply({ peers: [B_HEX, A_HEX] })));
  });

  it('is the same for 200 peers in shuffled orders, and differs when one line of one peer changes', () => {
    const peers = Array.from({ length: 200 }, (_, i) => [
      `public_key=${i.toString(16).padStart(64, '0')}`,
      `endpoint=198.18.${i >> 8}.${i & 255}:51820`,
      `last_handshake_time_sec=${i}`,
      `rx_bytes=${i * 7}`,
      'persistent_keepalive_interval=25',
      `allowed_ip=10.${i}.0.0/24`,
    ]);
    const device = (blocks: string[][]) => Buffer.from([`private_key=${PRIVATE_HEX}`, 'listen_port=51820', ...blocks.flat(), 'errno=0', '', ''].join('\n'));
    const base = uapiConfigFingerprint(device(peers));
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let round = 0; round < 5; round++) {
      const shuffled = [...peers].sort(() => random() - 0.5);
      assert.equal(uapiConfigFingerprint(device(shuffled)), base);
    }
    const changed = peers.map((lines, i) => (i === 137 ? lines.map((line) => line.replace('/24', '/25')) : lines));
    assert.notEqual(uapiConfigFingerprint(device(changed)), base);
  });

  it("tells apart two peers that swapped their settings (each peer's lines are hashed with its key)", () => {
    const peerLines = (key: string, endpoint: string) => [`public_key=${key}`, `endpoint=${endpoint}`, 'allowed_ip=10.9.0.0/24'];
    const device = (...peers: string[][]) => Buffer.from([`private_key=${PRIVATE_HEX}`, 'listen_port=51820', ...peers.flat(), 'errno=0', '', ''].join('\n'));
    const before = device(peerLines(A_HEX, '198.18.0.2:51820'), peerLines(B_HEX, '198.18.0.3:51820'));
    const swapped = device(peerLines(A_HEX, '198.18.0.3:51820'), peerLines(B_HEX, '198.18.0.2:51820'));
    assert.notEqual(uapiConfigFingerprint(swapped), uapiConfigFingerprint(before));
  });

  it('tells a peer counted twice from one peer (duplicate blocks do not cancel out)', () => {
    assert.notEqual(uapiConfigFingerprint(reply({ peers: [A_HEX, A_HEX] })), uapiConfigFingerprint(reply({ peers: [] })));
    assert.notEqual(uapiConfigFingerprint(reply({ peers: [A_HEX, A_HEX] })), uapiConfigFingerprint(reply({ peers: [A_HEX] })));
  });
});

describe('parseUapiInterface and uapiInterfaceText', () => {
  it('read the key and port before the first peer and nothing after it', () => {
    const response = Buffer.from(`private_key=${PRIVATE_HEX}\nlisten_port=51820\npublic_key=${A_HEX}\nlisten_port=1\nerrno=0\n\n`);
    const text = uapiInterfaceText(response);
    assert.equal(text, `private_key=${PRIVATE_HEX}\nlisten_port=51820`);
    assert.deepEqual(parseUapiInterface('wg0', text), { publicKey: PUBLIC, listenPort: 51820 });
  });

  it('read a device without peers, key or port', () => {
    assert.deepEqual(parseUapiInterface('wg0', uapiInterfaceText(Buffer.from('errno=0\n\n'))), { publicKey: null, listenPort: 0 });
  });
});
