/**
 * End to end, fleet mode (docs/fleet-mode.md): two emulated clusters, each
 * with `clusterwire mirror` publishing its nodes as PeerSlices, and every
 * daemon reading the other cluster's slices (source `slices`) instead of
 * its Nodes; real wireguard-go, real pings between pod addresses. One lab
 * for the file; the tests run in order.
 *
 * The daemons reconcile every 10 minutes, so within a test every pass is
 * one a watch event asked for: heartbeat churn must cause none.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createLab, type Lab, type LabCluster, type LabNode } from '../../lab/lab.ts';
import { LabMirror, preparePublishing } from '../../lab/lab-mirror.ts';
import { parsePrometheusText } from '../support/prometheus-text.ts';

const CONVERGE_MS = 45_000;

describe('fleet mode end to end: daemons peering from published PeerSlices', { concurrency: false }, () => {
  let lab: Lab | undefined;
  const mirrors = new Map<string, LabMirror>();

  before(async () => {
    if (process.getuid?.() !== 0) {
      if (process.env.CI === 'true') throw new Error('the end-to-end tests need root (namespaces, wireguard-go), and CI=true requires them to run');
      return;
    }
    lab = await createLab({ reconcileInterval: '10m', daemonFlags: ['-watch-backoff-cap', '1s'], startDaemons: false });
    for (const cluster of Object.values(lab.clusters)) {
      await preparePublishing(cluster.emulator);
      mirrors.set(cluster.name, await startMirror(lab, cluster));
    }
    const built = lab;
    for (const node of built.nodes()) await useSource(built, node, 'slices');
    await Promise.all(built.nodes().map((node) => built.startDaemon(node)));
  });

  after(async () => {
    // Mirrors first: they are processes of this test, outside the lab's hosts.
    for (const mirror of mirrors.values()) await mirror.stop('SIGKILL').catch(() => {});
    await lab?.destroy();
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
    'every pod pair pings through tunnels set up from slices; /status and the metrics name the source',
    withLab(async (lab, t) => {
      const started = performance.now();
      await lab.waitUntilReady(CONVERGE_MS);
      await lab.waitUntilPeered(CONVERGE_MS);
      t.diagnostic(`peered from slices in ${Math.round(performance.now() - started)} ms`);
      await pingAllPairs(lab);
      for (const node of lab.nodes()) {
        const [remote] = (await lab.status(node)).remotes;
        assert.equal(remote?.source.kind, 'slices', `${node.name} reads slices`);
        assert.ok(remote?.source.kind === 'slices' && remote.source.slices === 1, `${node.name}: one slice of the remote`);
        assert.equal(await metric(node, 'clusterwire_remote_source_info', { source: 'slices' }), 1);
        assert.equal(await metric(node, 'clusterwire_remote_source_info', { source: 'nodes' }), 0);
        assert.ok((await metric(node, 'clusterwire_remote_publisher_renew_timestamp_seconds')) > Date.now() / 1000 - 120, `${node.name}: a recent renewal of the publisher's Lease`);
      }
    }),
  );

  test(
    'kubelet heartbeats: no slice written, no daemon pass',
    withLab(async (lab, t) => {
      const marks = new Map(Object.values(lab.clusters).map((c) => [c.name, c.emulator.requestLog().at(-1)?.seq ?? 0]));
      const passesBefore = await passes(lab);
      for (const cluster of Object.values(lab.clusters)) cluster.emulator.startHeartbeats(20);
      await delay(8_000);
      for (const cluster of Object.values(lab.clusters)) cluster.emulator.stopHeartbeats();
      await delay(1_000);
      for (const cluster of Object.values(lab.clusters)) {
        assert.deepEqual(sliceWrites(cluster.emulator.requestLog(marks.get(cluster.name))), [], `${cluster.name}: no slice written`);
      }
      assert.deepEqual(await passes(lab), passesBefore, 'no daemon pass');
      t.diagnostic('8 s of heartbeats at 20/s in each cluster: 0 slice writes, 0 daemon passes');
    }),
  );

  test(
    'a node added, a key changed, a node deleted: each reaches the other cluster through one slice write',
    withLab(async (lab, t) => {
      const c1 = cluster(lab, 'c1');
      const mark = c1.emulator.requestLog().at(-1)?.seq ?? 0;
      const added = await lab.addNode('c1', { startDaemon: false });
      await useSource(lab, added, 'slices');
      const start = performance.now();
      await lab.startDaemon(added);
      await lab.waitUntilPeered(CONVERGE_MS);
      t.diagnostic(`a new c1 node peered with every c2 node ${Math.round(performance.now() - start)} ms after its daemon started`);
      for (const other of cluster(lab, 'c2').nodes) {
        assert.ok((await lab.ping(added, other.podIP)).ok, `${added.name} → ${other.name}`);
        assert.ok((await lab.ping(other, added.podIP)).ok, `${other.name} → ${added.name}`);
      }
      assert.deepEqual(sliceWrites(c1.emulator.requestLog(mark)), ['patch c1-for-c2-0 200'], 'one slice write for the new node');

      // A new key: the daemon restarted without its key file.
      const [first] = c1.nodes;
      if (!first) throw new Error('c1 has no node');
      const oldKey = (await lab.wgShow(first, first.device('c2'))).publicKey;
      await lab.stopDaemon(first);
      await rm(path.join(path.dirname(lab.configPath(first)), 'keys', `${first.device('c2')}.key`));
      const keyMark = c1.emulator.requestLog().at(-1)?.seq ?? 0;
      await lab.startDaemon(first);
      // The device outlives the daemon (wireguard-go): wait for the new key on it, then for every peer to know it.
      await lab.waitFor('the new key on the device', async () => (await lab.wgShow(first, first.device('c2'))).publicKey !== oldKey, CONVERGE_MS);
      await lab.waitUntilPeered(CONVERGE_MS);
      for (const other of cluster(lab, 'c2').nodes) {
        const keys = (await lab.wgShow(other, other.device('c1'))).peers.map((p) => p.publicKey);
        assert.ok(oldKey !== null && !keys.includes(oldKey), `${other.name} dropped the old key`);
        assert.ok((await lab.ping(other, first.podIP)).ok, `${other.name} → ${first.name} with its new key`);
      }
      assert.deepEqual(sliceWrites(c1.emulator.requestLog(keyMark)), ['patch c1-for-c2-0 200'], 'one slice write for the new key');

      const deleteMark = c1.emulator.requestLog().at(-1)?.seq ?? 0;
      const addedKey = (await lab.wgShow(added, added.device('c2'))).publicKey;
      await lab.removeNode(added);
      await lab.waitFor(
        'every c2 device to drop the deleted node',
        async () => {
          for (const other of cluster(lab, 'c2').nodes) {
            if ((await lab.wgShow(other, other.device('c1'))).peers.some((p) => p.publicKey === addedKey)) return false;
          }
          return true;
        },
        CONVERGE_MS,
      );
      assert.deepEqual(sliceWrites(c1.emulator.requestLog(deleteMark)), ['patch c1-for-c2-0 200'], 'one slice write for the deleted node');
    }),
  );

  test(
    'the publisher down, then the remote apiserver too: peers kept, changes wait; back up, the publisher adopts its slices and publishes what changed',
    withLab(async (lab, t) => {
      const c2 = cluster(lab, 'c2');
      const mirror = mirrors.get('c2');
      if (!mirror) throw new Error('no c2 mirror');
      await mirror.stop('SIGKILL');
      const added = await lab.addNode('c2', { startDaemon: false });
      await useSource(lab, added, 'slices');
      await lab.startDaemon(added);
      await delay(5_000);
      const keptPeers = async (when: string) => {
        for (const node of cluster(lab, 'c1').nodes) {
          const device = await lab.wgShow(node, node.device('c2'));
          assert.equal(device.peers.length, c2.nodes.length - 1, `${node.name} keeps its c2 peers, and has not seen the new node (${when})`);
          for (const other of c2.nodes.filter((n) => n !== added)) assert.ok((await lab.ping(node, other.podIP)).ok, `${node.name} → ${other.name} (${when})`);
        }
      };
      await keptPeers('the publisher down');
      // The remote apiserver down too: the slice watch fails, the peers stay.
      const outage = c2.emulator.outage(4_000);
      await delay(1_000);
      await keptPeers('the publisher and the remote apiserver down');
      await outage;
      await keptPeers('the remote apiserver back, the publisher still down');
      const mark = c2.emulator.requestLog().at(-1)?.seq ?? 0;
      // Killed, it did not release the lease; started again under the same identity, it renews it at once.
      const restarted = performance.now();
      mirrors.set('c2', await startMirror(lab, c2));
      await lab.waitUntilPeered(CONVERGE_MS);
      t.diagnostic(`the new c2 node peered ${Math.round(performance.now() - restarted)} ms after its publisher was started again`);
      for (const node of cluster(lab, 'c1').nodes) assert.ok((await lab.ping(node, added.podIP)).ok, `${node.name} → ${added.name}`);
      assert.deepEqual(sliceWrites(c2.emulator.requestLog(mark)), ['patch c2-for-c1-0 200'], 'adopted: only the new entry written');
      await lab.removeNode(added);
    }),
  );

  test(
    'mixed: c1 reads c2 from its Nodes again while c2 reads c1 from slices; still peers',
    withLab(async (lab) => {
      for (const node of cluster(lab, 'c1').nodes) {
        await lab.stopDaemon(node);
        await useSource(lab, node, 'nodes');
        await lab.startDaemon(node);
      }
      await lab.waitUntilReady(CONVERGE_MS);
      await lab.waitUntilPeered(CONVERGE_MS);
      for (const node of cluster(lab, 'c1').nodes) {
        const [remote] = (await lab.status(node)).remotes;
        assert.equal(remote?.source.kind, 'nodes');
      }
      await pingAllPairs(lab);
    }),
  );
});

function cluster(lab: Lab, name: string): LabCluster {
  const found = lab.clusters[name];
  if (!found) throw new Error(`no cluster ${name}`);
  return found;
}

/** The cluster's mirror, with the clusters config of its first node (the mirror reads local, the domain and the remote names). */
async function startMirror(lab: Lab, cluster: LabCluster): Promise<LabMirror> {
  const [node] = cluster.nodes;
  if (!node) throw new Error(`${cluster.name} has no node`);
  const config = path.join(lab.dir, `mirror-${cluster.name}.json`);
  await writeFile(config, await readFile(lab.configPath(node)));
  return LabMirror.start({ configPath: config, identity: `mirror-${cluster.name}`, logPath: path.join(lab.dir, `mirror-${cluster.name}.log`) });
}

/** Rewrites a node's clusters config with `source` for every remote. */
async function useSource(lab: Lab, node: LabNode, source: 'nodes' | 'slices'): Promise<void> {
  const config = JSON.parse(await readFile(lab.configPath(node), 'utf8')) as { remotes: Record<string, unknown>[] };
  for (const remote of config.remotes) remote.source = source;
  await writeFile(lab.configPath(node), `${JSON.stringify(config, null, 2)}\n`);
}

async function pingAllPairs(lab: Lab): Promise<void> {
  const failed: string[] = [];
  for (const from of lab.nodes()) {
    for (const to of lab.nodes().filter((n) => n.cluster !== from.cluster)) {
      if (!(await lab.ping(from, to.podIP)).ok) failed.push(`${from.name} → ${to.name}`);
    }
  }
  assert.deepEqual(failed, [], 'every pod pair across the clusters pings');
}

/** Slice writes in a request log, as "verb name code". */
function sliceWrites(log: readonly { resource?: string; verb: string; name?: string; code: number }[]): string[] {
  return log.filter((r) => r.resource === 'peerslices' && ['create', 'update', 'patch', 'delete'].includes(r.verb)).map((r) => `${r.verb} ${r.name} ${r.code}`);
}

async function metric(node: LabNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metrics = parsePrometheusText(await (await fetch(`${node.baseURL}/metrics`, { signal: AbortSignal.timeout(5_000) })).text());
  const sample = metrics.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (!sample) throw new Error(`${node.name}: no ${name} ${JSON.stringify(labels)}`);
  return sample.value;
}

/** Every daemon's passes (semaphore_wg_sync_peers_total, both outcomes), by node. */
async function passes(lab: Lab): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const node of lab.nodes()) {
    const metrics = parsePrometheusText(await (await fetch(`${node.baseURL}/metrics`, { signal: AbortSignal.timeout(5_000) })).text());
    counts[node.name] = metrics.samples.filter((s) => s.name === 'semaphore_wg_sync_peers_total').reduce((sum, s) => sum + s.value, 0);
  }
  return counts;
}
