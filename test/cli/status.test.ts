import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { statusCommand, statusURL } from '../../src/cli/status.ts';
import { formatStatusReport } from '../../src/cli/status-table.ts';
import { buildHttpServer } from '../../src/server/http-server.ts';
import type { StatusReport } from '../../src/server/status-report.ts';
import { remoteStatus } from '../peering/status-fixtures.ts';

const now = Date.UTC(2026, 0, 1);
const peer = { publicKey: 'PEER1=', endpoint: '198.18.0.3:51821', allowedIPs: ['10.4.1.0/24'], persistentKeepaliveSeconds: 25, lastHandshakeSeconds: now / 1000 - 12, receiveBytes: 2048, transmitBytes: 10 };

test('formatStatusReport shows device, key, watch, peers and skipped nodes', () => {
  const report: StatusReport = {
    generatedAt: new Date(now).toISOString(),
    devicesReadAt: new Date(now - 500).toISOString(),
    remotes: [
      { ...remoteStatus({ lastSyncAt: now - 3000, skipped: [{ node: 'n9', reason: 'bad-public-key', peered: false, detail: 'pubKey annotation is not a base64 WireGuard key of 32 bytes' }] }), devicePeers: [peer], deviceError: null },
      {
        ...remoteStatus({
          remote: 'c3',
          device: 'wireguard.c3',
          watch: { state: 'disconnected', lastError: 'connect ECONNREFUSED' },
          source: { kind: 'slices', namespace: 'clusterwire', slices: 2, ignoredEntries: 0, publisher: { holder: 'mirror-a', renewedAt: now - 4000, readAt: now - 1000, lastError: null } },
        }),
        devicePeers: null,
        deviceError: 'no such device',
      },
    ],
  };
  const text = formatStatusReport(report, now);
  assert.match(text, /remote c2 {2}device wireguard.c2 {2}port 51820 {2}up/);
  assert.match(text, /public key {2}pub/);
  assert.match(text, /last sync {3}3s ago/);
  assert.match(text, /PEER +ENDPOINT +ALLOWED IPS +HANDSHAKE +RX +TX/);
  assert.match(text, /PEER1= +198\.18\.0\.3:51821 +10\.4\.1\.0\/24 +12s ago +2\.0 KiB +10 B/);
  assert.match(text, /skipped node n9: bad-public-key/);
  assert.match(text, /watch +disconnected \(connect ECONNREFUSED\)/);
  assert.match(text, /device +cannot be read: no such device/);
  assert.match(text, /source +the remote's Nodes/);
  assert.match(text, /source +PeerSlices in clusterwire \(2 slices\); publisher mirror-a, renewed 4s ago/);
});

test('statusURL asks loopback when the daemon listens everywhere', () => {
  assert.equal(statusURL({ host: '', port: 7773 }), 'http://127.0.0.1:7773/status');
  assert.equal(statusURL({ host: '::', port: 7773 }), 'http://[::1]:7773/status');
  assert.equal(statusURL({ host: '198.18.0.2', port: 80 }), 'http://198.18.0.2:80/status');
});

test('clusterwire status reads a live /status and exits 0; 1 when nothing listens', async (t) => {
  const app = buildHttpServer({ statuses: () => [remoteStatus()], readDevice: () => Promise.resolve({ name: 'wireguard.c2', publicKey: 'pub', listenPort: 51820, peers: [peer] }) }, new Registry());
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const out = new PassThrough();
  const err = new PassThrough();
  const code = await statusCommand.execute({ listenAddress: { host: '127.0.0.1', port } }, { stdout: out, stderr: err });
  assert.equal(code, 0);
  assert.match(String(out.read()), /PEER1= +198\.18\.0\.3:51821/);

  await app.close();
  const code2 = await statusCommand.execute({ listenAddress: { host: '127.0.0.1', port } }, { stdout: out, stderr: err });
  assert.equal(code2, 1);
  assert.match(String(err.read()), /cannot read http:\/\/127.0.0.1:\d+\/status/);
});
