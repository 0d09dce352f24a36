/**
 * `npm run demo`: clusterwire doing its job on one machine. Two emulated
 * clusters (c1, c2), one network namespace per node, a real clusterwire
 * daemon and userspace WireGuard on each; pings between pod addresses
 * across the tunnels; a node added to c2 and reached from c1; then
 * teardown (or, with --keep, the lab stays up until Ctrl-C or --destroy).
 * With --fleet, two `clusterwire mirror` processes per cluster read the
 * other cluster once and write local PeerSlices, and the daemons read
 * those (source mirror, docs/fleet-mode.md); --source slices has the
 * daemons read the slices the other cluster's mirrors publish.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { execCommand } from '../src/process/exec.ts';
import { demoFleet, mirrorRows, sourceRows } from './demo-plan.ts';
import { LAB_SOURCES, type LabSource } from './lab-config.ts';
import { createLab, type Lab, type LabNode } from './lab.ts';
import { destroyLabs, readClaims } from './lab-slot.ts';
import { preflightProblems, thisMachine } from './preflight.ts';
import { formatTable } from './text-table.ts';

const USAGE = `usage: npm run demo [-- --fleet | --source nodes|slices|mirror] [-- --keep | --destroy | --help]
  (no flag)  build two emulated clusters joined by clusterwire, ping across them,
             add a node, print where to look, tear everything down
  --fleet    the same in fleet mode: two clusterwire mirror processes per cluster
             read the other cluster and write local PeerSlices; the daemons read
             those (source mirror) and hold no credential of the other cluster
  --source   where the daemons read the other cluster from: nodes (the default),
             slices (the PeerSlices its mirrors publish) or mirror (= --fleet)
  --keep     leave the lab up at the end; this process keeps serving the
             clusters' apiservers until Ctrl-C or --destroy
  --destroy  tear down a kept demo and whatever crashed runs left behind
             (labs of tests running meanwhile are left alone)`;

const REPO = path.resolve(import.meta.dirname, '..');
/** The demo's labs are named so, so that --destroy stops them and not the labs of tests running meanwhile. */
const LAB_NAME = 'demo';
const DOMAIN = 'wireguard.semaphore.uw.io';

class Interrupted extends Error {
  override name = 'Interrupted';
}

async function main(argv: string[]): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args: argv,
      options: { keep: { type: 'boolean' }, destroy: { type: 'boolean' }, fleet: { type: 'boolean' }, source: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`demo: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (flags.keep && flags.destroy) {
    console.error(`demo: --keep and --destroy exclude each other\n${USAGE}`);
    return 2;
  }
  const source = flags.fleet ? 'mirror' : (flags.source ?? 'nodes');
  if (!isLabSource(source) || (flags.fleet && flags.source !== undefined && flags.source !== 'mirror')) {
    console.error(`demo: --source takes ${LAB_SOURCES.join(', ')}, and --fleet means mirror\n${USAGE}`);
    return 2;
  }
  const problems = preflightProblems(thisMachine());
  if (problems.length > 0) {
    console.error(`The clusterwire demo cannot run on this machine:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  if (flags.destroy) {
    const slots = await destroyLabs((claim) => claim.name === LAB_NAME, (line) => console.log(line));
    console.log(slots.length === 0 ? 'No demo lab to tear down.' : `Torn down: lab slot(s) ${slots.join(', ')}.`);
    for (const other of await readClaims()) {
      console.log(`Left alone: lab slot ${other.slot} of ${other.name} (process ${other.pid}, running since ${other.createdAt}).`);
    }
    return 0;
  }
  return runDemo(flags.keep === true, source);
}

function isLabSource(value: string): value is LabSource {
  return (LAB_SOURCES as readonly string[]).includes(value);
}

async function runDemo(keep: boolean, source: LabSource): Promise<number> {
  const interrupted = onSignals();
  /** Runs one step unless Ctrl-C comes first. */
  const step = <T>(work: Promise<T>): Promise<T> => {
    // An abandoned step fails once the lab is torn down under it: nobody is waiting for it any more.
    work.catch(() => {});
    return Promise.race([work, interrupted.promise]);
  };
  let building: Promise<Lab> | undefined;
  let lab: Lab | undefined;
  let exitCode = 0;
  const started = performance.now();
  try {
    console.log('clusterwire demo: two emulated Kubernetes clusters on this machine, one network namespace per');
    console.log('node, a clusterwire daemon and userspace WireGuard (wireguard-go) on every node.');
    if (source !== 'nodes') console.log('Fleet mode: two clusterwire mirror processes per cluster, one leading through a Lease.');
    console.log('\nBuilding the lab ...');
    building = createLab({ name: LAB_NAME, log: (line) => console.log(`  ${line.replace(/^lab: /, '')}`), reconcileInterval: '5s', ...demoFleet(source, ['c1', 'c2']) });
    lab = await step(building);
    await showReady(lab, step, started);
    await showSources(lab, step, source);
    await showPings(lab, step);
    await showAddedNode(lab, step);
    await showWhereToLook(lab, step);
    if (keep) {
      showKept(lab, source);
      await interrupted.promise.catch(() => {});
    }
  } catch (error) {
    if (error instanceof Interrupted) {
      console.log(`\n${error.message}: tearing down ...`);
      exitCode = 130;
    } else {
      console.error(`\nThe demo failed: ${describeError(error)}`);
      if (lab) console.error(`\nThe daemons' and mirrors' last log lines:\n${await lab.logTails(12)}`);
      exitCode = 1;
    }
  } finally {
    // Ctrl-C during the build: the lab being built is torn down once it is up (a failed build cleans up itself).
    await tearDown(lab ?? (await building?.catch(() => undefined)));
  }
  return exitCode;
}

async function tearDown(lab: Lab | undefined): Promise<void> {
  if (!lab) return;
  console.log('\nTearing down ...');
  try {
    await lab.destroy();
    console.log('Done: namespaces, bridge, processes and files removed.');
  } catch (error) {
    console.error(`Tearing down failed: ${describeError(error)}\nRun "npm run demo -- --destroy" to try again.`);
    process.exitCode = 1;
  }
}

type Step = <T>(work: Promise<T>) => Promise<T>;

async function showReady(lab: Lab, step: Step, started: number): Promise<void> {
  console.log('\nWaiting for every daemon to be ready (/readyz) and peered ...');
  await step(lab.waitUntilReady(90_000));
  await step(lab.waitUntilPeered(60_000));
  console.log(`  ready ${seconds(performance.now() - started)} after the start.`);
}

async function showSources(lab: Lab, step: Step, source: LabSource): Promise<void> {
  const statuses = await step(Promise.all(lab.nodes().map(async (node) => ({ node: node.name, remotes: (await lab.status(node)).remotes }))));
  console.log('\nWhere each daemon reads the other cluster from (its /status):\n');
  for (const line of formatTable(['node', 'remote', 'source'], sourceRows(statuses))) console.log(line);
  if (source === 'nodes') return;
  const rows = Object.keys(lab.clusters).flatMap((cluster) => {
    const mirrors = lab.mirrors(cluster);
    return mirrorRows(cluster, mirrors.running(), mirrors.leaseHolder());
  });
  console.log('\nThe mirrors (leader: the holder of the Lease clusterwire-mirror in namespace clusterwire):\n');
  for (const line of formatTable(['cluster', 'mirror', 'role', 'HTTP (/status, /metrics)'], rows)) console.log(line);
}

async function pingRows(lab: Lab, step: Step, from: LabNode[], to: LabNode[]): Promise<{ rows: string[][]; failed: number }> {
  const rows: string[][] = [];
  let failed = 0;
  for (const a of from) {
    for (const b of to) {
      const result = await step(lab.ping(a, b.podIP, { count: 3, timeoutSeconds: 1 }));
      if (!result.ok) failed += 1;
      rows.push([`${a.name} ${a.podIP}`, '→', `${b.name} ${b.podIP}`, result.ok ? 'ok' : 'FAILED', result.rttMs === null ? '-' : `${result.rttMs.toFixed(2)} ms`]);
    }
  }
  return { rows, failed };
}

async function showPings(lab: Lab, step: Step): Promise<void> {
  console.log('\nPinging every pod of the other cluster from every node (3 pings each, through WireGuard):\n');
  const [c1, c2] = clusterNodes(lab);
  const there = await pingRows(lab, step, c1, c2);
  const back = await pingRows(lab, step, c2, c1);
  for (const line of formatTable(['from (pod)', '', 'to (pod)', 'result', 'RTT avg'], [...there.rows, ...back.rows])) console.log(line);
  if (there.failed + back.failed > 0) throw new Error(`${there.failed + back.failed} of ${there.rows.length + back.rows.length} pod pairs did not answer`);
}

async function showAddedNode(lab: Lab, step: Step): Promise<void> {
  const emulator = lab.clusters.c2?.emulator;
  if (!emulator) throw new Error('the lab has no cluster c2');
  console.log('\nAdding a node to c2 (a new namespace, its Node object, its daemon) ...');
  const started = performance.now();
  const node = await step(lab.addNode('c2'));
  const key = await step(
    lab.waitFor(`${node.name} to advertise its key`, () => {
      const annotations = (emulator.getNode(node.name) as { metadata: { annotations?: Record<string, string> } } | undefined)?.metadata.annotations;
      return Promise.resolve(annotations?.[`c1.${DOMAIN}/pubKey`]);
    }, 60_000),
  );
  const advertised = performance.now();
  const [c1] = clusterNodes(lab);
  await step(
    lab.waitFor(`${node.name}'s key on every c1 device`, async () => {
      for (const c1Node of c1) if (!(await lab.wgShow(c1Node, c1Node.device('c2'))).peers.some((peer) => peer.publicKey === key)) return false;
      return true;
    }, 60_000),
  );
  const peered = performance.now();
  console.log(
    `  ${node.name} (${node.address}, pods ${node.podCIDR}): its daemon advertised its WireGuard key ${seconds(advertised - started)} after it started;`,
  );
  console.log(`  every c1 node had it as a peer ${((peered - advertised) / 1000).toFixed(3)} s later (watch → peer).\n`);
  await step(lab.waitFor(`every c1 node to reach ${node.name}`, async () => (await pingRows(lab, step, c1, [node])).failed === 0, 30_000));
  const { rows } = await pingRows(lab, step, c1, [node]);
  for (const line of formatTable(['from (pod)', '', 'to (pod)', 'result', 'RTT avg'], rows)) console.log(line);
}

async function showWhereToLook(lab: Lab, step: Step): Promise<void> {
  const [[node]] = clusterNodes(lab);
  if (!node) throw new Error('c1 has no node');
  const listen = `${node.address}:7773`;
  console.log(`\nWhere to look (from this machine's shell while the lab is up), e.g. ${node.name}'s daemon:`);
  for (const line of formatTable(
    ['command', 'what'],
    [
      [`curl -s ${node.baseURL}/status`, 'devices, watches, peers, skipped nodes (JSON)'],
      [`curl -s ${node.baseURL}/metrics`, 'Prometheus metrics (semaphore_wg_* and clusterwire_*)'],
      [`curl -s ${node.baseURL}/readyz`, 'readiness, with a reason per remote when not ready'],
      [`npx node src/main.ts status -listen-address ${listen}`, '/status as tables'],
    ],
  )) {
    console.log(line);
  }
  const { stdout } = await step(execCommand(process.execPath, [path.join(REPO, 'src/main.ts'), 'status', '-listen-address', listen]));
  console.log(`\n$ npx node src/main.ts status -listen-address ${listen}\n${stdout.trimEnd()}`);
  const metrics = await step(fetch(`${node.baseURL}/metrics`, { signal: AbortSignal.timeout(5_000) }).then((response) => response.text()));
  const interesting = metrics.split('\n').filter((line) => /^(semaphore_wg_peer_info|clusterwire_peers_(desired|applied)|clusterwire_watch_connected)\{/.test(line));
  console.log(`\n$ curl -s ${node.baseURL}/metrics   (a few lines of ${metrics.split('\n').length})\n${interesting.join('\n')}`);
}

function showKept(lab: Lab, source: LabSource): void {
  console.log('\nThe lab stays up while this process runs (it serves the two clusters\' apiservers).');
  console.log('A shell in a node (its network and its own /run/wireguard):\n');
  const rows = lab.nodes().map((node) => [
    node.name,
    node.address,
    node.podIP,
    `nsenter --net=/run/netns/${node.host.name} --mount=${node.host.mountNamespace} bash`,
  ]);
  for (const line of formatTable(['node', 'address', 'pod', 'enter it with'], rows)) console.log(line);
  const [[c1], [c2]] = clusterNodes(lab);
  if (c1 && c2) console.log(`\n  then for example: wg show; ip route; ping -I ${c1.podIP} ${c2.podIP}   (in ${c1.name})`);
  console.log(`  daemon logs: ${lab.dir}/nodes/<node>/daemon.log`);
  if (source !== 'nodes') console.log(`  mirror logs: ${lab.dir}/mirrors/<cluster>/<mirror>.log`);
  console.log('\nTear it down with Ctrl-C here, or from another terminal: npm run demo -- --destroy');
}

function clusterNodes(lab: Lab): [LabNode[], LabNode[]] {
  return [lab.clusters.c1?.nodes ?? [], lab.clusters.c2?.nodes ?? []];
}

/** SIGINT/SIGTERM reject the returned promise once; later signals only say teardown is under way. */
function onSignals(): { promise: Promise<never> } {
  let reject: (error: Interrupted) => void = () => {};
  const promise = new Promise<never>((_, fail) => {
    reject = fail;
  });
  // Nothing may be awaiting it yet when the signal comes.
  promise.catch(() => {});
  let received = false;
  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      console.log(`${signal}: still tearing down, please wait`);
      return;
    }
    received = true;
    reject(new Interrupted(signal));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return { promise };
}

/** The message and every cause's, one per line: the lab's errors say what failed at each level. */
function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    parts.push(current.message);
    current = current.cause;
  }
  if (current !== undefined) parts.push(JSON.stringify(current));
  return parts.join('\n  caused by: ');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

process.exitCode = await main(process.argv.slice(2));
