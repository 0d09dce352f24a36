import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { buildHttpServer } from '../../src/server/http-server.ts';
import type { DaemonView } from '../../src/server/daemon-view.ts';
import type { RemoteStatus } from '../../src/peering/remote-status.ts';
import type { ObservedDevice } from '../../src/wireguard/types.ts';
import { remoteStatus } from '../peering/status-fixtures.ts';
import { PASS_DEADLINE_MS } from '../../src/peering/readiness.ts';

function fakeView(statuses: RemoteStatus[], devices: Record<string, ObservedDevice>): DaemonView & { reads: number } {
  const view = {
    reads: 0,
    statuses: () => statuses,
    readDevice: (name: string) => {
      view.reads++;
      const d = devices[name];
      return d ? Promise.resolve(d) : Promise.reject(new Error(`device ${name} does not exist`));
    },
  };
  return view;
}

const device: ObservedDevice = {
  name: 'wireguard.c2',
  publicKey: 'DEVKEY=',
  listenPort: 51820,
  peers: [
    { publicKey: 'PEER1=', endpoint: '198.18.0.2:51820', allowedIPs: ['10.4.1.0/24', 'fd00:4:0:1::/64'], persistentKeepaliveSeconds: 25, lastHandshakeSeconds: 1700000000, receiveBytes: 1234, transmitBytes: 5678 },
  ],
};

test('/healthz and /readyz answer 200 when all is well and 503 with a reason per remote otherwise', async (t) => {
  const statuses = [remoteStatus()];
  const app = buildHttpServer(fakeView(statuses, {}), new Registry(), { now: () => 2_000 });
  t.after(() => app.close());
  assert.equal((await app.inject('/healthz')).statusCode, 200);
  assert.equal((await app.inject('/readyz')).statusCode, 200);

  statuses[0] = remoteStatus({ deviceReady: false });
  const h = await app.inject('/healthz');
  assert.equal(h.statusCode, 503);
  assert.match(h.json<{ remotes: Record<string, string> }>().remotes['c2'] ?? '', /not initialised/);

  statuses[0] = remoteStatus({ watch: { synced: false } });
  assert.equal((await app.inject('/healthz')).statusCode, 200);
  const r = await app.inject('/readyz');
  assert.equal(r.statusCode, 503);
  assert.match(r.json<{ remotes: Record<string, string> }>().remotes['c2'] ?? '', /no first list/);
});

test('/healthz and /readyz answer 503 while a pass runs past its deadline, so liveness restarts a stuck daemon', async (t) => {
  let now = 2_000;
  const statuses = [remoteStatus({ passStartedAt: 2_000 })];
  const app = buildHttpServer(fakeView(statuses, {}), new Registry(), { now: () => now });
  t.after(() => app.close());
  assert.equal((await app.inject('/healthz')).statusCode, 200, 'a pass running is fine');
  now += PASS_DEADLINE_MS + 1_000;
  for (const path of ['/healthz', '/readyz']) {
    const res = await app.inject(path);
    assert.equal(res.statusCode, 503, path);
    assert.match(res.json<{ remotes: Record<string, string> }>().remotes['c2'] ?? '', /a pass has been running for 181s, past its deadline of 180s/, path);
  }
  statuses[0] = remoteStatus({ passStartedAt: null });
  assert.equal((await app.inject('/healthz')).statusCode, 200, 'healthy again once the pass ends');
});

test('/metrics exposes device and peer series read from the device, one read per scrape', async (t) => {
  const view = fakeView([remoteStatus()], { 'wireguard.c2': device });
  const app = buildHttpServer(view, new Registry());
  t.after(() => app.close());
  const res = await app.inject('/metrics');
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /text\/plain/);
  const body = res.body;
  assert.match(body, /semaphore_wg_device_info\{device="wireguard.c2",public_key="DEVKEY="\} 1/);
  assert.match(body, /semaphore_wg_peer_info\{device="wireguard.c2",public_key="PEER1=",endpoint="198.18.0.2:51820"\} 1/);
  assert.match(body, /semaphore_wg_peer_allowed_ips_info\{device="wireguard.c2",public_key="PEER1=",allowed_ips="fd00:4:0:1::\/64"\} 1/);
  assert.match(body, /semaphore_wg_peer_receive_bytes_total\{device="wireguard.c2",public_key="PEER1="\} 1234/);
  assert.match(body, /semaphore_wg_peer_transmit_bytes_total\{device="wireguard.c2",public_key="PEER1="\} 5678/);
  assert.match(body, /semaphore_wg_peer_last_handshake_seconds\{device="wireguard.c2",public_key="PEER1="\} 1700000000/);
  assert.equal(view.reads, 1);
});

test('/metrics still answers when a device cannot be read', async (t) => {
  const app = buildHttpServer(fakeView([remoteStatus()], {}), new Registry());
  t.after(() => app.close());
  const res = await app.inject('/metrics');
  assert.equal(res.statusCode, 200);
  assert.doesNotMatch(res.body, /semaphore_wg_device_info\{/);
});

test('/status reports each remote with the peers on its device, or why they could not be read', async (t) => {
  const app = buildHttpServer(fakeView([remoteStatus(), remoteStatus({ remote: 'c3', device: 'wireguard.c3' })], { 'wireguard.c2': device }), new Registry());
  t.after(() => app.close());
  const res = await app.inject('/status');
  assert.equal(res.statusCode, 200);
  const body = res.json<{ remotes: { remote: string; devicePeers: unknown[] | null; deviceError: string | null }[] }>();
  assert.equal(body.remotes[0]?.devicePeers?.length, 1);
  assert.equal(body.remotes[1]?.devicePeers, null);
  assert.match(body.remotes[1]?.deviceError ?? '', /wireguard.c3 does not exist/);
});
