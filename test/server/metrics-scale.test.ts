/**
 * /metrics at 5,000 peers through the real server wiring with a fake device:
 * time, size and RSS growth go to the test output (t.diagnostic), not into
 * assertions (a shared, noisy machine). The target (docs/http-and-metrics.md):
 * a scrape under 50 ms and 10 MB of RSS growth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createMetrics, startCounters } from '../../src/metrics.ts';
import { buildHttpServer } from '../../src/server/http-server.ts';
import type { PeerMetricsMode } from '../../src/server/device-metrics.ts';
import type { ObservedDevice, ObservedPeer } from '../../src/wireguard/types.ts';
import { remoteStatus } from '../peering/status-fixtures.ts';

const PEERS = 5_000;
const NOW_S = 1_700_000_000;

function bigDevice(): ObservedDevice {
  const peers: ObservedPeer[] = Array.from({ length: PEERS }, (_, i) => ({
    // 44 characters, like a real base64 key.
    publicKey: Buffer.alloc(32, i % 251).toString('base64').slice(0, 38) + String(i).padStart(5, '0') + '=',
    endpoint: `198.19.${i >> 8}.${i & 255}:51821`,
    allowedIPs: [`10.${128 + (i >> 8)}.${i & 255}.0/24`],
    persistentKeepaliveSeconds: 25,
    lastHandshakeSeconds: i % 10 === 0 ? 0 : NOW_S - (i % 700),
    receiveBytes: i * 1_000,
    transmitBytes: i * 2_000,
  }));
  return { name: 'wireguard.c2', publicKey: 'DEVKEY=', listenPort: 51821, peers };
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** GET over a real socket, the body counted and dropped, as a scraper would: nothing of it stays in this process. */
function scrape(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () => resolve(bytes));
      response.on('error', reject);
    }).on('error', reject);
  });
}

for (const mode of ['full', 'aggregate'] as PeerMetricsMode[]) {
  test(`/metrics with ${PEERS} peers (-peer-metrics ${mode}): time, size and RSS growth of scrapes`, async (t) => {
    const device = bigDevice();
    let now = NOW_S * 1000;
    const metrics = createMetrics(new Registry());
    startCounters(metrics, [{ cluster: 'c2', device: 'wireguard.c2' }]);
    const app = buildHttpServer({ statuses: () => [remoteStatus()], readDevice: () => Promise.resolve(device) }, metrics.registry, { peerMetrics: mode, now: () => now });
    t.after(() => app.close());

    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;

    const figures: string[] = [];
    let size = 0;
    for (let i = 1; i <= 5; i++) {
      now += 2_000; // past the snapshot's TTL: each scrape reads the (fake) device again
      const rss = process.memoryUsage.rss();
      const started = performance.now();
      size = await scrape(port);
      const ms = performance.now() - started;
      figures.push(`scrape ${i}: ${ms.toFixed(1)} ms to the last byte, RSS ${mb(process.memoryUsage.rss() - rss)} growth`);
    }
    t.diagnostic(`${PEERS} peers, -peer-metrics ${mode}: body ${mb(size)}`);
    for (const line of figures) t.diagnostic(line);

    const body = (await app.inject('/metrics')).body;
    // The process metrics differ between two scrapes by a few digits, the device series not at all.
    assert.ok(Math.abs(Buffer.byteLength(body) - size) < 1_000, `${Buffer.byteLength(body)} bytes now, ${size} before`);
    const lines = body.split('\n');
    const peerInfo = lines.filter((l) => l.startsWith('semaphore_wg_peer_info{')).length;
    assert.equal(peerInfo, mode === 'full' ? PEERS : 0);
    assert.match(body, /^clusterwire_peers_by_handshake_age\{device="wireguard.c2",age="never"\} 500$/m);
  });
}
