import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { FakeLinks } from '../../src/ip/fake-links.ts';
import { FakeRoutes } from '../../src/ip/fake-routes.ts';
import type { LinkRouteEvents } from '../../src/ip/link-route-events.ts';
import type { RemoteNode } from '../../src/kube/remote-node.ts';
import { projectNode } from '../../src/kube/node-projection.ts';
import { createMetrics } from '../../src/metrics.ts';
import { desiredPeers } from '../../src/peering/desired-peers.ts';
import { LINK_READ_EVERY_TICKS, RemotePeering } from '../../src/peering/remote-peering.ts';
import type { RemoteCluster } from '../../src/config/types.ts';
import { FakeWireGuardClient } from '../../src/wireguard/fake-client.ts';
import { generatePrivateKey, publicKeyOf } from '../../src/wireguard/keys.ts';
import { WireGuardDevices } from '../../src/wireguard/devices.ts';
import { FakeNodeSource } from '../support/fake-node-source.ts';
import { ManualClock } from '../support/manual-clock.ts';
import { health, PASS_DEADLINE_MS } from '../../src/peering/readiness.ts';
import { REJECTION_RETRY_MS } from '../../src/peering/rejected-peers.ts';
import { SKIP_REASONS } from '../../src/peering/skip-reasons.ts';

const DEVICE = 'wireguard.c2';
const DOMAIN = 'wireguard.semaphore.uw.io';
const remote: RemoteCluster = {
  name: 'c2',
  access: { kind: 'kubeconfig', path: '/dev/null' },
  podSubnets: ['10.4.0.0/16'],
  mtu: 1420,
  listenPort: 51821,
  deviceName: DEVICE,
  persistentKeepaliveSeconds: 25,
  reconcileIntervalMs: null,
  maxNodes: 20_000,
  source: { kind: 'nodes' },
  slicesNamespace: 'clusterwire',
};

function remoteNode(i: number, overrides: Partial<RemoteNode> = {}): RemoteNode {
  return { name: `n${i}`, podCIDRs: [`10.4.${i}.0/24`], refused: null, publicKey: publicKeyOf(generatePrivateKey()), endpoint: `198.18.0.${i}:51821`, ...overrides };
}

function setup(overrides: Partial<RemoteCluster> = {}, linkEvents?: LinkRouteEvents) {
  const wg = new FakeWireGuardClient();
  const routes = new FakeRoutes();
  const links = new FakeLinks({ onAdded: (name) => wg.addDevice(name), onRemoved: (name) => { wg.deleteDevice(name); routes.dropDevice(name); } });
  const logger = pino({ level: 'silent' });
  const clock = new ManualClock();
  const devices = new WireGuardDevices({ backend: 'kernel', links, kernelClient: wg, userspace: { binary: 'wireguard-go', socketDirectory: '/nonexistent', launch: () => { throw new Error('no userspace in unit tests'); } }, logger, clock });
  const source = new FakeNodeSource();
  const metrics = createMetrics();
  const privateKey = generatePrivateKey();
  const applied = { passes: 0 };
  const peering = new RemotePeering({
    remote: { ...remote, ...overrides },
    privateKey,
    publicKey: publicKeyOf(privateKey),
    devices,
    routes,
    ...(linkEvents ? { linkEvents } : {}),
    createNodeSource: (onChange) => {
      source.onChange = onChange;
      return source;
    },
    lookup: (host) =>
      host === 'node.c2.example'
        ? Promise.resolve('198.18.5.5')
        : host === 'hang.c2.example'
          ? new Promise<string>(() => undefined)
          : Promise.reject(new Error(`ENOTFOUND ${host}`)),
    metrics,
    logger,
    clock,
    reconcileIntervalMs: 30_000,
    onPeersApplied: () => {
      applied.passes += 1;
    },
  });
  const peers = async () => (await wg.device(DEVICE)).peers;
  const metric = async (name: string, labels: Record<string, string>) => {
    const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
    return m?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
  };
  const tick = async () => {
    clock.advance(30_000);
    await peering.idle();
  };
  /** Starts with these remote nodes listed and waits for the first sync. */
  const startSynced = async (...nodes: RemoteNode[]) => {
    for (const n of nodes) source.nodes.set(n.name, n);
    peering.start();
    source.list();
    await peering.idle();
  };
  /** Counts every configure the device is asked for, refused ones included. */
  const attempts: string[][] = [];
  const configure = wg.configure.bind(wg);
  wg.configure = (name, change) => {
    attempts.push(change.peers.map((p) => p.publicKey));
    return configure(name, change);
  };
  const skipped = () => peering.status().skipped.map((x) => [x.node, x.reason, x.peered]);
  return { wg, routes, links, source, clock, metrics, peering, peers, metric, tick, startSynced, attempts, skipped, privateKey, applied };
}

test('sets up device and routes at once, but applies no peers before the first full list', async () => {
  const s = setup();
  s.source.nodes.set('n1', remoteNode(1));
  s.peering.start();
  await s.peering.idle();
  assert.equal(s.peering.status().deviceReady, true);
  assert.deepEqual((await s.routes.list(DEVICE)).map((r) => r.destination), ['10.4.0.0/16']);
  assert.deepEqual(await s.peers(), []);
  assert.equal(s.peering.status().lastSyncAt, null);
  assert.equal(s.applied.passes, 0, 'not advertised: the device has none of the remote nodes yet');
  s.source.list();
  await s.peering.idle();
  assert.equal((await s.peers()).length, 1);
  assert.equal(s.applied.passes, 1, 'the peers are on the device: it may be advertised');
  await s.peering.stop();
});

test('after the first list the device holds exactly the remote nodes as peers', async () => {
  const s = setup();
  const nodes = [remoteNode(1), remoteNode(2), remoteNode(3, { publicKey: 'garbage' })];
  for (const n of nodes) s.source.nodes.set(n.name, n);
  s.peering.start();
  s.source.list();
  await s.peering.idle();
  const peers = await s.peers();
  assert.deepEqual(peers.map((p) => [p.publicKey, p.endpoint, p.allowedIPs, p.persistentKeepaliveSeconds]).sort(), [
    [nodes[0]?.publicKey, '198.18.0.1:51821', ['10.4.1.0/24'], 25],
    [nodes[1]?.publicKey, '198.18.0.2:51821', ['10.4.2.0/24'], 25],
  ].sort());
  const status = s.peering.status();
  assert.deepEqual(status.peers, { desired: 2, applied: 2 });
  assert.deepEqual(status.skipped.map((x) => [x.node, x.reason]), [['n3', 'bad-public-key']]);
  assert.deepEqual(Object.fromEntries(status.peerNodes), { [nodes[0]?.publicKey ?? '']: 'n1', [nodes[1]?.publicKey ?? '']: 'n2' }, 'each peer key names its node, for /status');
  assert.equal(await s.metric('clusterwire_remote_nodes_skipped', { cluster: 'c2', reason: 'bad-public-key' }), 1);
  assert.equal(await s.metric('semaphore_wg_sync_peers_total', { device: DEVICE, success: '1' }), 1);
  await s.peering.stop();
});

test('node added, changed and deleted reach the device; a burst costs few applies', async () => {
  const s = setup();
  s.peering.start();
  s.source.list();
  await s.peering.idle();
  const n1 = remoteNode(1);
  s.source.put(n1);
  await s.peering.idle();
  assert.equal((await s.peers()).length, 1);

  s.source.put({ ...n1, endpoint: '198.18.0.99:51821' });
  await s.peering.idle();
  assert.equal((await s.peers())[0]?.endpoint, '198.18.0.99:51821');

  const before = s.wg.changes.length;
  const coalescedBefore = await s.metric('clusterwire_sync_requests_coalesced_total', { device: DEVICE });
  for (let i = 2; i < 52; i++) s.source.put(remoteNode(i));
  await s.peering.idle();
  assert.equal((await s.peers()).length, 51);
  assert.ok(s.wg.changes.length - before <= 2, `50 events took ${s.wg.changes.length - before} applies`);
  // Coalescing is normal: our own counter, not semaphore's queue-full failures.
  assert.equal((await s.metric('clusterwire_sync_requests_coalesced_total', { device: DEVICE })) - coalescedBefore, 49);
  assert.equal(await s.metric('semaphore_wg_sync_queue_full_failures_total', { device: DEVICE }), 0);

  s.source.delete('n1');
  await s.peering.idle();
  assert.ok(!(await s.peers()).some((p) => p.publicKey === n1.publicKey));
  await s.peering.stop();
});

test('drift: a peer removed by hand, a deleted route and a deleted link are repaired on the next tick', async () => {
  const s = setup();
  const n1 = remoteNode(1);
  await s.startSynced(n1);

  await s.wg.configure(DEVICE, { peers: [{ publicKey: n1.publicKey ?? '', remove: true }] });
  s.routes.deleteRoute(DEVICE, '10.4.0.0/16');
  await s.tick();
  assert.equal((await s.peers()).length, 1);
  assert.equal((await s.routes.list(DEVICE)).length, 1);
  assert.equal(await s.metric('clusterwire_drift_repairs_total', { device: DEVICE, kind: 'peer' }), 1);
  assert.equal(await s.metric('clusterwire_drift_repairs_total', { device: DEVICE, kind: 'route' }), 1);

  await s.links.remove(DEVICE);
  await s.tick();
  assert.ok(await s.links.get(DEVICE));
  assert.equal((await s.peers()).length, 1);
  assert.equal((await s.routes.list(DEVICE)).length, 1);
  assert.equal(await s.metric('clusterwire_drift_repairs_total', { device: DEVICE, kind: 'link' }), 1);
  await s.peering.stop();
});

test('the device is read on the reconcile tick and after a change that failed, never for a watch event', async () => {
  const s = setup();
  await s.startSynced(remoteNode(1));
  let reads = s.wg.reads;
  for (let i = 2; i < 12; i++) {
    s.source.put(remoteNode(i));
    await s.peering.idle();
  }
  s.source.put({ ...remoteNode(3), endpoint: '198.18.0.33:51821' });
  s.source.delete('n2');
  await s.peering.idle();
  assert.equal(s.wg.reads - reads, 0, 'watch events read nothing');
  assert.equal((await s.peers()).length, 10);

  reads = s.wg.reads;
  await s.tick();
  assert.equal(s.wg.reads - reads, 1, 'a tick reads the device once');

  reads = s.wg.reads;
  const added = remoteNode(20);
  s.wg.failNextConfigure(new Error('UAPI errno 5'));
  s.source.put(added);
  await s.peering.idle();
  assert.equal(s.wg.reads - reads, 0);
  s.clock.advance(1_000);
  await s.peering.idle();
  assert.equal(s.wg.reads - reads, 1, 'the pass after a failed change reads the device first');
  assert.ok((await s.peers()).some((p) => p.publicKey === added.publicKey));
  await s.peering.stop();
});

test('after a userspace restart the device is read once and gets its key, port and every peer back', async () => {
  const s = setup();
  const nodes = [remoteNode(1), remoteNode(2), remoteNode(3)];
  await s.startSynced(...nodes);
  // What a restarted wireguard-go has: the same link, an empty device.
  s.wg.deleteDevice(DEVICE);
  s.wg.addDevice(DEVICE);
  const reads = s.wg.reads;
  s.peering.checkDevice('process');
  await s.peering.idle();
  assert.equal(s.wg.reads - reads, 1, 'one read, in the device check');
  const device = await s.wg.device(DEVICE);
  assert.equal(device.publicKey, publicKeyOf(s.privateKey));
  assert.equal(device.listenPort, 51821);
  assert.deepEqual(device.peers.map((p) => p.publicKey).sort(), nodes.map((n) => n.publicKey).sort());
  assert.equal(await s.metric('clusterwire_drift_repairs_total', { device: DEVICE, kind: 'process' }), 1);
  await s.peering.stop();
});

test('an endpoint learned by roaming is left alone until the advertised endpoint changes', async () => {
  const s = setup();
  const n1 = remoteNode(1);
  await s.startSynced(n1);
  s.wg.roam(DEVICE, n1.publicKey ?? '', '203.0.113.7:40000');
  const applies = s.wg.changes.length;
  await s.tick();
  await s.tick();
  assert.equal((await s.peers())[0]?.endpoint, '203.0.113.7:40000');
  assert.equal(s.wg.changes.length, applies);

  s.source.put({ ...n1, endpoint: '198.18.0.50:51821' });
  await s.peering.idle();
  assert.equal((await s.peers())[0]?.endpoint, '198.18.0.50:51821');
  await s.peering.stop();
});

test('a hostname endpoint is resolved before it reaches the device', async () => {
  const s = setup();
  s.source.nodes.set('n1', remoteNode(1, { endpoint: 'node.c2.example:51821' }));
  s.peering.start();
  s.source.list();
  await s.peering.idle();
  assert.equal((await s.peers())[0]?.endpoint, '198.18.5.5:51821');
  await s.peering.stop();
});

test('a failing apply is counted, reported and retried until it succeeds', async () => {
  const s = setup();
  s.source.nodes.set('n1', remoteNode(1));
  s.peering.start();
  await s.peering.idle();
  s.wg.failNextConfigure(new Error('UAPI errno 22'));
  s.source.list();
  await s.peering.idle();
  assert.match(s.peering.status().lastSyncError ?? '', /errno 22/);
  assert.equal(await s.metric('semaphore_wg_sync_peers_total', { device: DEVICE, success: '0' }), 1);
  assert.equal(await s.metric('semaphore_wg_sync_requeue_total', { device: DEVICE }), 1);
  assert.deepEqual(await s.peers(), []);
  s.clock.advance(1_000);
  await s.peering.idle();
  assert.equal((await s.peers()).length, 1);
  assert.equal(s.peering.status().lastSyncError, null);
  await s.peering.stop();
});

test('a restarted daemon keeps the peers already on the device until the first list says otherwise', async () => {
  const s = setup();
  const n1 = remoteNode(1);
  await s.startSynced(n1);
  await s.peering.stop();

  // The same host, a new process whose remote apiserver is unreachable: the device must keep its peers.
  const again = setup();
  const fresh = new RemotePeering({
    remote,
    privateKey: generatePrivateKey(),
    publicKey: 'x',
    devices: {
      ensure: async (_spec, state) => {
        state.read(await s.wg.read(DEVICE), null);
        return { name: DEVICE, index: 2, backend: 'kernel', publicKey: 'x', created: false, client: s.wg };
      },
    },
    routes: s.routes,
    createNodeSource: () => again.source,
    lookup: () => Promise.reject(new Error('no dns')),
    metrics: again.metrics,
    logger: pino({ level: 'silent' }),
    clock: again.clock,
    reconcileIntervalMs: 30_000,
  });
  fresh.start();
  await fresh.idle();
  again.clock.advance(120_000);
  await fresh.idle();
  assert.equal((await s.peers()).length, 1);
  await fresh.stop();
});

test('a route the kernel refuses (IPv6 disabled on the node) holds back neither the peers nor the other routes', async () => {
  const s = setup({ podSubnets: ['10.4.0.0/16', 'fd00:4::/56'] });
  s.routes.refuse('fd00:4::/56', 'IPv6 is disabled on nexthop device');
  const n1 = remoteNode(1, { podCIDRs: ['10.4.1.0/24', 'fd00:4:0:1::/64'] });
  await s.startSynced(n1);
  assert.deepEqual((await s.routes.list(DEVICE)).map((r) => r.destination), ['10.4.0.0/16']);
  assert.deepEqual((await s.peers()).map((p) => p.allowedIPs), [['10.4.1.0/24', 'fd00:4:0:1::/64']]);
  const status = s.peering.status();
  assert.equal(status.deviceReady, true, '/healthz stays 200: a liveness restart would not bring IPv6 back');
  assert.deepEqual(status.peers, { desired: 1, applied: 1 });
  assert.match(status.lastSyncError ?? '', /updating routes through wireguard\.c2 failed: fd00:4::\/56: IPv6 is disabled/);
  await s.tick();
  assert.equal(s.routes.applied.length, 2, 'tried again on the next tick');
  assert.equal(await s.metric('clusterwire_drift_repairs_total', { device: DEVICE, kind: 'route' }), 0);

  s.routes.refuse('fd00:4::/56', null);
  await s.tick();
  assert.deepEqual((await s.routes.list(DEVICE)).map((r) => r.destination), ['10.4.0.0/16', 'fd00:4::/56']);
  assert.equal(s.peering.status().lastSyncError, null);
  assert.equal(await s.metric('clusterwire_drift_repairs_total', { device: DEVICE, kind: 'route' }), 0, 'a route that could not be made before is not drift');
  await s.peering.stop();
});

test('metrics: every skip reason starts at 0 for the remote', async () => {
  const s = setup();
  for (const reason of SKIP_REASONS) assert.equal(await s.metric('clusterwire_remote_nodes_skipped', { cluster: 'c2', reason }), 0, reason);
  const exposition = await s.metrics.registry.getSingleMetricAsString('clusterwire_remote_nodes_skipped');
  assert.equal(exposition.split('\n').filter((line) => line.startsWith('clusterwire_remote_nodes_skipped{')).length, SKIP_REASONS.length);
});

test('a bad node never delays a good one by more than one pass: a hostname that never resolves', async () => {
  const s = setup();
  await s.startSynced(remoteNode(1));
  const good = remoteNode(2);
  s.source.put(remoteNode(3, { endpoint: 'hang.c2.example:51821' }));
  s.source.put(good);
  const attemptsBefore = s.attempts.length;
  await s.peering.idle();
  assert.deepEqual(s.attempts.slice(attemptsBefore), [[good.publicKey]], 'the good node went to the device in the pass of its event');
  assert.deepEqual(s.skipped(), [['n3', 'resolving-endpoint', false]]);
  assert.equal(s.peering.status().lastSyncError, null);

  s.clock.advance(5_000);
  // The look-up's timeout settles in the background, then asks for a pass.
  await new Promise((resolve) => setImmediate(resolve));
  await s.peering.idle();
  assert.deepEqual(s.skipped(), [['n3', 'unresolvable-endpoint', false]]);
  assert.match(s.peering.status().skipped[0]?.detail ?? '', /^hang.c2.example: no answer within 5000 ms$/);
  assert.equal(await s.metric('clusterwire_remote_nodes_skipped', { cluster: 'c2', reason: 'unresolvable-endpoint' }), 1);
  assert.equal((await s.peers()).length, 2);

  const fixed = remoteNode(3, { endpoint: 'node.c2.example:51821' });
  s.source.put(fixed);
  await s.peering.idle();
  await s.peering.idle();
  assert.deepEqual(s.skipped(), []);
  assert.equal((await s.peers()).find((p) => p.publicKey === fixed.publicKey)?.endpoint, '198.18.5.5:51821');
  await s.peering.stop();
});

test('a bad node never delays a good one by more than one pass: a peer the device refuses', async () => {
  const s = setup();
  await s.startSynced(remoteNode(1));
  const bad = remoteNode(3);
  const good = remoteNode(2);
  s.wg.refusePeer(bad.publicKey ?? '');
  s.source.put(bad);
  s.source.put(good);
  await s.peering.idle();
  assert.ok((await s.peers()).some((p) => p.publicKey === good.publicKey), 'the good node is on the device after the same pass');
  assert.ok(!(await s.peers()).some((p) => p.publicKey === bad.publicKey));
  assert.deepEqual(s.skipped(), [['n3', 'device-rejected', false]]);
  assert.match(s.peering.status().skipped[0]?.detail ?? '', /^wireguard.c2 refused the peer: fake WireGuard: wireguard.c2 refuses peer .* \(1 peer changes\)$/);
  assert.equal(s.peering.status().lastSyncError, null);
  assert.deepEqual(s.peering.status().peers, { desired: 3, applied: 2 });
  assert.equal(await s.metric('clusterwire_remote_nodes_skipped', { cluster: 'c2', reason: 'device-rejected' }), 1);

  // Held back: later passes do not send it again while its data is the same.
  const attempts = s.attempts.length;
  await s.tick();
  await s.tick();
  assert.equal(s.attempts.length, attempts, 'nothing sent on the ticks');

  // New data: tried again (and refused again).
  s.source.put({ ...bad, endpoint: '198.18.0.33:51821' });
  await s.peering.idle();
  assert.ok(s.attempts.slice(attempts).some((a) => a.includes(bad.publicKey ?? '')), 'tried again with its new data');
  assert.deepEqual(s.skipped(), [['n3', 'device-rejected', false]]);

  // After the retry time, tried again with the same data; accepted this time.
  s.wg.acceptPeer(bad.publicKey ?? '');
  s.clock.advance(REJECTION_RETRY_MS);
  await s.peering.idle();
  assert.ok((await s.peers()).some((p) => p.publicKey === bad.publicKey && p.endpoint === '198.18.0.33:51821'));
  assert.deepEqual(s.skipped(), []);
  assert.deepEqual(s.peering.status().peers, { desired: 3, applied: 3 });
  await s.peering.stop();
});

test("a remote node advertising this device's own public key is skipped, not sent to the device on every pass", async () => {
  const s = setup();
  const mirror = remoteNode(1, { publicKey: publicKeyOf(s.privateKey) });
  await s.startSynced(mirror, remoteNode(2));
  assert.deepEqual(s.skipped(), [['n1', 'duplicate-public-key', false]]);
  const attempts = s.attempts.length;
  await s.tick();
  assert.equal(s.attempts.length, attempts);
  await s.peering.stop();
});

test('a pass that does not end is visible: passStartedAt stays set, so /healthz can report it', async () => {
  const s = setup();
  let calls = 0;
  const stuck = new RemotePeering({
    remote,
    privateKey: s.privateKey,
    publicKey: publicKeyOf(s.privateKey),
    devices: { ensure: () => ((calls += 1), new Promise<never>(() => undefined)) },
    routes: s.routes,
    createNodeSource: () => s.source,
    lookup: () => Promise.reject(new Error('no dns')),
    metrics: s.metrics,
    logger: pino({ level: 'silent' }),
    clock: s.clock,
    reconcileIntervalMs: 30_000,
  });
  assert.equal(stuck.status().passStartedAt, null);
  s.clock.advance(1_000);
  stuck.start();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(calls, 1);
  assert.equal(stuck.status().passStartedAt, 1_000);
  s.clock.advance(PASS_DEADLINE_MS + 1);
  assert.deepEqual(health([stuck.status()], s.clock.now()).reasons, {
    c2: `a pass has been running for ${Math.round((PASS_DEADLINE_MS + 1) / 1000)}s, past its deadline of ${PASS_DEADLINE_MS / 1000}s: a command or the device is not answering`,
  });
});

test('a node claiming 10,000 pod CIDRs costs a pass no more than a normal node (it used to take 15 s at 8,000)', async (t) => {
  const objectOf = (node: RemoteNode, podCIDRs = node.podCIDRs) => ({
    metadata: { name: node.name, annotations: { [`c1.${DOMAIN}/pubKey`]: node.publicKey, [`c1.${DOMAIN}/endpoint`]: node.endpoint } },
    spec: { podCIDR: podCIDRs[0], podCIDRs },
  });
  const normal = Array.from({ length: 1_000 }, (_, i) => remoteNode(i + 1, { podCIDRs: [`10.4.${(i + 1) >> 4}.${((i + 1) & 15) << 4}/28`], endpoint: `198.18.${(i + 1) >> 8}.${(i + 1) & 255}:51821` }));
  const hostile = remoteNode(9_999, { name: 'n0-hostile' });
  const claimed = Array.from({ length: 10_000 }, (_, i) => `10.4.${i >> 6}.${(i & 63) << 2}/30`);

  const pass = async (objects: unknown[]) => {
    const s = setup();
    for (const object of objects) {
      const node = projectNode(object, 'c1', DOMAIN);
      if (node) s.source.nodes.set(node.name, node);
    }
    const started = performance.now();
    await s.startSynced();
    const ms = performance.now() - started;
    const cidrsKept = [...s.source.nodes.values()].reduce((sum, node) => sum + node.podCIDRs.length, 0);
    const result = { ms, cidrsKept, peers: (await s.peers()).length, skipped: s.skipped() };
    await s.peering.stop();
    return result;
  };
  const without = await pass(normal.map((node) => objectOf(node)));
  const projectStarted = performance.now();
  const projected = projectNode(objectOf(hostile, claimed), 'c1', DOMAIN);
  const projectMs = performance.now() - projectStarted;
  const withHostile = await pass([objectOf(hostile, claimed), ...normal.map((node) => objectOf(node))]);
  t.diagnostic(`first pass at 1,000 nodes: ${without.ms.toFixed(0)} ms; with a node claiming 10,000 pod CIDRs: ${withHostile.ms.toFixed(0)} ms (projecting it: ${projectMs.toFixed(2)} ms)`);

  assert.deepEqual(projected?.refused, { reason: 'too-many-pod-cidrs', detail: 'spec.podCIDRs has 10000 entries, more than 2 (one per family)' });
  assert.equal(withHostile.cidrsKept, without.cidrsKept, 'not one of its CIDRs is kept, so none is looked at by a pass');
  assert.equal(withHostile.peers, without.peers);
  assert.deepEqual(withHostile.skipped, [['n0-hostile', 'too-many-pod-cidrs', false]]);
});

test('a watch event at 5,000 and 10,000 nodes sends one change and reads nothing; its pass time is printed next to a full pass', async (t) => {
  for (const count of [5_000, 10_000]) {
    const s = setup({ podSubnets: ['10.0.0.0/8'] });
    const nodes = Array.from({ length: count }, (_, i) => remoteNode(i, { podCIDRs: [`10.${i >> 8}.${i & 255}.0/24`], endpoint: `198.18.${i >> 8}.${i & 255}:51821` }));
    await s.startSynced(...nodes);
    assert.equal((await s.peers()).length, count);

    const reads = s.wg.reads;
    const changes = s.wg.changes.length;
    const eventMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const node = nodes[(i * 37) % count] as RemoteNode;
      const started = performance.now();
      s.source.put({ ...node, endpoint: `198.19.${i >> 8}.${i & 255}:51821` });
      await s.peering.idle();
      eventMs.push(performance.now() - started);
    }
    const sent = s.wg.changes.slice(changes).map(({ change }) => change.peers.length);
    assert.deepEqual(sent, Array.from({ length: 200 }, () => 1), 'each event sends exactly its one peer change');
    assert.equal(s.wg.reads - reads, 0, 'no event reads the device');

    const tickStarted = performance.now();
    await s.tick();
    const tickMs = performance.now() - tickStarted;
    eventMs.sort((a, b) => a - b);
    const at = (q: number) => (eventMs[Math.min(eventMs.length - 1, Math.floor(q * eventMs.length))] as number).toFixed(2);
    t.diagnostic(`${count} nodes, fake device: event pass p50 ${at(0.5)} ms, p99 ${at(0.99)} ms; reconcile tick (read + compare every peer) ${tickMs.toFixed(1)} ms`);
    await s.peering.stop();
  }
});

test('a write that changes what a hostname node falls back on is decided again at once, as a full recomputation would decide it', async () => {
  const s = setup();
  const key = publicKeyOf(generatePrivateKey());
  // n1 comes first by name but its hostname is never answered; n2 has the same key and an address.
  const n1 = remoteNode(1, { publicKey: key, endpoint: 'hang.c2.example:51821' });
  const n2 = remoteNode(2, { publicKey: key });
  await s.startSynced(n1, n2);
  const device = new Map((await s.peers()).map((p) => [p.publicKey, p.endpoint]));
  const reference = desiredPeers({
    nodes: [n1, n2],
    podSubnets: remote.podSubnets,
    persistentKeepaliveSeconds: 25,
    maxNodes: remote.maxNodes,
    ownPublicKey: publicKeyOf(s.privateKey),
    resolve: () => ({ state: 'pending' }),
    deviceEndpoint: (publicKey) => device.get(publicKey) ?? null,
  });
  // n2's peer went to the device first; with its endpoint there, n1 keeps it (the device's endpoint while n1's name does not resolve).
  assert.deepEqual(reference.peers, [{ publicKey: key, endpoint: '198.18.0.2:51821', allowedIPs: ['10.4.1.0/24'], persistentKeepaliveSeconds: 25 }]);
  assert.deepEqual(
    (await s.peers()).map((p) => ({ publicKey: p.publicKey, endpoint: p.endpoint, allowedIPs: p.allowedIPs, persistentKeepaliveSeconds: p.persistentKeepaliveSeconds })),
    reference.peers,
  );
  assert.deepEqual(s.skipped(), [['n1', 'resolving-endpoint', true], ['n2', 'duplicate-public-key', false]]);
  await s.peering.stop();
});

/** Netlink events as a test drives them: an epoch it sets, and watchers it tells. */
function fakeLinkEvents() {
  const watchers: Array<{ device: string; onChange: () => void }> = [];
  let epoch: number | null = 1;
  const events: LinkRouteEvents = {
    watch: (device, _subnets, onChange) => {
      const watcher = { device, onChange };
      watchers.push(watcher);
      return () => watchers.splice(watchers.indexOf(watcher), 1);
    },
    epoch: () => epoch,
  };
  return {
    events,
    fire: (device: string) => watchers.filter((w) => w.device === device).forEach((w) => w.onChange()),
    setEpoch: (next: number | null) => {
      epoch = next;
    },
  };
}

test('with netlink events, an idle tick reads the device but not the link or the routes; an event, a new monitor run or every LINK_READ_EVERY_TICKS ticks read them', async () => {
  const netlink = fakeLinkEvents();
  const s = setup({}, netlink.events);
  const reads = { links: 0, routes: 0 };
  const get = s.links.get.bind(s.links);
  s.links.get = (name) => ((reads.links += 1), get(name));
  const list = s.routes.list.bind(s.routes);
  s.routes.list = (device) => ((reads.routes += 1), list(device));
  await s.startSynced(remoteNode(1));
  // The link the first pass created and set up is read once more: what a write changed is not assumed.
  await s.tick();
  const counted = () => {
    const now = { ...reads };
    reads.links = 0;
    reads.routes = 0;
    return now;
  };
  counted();
  const deviceReads = s.wg.reads;

  await s.tick();
  await s.tick();
  assert.deepEqual(counted(), { links: 0, routes: 0 }, 'two idle ticks: no link or route read');
  assert.equal(s.wg.reads, deviceReads + 2, 'the device is read on every tick: that finds peer drift');

  await s.routes.apply(DEVICE, { replace: [], remove: ['10.4.0.0/16'] });
  netlink.fire(DEVICE);
  await s.peering.idle();
  assert.deepEqual(counted(), { links: 1, routes: 1 }, 'an event: read at once, without waiting for the tick');
  assert.deepEqual((await list(DEVICE)).map((r) => r.destination), ['10.4.0.0/16'], 'and the deleted route repaired');
  assert.equal(await s.metric('clusterwire_drift_repairs_total', { kind: 'route' }), 1);

  netlink.fire('wireguard.c3');
  await s.peering.idle();
  await s.tick();
  assert.deepEqual(counted(), { links: 0, routes: 0 }, "another device's event reads nothing");

  netlink.setEpoch(2);
  await s.tick();
  assert.deepEqual(counted(), { links: 1, routes: 1 }, 'a new monitor run: what the old one missed is read');
  netlink.setEpoch(null);
  await s.tick();
  await s.tick();
  assert.deepEqual(counted(), { links: 2, routes: 2 }, 'no monitor listening: read on every tick');
  netlink.setEpoch(3);
  await s.tick();
  counted();
  for (let i = 0; i < LINK_READ_EVERY_TICKS - 1; i++) await s.tick();
  assert.deepEqual(counted(), { links: 0, routes: 0 }, `quiet for ${LINK_READ_EVERY_TICKS - 1} ticks: nothing read`);
  await s.tick();
  assert.deepEqual(counted(), { links: 1, routes: 1 }, `the ${LINK_READ_EVERY_TICKS}th quiet tick reads anyway`);

  await s.links.remove(DEVICE);
  netlink.fire(DEVICE);
  await s.peering.idle();
  assert.equal(s.peering.status().deviceReady, true);
  assert.deepEqual((await list(DEVICE)).map((r) => r.destination), ['10.4.0.0/16'], 'a deleted link: recreated with its route');
  assert.equal(await s.metric('clusterwire_drift_repairs_total', { kind: 'link' }), 1);
});
