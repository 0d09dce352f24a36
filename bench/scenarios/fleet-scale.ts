/**
 * Fleet mode at scale (issue 14): L local daemons, each a real daemon
 * process on its own bench host, against one remote of N nodes under
 * kubelet churn (N/10 status-only events per second), for each source:
 *
 * - `nodes`: every daemon watches the remote's Nodes;
 * - `slices`: every daemon watches the PeerSlices the remote's own
 *   `clusterwire mirror` (the publisher) writes;
 * - `mirror`: one local `clusterwire mirror` reads the remote and writes
 *   mirrored PeerSlices in the local cluster; the daemons read only those,
 *   from the local apiserver, with no remote credentials.
 *
 * Daemons are added one at a time (each waits for every peer on its
 * device: no cold-start stampede), L = 1, 10, ..., then after a settle one
 * churn window measures every daemon's CPU and what each apiserver served
 * to each kind of client (each authenticates as its own service account),
 * then propagation on the first daemon (Node write on the remote → change
 * on its device). "As many as the machine holds" is decided once per N
 * from the first daemon's host memory (capacity.ts), and lowered to the
 * daemons running if on the way there a cold start times out: the
 * machine's CPU could not keep up with one more.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { attemptAll } from '../../lab/attempt-all.ts';
import type { Emulator } from '../../lab/emulator/emulator.ts';
import { realisticNode } from '../../lab/emulator/nodes.ts';
import { LabMirror, preparePublishing } from '../../lab/lab-mirror.ts';
import { servedBetween, type Served } from '../apiserver-load.ts';
import { decideCapacity, hostPids, hostRssBytes, limitOnColdStartFailure, readIfRunning, readMemInfo, resolveLocals, type Capacity } from '../capacity.ts';
import { LOCAL_CLUSTER, REMOTE_CLUSTER, REMOTE_POD_SUBNET, type RemoteCluster } from '../clusters.ts';
import { openBenchHost, type BenchContext, type BenchHost } from '../context.ts';
import { NODE_FLAGS, type DaemonProcess } from '../daemon-process.ts';
import { DAEMON_ACCOUNT, FLEET_NAMESPACE, MIRROR_ACCOUNT, PUBLISHER_ACCOUNT, serviceAccountKubeconfig, serviceAccountUser, slicesOf, waitForSliceEntries, type Grant } from '../fleet-access.ts';
import type { FleetScaleOptions, FleetSource } from '../fleet-scale-args.ts';
import { cpuSeconds } from '../proc.ts';
import { churnWindow } from './churn.ts';
import { coldStart } from './cold-start.ts';
import { measurePropagation, type Propagation } from './propagation.ts';

export const CLIENT_KINDS = ['daemons', 'mirror', 'publisher', 'other'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];
/** What one apiserver served over a window, per kind of client. */
export type Load = Record<ClientKind, Served>;

export interface ScaleWindow {
  source: FleetSource;
  locals: number;
  seconds: number;
  events: number;
  /** Served by the remote apiserver: the daemons (nodes, slices), the local mirror (mirror), the remote's publisher (slices, mirror). */
  remote: Load;
  /** Served by the local apiserver. */
  local: Load;
  /** Each daemon's own CPU (every thread's run time, bench/proc.ts) over the window, in the order they started. */
  daemonCpuSeconds: number[];
  /** The local mirror (source mirror only). */
  mirrorCpuSeconds: number | null;
  /** The remote's publisher (sources slices and mirror). */
  publisherCpuSeconds: number | null;
  /** Every other process in the daemons' hosts, i.e. their wireguard-go's: the machine's load, not the daemon's. */
  wireguardCpuSeconds: number;
  /** The machine's 1-minute load average at the end of the window. */
  loadAverage: number;
  /** On the first daemon. */
  propagation: Propagation;
}

export interface FleetScaleRun {
  nodes: number;
  run: number;
  capacity: Capacity;
  windows: ScaleWindow[];
}

const prepared = new WeakSet<Emulator>();

/** The PeerSlice CRD and the namespace, once per emulator for the bench's whole life. */
async function prepareOnce(emulator: Emulator): Promise<void> {
  if (prepared.has(emulator)) return;
  await preparePublishing(emulator, FLEET_NAMESPACE);
  prepared.add(emulator);
}

/** Each kind of client by the service account it authenticates as (fleet-access.ts). */
function kindOf(user: string): ClientKind {
  if (user === serviceAccountUser(DAEMON_ACCOUNT)) return 'daemons';
  if (user === serviceAccountUser(MIRROR_ACCOUNT)) return 'mirror';
  if (user === serviceAccountUser(PUBLISHER_ACCOUNT)) return 'publisher';
  return 'other';
}

function loadOf(served: Map<ClientKind, Served>): Load {
  return Object.fromEntries(CLIENT_KINDS.map((kind) => [kind, served.get(kind) ?? { bytes: 0, requests: 0 }])) as Load;
}

interface Kubeconfigs {
  local: string;
  remote: string;
}

interface Configs {
  daemon: Record<FleetSource, string>;
  publisher: string;
  mirror: string;
}

/** Every process's clusters config (docs/configuration.md), each with its own identity on each cluster. */
async function writeConfigs(dir: string, local: Emulator, remote: Emulator): Promise<Configs> {
  const kubeconfigs = async (account: string, remoteGrant: Grant): Promise<Kubeconfigs> => ({
    local: await serviceAccountKubeconfig(local, account, 'cluster-admin', dir, LOCAL_CLUSTER),
    remote: await serviceAccountKubeconfig(remote, account, remoteGrant, dir, REMOTE_CLUSTER),
  });
  const daemon = await kubeconfigs(DAEMON_ACCOUNT, 'peer-reader');
  const mirror = await kubeconfigs(MIRROR_ACCOUNT, 'peer-reader');
  const publisher = await kubeconfigs(PUBLISHER_ACCOUNT, 'cluster-admin');
  const write = async (name: string, config: object) => {
    const file = path.join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify(config, null, 2));
    return file;
  };
  const localCluster = { name: LOCAL_CLUSTER, kubeConfigPath: daemon.local };
  // No keepalive: the bench's remote nodes are addresses no WireGuard answers at, and with one each
  // wireguard-go would start a handshake with every peer every 5 s for as long as it runs (30 KB/s
  // at 1,000 peers; at 5,000 peers ten of them took both cores). Where peers answer, a handshake is
  // every 2 minutes. The daemons' work is the same either way (bench/README.md, "Fleet mode at scale").
  const peering = { podSubnet: REMOTE_POD_SUBNET, persistentKeepalive: '0s' };
  const remoteCluster = { name: REMOTE_CLUSTER, kubeConfigPath: daemon.remote, ...peering };
  return {
    daemon: {
      nodes: await write('daemon-nodes', { local: localCluster, remotes: [remoteCluster] }),
      slices: await write('daemon-slices', { local: localCluster, remotes: [{ ...remoteCluster, source: 'slices' }] }),
      // No remote credentials at all: the local mirror's slices and Lease are read on the local cluster.
      mirror: await write('daemon-mirror', { local: localCluster, remotes: [{ name: REMOTE_CLUSTER, source: 'mirror', ...peering }] }),
    },
    // The remote's own mirror: it publishes the remote's nodes for the local cluster.
    publisher: await write('publisher', {
      local: { name: REMOTE_CLUSTER, kubeConfigPath: publisher.remote },
      remotes: [{ name: LOCAL_CLUSTER, kubeConfigPath: publisher.local, podSubnet: '10.64.0.0/16' }],
    }),
    mirror: await write('mirror', { local: { name: LOCAL_CLUSTER, kubeConfigPath: mirror.local }, remotes: [{ name: REMOTE_CLUSTER, kubeConfigPath: mirror.remote, podSubnet: REMOTE_POD_SUBNET }] }),
  };
}

async function startMirror(context: BenchContext, mirrors: Set<LabMirror>, configPath: string, identity: string, dir: string): Promise<LabMirror> {
  const mirror = await LabMirror.start({
    configPath,
    identity,
    logPath: path.join(dir, `${identity}.log`),
    // As the image runs every command (its ENTRYPOINT), so as the daemons are launched here.
    command: { file: process.execPath, args: [...NODE_FLAGS, context.launcher] },
  });
  mirrors.add(mirror);
  return mirror;
}

async function stopMirror(mirrors: Set<LabMirror>, mirror: LabMirror | null): Promise<void> {
  if (mirror === null) return;
  await mirror.stop();
  mirrors.delete(mirror);
}

/**
 * `decided`: the capacity an earlier run at the same N decided, so every
 * run measures the same numbers of daemons; null decides it now.
 */
export async function runFleetScale(
  context: BenchContext,
  options: FleetScaleOptions,
  remote: RemoteCluster,
  run: number,
  mirrors: Set<LabMirror>,
  decided: Capacity | null,
): Promise<FleetScaleRun> {
  const nodes = remote.nodes.length;
  const say = (what: string) => context.progress(`fleet scale run ${run}, ${nodes} nodes: ${what}`);
  const local = context.clusters.local;
  const dir = path.join(context.workDirectory, `fleet-scale-${nodes}-${run}`);
  await mkdir(dir, { recursive: true });
  await prepareOnce(local);
  await prepareOnce(remote.emulator);
  const configs = await writeConfigs(dir, local, remote.emulator);

  let capacity = decided;
  const windows: ScaleWindow[] = [];
  let publisher: LabMirror | null = null;
  try {
    for (const source of options.sources) {
      if (source !== 'nodes' && publisher === null) {
        say('the remote publisher: publishing the remote nodes');
        publisher = await startMirror(context, mirrors, configs.publisher, `bench-publisher-${nodes}-${run}`, dir);
        await waitForSliceEntries(remote.emulator, nodes, 'the remote publisher published', slicesOf(REMOTE_CLUSTER, false));
      }
      let mirror: LabMirror | null = null;
      try {
        if (source === 'mirror') {
          say('the local mirror: mirroring the remote');
          mirror = await startMirror(context, mirrors, configs.mirror, `bench-mirror-${nodes}-${run}`, dir);
          await waitForSliceEntries(local, nodes, 'the local mirror mirrored', slicesOf(REMOTE_CLUSTER, true));
        }
        const measured = await measureSource({ context, options, remote, run, source, configPath: configs.daemon[source], capacity, processes: { mirror, publisher }, say });
        capacity = measured.capacity;
        windows.push(...measured.windows);
      } finally {
        await stopMirror(mirrors, mirror);
      }
    }
  } finally {
    await stopMirror(mirrors, publisher);
  }
  if (capacity === null) throw new Error('no source was measured');
  return { nodes, run, capacity, windows };
}

interface LocalDaemon {
  benchHost: BenchHost & { close(): Promise<void> };
  daemon: DaemonProcess;
}

interface SourceSetting {
  context: BenchContext;
  options: FleetScaleOptions;
  remote: RemoteCluster;
  run: number;
  source: FleetSource;
  configPath: string;
  capacity: Capacity | null;
  processes: { mirror: LabMirror | null; publisher: LabMirror | null };
  say: (what: string) => void;
}

/** Local Node `bench-local-<k>` for the k-th daemon, made the first time. */
function localNodeName(local: Emulator, k: number): string {
  const name = `bench-local-${k}`;
  if (local.get({ apiVersion: 'v1', kind: 'Node', name }) === undefined) local.createNode(realisticNode({ name, internalIP: `198.19.255.${k}` }));
  return name;
}

async function measureSource(setting: SourceSetting): Promise<{ capacity: Capacity; windows: ScaleWindow[] }> {
  const { context, options, remote, source, say } = setting;
  const settleMs = options.settleSeconds * 1000;
  const daemons: LocalDaemon[] = [];
  const windows: ScaleWindow[] = [];
  const addDaemon = async () => {
    const nodeName = localNodeName(context.clusters.local, daemons.length + 1);
    const benchHost = await openBenchHost(context);
    try {
      const { daemon } = await coldStart(context, benchHost, { ...remote, configPath: setting.configPath }, nodeName);
      daemons.push({ benchHost, daemon });
    } catch (error) {
      await benchHost.close();
      throw error;
    }
  };
  try {
    say(`${source}: daemon 1 cold start`);
    await addDaemon();
    let capacity = setting.capacity;
    if (capacity === null) {
      await delay(settleMs);
      const first = daemons[0] as LocalDaemon;
      capacity = decideCapacity({ ...(await readMemInfo()), perDaemonBytes: await hostRssBytes(first.benchHost.host.name), running: 1, cap: options.maxLocals });
      const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;
      say(
        `as many daemons as the machine holds: ${capacity.locals} (memory allows ${capacity.byMemory}: ${mb(capacity.availableBytes)} available − ${mb(capacity.reserveBytes)} reserve, ${mb(capacity.perDaemonBytes)} per daemon and its wireguard-go × 1.5; --max-locals ${capacity.cap})`,
      );
    }
    // Only the first source at an N (and run 1) decides; the others measure the same L, so a failure there is an error.
    const deciding = setting.capacity === null;
    for (const target of resolveLocals(options.locals, capacity.locals)) {
      let locals = target.locals;
      while (daemons.length < locals) {
        say(`${source}: daemon ${daemons.length + 1} of ${locals} cold start`);
        try {
          await addDaemon();
        } catch (error) {
          const limited = limitOnColdStartFailure(capacity, { deciding, towardCapacity: target.towardCapacity, running: daemons.length }, error);
          if (limited === null) throw error;
          capacity = limited;
          locals = limited.locals;
          say(`${source}: the machine could not keep up with daemon ${locals + 1} (${limited.cpuError}); it is stopped: as many as the machine holds is the ${locals} running`);
        }
        if (target.towardCapacity) say(`${source}: ${daemons.length} daemons running, load average ${(os.loadavg()[0] as number).toFixed(2)}`);
      }
      if (windows.some((w) => w.locals === locals)) {
        say(`${source}: ${locals} daemons measured already, as a count asked for: max adds no L of its own`);
        continue;
      }
      say(`${source}, ${locals} daemons: settle ${options.settleSeconds} s, churn ${remote.nodes.length / 10} events/s for ${options.churnSeconds} s`);
      await delay(settleMs);
      const churn = await measureWindow(setting, daemons);
      say(`${source}, ${locals} daemons: propagation of ${options.changes} annotation changes on daemon 1`);
      const first = daemons[0] as LocalDaemon;
      const propagation = await measurePropagation(context, first.benchHost, first.daemon, remote, setting.run, source === 'mirror' ? context.clusters.local : undefined);
      windows.push({ ...churn, source, locals, propagation });
    }
    return { capacity, windows };
  } finally {
    await attemptAll(
      `stopping the ${source} daemons`,
      daemons.map(({ daemon, benchHost }) => async () => {
        await daemon.stop();
        await benchHost.close();
      }),
    );
  }
}

/** CPU seconds of every process in the hosts but the daemons: their wireguard-go's. */
async function othersCpuSeconds(daemons: readonly LocalDaemon[]): Promise<Map<number, number>> {
  const cpu = new Map<number, number>();
  for (const { benchHost, daemon } of daemons) {
    for (const pid of await hostPids(benchHost.host.name)) {
      const seconds = pid === daemon.pid ? null : await readIfRunning(pid, cpuSeconds);
      if (seconds !== null) cpu.set(pid, seconds);
    }
  }
  return cpu;
}

async function measureWindow(setting: SourceSetting, daemons: readonly LocalDaemon[]): Promise<Omit<ScaleWindow, 'source' | 'locals' | 'propagation'>> {
  const { remote, processes } = setting;
  const local = setting.context.clusters.local;
  const optionalCpu = async (mirror: LabMirror | null) => (mirror?.pid === undefined ? null : cpuSeconds(mirror.pid));
  const window = await churnWindow(remote, setting.options.churnSeconds, async () => ({
    daemonCpu: await Promise.all(daemons.map(({ daemon }) => cpuSeconds(daemon.pid))),
    mirrorCpu: await optionalCpu(processes.mirror),
    publisherCpu: await optionalCpu(processes.publisher),
    othersCpu: await othersCpuSeconds(daemons),
    remoteLog: remote.emulator.requestLog(),
    localLog: local.requestLog(),
  }));
  const { before, after } = window;
  const difference = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
  // Processes in both readings: the wireguard-go's (a short-lived child seen once adds nothing).
  let wireguardCpuSeconds = 0;
  for (const [pid, seconds] of after.othersCpu) wireguardCpuSeconds += seconds - (before.othersCpu.get(pid) ?? seconds);
  return {
    seconds: window.seconds,
    events: window.events,
    remote: loadOf(servedBetween(before.remoteLog, after.remoteLog, kindOf)),
    local: loadOf(servedBetween(before.localLog, after.localLog, kindOf)),
    daemonCpuSeconds: after.daemonCpu.map((cpu, k) => cpu - (before.daemonCpu[k] as number)),
    mirrorCpuSeconds: difference(before.mirrorCpu, after.mirrorCpu),
    publisherCpuSeconds: difference(before.publisherCpu, after.publisherCpu),
    wireguardCpuSeconds,
    loadAverage: os.loadavg()[0] as number,
  };
}
