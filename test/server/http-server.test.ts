import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createMetrics, startCounters } from '../../src/metrics.ts';
import { buildHttpServer } from '../../src/server/http-server.ts';
import type { DaemonView } from '../../src/server/daemon-view.ts';
import { PEER_METRICS_MODES } from '../../src/server/device-metrics.ts';
import type { StatusReport } from '../../src/server/status-report.ts';
import type { RemoteStatus } from '../../src/peering/remote-status.ts';
import type { ObservedDevice } from '../../src/wireguard/types.ts';
import { remoteStatus } from '../peering/status-fixtures.ts';
import { parsePrometheusText } from '../support/prometheus-text.ts';
import { promtoolCheckMetrics } from '../support/promtool.ts';
import { semaphoreMismatches } from './semaphore-series.ts';
import { PASS_DEADLINE_MS } from '../../src/peering/readiness.ts';

function fakeView(statuses: RemoteStatus[], devices: Record<string, ObservedDevice>): DaemonView & { reads: string[] } {
  const view = {
    reads: [] as string[],
    statuses: () => statuses,
    readDevice: (name: string) => {
      view.reads.push(name);
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

/** The daemon's metrics wiring (src/daemon.ts) around a fake view: what a scrape of a fresh daemon sees. */
function daemonLike(view: DaemonView, options: Parameters<typeof buildHttpServer>[2] = {}) {
  const metrics = createMetrics(new Registry());
  startCounters(metrics, view.statuses().map((s) => ({ cluster: s.remote, device: s.device })));
  return { metrics, app: buildHttpServer(view, metrics.registry, options) };
}

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

test('/metrics is the registry\'s text plus the device series read from the device, each family once', async (t) => {
  const view = fakeView([remoteStatus()], { 'wireguard.c2': device });
  const { app, metrics } = daemonLike(view);
  t.after(() => app.close());
  metrics.peersApplied.set({ device: 'wireguard.c2' }, 1);
  const res = await app.inject('/metrics');
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
  const body = res.body;
  assert.match(body, /^semaphore_wg_device_info\{device="wireguard.c2",public_key="DEVKEY="\} 1$/m);
  assert.match(body, /^semaphore_wg_peer_info\{device="wireguard.c2",public_key="PEER1=",endpoint="198.18.0.2:51820"\} 1$/m);
  assert.match(body, /^semaphore_wg_peer_allowed_ips_info\{device="wireguard.c2",public_key="PEER1=",allowed_ips="fd00:4:0:1::\/64"\} 1$/m);
  assert.match(body, /^semaphore_wg_peer_receive_bytes_total\{device="wireguard.c2",public_key="PEER1="\} 1234$/m);
  assert.match(body, /^semaphore_wg_peer_transmit_bytes_total\{device="wireguard.c2",public_key="PEER1="\} 5678$/m);
  assert.match(body, /^semaphore_wg_peer_last_handshake_seconds\{device="wireguard.c2",public_key="PEER1="\} 1700000000$/m);
  assert.match(body, /^clusterwire_peers_applied\{device="wireguard.c2"\} 1$/m);
  assert.match(body, /^process_resident_memory_bytes \d+$/m);
  // Measured at the scrape; the sampled gauges need a timer waking the process (docs/http-and-metrics.md).
  assert.match(body, /^nodejs_eventloop_lag_seconds [\d.e-]+$/m);
  assert.doesNotMatch(body, /^nodejs_eventloop_lag_(min|max|mean|stddev|p50|p90|p99)_seconds/m);
  const types = body.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
  assert.deepEqual(types.filter((name, i) => types.indexOf(name) !== i), [], 'no family twice');
  assert.deepEqual(view.reads, ['wireguard.c2']);
});

test('/metrics still answers when a device cannot be read, without that device', async (t) => {
  const app = buildHttpServer(fakeView([remoteStatus()], {}), new Registry());
  t.after(() => app.close());
  const res = await app.inject('/metrics');
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /^# TYPE semaphore_wg_device_info gauge$/m);
  assert.doesNotMatch(res.body, /semaphore_wg_device_info\{/);
});

test('/status reports each remote with the peers on its device and their nodes, or why they could not be read', async (t) => {
  const handAdded = { ...device.peers[0], publicKey: 'HAND=' } as ObservedDevice['peers'][number];
  const devices = { 'wireguard.c2': { ...device, peers: [...device.peers, handAdded] } };
  const statuses = [remoteStatus({ peerNodes: new Map([['PEER1=', 'c2-node-1']]) }), remoteStatus({ remote: 'c3', device: 'wireguard.c3' })];
  const app = buildHttpServer(fakeView(statuses, devices), new Registry(), { now: () => 5_000 });
  t.after(() => app.close());
  const res = await app.inject('/status');
  assert.equal(res.statusCode, 200);
  const body = res.json<StatusReport>();
  assert.equal(body.devicesReadAt, new Date(5_000).toISOString());
  assert.deepEqual(body.remotes[0]?.devicePeers, [
    { node: 'c2-node-1', ...device.peers[0] },
    { node: null, ...handAdded },
  ], 'each peer names its node; a key no node shows has node null');
  assert.equal('peerNodes' in (body.remotes[0] ?? {}), false, 'the map itself is not in the JSON');
  assert.equal(body.remotes[1]?.devicePeers, null);
  assert.match(body.remotes[1]?.deviceError ?? '', /wireguard.c3 does not exist/);
});

test('/status and /metrics share one device snapshot: concurrent or repeated requests never read per request', async (t) => {
  let now = 100_000;
  const view = fakeView([remoteStatus(), remoteStatus({ remote: 'c3', device: 'wireguard.c3' })], { 'wireguard.c2': device, 'wireguard.c3': { ...device, name: 'wireguard.c3' } });
  const app = buildHttpServer(view, new Registry(), { now: () => now });
  t.after(() => app.close());
  const burst = () => Promise.all(Array.from({ length: 20 }, (_, i) => app.inject(i % 2 === 0 ? '/status' : '/metrics')));

  assert.ok((await burst()).every((r) => r.statusCode === 200));
  assert.deepEqual(view.reads, ['wireguard.c2', 'wireguard.c3'], '20 concurrent requests: one read per device');
  now += 999;
  await burst();
  assert.equal(view.reads.length, 2, 'within a second of the read: none');
  now += 1;
  await burst();
  assert.equal(view.reads.length, 4, 'a second after: one read per device');
});

test('the exposition is semaphore-wireguard\'s: families, help, types, labels, label values, zero series from start', async (t) => {
  const statuses = [remoteStatus(), remoteStatus({ remote: 'c3', device: 'wireguard.c3' })];
  const { app, metrics } = daemonLike(fakeView(statuses, { 'wireguard.c2': device }));
  t.after(() => app.close());
  const remotes = [{ cluster: 'c2', device: 'wireguard.c2' }, { cluster: 'c3', device: 'wireguard.c3' }];
  const fresh = parsePrometheusText((await app.inject('/metrics')).body);
  assert.deepEqual(semaphoreMismatches(fresh, remotes, true), []);
  assert.equal(fresh.samples.filter((s) => s.name === 'clusterwire_sync_requests_coalesced_total' && s.value === 0).length, 2, 'the coalescing counter starts at 0 per device');

  metrics.kubeHttpRequests.inc({ host: '198.18.0.1:6443', code: '200', method: 'GET' });
  metrics.syncPeers.inc({ device: 'wireguard.c2', success: '1' });
  const later = parsePrometheusText((await app.inject('/metrics')).body);
  assert.deepEqual(semaphoreMismatches(later, remotes, false), []);
  assert.equal(later.samples.find((s) => s.name === 'semaphore_wg_sync_peers_total' && s.labels.device === 'wireguard.c2' && s.labels.success === '1')?.value, 1);
});

for (const mode of PEER_METRICS_MODES) {
  test(`promtool check metrics accepts the whole /metrics with no complaint (-peer-metrics ${mode}, hostile label values)`, async (t) => {
    const hostile: ObservedDevice = {
      ...device,
      name: 'wireguard.c3',
      peers: [{ ...(device.peers[0] as ObservedDevice['peers'][number]), publicKey: 'k"e\\y\nz', endpoint: '[fe80::1%e"th\\0]:1' }],
    };
    const statuses = [remoteStatus(), remoteStatus({ remote: 'c3', device: 'wireguard.c3' })];
    const { app, metrics } = daemonLike(fakeView(statuses, { 'wireguard.c2': device, 'wireguard.c3': hostile }), { peerMetrics: mode });
    t.after(() => app.close());
    // Every prom-client metric with a sample, so promtool sees each family's samples too.
    metrics.kubeHttpRequests.inc({ host: '198.18.0.1:6443', code: '200', method: 'GET' });
    metrics.peersDesired.set({ device: 'wireguard.c2' }, 1);
    metrics.peersApplied.set({ device: 'wireguard.c2' }, 1);
    metrics.syncDuration.observe({ device: 'wireguard.c2' }, 0.02);
    metrics.skippedNodes.set({ cluster: 'c2', reason: 'bad-endpoint' }, 0);
    metrics.driftRepairs.inc({ device: 'wireguard.c2', kind: 'peer' });
    metrics.watchConnected.set({ cluster: 'c2' }, 1);
    const body = (await app.inject('/metrics')).body;
    const result = await promtoolCheckMetrics(t, body);
    if (!result) return;
    t.diagnostic(`promtool check metrics: exit ${result.code}, output ${JSON.stringify(result.output)}`);
    assert.deepEqual(result, { code: 0, output: '' });
  });
}

test('the last-event time of each watch is read from its status at scrape time', async (t) => {
  const statuses = [remoteStatus({ watch: { lastEventAt: 1_500 } }), remoteStatus({ remote: 'c3', device: 'wireguard.c3', watch: { lastEventAt: null } })];
  const app = buildHttpServer(fakeView(statuses, {}), new Registry());
  t.after(() => app.close());
  const gauge = async () =>
    parsePrometheusText((await app.inject('/metrics')).body)
      .samples.filter((s) => s.name === 'clusterwire_watch_last_event_timestamp_seconds')
      .map((s) => `${s.labels.cluster} ${s.value}`);
  assert.deepEqual(await gauge(), ['c2 1.5']);
  statuses[0] = remoteStatus({ watch: { lastEventAt: 9_000 } });
  statuses[1] = remoteStatus({ remote: 'c3', device: 'wireguard.c3', watch: { lastEventAt: 4_000 } });
  assert.deepEqual(await gauge(), ['c2 9', 'c3 4']);
});
