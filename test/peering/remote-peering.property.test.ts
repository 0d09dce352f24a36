/**
 * The whole engine (RemotePeering over a fake device) against the full
 * recomputation, through random sequences of watch events (adds, updates,
 * deletes, shared keys, overlapping pod CIDRs, this device's own key), applies
 * that fail, keys the device refuses (and stops refusing), peers removed
 * behind its back and reconcile ticks. After each step settles, the device
 * holds exactly what desiredPeers over all nodes says for every key it does
 * not refuse; a watch event's pass never reads the device unless the device
 * refused its batch.
 *
 * Each run has its own seed, printed on failure and in the test output.
 * REMOTE_PEERING_SEED=<n> replays the runs from seed n.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { seededRandom } from '../../bench/random.ts';
import type { RemoteCluster } from '../../src/config/types.ts';
import { FakeLinks } from '../../src/ip/fake-links.ts';
import { FakeRoutes } from '../../src/ip/fake-routes.ts';
import type { RemoteNode } from '../../src/kube/remote-node.ts';
import { createMetrics } from '../../src/metrics.ts';
import { desiredPeers } from '../../src/peering/desired-peers.ts';
import { REJECTION_RETRY_MS } from '../../src/peering/rejected-peers.ts';
import { RemotePeering } from '../../src/peering/remote-peering.ts';
import { WireGuardDevices } from '../../src/wireguard/devices.ts';
import { FakeWireGuardClient } from '../../src/wireguard/fake-client.ts';
import { generatePrivateKey, publicKeyOf } from '../../src/wireguard/keys.ts';
import { FakeNodeSource } from '../support/fake-node-source.ts';
import { ManualClock } from '../support/manual-clock.ts';

const RUNS = 8;
const STEPS_PER_RUN = 150;
const RECONCILE_MS = 30_000;
const DEVICE = 'wireguard.c2';

const KEYS = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => Buffer.alloc(32, n).toString('base64'));
const CIDRS = ['10.4.0.0/16', '10.4.1.0/24', '10.4.1.128/25', '10.4.2.0/24', '10.4.3.0/24', '10.4.4.0/24', '10.4.5.0/24', '10.5.0.0/24', 'fd00:4:0:1::/64', 'fd00:4:0:2::/64', 'fd00:4::/56'];
const NAMES = Array.from({ length: 12 }, (_, i) => `n${String(i).padStart(2, '0')}`);

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function randomNode(random: () => number, name: string, ownKey: string): RemoteNode {
  const r = random();
  const publicKey = r < 0.85 ? pick(random, KEYS) : r < 0.92 ? ownKey : 'garbage';
  const family = random();
  const v4 = CIDRS.filter((cidr) => !cidr.includes(':'));
  const v6 = CIDRS.filter((cidr) => cidr.includes(':'));
  const podCIDRs = family < 0.6 ? [pick(random, v4)] : family < 0.8 ? [pick(random, v6)] : [pick(random, v4), pick(random, v6)];
  return { name, podCIDRs, publicKey, endpoint: `198.18.0.${1 + Math.floor(random() * 5)}:51820`, refused: null };
}

function setup() {
  const wg = new FakeWireGuardClient();
  const routes = new FakeRoutes();
  const links = new FakeLinks({ onAdded: (name) => wg.addDevice(name), onRemoved: (name) => wg.deleteDevice(name) });
  const logger = pino({ level: 'silent' });
  const clock = new ManualClock();
  const devices = new WireGuardDevices({ backend: 'kernel', links, kernelClient: wg, userspace: { binary: 'wireguard-go', socketDirectory: '/nonexistent', launch: () => { throw new Error('no userspace here'); } }, logger, clock });
  const source = new FakeNodeSource();
  const privateKey = generatePrivateKey();
  const remote: RemoteCluster = {
    name: 'c2',
    access: { kind: 'kubeconfig', path: '/dev/null' },
    source: { kind: 'nodes' },
    slicesNamespace: 'clusterwire',
    podSubnets: ['10.4.0.0/16', 'fd00:4::/56'],
    mtu: 1420,
    listenPort: 51821,
    deviceName: DEVICE,
    persistentKeepaliveSeconds: 25,
    reconcileIntervalMs: null,
    maxNodes: 10,
  };
  const peering = new RemotePeering({
    remote,
    privateKey,
    publicKey: publicKeyOf(privateKey),
    devices,
    routes,
    createNodeSource: (onChange) => {
      source.onChange = onChange;
      return source;
    },
    lookup: () => Promise.reject(new Error('no hostnames here')),
    metrics: createMetrics(),
    logger,
    clock,
    reconcileIntervalMs: RECONCILE_MS,
  });
  const reference = () =>
    desiredPeers({
      nodes: source.nodes.values(),
      podSubnets: remote.podSubnets,
      persistentKeepaliveSeconds: 25,
      maxNodes: remote.maxNodes,
      ownPublicKey: publicKeyOf(privateKey),
      resolve: () => ({ state: 'pending' }),
      deviceEndpoint: () => null,
    });
  return { wg, clock, source, peering, reference, ownKey: publicKeyOf(privateKey) };
}

type Peer = [string, string | null, string[], number];

/** One run: returns how many steps of each kind it took. */
async function run(seed: number): Promise<Record<string, number>> {
  const random = seededRandom(seed);
  const s = setup();
  s.peering.start();
  s.source.list();
  await s.peering.idle();
  const kinds: Record<string, number> = {};
  /** A peer was removed by hand: only the next tick repairs it. */
  let drifted = false;
  /** A failure is armed that no apply has met yet (the event changed no peer): it meets the next one. */
  let armed = false;
  const history: string[] = [];
  /** Keys the device refuses now: what it holds for them is not compared. */
  const refused = new Set<string>();
  /** An apply met the armed failure: its retry, after at most 500 ms, reads the device first and applies what is missing. */
  const retryIfFailed = async () => {
    if (s.peering.status().lastSyncError === null) return;
    armed = false;
    s.clock.advance(600);
    await s.peering.idle();
  };
  try {
    for (let step = 0; step < STEPS_PER_RUN; step++) {
      const r = random();
      const kind =
        r < 0.37 ? 'put' : r < 0.5 ? 'delete' : r < 0.62 ? 'copy key or cidrs' : r < 0.69 ? 'failing apply' : r < 0.76 ? 'peer removed by hand' : r < 0.83 ? 'tick' : r < 0.9 ? 'burst' : r < 0.95 ? 'device refuses a key' : 'refusal lifted';
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      const name = pick(random, NAMES);
      history.push(`${step} ${kind} ${name}`);
      let event = true;
      switch (kind) {
        case 'put':
          s.source.put(randomNode(random, name, s.ownKey));
          break;
        case 'delete':
          if (s.source.nodes.has(name)) s.source.delete(name);
          break;
        case 'copy key or cidrs': {
          const other = pick(random, [...s.source.nodes.values()]);
          const base = s.source.nodes.get(name) ?? randomNode(random, name, s.ownKey);
          s.source.put(other === undefined ? base : random() < 0.5 ? { ...base, publicKey: other.publicKey } : { ...base, podCIDRs: [...other.podCIDRs] });
          break;
        }
        case 'failing apply':
          if (!armed) s.wg.failNextConfigure(new Error('UAPI errno 5'));
          armed = true;
          s.source.put(randomNode(random, name, s.ownKey));
          break;
        case 'peer removed by hand': {
          const peers = (await s.wg.device(DEVICE)).peers.filter((p) => !refused.has(p.publicKey));
          const victim = peers.length > 0 ? pick(random, peers) : undefined;
          // The removal by hand goes through the fake's configure, which would meet an armed failure.
          if (victim && !armed) {
            await s.wg.configure(DEVICE, { peers: [{ publicKey: victim.publicKey, remove: true }] });
            drifted = true;
          }
          event = false;
          break;
        }
        case 'tick':
          event = false;
          break;
        case 'device refuses a key':
          // Any batch with a change of this key is refused as a whole (wireguard-go's EINVAL); the engine finds it alone.
          refused.add(pick(random, KEYS));
          for (const key of refused) s.wg.refusePeer(key);
          event = false;
          break;
        case 'refusal lifted':
          for (const key of refused) s.wg.acceptPeer(key);
          refused.clear();
          event = false;
          break;
        case 'burst':
          for (let i = 0; i < 2 + Math.floor(random() * 5); i++) s.source.put(randomNode(random, pick(random, NAMES), s.ownKey));
          break;
      }
      const before = s.wg.reads;
      await s.peering.idle();
      // A batch the device refuses is a failure: finding the refused change reads the device.
      if (event && refused.size === 0) assert.equal(s.wg.reads - before, 0, 'a watch event reads nothing from the device');
      await retryIfFailed();
      if (kind === 'refusal lifted') {
        // A refused peer is tried again when its data changes or after the retry time; the ticks on the way repair drift.
        s.clock.advance(REJECTION_RETRY_MS);
        await s.peering.idle();
        await retryIfFailed();
        drifted = false;
      }
      if (kind === 'tick') {
        s.clock.advance(RECONCILE_MS);
        await s.peering.idle();
        await retryIfFailed();
        drifted = false;
      }
      if (drifted) continue;
      // What the device holds for a key it refuses (nothing, or an older version) is not compared; every other peer is.
      const expectedPeers = s.reference().peers.filter((p) => !refused.has(p.publicKey));
      const onDevice: Peer[] = (await s.wg.device(DEVICE)).peers.filter((p) => !refused.has(p.publicKey)).map((p) => [p.publicKey, p.endpoint, [...p.allowedIPs].sort(), p.persistentKeepaliveSeconds]);
      const expected: Peer[] = expectedPeers.map((p) => [p.publicKey, p.endpoint, [...p.allowedIPs].sort(), p.persistentKeepaliveSeconds]);
      assert.deepEqual(onDevice.sort(), expected.sort(), `after step ${step} (${kind})`);
      assert.equal(s.peering.status().lastSyncError, null);
    }
  } catch (error) {
    throw new Error(`seed ${seed}, steps ${history.slice(-6).join('; ')}: ${(error as Error).message}`, { cause: error });
  } finally {
    await s.peering.stop();
  }
  return kinds;
}

test(`RemotePeering keeps the device equal to the full recomputation: ${RUNS} runs of ${STEPS_PER_RUN} random steps`, async (t) => {
  const first = Number(process.env.REMOTE_PEERING_SEED ?? Math.floor(Math.random() * 2 ** 31));
  t.diagnostic(`seeds ${first}..${first + RUNS - 1} (replay with REMOTE_PEERING_SEED=${first})`);
  const totals: Record<string, number> = {};
  for (let i = 0; i < RUNS; i++) {
    for (const [kind, count] of Object.entries(await run(first + i))) totals[kind] = (totals[kind] ?? 0) + count;
  }
  t.diagnostic(Object.entries(totals).map(([kind, count]) => `${kind} ${count}`).join(', '));
  assert.equal(Object.values(totals).reduce((a, b) => a + b, 0), RUNS * STEPS_PER_RUN);
});
