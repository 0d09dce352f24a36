/**
 * End to end, fleet mode with mirrors (docs/fleet-mode.md, "Deploying
 * fleet mode"): two emulated clusters of three nodes, two `clusterwire
 * mirror` replicas in each, every daemon on source `mirror` (no access to
 * the remote cluster at all); real wireguard-go, real pings between pod
 * addresses. One lab for the file; the tests run in order, each removing
 * what it adds, and the last two move c2's daemons to `nodes` and back.
 *
 * A change of a c2 node travels: c2's daemon annotates its Node → c2's
 * mirror publishes it in a c2 PeerSlice → c1's mirror reads that slice and
 * writes a mirrored PeerSlice in c1 → c1's daemons put the peer on their
 * devices. "Paper" nodes are c2 Nodes with no host behind them, which
 * advertise a key and an endpoint: they show a change arriving on the
 * devices without a namespace to build.
 *
 * Each cluster's mirror reaches the other with a service account of its
 * own, so the remote's request log tells its requests from everyone
 * else's by user, and a daemon's from a mirror's by the client address.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { realisticNode } from '../../lab/emulator/nodes.ts';
import { everyRemoteFrom } from '../../lab/lab-config.ts';
import { createLab, type Lab, type LabCluster, type LabNode } from '../../lab/lab.ts';
import type { LabMirror } from '../../lab/lab-mirror.ts';
import { pingArguments } from '../../lab/ping.ts';
import { generatePrivateKey, publicKeyOf } from '../../src/wireguard/keys.ts';

const DOMAIN = 'wireguard.semaphore.uw.io';
const LEASE_S = 4;
const RETRY_S = 1;
const CONVERGE_MS = 45_000;
/** Longer than the backoff caps (1 s) and the mirrors' renew deadline (3 s): c2's own mirror loses its lease too. */
const OUTAGE_MS = 7_000;
const NAMESPACE = 'clusterwire';

const run = promisify(execFile);

describe('fleet mode end to end: daemons peering through their cluster\'s mirrors', { concurrency: false }, () => {
  let lab: Lab | undefined;
  const suiteStarted = performance.now();
  /** The user each cluster's mirror has in the other cluster's apiserver. */
  const mirrorUser = new Map<string, string>();

  before(async () => {
    if (process.getuid?.() !== 0) {
      if (process.env.CI === 'true') throw new Error('the end-to-end tests need root (namespaces, wireguard-go), and CI=true requires them to run');
      return;
    }
    lab = await createLab({
      clusters: [
        { name: 'c1', podSubnet: '10.2.0.0/16', nodes: 3 },
        { name: 'c2', podSubnet: '10.4.0.0/16', nodes: 3 },
      ],
      mirrorReplicas: 2,
      // A short lease, so that a killed leader is replaced within seconds; a short resync, so that a
      // mirror decides a remote's source again (published slices or Nodes) within seconds.
      mirrorFlags: [
        '-leader-elect-lease-duration', `${LEASE_S}s`, '-leader-elect-renew-deadline', '3s', '-leader-elect-retry-period', `${RETRY_S}s`,
        '-resync-interval', '5s', '-watch-backoff-cap', '1s',
      ],
      sources: everyRemoteFrom(['c1', 'c2'], 'mirror'),
      reconcileInterval: '2s',
      daemonFlags: ['-watch-backoff-cap', '1s'],
    });
    // Own identities for the mirrors in the remote, then the mirrors restarted to use them.
    for (const [local, remote] of [['c1', 'c2'], ['c2', 'c1']] as const) mirrorUser.set(local, await giveMirrorItsOwnUser(lab, local, remote));
    for (const name of ['c1', 'c2']) {
      await lab.mirrors(name).stopAll();
      await lab.mirrors(name).start();
    }
  });

  after(async (t) => {
    if (!lab) return;
    const tornDown = performance.now();
    await lab.destroy();
    t.diagnostic(`fleet-mirror suite: ${seconds(performance.now() - suiteStarted)} in all, teardown ${seconds(performance.now() - tornDown)}`);
  });

  const withLab = (body: (lab: Lab, t: TestContext) => Promise<void>) => async (t: TestContext) => {
    if (!lab) return t.skip('needs root for network namespaces and wireguard-go: skipped outside CI');
    try {
      await body(lab, t);
    } catch (error) {
      t.diagnostic(await lab.logTails(25));
      throw error;
    }
  };

  test(
    'every pod pair pings both ways through peers read from mirrored slices; /status says mirror; each mirror leader reads the other cluster\'s published slices',
    withLab(async (lab, t) => {
      await lab.waitUntilReady(CONVERGE_MS);
      await lab.waitUntilPeered(CONVERGE_MS);
      t.diagnostic(`lab built, mirrors restarted with their own users, every daemon ready and peered ${seconds(performance.now() - suiteStarted)} after the start`);
      assert.deepEqual(await pingAllPairs(lab), []);
      for (const node of lab.nodes()) {
        const [remote] = (await lab.status(node)).remotes;
        assert.equal(remote?.source.kind, 'mirror', `${node.name} reads the other cluster from its mirror`);
      }
      for (const [local, remote] of [['c1', 'c2'], ['c2', 'c1']] as const) {
        // A mirror that leads before the remote's publisher says it is synced reads the remote's Nodes until it does (docs/fleet-mode.md, "Mirroring"); a mirror that never reads the slices fails here.
        await lab.waitFor(`${local}'s mirror leader to read ${remote}'s published slices`, async () => (await mirroredSource(lab, local, remote)) === 'slices', CONVERGE_MS);
      }
    }),
  );

  test(
    'the remote apiserver sees one watch from the other cluster (its mirror leader\'s), however many daemons run there, and not one daemon request',
    withLab(async (lab, t) => {
      const counts: string[] = [];
      for (const [local, remote] of [['c1', 'c2'], ['c2', 'c1']] as const) {
        // Two replicas run; only the leader reads a remote (docs/fleet-mode.md), so one watch, of the published slices.
        await expectMirrorWatches(lab, local, remote, SLICE_WATCH);
        t.diagnostic(`${remote}'s apiserver, watches open by ${local}'s mirror user: ${JSON.stringify(mirrorWatches(lab, local, remote))}`);
        counts.push(`${cluster(lab, local).nodes.length} ${local} daemons: 1 watch on ${remote}`);
      }
      // One more c1 daemon: still one watch on c2.
      const added = await lab.addNode('c1');
      try {
        await lab.waitUntilPeered(CONVERGE_MS);
        await expectMirrorWatches(lab, 'c1', 'c2', SLICE_WATCH);
        counts.push(`${cluster(lab, 'c1').nodes.length} c1 daemons: 1 watch on c2`);
        // Every request since the lab started, by client address: a daemon connects from its node's address, a mirror from the bridge's.
        for (const [local, remote] of [['c1', 'c2'], ['c2', 'c1']] as const) {
          const log = cluster(lab, remote).emulator.requestLog();
          const fromLocalDaemons = new Set(cluster(lab, local).nodes.map((node) => node.address));
          const fromRemoteDaemons = new Set(cluster(lab, remote).nodes.map((node) => node.address));
          const strays = log.filter((r) => fromLocalDaemons.has(r.client)).map((r) => `${r.client} ${r.verb} ${r.resource} ${r.path}`);
          assert.deepEqual(strays, [], `no request of a ${local} daemon reached ${remote}'s apiserver`);
          // The address tells daemons apart: the remote's own daemons do talk to it.
          assert.ok(log.some((r) => fromRemoteDaemons.has(r.client)), `${remote}'s own daemons are in its request log`);
          const byMirror = log.filter((r) => r.user === mirrorUser.get(local));
          assert.ok(byMirror.every((r) => !fromLocalDaemons.has(r.client) && !fromRemoteDaemons.has(r.client)), `${local}'s mirror user only from the mirrors' address`);
          const verbs = countBy(byMirror.map((r) => `${r.verb} ${r.resource}`));
          t.diagnostic(`${remote}'s request log: ${log.length} requests since the start, none from a ${local} daemon; by ${local}'s mirror user: ${JSON.stringify(verbs)}`);
        }
      } finally {
        await lab.removeNode(added);
      }
      for (const line of counts) t.diagnostic(line);
    }),
  );

  test(
    'a c2 node added, its key changed, deleted: each reaches every c1 device through the two mirrors',
    withLab(async (lab, t) => {
      const c1 = cluster(lab, 'c1');
      const started = performance.now();
      const added = await lab.addNode('c2');
      const daemonUp = performance.now();
      const key = await lab.waitFor('the new node\'s key on its c1 device', async () => (await lab.wgShow(added, added.device('c1'))).publicKey ?? undefined, CONVERGE_MS);
      await waitForPeerOnEvery(lab, c1.nodes, 'c2', key, true);
      t.diagnostic(`added: on every c1 device ${seconds(performance.now() - daemonUp)} after its daemon started (${seconds(daemonUp - started)} to build the node)`);
      await lab.waitUntilPeered(CONVERGE_MS);
      for (const other of c1.nodes) {
        assert.ok((await lab.ping(other, added.podIP, { count: 2 })).ok, `${other.name} → ${added.name}`);
        assert.ok((await lab.ping(added, other.podIP, { count: 2 })).ok, `${added.name} → ${other.name}`);
      }

      // A new key: the daemon restarted without its key file.
      await lab.stopDaemon(added);
      await rmKey(lab, added, 'c1');
      await lab.startDaemon(added);
      const newKey = await lab.waitFor('the new key on the device', async () => {
        const current = (await lab.wgShow(added, added.device('c1'))).publicKey;
        return current !== key ? current ?? undefined : undefined;
      }, CONVERGE_MS);
      const rekeyed = performance.now();
      await waitForPeerOnEvery(lab, c1.nodes, 'c2', newKey, true);
      await waitForPeerOnEvery(lab, c1.nodes, 'c2', key, false);
      t.diagnostic(`new key: on every c1 device, the old one gone, ${seconds(performance.now() - rekeyed)} after it was on the node's device`);
      for (const other of c1.nodes) assert.ok((await lab.ping(other, added.podIP, { count: 2 })).ok, `${other.name} → ${added.name} with its new key`);

      const deleted = performance.now();
      await lab.removeNode(added);
      await waitForPeerOnEvery(lab, c1.nodes, 'c2', newKey, false);
      t.diagnostic(`deleted: gone from every c1 device ${seconds(performance.now() - deleted)} after removeNode`);
      await assertC1Peers(lab, []);
    }),
  );

  test(
    'c1\'s mirror leader killed with -9: the standby leads within the lease time, continuous pings lose nothing, a change after arrives',
    withLab(async (lab, t) => {
      const mirrors = lab.mirrors('c1');
      const leader = await lab.waitFor('a c1 mirror to lead', () => Promise.resolve(mirrors.leader()), CONVERGE_MS);
      const pings = startPings(crossPairs(lab));
      try {
        await delay(2_000);
        const killed = performance.now();
        await mirrors.stop(leader.identity, 'SIGKILL');
        const next = await lab.waitFor('the standby to lead', () => Promise.resolve(mirrors.leader()), 30_000);
        const handover = performance.now() - killed;
        t.diagnostic(`the standby ${next.identity} led ${seconds(handover)} after ${leader.identity} was killed (lease ${LEASE_S} s, retry period ${RETRY_S} s)`);
        assert.notEqual(next.identity, leader.identity);
        // The lease duration plus a jittered retry period (up to 2.2 of it), with room for a loaded machine.
        assert.ok(handover < (LEASE_S + 2.2 * RETRY_S) * 1000 + 8_000, `handover in ${seconds(handover)}`);
        // The new leader mirrors: a c2 change made now reaches every c1 device.
        const paper = addPaperNode(lab);
        const madeAt = performance.now();
        await waitForPeerOnEvery(lab, cluster(lab, 'c1').nodes, 'c2', paper.key, true);
        t.diagnostic(`a c2 node added after the handover was on every c1 device in ${seconds(performance.now() - madeAt)}`);
        deletePaperNode(lab, paper);
        await waitForPeerOnEvery(lab, cluster(lab, 'c1').nodes, 'c2', paper.key, false);
      } finally {
        const result = await pings.stop();
        t.diagnostic(`continuous pings during the handover: ${result.summary}`);
        assert.deepEqual(result.lost, [], 'no ping lost');
        if (mirrors.replica(leader.identity) === undefined) await mirrors.start(leader.identity);
      }
    }),
  );

  test(
    'all of c1\'s mirrors down: peers kept, pings work, the daemons say the mirror is not fresh; a c2 change made meanwhile arrives when they are back',
    withLab(async (lab, t) => {
      const mirrors = lab.mirrors('c1');
      const c1 = cluster(lab, 'c1');
      await mirrors.stopAll();
      let paper: PaperNode | undefined;
      try {
        paper = addPaperNode(lab);
        const added = paper;
        // Until a replica is back, the daemons read the released Lease: the mirror is down.
        const states = await lab.waitFor('every c1 daemon to see its mirror down', async () => {
          const all = await Promise.all(c1.nodes.map(async (node) => mirrorState(await lab.status(node))));
          return all.every((state) => state !== 'fresh' && state !== null) ? all : undefined;
        }, CONVERGE_MS);
        t.diagnostic(`c1's daemons with no mirror: ${states.join(', ')}`);
        await delay(2 * LEASE_S * 1000);
        await assertC1Peers(lab, []);
        assert.deepEqual(await pingAllPairs(lab), [], 'pings with every c1 mirror down');
        const back = performance.now();
        await mirrors.start();
        await waitForPeerOnEvery(lab, c1.nodes, 'c2', added.key, true);
        t.diagnostic(`the c2 node added while c1's mirrors were down reached every c1 device ${seconds(performance.now() - back)} after they were started again`);
        await lab.waitUntilReady(CONVERGE_MS);
      } finally {
        if (mirrors.running().length === 0) await mirrors.start();
        if (paper) deletePaperNode(lab, paper);
      }
      if (paper) await waitForPeerOnEvery(lab, c1.nodes, 'c2', paper.key, false);
    }),
  );

  test(
    'c2\'s apiserver down (c1\'s mirror cannot read it, c2\'s own mirror loses its lease): peers kept, pings work, a change made meanwhile arrives after',
    withLab(async (lab, t) => {
      const c2 = cluster(lab, 'c2').emulator;
      const c1Nodes = cluster(lab, 'c1').nodes;
      const pings = startPings(crossPairs(lab));
      let paper: PaperNode | undefined;
      let sawDisconnected = false;
      let back = 0;
      try {
        const outageStarted = performance.now();
        const outage = c2.outage(OUTAGE_MS).then(() => {
          back = performance.now();
        });
        while (back === 0) {
          const leader = lab.mirrors('c1').leader();
          if (leader && (await mirrorStatus(leader)).mirrored.find((m) => m.remote === 'c2')?.source.watch.state === 'disconnected') sawDisconnected = true;
          if (!paper && performance.now() - outageStarted > 1_000) paper = addPaperNode(lab);
          await delay(300);
        }
        await outage;
        assert.ok(paper, 'a c2 node was added during the outage');
        const added = paper;
        await waitForPeerOnEvery(lab, c1Nodes, 'c2', added.key, true);
        t.diagnostic(`outage ${seconds(OUTAGE_MS)}: the c2 node added during it was on every c1 device ${seconds(performance.now() - back)} after the apiserver came back`);
        assert.ok(sawDisconnected, "c1's mirror leader saw its watch of c2 disconnected: the outage was real");
      } finally {
        const result = await pings.stop();
        t.diagnostic(`continuous pings during the outage: ${result.summary}`);
        assert.deepEqual(result.lost, [], 'no ping lost');
        if (paper) deletePaperNode(lab, paper);
      }
      if (paper) await waitForPeerOnEvery(lab, c1Nodes, 'c2', paper.key, false);
      await lab.waitUntilReady(CONVERGE_MS);
    }),
  );

  test(
    'c2 without a publisher (its mirrors stopped, its slices deleted, its daemons on nodes): c1\'s mirror reads c2\'s Nodes, a new c2 node arrives, every pair pings',
    withLab(async (lab, t) => {
      const c2 = cluster(lab, 'c2');
      // c2 as semaphore-wireguard runs it: no mirror, its daemons read c1's Nodes.
      await lab.mirrors('c2').stopAll();
      for (const slice of c2.emulator.list({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', namespace: NAMESPACE })) {
        c2.emulator.delete({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', namespace: NAMESPACE, name: (slice as { metadata: { name: string } }).metadata.name });
      }
      for (const node of c2.nodes) await switchSource(lab, node, 'nodes');
      const switched = performance.now();
      const source = await lab.waitFor("c1's mirror to read c2's Nodes", async () => ((await mirroredSource(lab, 'c1', 'c2')) === 'nodes' ? 'nodes' : undefined), CONVERGE_MS);
      t.diagnostic(`c1's mirror read c2 from its ${source} ${seconds(performance.now() - switched)} after c2's publisher went`);
      // Still one watch on c2 for all of c1, now of its Nodes: the slice watch was closed after the switch.
      await expectMirrorWatches(lab, 'c1', 'c2', [{ apiGroup: '', resource: 'nodes', count: 1 }]);
      const added = await lab.addNode('c2', { startDaemon: false });
      try {
        await lab.setSources(added, { c1: 'nodes' });
        await lab.startDaemon(added);
        await lab.waitUntilReady(CONVERGE_MS);
        await lab.waitUntilPeered(CONVERGE_MS);
        assert.deepEqual(await pingAllPairs(lab), []);
        assert.deepEqual(c2.emulator.list({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', namespace: NAMESPACE, labelSelector: 'clusterwire.io/source-cluster=c2' }), [], 'c2 publishes no slice');
        for (const node of cluster(lab, 'c1').nodes) assert.equal((await lab.status(node)).remotes[0]?.source.kind, 'mirror', `${node.name} still reads its mirror`);
      } finally {
        await lab.removeNode(added);
      }
      await lab.waitUntilPeered(CONVERGE_MS);
    }),
  );

  test(
    'switching c2\'s running daemons from nodes to mirror, one node at a time: continuous pings lose nothing',
    withLab(async (lab, t) => {
      const c2 = cluster(lab, 'c2');
      await lab.mirrors('c2').start();
      // Step 2 of the migration (docs/fleet-mode.md): the mirrored slices of c1 are there before any daemon switches.
      await lab.waitFor("c2's mirror leader to have mirrored c1", async () => {
        const leader = lab.mirrors('c2').leader();
        const c1 = leader && (await mirrorStatus(leader)).mirrored.find((m) => m.remote === 'c1');
        return c1 && c1.source.source !== null && c1.slices.lastPublishAt !== null;
      }, CONVERGE_MS);
      const pings = startPings(crossPairs(lab));
      const started = performance.now();
      try {
        await delay(1_000);
        for (const node of c2.nodes) {
          await switchSource(lab, node, 'mirror');
          await lab.waitFor(`${node.name} ready on its mirror`, async () => (await fetch(`${node.baseURL}/readyz`)).status === 200, CONVERGE_MS);
          assert.equal((await lab.status(node)).remotes[0]?.source.kind, 'mirror', `${node.name} reads c1 from its mirror`);
        }
        await delay(2_000);
      } finally {
        const result = await pings.stop();
        t.diagnostic(`${c2.nodes.length} daemons switched in ${seconds(performance.now() - started)}; continuous pings: ${result.summary}`);
        assert.deepEqual(result.lost, [], 'no ping lost');
      }
      await lab.waitUntilPeered(CONVERGE_MS);
      assert.deepEqual(await pingAllPairs(lab), []);
    }),
  );
});

// --- helpers

function cluster(lab: Lab, name: string): LabCluster {
  const found = lab.clusters[name];
  if (!found) throw new Error(`no cluster ${name}`);
  return found;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/**
 * A service account `<local>-mirror` in `remote` (allowed everything: its
 * identity is what counts here), its token in a file, and `local`'s mirror
 * config pointed at it; returns the account's user name. The mirrors read
 * their config when they start.
 */
async function giveMirrorItsOwnUser(lab: Lab, local: string, remote: string): Promise<string> {
  const { emulator } = cluster(lab, remote);
  const name = `${local}-mirror`;
  emulator.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: NAMESPACE, name } });
  emulator.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', namespace: NAMESPACE, name }],
  });
  emulator.create({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { namespace: NAMESPACE, name: `${name}-token`, annotations: { 'kubernetes.io/service-account.name': name } },
  });
  const secret = emulator.get({ apiVersion: 'v1', kind: 'Secret', namespace: NAMESPACE, name: `${name}-token` }) as { data?: { token?: string } } | undefined;
  const token = Buffer.from(secret?.data?.token ?? '', 'base64').toString('utf8');
  if (token === '') throw new Error(`the token Secret of ${name} in ${remote} has no token`);
  const mirrors = lab.mirrors(local);
  const dir = path.dirname(mirrors.configPath);
  const tokenPath = path.join(dir, `${remote}.token`);
  await writeFile(tokenPath, token, { mode: 0o600 });
  const config = JSON.parse(await readFile(mirrors.configPath, 'utf8')) as { remotes: Record<string, unknown>[] };
  const entry = config.remotes.find((r) => r.name === remote);
  if (!entry) throw new Error(`${local}'s mirror config has no remote ${remote}`);
  if (typeof entry.remoteSATokenPath === 'string') {
    entry.remoteSATokenPath = tokenPath;
  } else if (typeof entry.kubeConfigPath === 'string') {
    const kubeconfig = JSON.parse(await readFile(entry.kubeConfigPath, 'utf8')) as { users: { user: { tokenFile: string } }[] };
    for (const user of kubeconfig.users) user.user.tokenFile = tokenPath;
    const kubeconfigPath = path.join(dir, `${remote}.kubeconfig`);
    await writeFile(kubeconfigPath, `${JSON.stringify(kubeconfig, null, 2)}\n`);
    entry.kubeConfigPath = kubeconfigPath;
  } else {
    throw new Error(`${local}'s mirror config reaches ${remote} neither with a token nor with a kubeconfig`);
  }
  await writeFile(mirrors.configPath, `${JSON.stringify(config, null, 2)}\n`);
  return `system:serviceaccount:${NAMESPACE}:${name}`;
}

const SLICE_WATCH = [{ apiGroup: 'clusterwire.io', resource: 'peerslices', count: 1 }];

/**
 * Waits (briefly: a watch being replaced may overlap its successor for a
 * moment) until the watches open on `remote` by `local`'s mirror user are
 * `expected`; a standby that watched too would keep the count at two.
 */
async function expectMirrorWatches(lab: Lab, local: string, remote: string, expected: { apiGroup: string; resource: string; count: number }[]): Promise<void> {
  let seen: unknown = null;
  try {
    await lab.waitFor(`${local}'s mirror watches on ${remote} to be ${JSON.stringify(expected)}`, () => {
      seen = mirrorWatches(lab, local, remote);
      return Promise.resolve(JSON.stringify(seen) === JSON.stringify(expected));
    }, 10_000);
  } catch (error) {
    throw new Error(`${local}'s mirror replicas hold ${JSON.stringify(seen)} on ${remote}, not ${JSON.stringify(expected)}`, { cause: error });
  }
}

/** Watches open on `remote`'s apiserver by `local`'s mirror user. */
function mirrorWatches(lab: Lab, local: string, remote: string): { apiGroup: string; resource: string; count: number }[] {
  const user = `system:serviceaccount:${NAMESPACE}:${local}-mirror`;
  return cluster(lab, remote).emulator.openWatches().filter((w) => w.user === user).map(({ apiGroup, resource, count }) => ({ apiGroup, resource, count }));
}

interface MirrorStatus {
  mirrored: { remote: string; source: { source: 'slices' | 'nodes' | null; watch: { state: string } }; slices: { lastPublishAt: number | string | null } }[];
}

async function mirrorStatus(mirror: LabMirror): Promise<MirrorStatus> {
  const response = await fetch(`${mirror.url}/status`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET ${mirror.url}/status answered ${response.status}`);
  return (await response.json()) as MirrorStatus;
}

/** The source `local`'s mirror leader reads `remote` from, or null (no leader, or not decided yet). */
async function mirroredSource(lab: Lab, local: string, remote: string): Promise<'slices' | 'nodes' | null> {
  const leader = lab.mirrors(local).leader();
  if (!leader) return null;
  return (await mirrorStatus(leader)).mirrored.find((m) => m.remote === remote)?.source.source ?? null;
}

/** How a daemon judges its mirror's copy of its (only) remote: fresh, stale, down..., or null when it reads no mirror. */
function mirrorState(status: Awaited<ReturnType<Lab['status']>>): string | null {
  const source = status.remotes[0]?.source;
  return source?.kind === 'mirror' ? source.mirror.state : null;
}

/** Restarts a node's daemon reading every remote from `source`. */
async function switchSource(lab: Lab, node: LabNode, source: 'nodes' | 'mirror'): Promise<void> {
  await lab.stopDaemon(node);
  await lab.setSources(node, { [node.cluster === 'c1' ? 'c2' : 'c1']: source });
  await lab.startDaemon(node);
}

async function rmKey(lab: Lab, node: LabNode, remote: string): Promise<void> {
  await rm(path.join(path.dirname(lab.configPath(node)), 'keys', `${node.device(remote)}.key`));
}

/** Every pod of each cluster to every pod of the other; the failures. */
async function pingAllPairs(lab: Lab): Promise<string[]> {
  const failed: string[] = [];
  for (const [local, remote] of [['c1', 'c2'], ['c2', 'c1']] as const) {
    for (const a of cluster(lab, local).nodes) {
      for (const b of cluster(lab, remote).nodes) {
        if (!(await lab.ping(a, b.podIP, { count: 2, timeoutSeconds: 1 })).ok) failed.push(`${a.name} → ${b.name}`);
      }
    }
  }
  return failed;
}

/** c1-n<i> ↔ c2-n<i>, both ways. */
function crossPairs(lab: Lab): [LabNode, LabNode][] {
  const c1 = cluster(lab, 'c1').nodes;
  const c2 = cluster(lab, 'c2').nodes;
  return c1.flatMap((a, i): [LabNode, LabNode][] => {
    const b = c2[i % c2.length];
    return b ? [[a, b], [b, a]] : [];
  });
}

interface Pings {
  /** Waits for the running rounds to finish; the pairs that lost a reply, and a summary. */
  stop(): Promise<{ lost: string[]; summary: string }>;
}

/**
 * A ping every 200 ms from each pair's first pod to its second, in
 * rounds of 25 (each round waits for its last reply, so a round's count
 * is exact), until stopped.
 */
function startPings(pairs: [LabNode, LabNode][]): Pings {
  let running = true;
  const totals = pairs.map(([a, b]) => ({ pair: `${a.name} → ${b.name}`, sent: 0, received: 0 }));
  const loops = pairs.map(async ([a, b], i) => {
    const total = totals[i];
    if (!total) return;
    while (running) {
      const { sent, received } = await pingRound(a, b.podIP, 25);
      total.sent += sent;
      total.received += received;
    }
  });
  // Held until stop(), which awaits them; a failing loop surfaces there, not as an unhandled rejection.
  const done = Promise.allSettled(loops);
  return {
    async stop() {
      running = false;
      const settled = await done;
      const failure = settled.find((s) => s.status === 'rejected');
      if (failure) throw new Error('a ping loop failed', { cause: failure.reason });
      const lost = totals.filter((t) => t.received !== t.sent || t.sent === 0).map((t) => `${t.pair}: ${t.sent - t.received} of ${t.sent} lost`);
      const sent = totals.reduce((sum, t) => sum + t.sent, 0);
      const received = totals.reduce((sum, t) => sum + t.received, 0);
      return { lost, summary: `${pairs.length} pairs, ${sent} sent, ${received} received` };
    },
  };
}

/** One `ping -c count` from the node's pod address; its counts, whether or not every reply came. */
async function pingRound(from: LabNode, to: string, count: number): Promise<{ sent: number; received: number }> {
  const args = ['--net=' + `/run/netns/${from.host.name}`, '--', 'ping', ...pingArguments(from.podIP, to, { count, timeoutSeconds: 1 })];
  let stdout: string;
  try {
    ({ stdout } = await run('nsenter', args, { timeout: (count * 0.2 + 6) * 1000 }));
  } catch (error) {
    // ping exits 1 when replies are missing, and still prints its counts.
    const failed = error as { code?: unknown; stdout?: string };
    if (failed.code !== 1 || typeof failed.stdout !== 'string') throw new Error(`ping from ${from.name} to ${to} failed`, { cause: error });
    stdout = failed.stdout;
  }
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(stdout);
  if (!counts) throw new Error(`ping from ${from.name} to ${to} printed no counts: ${stdout}`);
  return { sent: Number(counts[1]), received: Number(counts[2]) };
}

interface PaperNode {
  name: string;
  key: string;
}

let paperCount = 0;

/** A c2 Node with no host behind it, advertising a key and an endpoint to c1. */
function addPaperNode(lab: Lab): PaperNode {
  paperCount += 1;
  const name = `c2-paper${paperCount}`;
  const key = publicKeyOf(generatePrivateKey());
  const endpoint = `198.18.${lab.slot}.${200 + paperCount}:51820`;
  cluster(lab, 'c2').emulator.createNode(
    realisticNode({
      name,
      podCIDR: `10.4.${200 + paperCount}.0/24`,
      internalIP: endpoint.split(':')[0],
      annotations: { [`c1.${DOMAIN}/pubKey`]: key, [`c1.${DOMAIN}/endpoint`]: endpoint },
    }),
  );
  return { name, key };
}

function deletePaperNode(lab: Lab, paper: PaperNode): void {
  const c2 = cluster(lab, 'c2').emulator;
  if (c2.getNode(paper.name)) c2.deleteNode(paper.name);
}

/** Waits until every one of `nodes` has (or no longer has) `key` among the peers of its device towards `remote`. */
async function waitForPeerOnEvery(lab: Lab, nodes: LabNode[], remote: string, key: string, present: boolean): Promise<void> {
  await lab.waitFor(
    `${key} ${present ? 'on' : 'gone from'} every ${remote} device of ${nodes.map((n) => n.name).join(', ')}`,
    async () => {
      for (const node of nodes) {
        const has = (await lab.wgShow(node, node.device(remote))).peers.some((p) => p.publicKey === key);
        if (has !== present) return false;
      }
      return true;
    },
    CONVERGE_MS,
  );
}

/** Every c1 device holds exactly the c2 lab nodes' keys, plus `extra`. */
async function assertC1Peers(lab: Lab, extra: string[]): Promise<void> {
  const expected = [...extra];
  for (const node of cluster(lab, 'c2').nodes) {
    const key = (await lab.wgShow(node, node.device('c1'))).publicKey;
    if (key) expected.push(key);
  }
  for (const node of cluster(lab, 'c1').nodes) {
    const keys = (await lab.wgShow(node, node.device('c2'))).peers.map((p) => p.publicKey);
    assert.deepEqual(keys.sort(), expected.sort(), `${node.name}'s ${node.device('c2')}`);
  }
}
