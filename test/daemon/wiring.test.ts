/**
 * The composition root with fakes: the whole daemon (startDaemon) against
 * two in-process apiservers (lab/emulator), with in-memory links, routes
 * and WireGuard. No root, no namespace: it checks the wiring, that what
 * the parts do reaches each other.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { realisticNode } from '../../lab/emulator/nodes.ts';
import { systemClock } from '../../src/clock/clock.ts';
import { parseClustersConfig } from '../../src/config/parse.ts';
import { startDaemon } from '../../src/daemon.ts';
import { newSliceObject, sliceSetLabels } from '../../src/fleet/peer-slice.ts';
import { connectionSettings, createKubeClient } from '../../src/kube/client.ts';
import { FakeLinks } from '../../src/ip/fake-links.ts';
import { FakeRoutes } from '../../src/ip/fake-routes.ts';
import { FakeWireGuardClient } from '../../src/wireguard/fake-client.ts';
import { generatePrivateKey, publicKeyOf } from '../../src/wireguard/keys.ts';
import { memoryLogger } from '../support/memory-logger.ts';
import { parsePrometheusText } from '../support/prometheus-text.ts';
import { DEPLOY_DIR } from '../deploy/support/repo.ts';
import { emulatorFor } from '../kube/helpers/emulator.ts';

const DOMAIN = 'wireguard.semaphore.uw.io';
const DEVICE = 'wireguard.c2';

async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

function remoteNode(i: number, key: string) {
  return realisticNode({
    name: `c2-n${i}`,
    internalIP: `198.18.2.${i}`,
    podCIDR: `10.4.${i}.0/24`,
    annotations: { [`c1.${DOMAIN}/pubKey`]: key, [`c1.${DOMAIN}/endpoint`]: `198.18.2.${i}:51821` },
  });
}

async function keyDirectory(t: TestContext): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), 'cw-wiring-'));
  t.after(() => rm(directory, { recursive: true, force: true }));
  return path.join(directory, 'keys');
}

test('the daemon with fake links, routes and WireGuard and two emulated apiservers: peers the remote nodes, advertises itself, serves /healthz, /readyz, /status, /metrics', async (t) => {
  const { emulator: c1 } = await emulatorFor(t);
  const { emulator: c2 } = await emulatorFor(t);
  c1.createNode(realisticNode({ name: 'c1-n1', internalIP: '198.18.1.10', podCIDR: '10.2.1.0/24' }));
  const keys = [publicKeyOf(generatePrivateKey()), publicKeyOf(generatePrivateKey())];
  c2.createNode(remoteNode(1, keys[0]!));
  c2.createNode(remoteNode(2, keys[1]!));
  const parsed = parseClustersConfig({
    local: { name: 'c1', kubeConfigPath: c1.kubeconfigPath },
    remotes: [{ name: 'c2', kubeConfigPath: c2.kubeconfigPath, podSubnet: '10.4.0.0/16', wgListenPort: 51821 }],
  });
  assert.ok(parsed.ok, JSON.stringify(parsed));

  const wg = new FakeWireGuardClient();
  const routes = new FakeRoutes();
  const links = new FakeLinks({ onAdded: (name) => wg.addDevice(name), onRemoved: (name) => wg.deleteDevice(name) });
  const { logger, lines } = memoryLogger();
  let collections = 0;
  const daemon = await startDaemon(
    {
      config: parsed.config,
      nodeName: 'c1-n1',
      wgKeyPath: await keyDirectory(t),
      listen: { host: '127.0.0.1', port: 0 },
      wgBackend: 'kernel',
      wgUserspaceBinary: 'wireguard-go',
      wgUserspaceClient: 'uapi',
      reconcileIntervalMs: 60_000,
      watchBackoffCapMs: 1_000,
      readyWatchGraceMs: 60_000,
      peerMetrics: 'full',
      logger,
    },
    {
      links,
      routes,
      kernelClient: wg,
      userspaceClient: wg,
      launch: () => assert.fail('the kernel backend starts no process'),
      lookup: () => Promise.reject(new Error('no DNS in this test')),
      clock: systemClock,
      linkMonitor: null,
      collectGarbage: () => collections++,
    },
  );
  t.after(() => daemon.stop());
  const base = `http://127.0.0.1:${daemon.address.port}`;
  try {
    const peers = async () => (wg.hasDevice(DEVICE) ? (await wg.device(DEVICE)).peers : []);
    await until('both remote nodes are peers', async () => (await peers()).length === 2);
    assert.deepEqual(
      (await peers()).map((p) => [p.publicKey, p.endpoint, p.allowedIPs, p.persistentKeepaliveSeconds]).sort(),
      [
        [keys[0], '198.18.2.1:51821', ['10.4.1.0/24'], 25],
        [keys[1], '198.18.2.2:51821', ['10.4.2.0/24'], 25],
      ].sort(),
    );
    assert.deepEqual((await routes.list(DEVICE)).map((r) => r.destination), ['10.4.0.0/16']);
    assert.equal((await links.get(DEVICE))?.alias, 'clusterwire:c2');

    // The advertiser wrote this node's key and endpoint on the local Node.
    const annotations = () => (c1.getNode('c1-n1') as { metadata: { annotations?: Record<string, string> } }).metadata.annotations ?? {};
    const ownKey = (await wg.device(DEVICE)).publicKey;
    await until('the local Node is annotated', () => annotations()[`c2.${DOMAIN}/pubKey`] === ownKey);
    assert.equal(annotations()[`c2.${DOMAIN}/endpoint`], '198.18.1.10:51821');

    // A node added on the remote reaches the device through the watch, as
    // one added peer, without reading the device (the reconcile tick is a
    // minute away).
    const third = publicKeyOf(generatePrivateKey());
    const readsBefore = wg.reads;
    const changesBefore = wg.changes.length;
    c2.createNode(remoteNode(3, third));
    await until('the added node is a peer', () => wg.changes.slice(changesBefore).some(({ change }) => change.peers.some((p) => p.publicKey === third)));
    assert.deepEqual(
      wg.changes.slice(changesBefore).map(({ device, change }) => [device, change.peers]),
      [[DEVICE, [{ publicKey: third, endpoint: '198.18.2.3:51821', replaceAllowedIPs: ['10.4.3.0/24'], persistentKeepaliveSeconds: 25 }]]],
    );
    assert.equal(wg.reads, readsBefore, 'a watch event reads nothing from the device');
    await until('the start-up garbage is collected', () => collections > 0);
    assert.ok(lines().some((line) => line.msg === 'collected the start-up garbage (before, after)'));

    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    await until('/readyz answers 200', async () => (await fetch(`${base}/readyz`)).status === 200);
    const status = (await (await fetch(`${base}/status`)).json()) as { remotes: { remote: string; peers: { desired: number; applied: number }; devicePeers: unknown[] }[] };
    assert.deepEqual(
      status.remotes.map((r) => [r.remote, r.peers, r.devicePeers.length]),
      [['c2', { desired: 3, applied: 3 }, 3]],
    );
    const metrics = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
    assert.equal(metrics.samples.filter((s) => s.name === 'semaphore_wg_peer_info' && s.labels.device === DEVICE).length, 3);
    assert.equal(metrics.samples.find((s) => s.name === 'clusterwire_peers_applied' && s.labels.device === DEVICE)?.value, 3);
    assert.ok((metrics.samples.find((s) => s.name === 'semaphore_wg_sync_peers_total' && s.labels.device === DEVICE && s.labels.success === '1')?.value ?? 0) >= 1);
    assert.equal(collections, 1, 'once, whatever passes came after');
  } catch (error) {
    t.diagnostic(JSON.stringify(lines().slice(-20)));
    throw error;
  }
});

test('source mirror: the daemon peers from the local mirrored slices with no access to the remote, and reports the mirror down while keeping its peers', async (t) => {
  const { emulator: c1 } = await emulatorFor(t);
  c1.create(parseYaml(await readFile(path.join(DEPLOY_DIR, 'crds', 'peerslices.yaml'), 'utf8')) as object);
  c1.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'clusterwire' } });
  c1.createNode(realisticNode({ name: 'c1-n1', internalIP: '198.18.1.10', podCIDR: '10.2.1.0/24' }));
  const keys = [publicKeyOf(generatePrivateKey()), publicKeyOf(generatePrivateKey())];
  // As c1's mirror writes them from c2, and its Lease as its leader renews it.
  const entries = keys.map((key, i) => ({ node: `c2-n${i + 1}`, publicKey: key, endpoint: `198.18.2.${i + 1}:51821`, podCIDRs: [`10.4.${i + 1}.0/24`] }));
  c1.create(newSliceObject('clusterwire', 'c2-for-c1-0', sliceSetLabels({ source: 'c2', peer: 'c1', mirrored: true }), entries));
  const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'clusterwire', name: 'clusterwire-mirror' };
  const synced = { 'clusterwire.io/mirrored-remotes': JSON.stringify({ c2: { source: 'nodes', synced: true, since: null } }) };
  c1.create({ ...lease, metadata: { name: lease.name, namespace: lease.namespace, annotations: synced }, spec: { holderIdentity: 'c1-mirror-a', leaseDurationSeconds: 1 } });
  let renewing = true;
  const renewals = (async () => {
    while (renewing) {
      c1.patch(lease, { spec: { renewTime: new Date().toISOString().replace('Z', '000Z') } });
      await delay(100);
    }
  })();
  t.after(async () => {
    renewing = false;
    await renewals;
  });
  const parsed = parseClustersConfig({ local: { name: 'c1', kubeConfigPath: c1.kubeconfigPath }, remotes: [{ name: 'c2', source: 'mirror', podSubnet: '10.4.0.0/16', wgListenPort: 51821 }] });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  assert.equal(parsed.config.remotes[0]?.access, null, 'no remote access in the config');

  const wg = new FakeWireGuardClient();
  const links = new FakeLinks({ onAdded: (name) => wg.addDevice(name), onRemoved: (name) => wg.deleteDevice(name) });
  const { logger, lines } = memoryLogger();
  const clusters: string[] = [];
  const logMark = c1.requestLog().at(-1)?.seq ?? 0;
  const daemonStarted = performance.now();
  const daemon = await startDaemon(
    {
      config: parsed.config,
      nodeName: 'c1-n1',
      wgKeyPath: await keyDirectory(t),
      listen: { host: '127.0.0.1', port: 0 },
      wgBackend: 'kernel',
      wgUserspaceBinary: 'wireguard-go',
      wgUserspaceClient: 'uapi',
      reconcileIntervalMs: 300,
      watchBackoffCapMs: 1_000,
      readyWatchGraceMs: 60_000,
      peerMetrics: 'full',
      logger,
    },
    {
      links,
      routes: new FakeRoutes(),
      kernelClient: wg,
      userspaceClient: wg,
      launch: () => assert.fail('the kernel backend starts no process'),
      lookup: () => Promise.reject(new Error('no DNS in this test')),
      clock: systemClock,
      kubeClient: (cluster, access, metrics) => {
        clusters.push(cluster);
        return createKubeClient({ cluster, settings: connectionSettings(access), requests: metrics.kubeHttpRequests });
      },
    },
  );
  t.after(() => daemon.stop());
  const base = `http://127.0.0.1:${daemon.address.port}`;
  type Source = { kind: string; slices: number; mirror: { state: string; holder: string | null; reason: string | null } };
  const source = async () => ((await (await fetch(`${base}/status`)).json()) as { remotes: { source: Source }[] }).remotes[0]?.source;
  try {
    const peers = async () => (wg.hasDevice(DEVICE) ? (await wg.device(DEVICE)).peers : []);
    await until('both mirrored nodes are peers', async () => (await peers()).length === 2);
    assert.deepEqual((await peers()).map((p) => [p.publicKey, p.endpoint, p.allowedIPs]).sort(), entries.map((e) => [e.publicKey, e.endpoint, e.podCIDRs]).sort());
    assert.deepEqual(clusters, ['c1'], 'one client, of the local apiserver: none for the remote');
    await until('the mirror is judged fresh', async () => (await source())?.mirror.state === 'fresh');
    assert.deepEqual([(await source())?.kind, (await source())?.slices, (await source())?.mirror.holder], ['mirror', 1, 'c1-mirror-a']);
    const metrics = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
    assert.equal(metrics.samples.find((s) => s.name === 'clusterwire_remote_source_info' && s.labels.source === 'mirror')?.value, 1);
    assert.equal(metrics.samples.find((s) => s.name === 'clusterwire_remote_mirror_stale')?.value, 0);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);

    renewing = false;
    await renewals;
    await until('the mirror is judged down', async () => (await source())?.mirror.state === 'down');
    const stale = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
    assert.equal(stale.samples.find((s) => s.name === 'clusterwire_remote_mirror_stale')?.value, 1);
    assert.equal((await peers()).length, 2, 'peers kept while the mirror is down');
    assert.equal((await fetch(`${base}/readyz`)).status, 200, 'still ready within the grace');

    // Every other reconcile interval (600 ms here), and once at start: never more, however late timers fire.
    const elapsedMs = performance.now() - daemonStarted;
    const leaseReads = c1.requestLog(logMark).filter((r) => r.resource === 'leases' && r.verb === 'get' && r.name === 'clusterwire-mirror').length;
    t.diagnostic(`${leaseReads} reads of the mirror's Lease in ${elapsedMs.toFixed(0)} ms`);
    assert.ok(leaseReads >= 2 && leaseReads <= 1 + Math.floor(elapsedMs / 600), `${leaseReads} Lease reads in ${elapsedMs.toFixed(0)} ms, reconcile interval 300 ms`);
  } catch (error) {
    t.diagnostic(JSON.stringify(lines().slice(-20)));
    throw error;
  }
});
