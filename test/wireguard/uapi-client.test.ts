import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { UapiClient } from '../../src/wireguard/uapi-client.ts';
import { ChangeRejectedError } from '../../src/wireguard/types.ts';
import { uapiConfigFingerprint } from '../../src/wireguard/uapi-protocol.ts';

const A = 'XoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=';
const A_HEX = '5e8519878a5fd399b3f4a9c16c2232da715e1c0ea74f865c822642bc69ef9037';

/** A UAPI socket that records requests and answers with `respond` (split into pieces to exercise reassembly), then `lastChunk` apart. */
async function fakeSocket(t: TestContext, device: string, respond: (request: string) => string | null, lastChunk = '') {
  const directory = await mkdtemp(path.join(tmpdir(), 'cw-uapi-'));
  const requests: string[] = [];
  const server = createServer((socket: Socket) => {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (!buffer.endsWith('\n\n')) return;
      requests.push(buffer);
      const response = respond(buffer);
      buffer = '';
      if (response === null) {
        socket.end();
        return;
      }
      const middle = Math.floor(response.length / 2);
      socket.write(response.slice(0, middle));
      setImmediate(() => {
        socket.write(response.slice(middle));
        if (lastChunk !== '') setTimeout(() => socket.write(lastChunk), 5);
      });
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(path.join(directory, `${device}.sock`), resolve));
  t.after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(directory, { recursive: true, force: true });
  });
  return { directory, requests };
}

describe('UapiClient', () => {
  it('reads a device with get=1', async (t) => {
    const { directory, requests } = await fakeSocket(t, 'wg0', () =>
      `listen_port=51820\npublic_key=${A_HEX}\nendpoint=198.18.0.2:51820\npersistent_keepalive_interval=25\nallowed_ip=10.0.0.0/24\nerrno=0\n\n`,
    );
    const device = await new UapiClient(directory).device('wg0');
    assert.deepEqual(requests, ['get=1\n\n']);
    assert.equal(device.listenPort, 51820);
    assert.deepEqual(device.peers.map((peer) => [peer.publicKey, peer.endpoint, peer.allowedIPs]), [
      [A, '198.18.0.2:51820', ['10.0.0.0/24']],
    ]);
  });

  it('read(): the key and port at once, one fingerprint for the same configuration, the peers parsed on demand; a last newline alone in its chunk', async (t) => {
    let rx = 0;
    const { directory } = await fakeSocket(t, 'wg0', () => {
      rx += 100;
      return `listen_port=51820\npublic_key=${A_HEX}\nendpoint=198.18.0.2:51820\nrx_bytes=${rx}\nallowed_ip=10.0.0.0/24\nerrno=0\n`;
    }, '\n');
    const client = new UapiClient(directory);
    const first = await client.read('wg0');
    const second = await client.read('wg0');
    assert.equal(first.listenPort, 51820);
    assert.equal(first.publicKey, null);
    assert.equal(first.configFingerprint, second.configFingerprint, 'only a counter changed');
    assert.deepEqual(second.device().peers.map((peer) => [peer.publicKey, peer.receiveBytes]), [[A, 200]]);
    assert.equal(second.device(), second.device(), 'parsed once');
  });

  it('reads a reply many socket reads long whole, as the fingerprint and the parse of the same bytes give', async (t) => {
    const hex = (k: number) => k.toString(16).padStart(64, '0');
    const peers = Array.from({ length: 5_000 }, (_, k) => `public_key=${hex(k + 1)}\nendpoint=198.18.${k >> 8}.${k & 255}:51820\nallowed_ip=10.${k >> 8}.${k & 255}.0/24\nrx_bytes=0\n`);
    const reply = `listen_port=51820\n${peers.join('')}errno=0\n\n`;
    assert.ok(reply.length > 8 * 64 * 1024, 'longer than several reads');
    const { directory } = await fakeSocket(t, 'wg0', () => reply);
    const read = await new UapiClient(directory).read('wg0');
    assert.equal(read.configFingerprint, uapiConfigFingerprint(Buffer.from(reply)));
    const device = read.device();
    assert.equal(device.peers.length, 5_000);
    assert.deepEqual(device.peers[4_999]?.allowedIPs, ['10.19.135.0/24']);
  });

  it('two reads at once each get their own buffer; a read parsed after the next read reused its buffer fails loudly', async (t) => {
    let n = 0;
    const { directory } = await fakeSocket(t, 'wg0', () => `listen_port=${51820 + n++}\npublic_key=${A_HEX}\nallowed_ip=10.0.${n}.0/24\nerrno=0\n\n`);
    const client = new UapiClient(directory);
    const [a, b] = await Promise.all([client.read('wg0'), client.read('wg0')]);
    assert.notEqual(a.listenPort, b.listenPort);
    assert.deepEqual(new Set([a.device().peers[0]?.allowedIPs[0], b.device().peers[0]?.allowedIPs[0]]), new Set(['10.0.1.0/24', '10.0.2.0/24']));

    const early = await client.read('wg0');
    await client.read('wg0');
    assert.throws(() => early.device(), /UAPI read of wg0 was parsed after its buffer was reused/);
  });

  it('read() fails on an errno like device()', async (t) => {
    const { directory } = await fakeSocket(t, 'wg0', () => 'errno=19\n\n');
    await assert.rejects(new UapiClient(directory).read('wg0'), { message: 'UAPI get on wg0 answered errno ENODEV (19)' });
  });

  it('sends set=1 and accepts errno=0', async (t) => {
    const { directory, requests } = await fakeSocket(t, 'wg0', () => 'errno=0\n\n');
    await new UapiClient(directory).configure('wg0', { peers: [{ publicKey: A, remove: true }] });
    assert.deepEqual(requests, [`set=1\npublic_key=${A_HEX}\nremove=true\n\n`]);
  });

  it('sends nothing for an empty change', async (t) => {
    const { directory, requests } = await fakeSocket(t, 'wg0', () => 'errno=0\n\n');
    await new UapiClient(directory).configure('wg0', { peers: [] });
    assert.deepEqual(requests, []);
  });

  it('turns an errno into a refusal naming the device and the errno', async (t) => {
    const { directory } = await fakeSocket(t, 'wg0', () => 'errno=-22\n\n');
    await assert.rejects(new UapiClient(directory).configure('wg0', { listenPort: 1, peers: [] }), (error: Error) => {
      assert.ok(error instanceof ChangeRejectedError, 'the device answered: a refusal, worth splitting the batch');
      assert.match(error.message, /UAPI set on wg0 \(0 peer changes\) answered errno EINVAL \(22\)/);
      return true;
    });
  });

  it('fails with the socket path when nothing listens (not a refusal)', async () => {
    const directory = path.join(tmpdir(), `cw-uapi-missing-${process.pid}`);
    await assert.rejects(new UapiClient(directory).configure('wg9', { listenPort: 1, peers: [] }), (error: Error) => !(error instanceof ChangeRejectedError));
    await assert.rejects(new UapiClient(directory).device('wg9'), (error: Error) => {
      assert.match(error.message, new RegExp(`UAPI get on wg9 via ${directory}/wg9\\.sock failed`));
      assert.match(String((error.cause as Error).message), /ENOENT/);
      return true;
    });
  });

  it('fails when the connection closes mid-response', async (t) => {
    const { directory } = await fakeSocket(t, 'wg0', () => null);
    await assert.rejects(new UapiClient(directory).device('wg0'), (error: Error) => {
      assert.match((error.cause as Error).message, /closed before the response ended/);
      return true;
    });
  });

  it('times out on a silent socket', async (t) => {
    const { directory } = await fakeSocket(t, 'wg0', () => '');
    await assert.rejects(new UapiClient(directory, 100).device('wg0'), (error: Error) => {
      assert.match((error.cause as Error).message, /no complete response within 100 ms/);
      return true;
    });
  });
});
