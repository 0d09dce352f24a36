/**
 * The Grafana dashboard and the alert rules in deploy/ read only metrics
 * the daemon emits: every metric name in their expressions is compared with
 * a /metrics exposition of the daemon's own registry and HTTP server (the
 * wiring of src/daemon.ts, -peer-metrics full, a device with a peer and a
 * watch that has heard from its remote), not with a list written here.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createMetrics, startCounters } from '../../src/metrics.ts';
import { buildHttpServer } from '../../src/server/http-server.ts';
import { remoteStatus } from '../peering/status-fixtures.ts';
import { parsePrometheusText } from '../support/prometheus-text.ts';
import { readManifests, type Manifest } from './support/manifests.ts';
import { metricNames } from './support/promql.ts';
import { DEPLOY_DIR } from './support/repo.ts';

const COMPONENTS = join(DEPLOY_DIR, 'local', 'components');

interface Dashboard {
  uid: string;
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
  panels: { id: number; type: string; title: string; datasource?: { uid: string }; targets?: { expr: string; datasource: { uid: string } }[] }[];
}

const dashboard = JSON.parse(await readFile(join(COMPONENTS, 'grafana-dashboard', 'clusterwire.json'), 'utf8')) as Dashboard;
const [rule] = (await readManifests(join(COMPONENTS, 'prometheusrule', 'prometheusrule.yaml'))) as (Manifest & { spec: { groups: { rules: { alert: string; expr: string }[] }[] } })[];

/** Every expression, named by where it is. */
const expressions: [where: string, expr: string][] = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((target, i): [string, string] => [`dashboard panel "${p.title}" target ${i}`, target.expr])),
  ...dashboard.templating.list.flatMap((v): [string, string][] => (v.type === 'query' && v.query !== undefined ? [[`dashboard variable $${v.name}`, typeof v.query === 'string' ? v.query : v.query.query]] : [])),
  ...(rule?.spec.groups.flatMap((g) => g.rules.map((r): [string, string] => [`alert ${r.alert}`, r.expr])) ?? []),
];

/** The names of every series a running daemon's /metrics has (histograms with their _bucket, _sum and _count). */
async function emittedNames(): Promise<Set<string>> {
  const metrics = createMetrics();
  startCounters(metrics, [{ cluster: 'c2', device: 'wireguard.c2' }]);
  metrics.syncDuration.observe({ device: 'wireguard.c2' }, 0.01);
  metrics.peersDesired.set({ device: 'wireguard.c2' }, 1);
  metrics.peersApplied.set({ device: 'wireguard.c2' }, 1);
  metrics.driftRepairs.inc({ device: 'wireguard.c2', kind: 'route' });
  metrics.kubeHttpRequests.inc({ host: '198.18.0.1:6443', code: '200', method: 'GET' });
  metrics.nodesDropped.inc({ cluster: 'c2' });
  metrics.skippedNodes.set({ cluster: 'c2', reason: 'missing-annotation' }, 0);
  metrics.watchConnected.set({ cluster: 'c2' }, 1);
  const status = remoteStatus({ watch: { lastEventAt: Date.now() } });
  const peer = { publicKey: 'PEER1=', endpoint: '198.18.0.2:51820', allowedIPs: ['10.4.1.0/24'], persistentKeepaliveSeconds: 25, lastHandshakeSeconds: 1, receiveBytes: 1, transmitBytes: 1 };
  const app = buildHttpServer({ statuses: () => [status], readDevice: () => Promise.resolve({ name: 'wireguard.c2', publicKey: 'DEV=', listenPort: 51820, peers: [peer] }) }, metrics.registry, { peerMetrics: 'full' });
  try {
    const exposition = parsePrometheusText((await app.inject('/metrics')).body);
    return new Set([...exposition.types.keys(), ...exposition.samples.map((s) => s.name)]);
  } finally {
    await app.close();
  }
}

describe('deploy/ monitoring reads only metrics the daemon emits', () => {
  test('every metric in the dashboard and the alert rules is in a /metrics of the daemon', async (t) => {
    const emitted = await emittedNames();
    assert.ok(emitted.has('semaphore_wg_peer_last_handshake_seconds') && emitted.has('clusterwire_sync_duration_seconds_bucket'), 'the exposition has the device series and histogram buckets');
    const used = new Set<string>();
    for (const [where, expr] of expressions) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${where} names no metric: ${expr}`);
      for (const name of names) {
        assert.ok(emitted.has(name), `${where}: ${name} is not emitted by the daemon (${expr})`);
        used.add(name);
      }
    }
    t.diagnostic(`${expressions.length} expressions, ${used.size} metrics: ${[...used].sort().join(', ')}`);
  });

  test('the dashboard: unique panel ids, every query on the $datasource variable', () => {
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(dashboard.uid, 'clusterwire');
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      assert.ok((panel.targets ?? []).length > 0, `${panel.title} has no query`);
      for (const target of panel.targets ?? []) assert.equal(target.datasource.uid, '${datasource}', panel.title);
    }
  });
});

test('metricNames finds the metrics of PromQL and Grafana queries, and nothing else', () => {
  const cases: [expr: string, names: string[]][] = [
    ['up', ['up']],
    ['sum by (device, age) (clusterwire_peers_by_handshake_age{job=~"$job", age="under_3m"})', ['clusterwire_peers_by_handshake_age']],
    ['rate(a_total{x="y{z}"}[$__rate_interval]) / on (instance) group_left (node) b_info', ['a_total', 'b_info']],
    ['histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m]))) > 1e3', ['h_bucket']],
    ['time() - max(ts_seconds offset 5m) or vector(0)', ['ts_seconds']],
    ['count(x == 0) unless ignoring (success) sum(y) without (a) > bool 2', ['x', 'y']],
    ['sum(m) by (device)', ['m']],
    ['label_values(semaphore_wg_device_info{job=~"$job"}, device)', ['semaphore_wg_device_info']],
    ['label_values(job)', []],
  ];
  for (const [expr, names] of cases) assert.deepEqual(metricNames(expr).sort(), names.sort(), expr);
});
