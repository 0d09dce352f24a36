/**
 * The incremental decision (PeerDecisions) against the full recomputation
 * (desiredPeers), after every event of random sequences: adds, updates,
 * deletes, shared keys, overlapping and nested pod CIDRs of both families,
 * bad values, this device's own key, hostnames that resolve or not, device
 * endpoints, and `maxNodes` overflow. And the incremental plan against the
 * full one: a device given only the changes of the keys each update names
 * holds exactly the desired peers, and a full plan finds nothing left.
 *
 * Each run has its own seed, printed on failure and in the test output.
 * PEER_DECISIONS_SEED=<n> replays the runs from seed n.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../bench/random.ts';
import type { RemoteNode } from '../../src/kube/remote-node.ts';
import { desiredPeers, type PeeringDecision } from '../../src/peering/desired-peers.ts';
import type { Resolution } from '../../src/peering/endpoint-resolver.ts';
import { PeerDecisions } from '../../src/peering/peer-decisions.ts';
import { allKeys, planPeers, settledEndpoints } from '../../src/peering/peer-plan.ts';
import type { SkippedNode } from '../../src/peering/remote-status.ts';
import { ConfiguredDevice } from '../../src/wireguard/configured-device.ts';

const RUNS = 16;
const EVENTS_PER_RUN = 300;

const KEYS = [1, 2, 3, 4, 5, 6].map((n) => Buffer.alloc(32, n).toString('base64'));
const OWN_KEY = Buffer.alloc(32, 99).toString('base64');
const HOSTS = ['h1.c2.example', 'h2.c2.example', 'h3.c2.example'];
const V4 = ['10.4.0.0/16', '10.4.0.0/17', '10.4.128.0/17', '10.4.1.0/24', '10.4.1.0/25', '10.4.1.128/25', '10.4.2.0/24', '10.4.3.0/24', '10.4.3.4/30', '10.5.0.0/24', '10.4.1.7/24'];
const V6 = ['fd00:4::/56', 'fd00:4:0:1::/64', 'fd00:4:0:1::/80', 'fd00:4:0:1:8000::/65', 'fd00:4:0:2::/64', 'fd00:5::/64', 'fd00:4::/48', 'FD00:4:0:3::/64'];
const SUBNET_CHOICES = [['10.4.0.0/16', 'fd00:4::/56'], ['10.4.0.0/16'], ['10.4.0.0/17', 'fd00:4:0:1::/64']];

interface World {
  random: () => number;
  nodes: Map<string, RemoteNode>;
  dns: Map<string, Resolution>;
  device: Map<string, string>;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function randomNode(random: () => number, name: string): RemoteNode {
  if (random() < 0.04) return { name, podCIDRs: [], publicKey: null, endpoint: null, refused: { reason: 'value-too-long', detail: "pubKey annotation is 45 characters, more than 44: 'x'" } };
  const r = random();
  const publicKey = r < 0.78 ? pick(random, KEYS) : r < 0.86 ? OWN_KEY : r < 0.93 ? null : 'garbage';
  const e = random();
  const endpoint =
    e < 0.45
      ? `198.18.0.${1 + Math.floor(random() * 4)}:51820`
      : e < 0.6
        ? `[fd00:198::${1 + Math.floor(random() * 3)}]:51820`
        : e < 0.85
          ? `${pick(random, HOSTS)}:51820`
          : e < 0.9
            ? null
            : e < 0.95
              ? '127.0.0.1:51820'
              : 'not an endpoint';
  const c = random();
  const podCIDRs =
    c < 0.03
      ? []
      : c < 0.08
        ? [pick(random, V4), pick(random, V4)]
        : c < 0.5
          ? [pick(random, V4)]
          : c < 0.65
            ? [pick(random, V6)]
            : [pick(random, V4), pick(random, V6)];
  return { name, podCIDRs, publicKey, endpoint, refused: null };
}

function randomResolution(random: () => number): Resolution {
  const r = random();
  if (r < 0.5) return { state: 'resolved', address: r < 0.35 ? `198.18.5.${1 + Math.floor(random() * 3)}` : `fd00:5::${1 + Math.floor(random() * 3)}` };
  if (r < 0.7) return { state: 'pending' };
  if (r < 0.9) return { state: 'failed', reason: 'unresolvable-endpoint', detail: 'ENOTFOUND' };
  return { state: 'failed', reason: 'bad-endpoint', detail: 'resolves to 127.0.0.1 is a loopback address' };
}

function randomDevice(random: () => number): Map<string, string> {
  return new Map(KEYS.filter(() => random() < 0.4).map((key) => [key, `198.18.9.${1 + Math.floor(random() * 3)}:51820`]));
}

/** The reference's answer in the engine's shape: skips in node-name order (too-many-nodes are the last names anyway). */
function reference(world: World, settings: { podSubnets: string[]; maxNodes: number }): PeeringDecision {
  return desiredPeers({
    ...settings,
    persistentKeepaliveSeconds: 25,
    ownPublicKey: OWN_KEY,
    nodes: world.nodes.values(),
    resolve: (host) => world.dns.get(host) ?? { state: 'pending' },
    deviceEndpoint: (key) => world.device.get(key) ?? null,
  });
}

function byNode(skipped: readonly SkippedNode[]): SkippedNode[] {
  return [...skipped].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

function assertSame(engine: PeerDecisions, expected: PeeringDecision): void {
  const sortedEntries = <V>(map: ReadonlyMap<string, V>) => [...map].sort(([a], [b]) => (a < b ? -1 : 1));
  assert.deepEqual(sortedEntries(engine.peers), sortedEntries(new Map(expected.peers.map((peer) => [peer.publicKey, peer]))), 'peers');
  assert.deepEqual(sortedEntries(engine.nodeOf), sortedEntries(expected.nodeOf), 'nodeOf');
  assert.deepEqual(engine.skipped(), byNode(expected.skipped), 'skipped');
  const counts = new Map<string, number>();
  for (const skip of expected.skipped) counts.set(skip.reason, (counts.get(skip.reason) ?? 0) + 1);
  assert.deepEqual(sortedEntries(engine.skipCounts), sortedEntries(counts), 'skip counts');
  assert.equal(engine.firstPastMaxNodes(), expected.skipped.find((skip) => skip.reason === 'too-many-nodes')?.node ?? null, 'first past maxNodes');
}

/** One run: returns how many events of each kind it drove. */
function run(seed: number): Record<string, number> {
  const random = seededRandom(seed);
  const settings = { podSubnets: pick(random, SUBNET_CHOICES), maxNodes: pick(random, [3, 8, 12, 1_000]) };
  const names = Array.from({ length: 4 + Math.floor(random() * 18) }, (_, i) => `n${String(i).padStart(2, '0')}`);
  const world: World = { random, nodes: new Map(), dns: new Map(HOSTS.map((host) => [host, randomResolution(random)])), device: randomDevice(random) };
  const engine = new PeerDecisions({ ...settings, persistentKeepaliveSeconds: 25, ownPublicKey: OWN_KEY });
  const kinds: Record<string, number> = {};
  const previousPeers = new Map<string, unknown>();
  // The device the plan writes to, apart from world.device (the endpoints the decision may fall back on).
  const planned = new ConfiguredDevice();
  const applied = new Map<string, string>();
  for (let event = 0; event < EVENTS_PER_RUN; event++) {
    // Usually one event per update, as a lone watch event; sometimes a burst folded into one pass.
    const burst = random() < 0.15 ? 2 + Math.floor(random() * 6) : 1;
    for (let i = 0; i < burst; i++) {
      const r = random();
      const kind =
        r < 0.45 ? 'put' : r < 0.6 ? 'delete' : r < 0.65 ? 'same object again' : r < 0.75 ? 'dns' : r < 0.85 ? 'device endpoint' : r < 0.9 ? 'device read' : 'key or cidr of another node';
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      const name = pick(random, names);
      switch (kind) {
        case 'put':
          world.nodes.set(name, randomNode(random, name));
          engine.nodeChanged(name);
          break;
        case 'delete':
          world.nodes.delete(name);
          engine.nodeChanged(name);
          break;
        case 'same object again':
          engine.nodeChanged(name);
          break;
        case 'key or cidr of another node': {
          // Collisions on purpose: copy another node's key or pod CIDRs.
          const other = pick(random, [...world.nodes.values()]);
          const base = world.nodes.get(name) ?? randomNode(random, name);
          if (other) world.nodes.set(name, random() < 0.5 ? { ...base, publicKey: other.publicKey } : { ...base, podCIDRs: [...other.podCIDRs] });
          else world.nodes.set(name, base);
          engine.nodeChanged(name);
          break;
        }
        case 'dns': {
          const host = pick(random, HOSTS);
          world.dns.set(host, randomResolution(random));
          engine.hostChanged(host);
          break;
        }
        case 'device endpoint': {
          const key = pick(random, KEYS);
          if (random() < 0.3) world.device.delete(key);
          else world.device.set(key, `198.18.9.${1 + Math.floor(random() * 3)}:51820`);
          engine.deviceChanged([key]);
          break;
        }
        case 'device read':
          world.device = randomDevice(random);
          engine.deviceRead();
          break;
      }
    }
    const update = engine.update({
      nodes: world.nodes,
      resolve: (host) => world.dns.get(host) ?? { state: 'pending' },
      deviceEndpoint: (key) => world.device.get(key) ?? null,
    });
    const expected = reference(world, settings);
    try {
      assertSame(engine, expected);
      // Every peer that changed is among the keys the update names: the plan looks at no others.
      const now = new Map(expected.peers.map((peer) => [peer.publicKey, JSON.stringify(peer)]));
      for (const key of new Set([...now.keys(), ...previousPeers.keys()])) {
        if (now.get(key) !== previousPeers.get(key)) assert.ok(update.keys.has(key), `the changed peer ${key} is in the update's keys`);
      }
      previousPeers.clear();
      for (const [key, peer] of now) previousPeers.set(key, peer);

      // The plan of the keys the update names, as a watch event's pass makes it, then the full plan.
      const none = new Map();
      planned.apply({ peers: planPeers({ keys: update.keys, desired: engine.peers, device: planned.peers, appliedEndpoints: applied, rejections: none }) });
      for (const [key, endpoint] of settledEndpoints(update.keys, engine.peers, none)) {
        if (endpoint === null) applied.delete(key);
        else applied.set(key, endpoint);
      }
      const onDevice = (peers: Iterable<{ publicKey: string; endpoint: string | null; allowedIPs: readonly string[]; persistentKeepaliveSeconds: number }>) =>
        [...peers].map((p) => [p.publicKey, p.endpoint, [...p.allowedIPs].sort(), p.persistentKeepaliveSeconds]).sort();
      assert.deepEqual(onDevice(planned.peers.values()), onDevice(expected.peers), 'the device after the incremental plans holds the desired peers');
      const desired = new Map(expected.peers.map((peer) => [peer.publicKey, peer]));
      assert.deepEqual(planPeers({ keys: allKeys(desired, planned.peers), desired, device: planned.peers, appliedEndpoints: applied, rejections: none }), [], 'a full plan finds nothing left');
    } catch (error) {
      throw new Error(`seed ${seed}, event ${event} (maxNodes ${settings.maxNodes}, subnets ${settings.podSubnets.join(' ')}): ${(error as Error).message}`, { cause: error });
    }
  }
  return kinds;
}

test(`PeerDecisions equals desiredPeers, and its incremental plan the full plan, after every event: ${RUNS} runs of ${EVENTS_PER_RUN} passes`, (t) => {
  const first = Number(process.env.PEER_DECISIONS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  t.diagnostic(`seeds ${first}..${first + RUNS - 1} (replay with PEER_DECISIONS_SEED=${first})`);
  const totals: Record<string, number> = {};
  for (let i = 0; i < RUNS; i++) {
    for (const [kind, count] of Object.entries(run(first + i))) totals[kind] = (totals[kind] ?? 0) + count;
  }
  const events = Object.values(totals).reduce((a, b) => a + b, 0);
  t.diagnostic(`${events} events: ${Object.entries(totals).map(([kind, count]) => `${kind} ${count}`).join(', ')}`);
  assert.ok(events >= RUNS * EVENTS_PER_RUN);
});
