/**
 * The daemon as it runs: real processes in network namespaces, real
 * wireguard-go, two emulated clusters (issue 5). One lab for the file; the
 * tests run in order and each leaves the lab as it found it.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { createLab, type Lab, type LabNode } from '../../lab/lab.ts';
import { realisticNode } from '../../lab/emulator/nodes.ts';
import { UapiClient } from '../../src/wireguard/uapi-client.ts';
import { generatePrivateKey, publicKeyOf } from '../../src/wireguard/keys.ts';
import { parseIpLinks } from '../../src/ip/link-settings.ts';
import { parseIpRoutes } from '../../src/ip/route-plan.ts';
import type { ObservedDevice } from '../../src/wireguard/types.ts';
import { parsePrometheusText } from '../support/prometheus-text.ts';
import { promtoolCheckMetrics } from '../support/promtool.ts';
import { semaphoreMismatches } from '../server/semaphore-series.ts';

const D = 'wireguard.semaphore.uw.io';
const RECONCILE_MS = 1_000;
const GRACE_MS = 3_000;
// The daemons inherit this process's environment: short backoff and grace keep outages quick to test.
process.env.SWG_WATCH_BACKOFF_CAP = '1s';
process.env.SWG_READY_WATCH_GRACE = `${GRACE_MS / 1000}s`;

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('the daemon, two emulated clusters, real WireGuard', { concurrency: false }, () => {
  let lab: Lab;
  let c1n1: LabNode;

  before(async () => {
    if (process.getuid?.() !== 0) {
      if (process.env.CI === 'true') throw new Error('the daemon tests need root (namespaces, wireguard-go), and CI=true requires them to run');
      return;
    }
    lab = await createLab({
      clusters: [
        { name: 'c1', podSubnet: '10.2.0.0/16', nodes: 1 },
        { name: 'c2', podSubnet: '10.4.0.0/16', nodes: 2 },
      ],
      reconcileInterval: `${RECONCILE_MS}ms`,
    });
    c1n1 = lab.clusters.c1?.nodes[0] as LabNode;
  });
  after(async () => {
    await lab?.destroy();
  });

  /** Runs a test body; on failure, adds the daemons' last log lines. */
  const withLogs = (body: (t: TestContext) => Promise<void>) => async (t: TestContext) => {
    if (!lab) return t.skip('no lab (not root)');
    try {
      await body(t);
    } catch (error) {
      t.diagnostic(await lab.logTails(25));
      throw error;
    }
  };
  const uapi = (node: LabNode) => new UapiClient(node.host.wireguardSocketDirectory);
  const device = (node: LabNode, remote: string): Promise<ObservedDevice> => uapi(node).device(node.device(remote));
  const remoteNodes = (cluster: string) => lab.clusters[cluster]?.nodes ?? [];
  const annotation = (cluster: string, node: string, key: string): string | undefined =>
    (lab.clusters[cluster]?.emulator.getNode(node) as { metadata: { annotations?: Record<string, string> } } | undefined)?.metadata.annotations?.[key];

  test('after start, each device holds exactly the remote nodes as peers', withLogs(async () => {
    await lab.waitUntilReady(60_000);
    await lab.waitUntilPeered(60_000);
    for (const [local, remote] of [['c1', 'c2'], ['c2', 'c1']] as const) {
      const expected = remoteNodes(remote)
        .map((n) => [annotation(remote, n.name, `${local}.${D}/pubKey`), annotation(remote, n.name, `${local}.${D}/endpoint`), [n.podCIDR]])
        .sort();
      assert.ok(expected.every(([key, endpoint]) => key !== undefined && endpoint !== undefined), `every ${remote} node advertises itself to ${local}`);
      for (const node of remoteNodes(local)) {
        const peers = (await device(node, remote)).peers.map((p) => [p.publicKey, p.endpoint, p.allowedIPs]).sort();
        assert.deepEqual(peers, expected, `${node.name}'s device towards ${remote}`);
      }
    }
  }));

  test('a node added, changed and deleted in the remote cluster reaches the device; propagation is printed', withLogs(async (t) => {
    const c2 = lab.clusters.c2?.emulator;
    assert.ok(c2);
    const base = c1n1.address.replace(/\.\d+$/, '');
    const key = publicKeyOf(generatePrivateKey());
    const peer = async () => (await device(c1n1, 'c2')).peers.find((p) => p.publicKey === key);
    const timed = async (what: string, change: () => void, done: () => Promise<boolean>) => {
      const started = performance.now();
      change();
      for (;;) {
        if (await done()) return performance.now() - started;
        if (performance.now() - started > 10_000) assert.fail(`${what} did not reach the device within 10 s`);
      }
    };
    const samples: number[] = [];
    samples.push(await timed('added node', () => c2.createNode(realisticNode({
      name: 'c2-extra', internalIP: `${base}.250`, podCIDR: '10.4.250.0/24',
      annotations: { [`c1.${D}/pubKey`]: key, [`c1.${D}/endpoint`]: `${base}.250:51820` },
    })), async () => (await peer()) !== undefined));
    assert.deepEqual((await peer())?.allowedIPs, ['10.4.250.0/24']);
    for (let i = 0; i < 9; i++) {
      const endpoint = `${base}.${200 + i}:51820`;
      samples.push(await timed('endpoint change', () => c2.patchNode('c2-extra', { metadata: { annotations: { [`c1.${D}/endpoint`]: endpoint } } }), async () => (await peer())?.endpoint === endpoint));
    }
    samples.push(await timed('deleted node', () => c2.deleteNode('c2-extra'), async () => (await peer()) === undefined));
    samples.sort((a, b) => a - b);
    t.diagnostic(`remote Node change → local device (UAPI poll, 11 changes): p50 ${samples[5]?.toFixed(1)} ms, max ${samples.at(-1)?.toFixed(1)} ms (target < 100 ms)`);
  }));

  test('a peer removed by hand and a deleted route are repaired within one reconcile interval; a roamed endpoint is left alone', withLogs(async (t) => {
    const dev = c1n1.device('c2');
    const [first, second] = (await device(c1n1, 'c2')).peers;
    assert.ok(first && second);
    const roamed = `${c1n1.address.replace(/\.\d+$/, '')}.77:51820`;
    await c1n1.host.run('wg', ['set', dev, 'peer', second.publicKey, 'endpoint', roamed]);
    const started = performance.now();
    await c1n1.host.run('wg', ['set', dev, 'peer', first.publicKey, 'remove']);
    await c1n1.host.run('ip', ['route', 'del', '10.4.0.0/16', 'dev', dev]);
    const routes = async () => parseIpRoutes((await c1n1.host.run('ip', ['-j', 'route', 'show', 'dev', dev])).stdout).map((r) => r.destination);
    await lab.waitFor('peer and route repaired', async () => (await device(c1n1, 'c2')).peers.some((p) => p.publicKey === first.publicKey) && (await routes()).includes('10.4.0.0/16'), 2 * RECONCILE_MS + 2_000);
    t.diagnostic(`repaired after ${Math.round(performance.now() - started)} ms (reconcile interval ${RECONCILE_MS} ms)`);
    await new Promise((resolve) => setTimeout(resolve, 3 * RECONCILE_MS));
    assert.equal((await device(c1n1, 'c2')).peers.find((p) => p.publicKey === second.publicKey)?.endpoint, roamed, 'roamed endpoint rewritten');
    const metrics = parsePrometheusText(await (await fetch(`${c1n1.baseURL}/metrics`)).text());
    const repairs = (kind: string) => metrics.samples.find((s) => s.name === 'clusterwire_drift_repairs_total' && s.labels.kind === kind)?.value ?? 0;
    assert.ok(repairs('peer') >= 1 && repairs('route') >= 1, 'repairs counted by kind');
    // Put the advertised endpoint back for the tests that follow.
    const owner = remoteNodes('c2').find((n) => annotation('c2', n.name, `c1.${D}/pubKey`) === second.publicKey);
    await c1n1.host.run('wg', ['set', dev, 'peer', second.publicKey, 'endpoint', annotation('c2', owner?.name ?? '', `c1.${D}/endpoint`) ?? '']);
  }));

  test('/metrics: every documented name, semaphore-wireguard\'s series, and promtool check metrics has no complaint', withLogs(async (t) => {
    const response = await fetch(`${c1n1.baseURL}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    const exposition = parsePrometheusText(text);
    const { types, samples } = exposition;
    const documented = [
      'semaphore_wg_sync_peers_total', 'semaphore_wg_sync_queue_full_failures_total', 'semaphore_wg_sync_requeue_total',
      'semaphore_wg_node_watcher_failures_total', 'semaphore_wg_kube_http_request_total', 'semaphore_wg_device_info',
      'semaphore_wg_peer_info', 'semaphore_wg_peer_allowed_ips_info', 'semaphore_wg_peer_receive_bytes_total',
      'semaphore_wg_peer_transmit_bytes_total', 'semaphore_wg_peer_last_handshake_seconds',
      'clusterwire_peers_desired', 'clusterwire_peers_applied', 'clusterwire_sync_duration_seconds', 'clusterwire_remote_nodes_skipped',
      'clusterwire_drift_repairs_total', 'clusterwire_watch_connected', 'clusterwire_watch_last_event_timestamp_seconds',
      'clusterwire_sync_requests_coalesced_total', 'clusterwire_peers_by_handshake_age',
      'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes',
    ];
    for (const name of documented) assert.ok(types.has(name), `${name} is missing`);
    const dev = c1n1.device('c2');
    assert.deepEqual(semaphoreMismatches(exposition, [{ cluster: 'c2', device: dev }], false), []);
    assert.equal(samples.filter((s) => s.name === 'semaphore_wg_peer_info' && s.labels.device === dev).length, 2);
    assert.ok((samples.find((s) => s.name === 'semaphore_wg_sync_peers_total' && s.labels.device === dev && s.labels.success === '1')?.value ?? 0) >= 1);
    assert.equal(samples.find((s) => s.name === 'clusterwire_peers_applied' && s.labels.device === dev)?.value, 2);
    assert.equal(samples.find((s) => s.name === 'clusterwire_watch_connected' && s.labels.cluster === 'c2')?.value, 1);
    assert.ok((samples.find((s) => s.name === 'clusterwire_watch_last_event_timestamp_seconds' && s.labels.cluster === 'c2')?.value ?? 0) > Date.now() / 1000 - 600);
    assert.ok(samples.some((s) => s.name === 'semaphore_wg_kube_http_request_total' && s.labels.code === '200' && s.labels.method === 'GET'));

    const promtool = await promtoolCheckMetrics(t, text);
    if (!promtool) return;
    t.diagnostic(`promtool check metrics on ${c1n1.name}'s /metrics: exit ${promtool.code}, output ${JSON.stringify(promtool.output)}`);
    assert.deepEqual(promtool, { code: 0, output: '' });
  }));

  test('/readyz: 503 until the first sync, 200, 503 after an outage longer than the grace (peers kept), 200 again', withLogs(async (t) => {
    const c2 = lab.clusters.c2?.emulator;
    assert.ok(c2);
    const readyz = async () => (await fetch(`${c1n1.baseURL}/readyz`)).status;
    const peers = async () => (await device(c1n1, 'c2')).peers.map((p) => p.publicKey).sort();
    const before = await peers();

    // SIGTERM: exit 0 within 5 s, leaving the device and its peers in place.
    const stopping = performance.now();
    assert.equal(await lab.stopDaemon(c1n1), 0);
    const stopMs = performance.now() - stopping;
    t.diagnostic(`SIGTERM to exit: ${Math.round(stopMs)} ms`);
    assert.ok(stopMs < 5_000, `stopping took ${Math.round(stopMs)} ms`);
    assert.deepEqual(await peers(), before, 'peers left in place by a stopped daemon');

    // Restarted while c2's apiserver is down: serves, not ready, and keeps the device's peers.
    const outage = c2.outage(5_000);
    await lab.startDaemon(c1n1);
    const first = await lab.waitFor('daemon answers', async () => readyz().catch(() => undefined), 20_000);
    assert.equal(first, 503);
    await lab.waitFor('ready after the outage', async () => (await readyz()) === 200, 30_000);
    await outage;
    assert.deepEqual(await peers(), before);

    // An outage longer than the grace: not ready while it lasts, peers stay, ready again after.
    const long = c2.outage(GRACE_MS + 4_000);
    const started = performance.now();
    await lab.waitFor('not ready during the outage', async () => (await readyz()) === 503, GRACE_MS + 3_000);
    t.diagnostic(`/readyz went 503 ${Math.round(performance.now() - started)} ms into the outage (grace ${GRACE_MS} ms)`);
    assert.deepEqual(await peers(), before, 'peers kept during the outage');
    await long;
    await lab.waitFor('ready again', async () => (await readyz()) === 200, 15_000);
    assert.deepEqual(await peers(), before);
  }));

  test('a remote removed from the config and the daemon restarted: its link is gone', withLogs(async () => {
    const configPath = lab.configPath(c1n1);
    const original = await readFile(configPath, 'utf8');
    const config = JSON.parse(original) as { remotes: { name: string; podSubnet?: string; podSubnets?: string[]; wgListenPort?: number }[] };
    const c2 = config.remotes[0];
    assert.ok(c2);
    // A config needs one remote: c2 is replaced by c9, served by the same apiserver.
    config.remotes = [{ ...c2, name: 'c9', podSubnet: '10.9.0.0/16', podSubnets: undefined, wgListenPort: 51829 }];
    await lab.stopDaemon(c1n1);
    await writeFile(configPath, JSON.stringify(config));
    try {
      await lab.startDaemon(c1n1);
      const links = async () => parseIpLinks((await c1n1.host.run('ip', ['-d', '-j', 'link', 'show'])).stdout).map((l) => l.name);
      await lab.waitFor('wireguard.c9 up and wireguard.c2 gone', async () => {
        const names = await links();
        return names.includes('wireguard.c9') && !names.includes('wireguard.c2');
      }, 20_000);
    } finally {
      await lab.stopDaemon(c1n1);
      await writeFile(configPath, original);
      await lab.startDaemon(c1n1);
    }
    await lab.waitUntilPeered(30_000);
  }));

  test('a device renamed in the config and the daemon restarted: the old link is gone and the new one holds the port, with the peers', withLogs(async () => {
    const configPath = lab.configPath(c1n1);
    const original = await readFile(configPath, 'utf8');
    const config = JSON.parse(original) as { remotes: { name: string; wgDeviceName?: string; wgListenPort?: number }[] };
    const c2 = config.remotes[0];
    assert.ok(c2);
    // Same remote, same port, another name: the old link would keep the port if garbage collection matched the remote alone.
    config.remotes = [{ ...c2, wgDeviceName: 'wg-c2-renamed' }];
    await lab.stopDaemon(c1n1);
    await writeFile(configPath, JSON.stringify(config));
    try {
      await lab.startDaemon(c1n1);
      const links = async () => parseIpLinks((await c1n1.host.run('ip', ['-d', '-j', 'link', 'show'])).stdout).map((l) => l.name);
      await lab.waitFor('wg-c2-renamed up with every c2 node as a peer, wireguard.c2 gone', async () => {
        const names = await links();
        if (!names.includes('wg-c2-renamed') || names.includes('wireguard.c2')) return false;
        const renamed = await uapi(c1n1).device('wg-c2-renamed').catch(() => null);
        return renamed !== null && renamed.peers.length === remoteNodes('c2').length;
      }, 30_000);
      assert.equal((await uapi(c1n1).device('wg-c2-renamed')).listenPort, c2.wgListenPort ?? 51820);
    } finally {
      await lab.stopDaemon(c1n1);
      await writeFile(configPath, original);
      await lab.startDaemon(c1n1);
    }
    await lab.waitUntilPeered(30_000);
  }));

  test('cleanup leaves no link, route or annotation of ours behind', withLogs(async () => {
    await lab.stopDaemon(c1n1);
    const annotations = () => ({ ...(lab.clusters.c1?.emulator.getNode(c1n1.name) as { metadata: { annotations?: Record<string, string> } }).metadata.annotations });
    const before = annotations();
    assert.ok(before[`c2.${D}/pubKey`], 'advertised before cleanup');
    const { stdout } = await c1n1.host.run(process.execPath, [path.join(ROOT, 'src/main.ts'), 'cleanup', '-clusters-config', lab.configPath(c1n1), '-node-name', c1n1.name], { timeoutMs: 30_000 });
    assert.match(stdout, /removed link wireguard\.c2 and its routes/);
    assert.match(stdout, new RegExp(`removed annotation c2\\.${D.replaceAll('.', '\\.')}/pubKey`));
    const links = parseIpLinks((await c1n1.host.run('ip', ['-d', '-j', 'link', 'show'])).stdout);
    assert.deepEqual(links.filter((l) => l.alias?.startsWith('clusterwire:')), []);
    const routes = parseIpRoutes((await c1n1.host.run('ip', ['-j', 'route', 'show'])).stdout);
    assert.ok(!routes.some((r) => r.destination.startsWith('10.4.')), 'no route to c2 pods');
    const expected = { ...before };
    delete expected[`c2.${D}/pubKey`];
    delete expected[`c2.${D}/endpoint`];
    assert.deepEqual(annotations(), expected, 'only our annotations are removed');
  }));
});
