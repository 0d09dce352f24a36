/**
 * End to end (issue 6): two emulated clusters whose nodes are network
 * namespaces, a real clusterwire daemon and real wireguard-go on each, and
 * real pings between pod addresses across the tunnels. One lab for the
 * file: the tests run in order and each removes the remote nodes it adds.
 *
 * "Paper" nodes are c2 Nodes with no host behind them: they advertise a key
 * and an endpoint, so they must become peers on every c1 device, which is
 * what tests of the watch path (deletion, 410, outage, token rotation) need.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { realisticNode } from '../../lab/emulator/nodes.ts';
import { createLab, type Lab, type LabCluster, type LabNode } from '../../lab/lab.ts';
import { execCommand } from '../../src/process/exec.ts';
import { generatePrivateKey, publicKeyOf } from '../../src/wireguard/keys.ts';
import { parsePrometheusText } from '../support/prometheus-text.ts';

const DOMAIN = 'wireguard.semaphore.uw.io';
const BACKOFF_CAP_MS = 2_000;
/** "Longer than the backoff cap": the watch reaches the cap and keeps retrying at it. */
const OUTAGE_MS = 3 * BACKOFF_CAP_MS + 1_000;
const CONVERGE_MS = 30_000;

describe('two clusters end to end: real tunnels between pod addresses', { concurrency: false }, () => {
  let lab: Lab | undefined;
  const suiteStarted = performance.now();
  let labBuiltMs = 0;

  before(async () => {
    if (process.getuid?.() !== 0) {
      if (process.env.CI === 'true') throw new Error('the end-to-end tests need root (namespaces, wireguard-go), and CI=true requires them to run');
      return;
    }
    lab = await createLab({
      reconcileInterval: '1s',
      daemonFlags: ['-watch-backoff-cap', `${BACKOFF_CAP_MS}ms`],
    });
    labBuiltMs = performance.now() - suiteStarted;
  });

  after(async (t) => {
    if (!lab) return;
    const tornDown = performance.now();
    await lab.destroy();
    t.diagnostic(`end-to-end suite: ${seconds(performance.now() - suiteStarted)} in all, teardown ${seconds(performance.now() - tornDown)}`);
  });

  /** The test body with the lab; skipped without root; on failure, adds the daemons' last log lines unless told not to. */
  const withLab = (body: (lab: Lab, t: TestContext) => Promise<void>, { logsOnFailure = true } = {}) => async (t: TestContext) => {
    if (!lab) return t.skip('needs root for network namespaces and wireguard-go: skipped outside CI');
    try {
      await body(lab, t);
    } catch (error) {
      if (logsOnFailure) t.diagnostic(await lab.logTails(25));
      throw error;
    }
  };

  const cluster = (lab: Lab, name: string): LabCluster => {
    const found = lab.clusters[name];
    if (!found) throw new Error(`no cluster ${name}`);
    return found;
  };

  const annotation = (lab: Lab, clusterName: string, node: string, key: string): string | undefined =>
    (cluster(lab, clusterName).emulator.getNode(node) as { metadata: { annotations?: Record<string, string> } } | undefined)?.metadata.annotations?.[key];

  /** The keys of a device's peers, in the order wg lists them (duplicates kept, so they show). */
  const peerKeys = async (lab: Lab, node: LabNode, remote: string): Promise<string[]> =>
    (await lab.wgShow(node, node.device(remote))).peers.map((peer) => peer.publicKey);

  /** What every c1 device must hold: the keys the c2 lab nodes advertise to c1, plus `extra`. */
  const expectedC1Peers = (lab: Lab, extra: string[] = []): string[] =>
    [...cluster(lab, 'c2').nodes.map((node) => annotation(lab, 'c2', node.name, `c1.${DOMAIN}/pubKey`) ?? `${node.name}: not advertised`), ...extra].sort();

  /** Waits until every c1 device holds exactly `expected` (sorted keys). */
  const waitForC1Peers = async (lab: Lab, what: string, expected: () => string[]): Promise<void> => {
    await lab.waitFor(
      what,
      async () => {
        const want = expected();
        for (const node of cluster(lab, 'c1').nodes) {
          const got = (await peerKeys(lab, node, 'c2')).sort();
          if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${node.name} has ${got.length} peers: ${got.join(' ')}; expected ${want.join(' ')}`);
        }
        return true;
      },
      CONVERGE_MS,
    );
  };

  let paperCount = 0;
  /** A c2 Node with no host behind it that advertises a key and endpoint to c1. */
  const addPaperNode = (lab: Lab, key = publicKeyOf(generatePrivateKey())) => {
    paperCount += 1;
    const name = `c2-paper${paperCount}`;
    const podCIDR = `10.4.${200 + paperCount}.0/24`;
    const endpoint = `198.18.${lab.slot}.${200 + paperCount}:51820`;
    cluster(lab, 'c2').emulator.createNode(
      realisticNode({ name, podCIDR, internalIP: endpoint.split(':')[0], annotations: { [`c1.${DOMAIN}/pubKey`]: key, [`c1.${DOMAIN}/endpoint`]: endpoint } }),
    );
    return { name, key, podCIDR };
  };

  /** Pings from each of `from` to each pod address of `to`; returns the failures and a table. */
  const pingAcross = async (lab: Lab, from: LabNode[], to: LabNode[], count = 1) => {
    const rows: string[] = [];
    const failures: string[] = [];
    for (const a of from) {
      for (const b of to) {
        const result = await lab.ping(a, b.podIP, { count, timeoutSeconds: 1 });
        rows.push(`${a.name} (${a.podIP}) → ${b.name} (${b.podIP}): ${result.ok ? 'ok' : 'FAILED'}${result.rttMs === null ? '' : ` ${result.rttMs} ms`}`);
        if (!result.ok) failures.push(`${a.name} → ${b.name}`);
      }
    }
    return { rows, failures };
  };

  const bothWays = async (lab: Lab, count = 1) => {
    const c1 = cluster(lab, 'c1').nodes;
    const c2 = cluster(lab, 'c2').nodes;
    const there = await pingAcross(lab, c1, c2, count);
    const back = await pingAcross(lab, c2, c1, count);
    return { rows: [...there.rows, ...back.rows], failures: [...there.failures, ...back.failures] };
  };

  test('every c1 pod reaches every c2 pod and back, each device holding one peer per remote node', withLab(async (lab, t) => {
    await lab.waitUntilReady(60_000);
    await lab.waitUntilPeered(60_000);
    t.diagnostic(`lab built in ${seconds(labBuiltMs)}; every daemon ready and peered ${seconds(performance.now() - suiteStarted)} after the start`);
    const { rows, failures } = await bothWays(lab, 3);
    for (const row of rows) t.diagnostic(row);
    assert.deepEqual(failures, []);
    for (const [local, remote] of [['c1', 'c2'], ['c2', 'c1']] as const) {
      const expected = cluster(lab, remote).nodes.map((node) => annotation(lab, remote, node.name, `${local}.${DOMAIN}/pubKey`)).sort();
      for (const node of cluster(lab, local).nodes) {
        assert.deepEqual((await peerKeys(lab, node, remote)).sort(), expected, `${node.name}'s ${node.device(remote)}`);
      }
    }
  }));

  let added: LabNode | undefined;

  test('a node added to c2 is reachable from every c1 node (propagation time printed)', withLab(async (lab, t) => {
    const started = performance.now();
    added = await lab.addNode('c2');
    const node = added;
    const key = await lab.waitFor('the new node to advertise its key to c1', () => Promise.resolve(annotation(lab, 'c2', node.name, `c1.${DOMAIN}/pubKey`)), CONVERGE_MS);
    const advertised = performance.now();
    // Polled faster than waitFor does: this is the figure the issue asks for.
    let inDevices = 0;
    while (inDevices === 0) {
      const all = await Promise.all(cluster(lab, 'c1').nodes.map(async (c1) => (await peerKeys(lab, c1, 'c2')).includes(key)));
      if (all.every(Boolean)) inDevices = performance.now();
      else if (performance.now() - advertised > CONVERGE_MS) assert.fail(`the new node's key was not on every c1 device ${CONVERGE_MS} ms after it was advertised`);
      else await delay(50);
    }
    const reached = await lab.waitFor('every c1 node to reach the new pod', async () => (await pingAcross(lab, cluster(lab, 'c1').nodes, [node])).failures.length === 0, CONVERGE_MS);
    const reachable = performance.now();
    t.diagnostic(
      `${node.name}: host + daemon started and key advertised in ${seconds(advertised - started)}; ` +
        `advertised → peer on every c1 device (propagation) ${(inDevices - advertised).toFixed(0)} ms; ` +
        `reachable from every c1 node ${seconds(reachable - started)} after addNode`,
    );
    assert.equal(reached, true);
    assert.deepEqual((await pingAcross(lab, [node], cluster(lab, 'c1').nodes)).failures, [], 'and back');
  }));

  test('a node deleted from c2 disappears from every c1 device', withLab(async (lab, t) => {
    if (!added) return t.skip('the previous test did not add a node');
    const key = annotation(lab, 'c2', added.name, `c1.${DOMAIN}/pubKey`);
    assert.ok(key);
    const started = performance.now();
    await lab.removeNode(added);
    added = undefined;
    await waitForC1Peers(lab, 'the deleted node to leave every c1 device', () => expectedC1Peers(lab));
    t.diagnostic(`gone from every c1 device ${seconds(performance.now() - started)} after the daemon was stopped and the Node deleted`);
    for (const node of cluster(lab, 'c1').nodes) assert.ok(!(await peerKeys(lab, node, 'c2')).includes(key));
    assert.deepEqual((await bothWays(lab)).failures, []);
  }));

  test('a remote node with a garbage key is skipped while the rest keep working', withLab(async (lab) => {
    const c2 = cluster(lab, 'c2').emulator;
    const garbage = addPaperNode(lab, 'not-a-wireguard-key');
    const valid = addPaperNode(lab);
    await waitForC1Peers(lab, 'the valid node, and not the garbage one, on every c1 device', () => expectedC1Peers(lab, [valid.key]));
    for (const node of cluster(lab, 'c1').nodes) {
      const skipped = (await lab.status(node)).remotes.find((remote) => remote.remote === 'c2')?.skipped ?? [];
      assert.deepEqual(skipped.map((s) => [s.node, s.reason]), [[garbage.name, 'bad-public-key']], `${node.name}'s /status`);
      const metrics = parsePrometheusText(await (await fetch(`${node.baseURL}/metrics`)).text());
      const count = metrics.samples.find((s) => s.name === 'clusterwire_remote_nodes_skipped' && s.labels.cluster === 'c2' && s.labels.reason === 'bad-public-key');
      assert.equal(count?.value, 1, `${node.name}'s skipped-nodes metric`);
    }
    assert.deepEqual((await bothWays(lab)).failures, []);

    c2.deleteNode(garbage.name);
    c2.deleteNode(valid.name);
    await waitForC1Peers(lab, 'the paper nodes to leave', () => expectedC1Peers(lab));
    await lab.waitFor('the skipped list to clear', async () => {
      for (const node of cluster(lab, 'c1').nodes) {
        if (((await lab.status(node)).remotes[0]?.skipped.length ?? -1) !== 0) return false;
      }
      return true;
    }, CONVERGE_MS);
  }));

  test('a 410 during a watch: the relist brings every c1 device to the right state', withLab(async (lab) => {
    const c2 = cluster(lab, 'c2').emulator;
    const deleted = addPaperNode(lab);
    const rekeyed = addPaperNode(lab);
    await waitForC1Peers(lab, 'two paper nodes on every c1 device', () => expectedC1Peers(lab, [deleted.key, rekeyed.key]));
    const logLengths = await Promise.all(cluster(lab, 'c1').nodes.map(async (node) => (await lab.daemonLog(node)).length));

    // Every watch gets ERROR 410 and history is compacted; the changes below
    // happen in the same tick, so no watch can deliver them: only a relist can.
    c2.expireWatches();
    c2.deleteNode(deleted.name);
    const newKey = publicKeyOf(generatePrivateKey());
    c2.patchNode(rekeyed.name, { metadata: { annotations: { [`c1.${DOMAIN}/pubKey`]: newKey } } });
    const created = addPaperNode(lab);

    await waitForC1Peers(lab, 'every c1 device to match c2 after the relist', () => expectedC1Peers(lab, [newKey, created.key]));
    for (const [i, node] of cluster(lab, 'c1').nodes.entries()) {
      const newLines = (await lab.daemonLog(node)).slice(logLengths[i]);
      assert.match(newLines, /resourceVersion expired \(410\), relisting nodes/, `${node.name} relisted`);
      const peer = (await lab.wgShow(node, node.device('c2'))).peers.find((p) => p.publicKey === newKey);
      assert.deepEqual(peer?.allowedIPs, [rekeyed.podCIDR]);
    }
    c2.deleteNode(rekeyed.name);
    c2.deleteNode(created.name);
    await waitForC1Peers(lab, 'the paper nodes to leave', () => expectedC1Peers(lab));
  }));

  test("c2's apiserver down for longer than the backoff cap: pings keep working, changes made meanwhile arrive after", withLab(async (lab, t) => {
    const c2 = cluster(lab, 'c2').emulator;
    const c1Nodes = cluster(lab, 'c1').nodes;
    const outageStarted = performance.now();
    let back = 0;
    const outage = c2.outage(OUTAGE_MS).then(() => {
      back = performance.now();
    });
    const failures: string[] = [];
    let rounds = 0;
    let sawDisconnected = false;
    let paper: ReturnType<typeof addPaperNode> | undefined;
    while (back === 0) {
      const round = await bothWays(lab);
      failures.push(...round.failures.map((f) => `${seconds(performance.now() - outageStarted)} into the outage: ${f}`));
      rounds += 1;
      const watch = (await lab.status(c1Nodes[0] as LabNode)).remotes[0]?.watch;
      if (watch?.state === 'disconnected') sawDisconnected = true;
      if (!paper && performance.now() - outageStarted > 1_000) paper = addPaperNode(lab);
      await delay(300);
    }
    await outage;
    assert.ok(paper, 'a node was added during the outage');
    const added = paper;
    await waitForC1Peers(lab, 'the node added during the outage to reach every c1 device', () => expectedC1Peers(lab, [added.key]));
    const arrived = performance.now();
    t.diagnostic(
      `outage ${seconds(back - outageStarted)} (backoff cap ${seconds(BACKOFF_CAP_MS)}): ${rounds} rounds of pings both ways, ${failures.length} failed; ` +
        `the node added during it was on every c1 device ${seconds(arrived - back)} after the apiserver came back`,
    );
    assert.ok(sawDisconnected, "c1's watch of c2 was seen disconnected: the outage was real");
    assert.deepEqual(failures, []);
    assert.deepEqual((await bothWays(lab)).failures, []);
    c2.deleteNode(added.name);
    await waitForC1Peers(lab, 'the paper node to leave', () => expectedC1Peers(lab));
  }));

  test('kill -9 of a daemon and restart: same public key, traffic resumes, no duplicate peers', withLab(async (lab, t) => {
    const [node] = cluster(lab, 'c1').nodes;
    assert.ok(node);
    const device = node.device('c2');
    const keyBefore = (await lab.wgShow(node, device)).publicKey;
    assert.ok(keyBefore);
    assert.equal(await lab.stopDaemon(node, 'SIGKILL'), null, 'killed by the signal');
    const restarted = performance.now();
    await lab.startDaemon(node);
    await lab.waitUntilReady(60_000);
    const ready = performance.now();
    await lab.waitFor('traffic through the restarted node both ways', async () => {
      const there = await pingAcross(lab, [node], cluster(lab, 'c2').nodes);
      const back = await pingAcross(lab, cluster(lab, 'c2').nodes, [node]);
      return there.failures.length + back.failures.length === 0;
    }, CONVERGE_MS);
    t.diagnostic(`restarted daemon ready in ${seconds(ready - restarted)}, traffic both ways after ${seconds(performance.now() - restarted)}`);

    // Let a few reconcile passes run: duplicates or a second wireguard-go would show up by now.
    await delay(3_000);
    assert.equal((await lab.wgShow(node, device)).publicKey, keyBefore, 'the device kept its key');
    assert.equal((await lab.status(node)).remotes[0]?.publicKey, keyBefore, '/status');
    assert.equal(annotation(lab, 'c1', node.name, `c2.${DOMAIN}/pubKey`), keyBefore, 'the advertised key');
    assert.deepEqual((await peerKeys(lab, node, 'c2')).sort(), expectedC1Peers(lab), 'exactly one peer per c2 node');
    for (const c2Node of cluster(lab, 'c2').nodes) {
      const keys = await peerKeys(lab, c2Node, 'c1');
      assert.equal(keys.filter((key) => key === keyBefore).length, 1, `${c2Node.name} has the restarted node once`);
      assert.equal(keys.length, cluster(lab, 'c1').nodes.length, `${c2Node.name} has one peer per c1 node`);
    }
    const processes = await commandLines(node);
    assert.equal(processes.filter((argv) => argv[0]?.endsWith('wireguard-go')).length, 1, `one wireguard-go for the one device: ${JSON.stringify(processes)}`);
    assert.equal(processes.filter((argv) => argv[1]?.endsWith('src/main.ts') && argv[2] === 'run').length, 1, `one daemon: ${JSON.stringify(processes)}`);
  }));

  test('the token file rotated in c2 keeps c1 syncing', withLab(async (lab) => {
    const c2 = cluster(lab, 'c2').emulator;
    const oldToken = (await readFile(c2.tokenPath, 'utf8')).trim();
    const newToken = await c2.rotateToken();
    assert.notEqual(newToken, oldToken);
    // Every watch reconnects now, and the old token is refused already.
    c2.expireWatches();
    const paper = addPaperNode(lab);
    await waitForC1Peers(lab, 'a node added after the rotation to reach every c1 device', () => expectedC1Peers(lab, [paper.key]));
    await lab.waitUntilReady(CONVERGE_MS);
    for (const node of lab.nodes()) {
      const log = await lab.daemonLog(node);
      assert.ok(!log.includes(oldToken) && !log.includes(newToken), `${node.name} never logs a token`);
    }
    c2.deleteNode(paper.name);
    await waitForC1Peers(lab, 'the paper node to leave', () => expectedC1Peers(lab));
  }));

  // wireguard-go writes to a file, not a pipe: a pipe nobody reads once the daemon is gone would kill it (SIGPIPE) at its next line.
  test(
    'a daemon stopped with SIGTERM leaves a working data plane, even when wireguard-go logs meanwhile',
    withLab(async (lab) => {
      const [node] = cluster(lab, 'c1').nodes;
      assert.ok(node);
      assert.equal(await lab.stopDaemon(node, 'SIGTERM'), 0);
      try {
        // A peer whose endpoint has no route from the node: wireguard-go logs "Failed to send handshake initiation".
        const unreachable = publicKeyOf(generatePrivateKey());
        await node.host.run('wg', ['set', node.device('c2'), 'peer', unreachable, 'endpoint', '198.19.255.1:51820', 'allowed-ips', '10.4.199.0/24']);
        await lab.ping(node, '10.4.199.1', { count: 1, timeoutSeconds: 1 });
        await delay(1_000);
        const processes = await commandLines(node);
        assert.equal(processes.filter((argv) => argv[0]?.endsWith('wireguard-go')).length, 1, 'wireguard-go outlives the daemon');
        assert.deepEqual((await pingAcross(lab, [node], cluster(lab, 'c2').nodes)).failures, [], 'traffic flows with the daemon stopped');
      } finally {
        await lab.startDaemon(node);
        await lab.waitUntilReady(60_000);
      }
    }, { logsOnFailure: false }),
  );
});

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** The command lines of the processes in the node's host. */
async function commandLines(node: LabNode): Promise<string[][]> {
  const { stdout } = await execCommand('ip', ['netns', 'pids', node.host.name]);
  const lines: string[][] = [];
  for (const pid of stdout.split('\n').filter((line) => /^\d+$/.test(line))) {
    // A process that exited meanwhile has no command line: it does not count.
    const text = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (text !== '') lines.push(text.split('\0').filter((arg) => arg !== ''));
  }
  return lines;
}
