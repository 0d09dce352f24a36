/**
 * The multi-cluster lab (issue 6): emulated clusters whose nodes are
 * network namespaces on one bridge, each running a real clusterwire daemon
 * with real userspace WireGuard, each cluster served by an in-process
 * apiserver emulator that tests drive directly.
 *
 *   machine namespace: bridge cwlab<slot> 198.18.<slot>.1/24
 *     ├─ emulator per cluster, HTTPS + CA URL on 198.18.<slot>.1
 *     └─ veth per node ── lab host <node>: eth0 198.18.<slot>.<n>/24
 *                          (and 2001:2:0:<slot>::<n>/64 if dual stack),
 *                          pod address(es) on lo, clusterwire on :7773,
 *                          wireguard-go per remote cluster
 *
 * Needs root. Everything made is removed by `destroy()`, and what a crashed
 * run left behind is removed by the next `createLab` (lab-slot.ts).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isIPv6 } from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CommandError } from '../src/process/exec.ts';
import type { StatusReport } from '../src/server/status-report.ts';
import type { ObservedDevice } from '../src/wireguard/types.ts';
import { parseWgDump } from '../src/wireguard/wg-dump.ts';
import { startEmulator, type Emulator } from './emulator/emulator.ts';
import { realisticNode } from './emulator/nodes.ts';
import { labClustersConfig, labNeedsSlices, sourcesProblems, type ClusterAccessFiles, type LabSource, type LabSources } from './lab-config.ts';
import { DAEMON_PORT, LabDaemon } from './lab-daemon.ts';
import { preparePublishing } from './lab-mirror.ts';
import { LabMirrors } from './lab-mirrors.ts';
import { clusterSpecProblems, DEFAULT_CLUSTERS, planNode, slotNames, type ClusterSpec, type SlotNames } from './lab-layout.ts';
import { createBridge, plugHost } from './lab-network.ts';
import { claimSlot, destroySlot, type SlotClaim } from './lab-slot.ts';
import { createLabHost, type LabHost } from './netns.ts';
import { parsePingOutput, pingArguments, pingDeadlineMs, type PingOptions, type PingResult } from './ping.ts';

export interface LabOptions {
  /** What the lab is for, kept in its claim; default the main script's file name. */
  name?: string;
  /** Default: c1 (10.2.0.0/16) and c2 (10.4.0.0/16), 2 nodes each, IPv4 only. */
  clusters?: ClusterSpec[];
  /** The daemons' -reconcile-interval, default 5s. */
  reconcileInterval?: string;
  /** The daemons' -log-level, default info. */
  logLevel?: string;
  /** More flags for every daemon, e.g. ['-watch-backoff-cap', '2s']. */
  daemonFlags?: string[];
  /** Default true: every node's daemon is started by createLab and addNode. */
  startDaemons?: boolean;
  /**
   * Per cluster, the source its daemons read each remote from (docs/fleet-mode.md):
   * `{ c1: { c2: 'mirror' } }`; a pair not named reads `nodes`. `mirror` needs
   * `mirrorReplicas`, `slices` a mirror in the remote cluster.
   */
  sources?: LabSources;
  /**
   * Replicas of `clusterwire mirror` per cluster, as processes beside the daemons
   * (started before them; default 0: none). With mirrors, or any source other than
   * `nodes`, every cluster gets the PeerSlice CRD and the namespace clusterwire.
   */
  mirrorReplicas?: number;
  /** More flags for every mirror replica, e.g. shorter leader election timings. */
  mirrorFlags?: string[];
  /** Where configs, keys, logs and apiserver files go; default a new temp directory, removed by destroy(). */
  dir?: string;
  /** Progress lines; default silent. */
  log?: (line: string) => void;
}

export interface LabNode {
  /** The Kubernetes Node name, e.g. c1-n1. */
  name: string;
  cluster: string;
  host: LabHost;
  /** Its IPv4 address on the lab bridge (an InternalIP; where baseURL points). */
  address: string;
  /** Its IPv6 address on the lab bridge in a dual-stack cluster, else null. */
  address6: string | null;
  /** Its InternalIPs, primary family first: the daemon advertises the first as its endpoint. */
  internalIPs: string[];
  podCIDR: string;
  /** The "pod": an address of podCIDR on the host's lo. */
  podIP: string;
  /** A dual-stack node's IPv6 pod CIDR and pod address (on lo), else null. */
  podCIDR6: string | null;
  podIP6: string | null;
  /** http://<address>:7773, reachable from the machine's namespace. */
  baseURL: string;
  /** The WireGuard device this node has towards `remote` (the config's default name). */
  device(remote: string): string;
}

export interface LabCluster {
  name: string;
  podSubnet: string;
  podSubnet6: string | null;
  /** The family of its nodes' first InternalIP, so of the endpoints they advertise. */
  primaryFamily: 4 | 6;
  emulator: Emulator;
  nodes: LabNode[];
}

export interface Lab {
  readonly dir: string;
  readonly slot: number;
  readonly clusters: Record<string, LabCluster>;
  nodes(): LabNode[];
  /** The node's clusters JSON (tests may rewrite it, then restart the daemon). */
  configPath(node: LabNode): string;
  /** Rewrites the node's clusters config to read each remote from `sources` (unnamed: `nodes`); restart its daemon to apply it. */
  setSources(node: LabNode, sources: Readonly<Record<string, LabSource>>): Promise<void>;
  /** The mirror replicas of `cluster` (lab option `mirrorReplicas`): kill one, stop all, start them again, find the leader. */
  mirrors(cluster: string): LabMirrors;
  startDaemon(node: LabNode): Promise<void>;
  /** Sends `signal` (default SIGTERM), waits for the exit; returns the exit code (null when a signal ended it). */
  stopDaemon(node: LabNode, signal?: NodeJS.Signals): Promise<number | null>;
  daemonPid(node: LabNode): number | undefined;
  daemonLog(node: LabNode): Promise<string>;
  /** The last `lines` lines of every daemon's and mirror's log, for failure messages. */
  logTails(lines?: number): Promise<string>;
  /** GET /status of a node's daemon. */
  status(node: LabNode): Promise<StatusReport>;
  /** A new node; `startDaemon: false` leaves its daemon for the caller to start (after changing its host). */
  addNode(cluster: string, options?: { startDaemon?: boolean }): Promise<LabNode>;
  removeNode(node: LabNode): Promise<void>;
  /** Pings `to` from the node's pod address of the same family (IPv6: `ping -6` from podIP6). */
  ping(from: LabNode, to: string, options?: PingOptions): Promise<PingResult>;
  wgShow(node: LabNode, device: string): Promise<ObservedDevice>;
  /** Polls `check` until it returns a value other than undefined/false; its errors count as "not yet". */
  waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T>;
  /** Every running daemon's /readyz answers 200. Fails at once if a daemon exits. */
  waitUntilReady(timeoutMs?: number): Promise<void>;
  /** Every running daemon's device towards each other cluster has a peer for every running node of that cluster. */
  waitUntilPeered(timeoutMs?: number): Promise<void>;
  /** Everything it made, even after a partial failure; idempotent. */
  destroy(): Promise<void>;
}

interface NodeState {
  node: LabNode;
  nodeDir: string;
  daemon: LabDaemon | null;
  /** The last stop was asked for (stopDaemon), so the daemon being down is expected. */
  stoppedOnPurpose: boolean;
}

/** A daemon exited by itself: waiting for it to become ready is pointless. */
class DaemonExitedError extends Error {
  override name = 'DaemonExitedError';
}

const DEFAULT_RECONCILE_INTERVAL = '5s';
const POLL_MS = 200;

export async function createLab(options: LabOptions = {}): Promise<Lab> {
  const specs = options.clusters ?? DEFAULT_CLUSTERS.map((cluster) => ({ ...cluster }));
  const problems = [...clusterSpecProblems(specs), ...sourcesProblems(specs.map((spec) => spec.name), options.sources ?? {}, options.mirrorReplicas ?? 0)];
  if (problems.length > 0) throw new Error(`bad lab clusters: ${problems.join('; ')}`);
  if (process.getuid?.() !== 0) throw new Error('the lab needs root: it creates network namespaces, a bridge and WireGuard devices');
  const log = options.log ?? (() => {});
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'clusterwire-lab-')));
  let claim: SlotClaim;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    claim = await claimSlot({ name: options.name ?? path.basename(process.argv[1] ?? 'node'), dir, ownsDir }, log);
  } catch (error) {
    if (ownsDir) await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const lab = new RunningLab(claim, specs, options, log);
  try {
    await lab.build();
  } catch (error) {
    await lab.destroy().catch((cleanupError: unknown) => {
      log(`lab: tearing down after a failed start also failed: ${String(cleanupError)}`);
    });
    throw new Error(`building the lab in slot ${claim.slot} failed`, { cause: error });
  }
  return lab;
}

class RunningLab implements Lab {
  readonly dir: string;
  readonly slot: number;
  readonly clusters: Record<string, LabCluster> = {};
  readonly #claim: SlotClaim;
  readonly #names: SlotNames;
  readonly #specs: readonly ClusterSpec[];
  readonly #options: LabOptions;
  readonly #log: (line: string) => void;
  readonly #states = new Map<LabNode, NodeState>();
  readonly #ordinals = new Map<string, number>();
  readonly #mirrors = new Map<string, LabMirrors>();
  #hostNumber = 0;
  #destroyed: Promise<void> | null = null;

  constructor(claim: SlotClaim, specs: readonly ClusterSpec[], options: LabOptions, log: (line: string) => void) {
    this.#claim = claim;
    this.dir = claim.dir;
    this.slot = claim.slot;
    this.#names = slotNames(claim.slot);
    this.#specs = specs;
    this.#options = options;
    this.#log = log;
  }

  async build(): Promise<void> {
    this.#log(`lab: slot ${this.slot}: bridge ${this.#names.bridge} ${this.#names.gateway}, directory ${this.dir}`);
    await createBridge(this.#names);
    for (const spec of this.#specs) {
      const emulator = await startEmulator({ dir: path.join(this.dir, spec.name, 'apiserver'), host: this.#names.gateway, clusterName: spec.name });
      const podSubnet6 = spec.podSubnet6 ?? null;
      this.clusters[spec.name] = { name: spec.name, podSubnet: spec.podSubnet, podSubnet6, primaryFamily: spec.primaryFamily ?? 4, emulator, nodes: [] };
      const pods = podSubnet6 === null ? spec.podSubnet : `${spec.podSubnet} and ${podSubnet6}, IPv${spec.primaryFamily ?? 4} first`;
      this.#log(`lab: cluster ${spec.name} (pods ${pods}): apiserver ${emulator.url}, CA ${emulator.caURL}`);
    }
    for (const spec of this.#specs) {
      for (let i = 0; i < spec.nodes; i += 1) await this.#makeNode(spec);
    }
    const replicas = this.#options.mirrorReplicas ?? 0;
    if (labNeedsSlices(replicas, this.#options.sources ?? {})) {
      for (const cluster of Object.values(this.clusters)) await preparePublishing(cluster.emulator);
    }
    if (replicas > 0) {
      for (const spec of this.#specs) await this.#makeMirrors(spec.name, replicas);
      await Promise.all([...this.#mirrors.values()].map((mirrors) => mirrors.start()));
    }
    if (this.#options.startDaemons !== false) await Promise.all(this.nodes().map((node) => this.startDaemon(node)));
  }

  nodes(): LabNode[] {
    return Object.values(this.clusters).flatMap((cluster) => cluster.nodes);
  }

  configPath(node: LabNode): string {
    return path.join(this.#state(node).nodeDir, 'clusters.json');
  }

  async setSources(node: LabNode, sources: Readonly<Record<string, LabSource>>): Promise<void> {
    await this.#writeConfig(this.configPath(node), labClustersConfig(node.cluster, this.#accessFiles(), sources));
  }

  mirrors(cluster: string): LabMirrors {
    const mirrors = this.#mirrors.get(cluster);
    if (!mirrors) throw new Error(`cluster ${cluster} runs no mirror: create the lab with mirrorReplicas`);
    return mirrors;
  }

  async startDaemon(node: LabNode): Promise<void> {
    const state = this.#state(node);
    if (state.daemon?.pid !== undefined) throw new Error(`the daemon of ${node.name} is already running (pid ${state.daemon.pid})`);
    state.stoppedOnPurpose = false;
    state.daemon = await LabDaemon.start(node.host, {
      nodeName: node.name,
      configPath: this.configPath(node),
      keyDirectory: path.join(state.nodeDir, 'keys'),
      logPath: this.#logPath(node),
      reconcileInterval: this.#options.reconcileInterval ?? DEFAULT_RECONCILE_INTERVAL,
      logLevel: this.#options.logLevel ?? 'info',
      extraFlags: this.#options.daemonFlags ?? [],
    });
    this.#log(`lab: started clusterwire on ${node.name} (pid ${state.daemon.pid}), ${node.baseURL}`);
  }

  async stopDaemon(node: LabNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const state = this.#state(node);
    if (!state.daemon) throw new Error(`the daemon of ${node.name} was never started`);
    state.stoppedOnPurpose = true;
    return state.daemon.stop(signal);
  }

  daemonPid(node: LabNode): number | undefined {
    return this.#state(node).daemon?.pid;
  }

  daemonLog(node: LabNode): Promise<string> {
    return readLog(this.#logPath(node));
  }

  async logTails(lines = 20): Promise<string> {
    const logs = [
      ...[...this.#states.values()].map(({ node }) => ({ name: node.name, path: this.#logPath(node) })),
      ...[...this.#mirrors.values()].flatMap((mirrors) => mirrors.identities.map((identity) => ({ name: identity, path: mirrors.logPath(identity) }))),
    ];
    const parts = await Promise.all(
      logs.map(async ({ name, path: logPath }) => {
        const tail = (await readLog(logPath)).trimEnd().split('\n').slice(-lines).join('\n');
        return `--- ${name} (${logPath}), last ${lines} lines:\n${tail}`;
      }),
    );
    return parts.join('\n');
  }

  async status(node: LabNode): Promise<StatusReport> {
    const response = await fetch(`${node.baseURL}/status`, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`GET ${node.baseURL}/status answered ${response.status}`);
    return (await response.json()) as StatusReport;
  }

  async addNode(cluster: string, options: { startDaemon?: boolean } = {}): Promise<LabNode> {
    const spec = this.#specs.find((candidate) => candidate.name === cluster);
    if (!spec) throw new Error(`the lab has no cluster ${cluster}`);
    const node = await this.#makeNode(spec);
    if ((options.startDaemon ?? this.#options.startDaemons) !== false) await this.startDaemon(node);
    return node;
  }

  async removeNode(node: LabNode): Promise<void> {
    const state = this.#state(node);
    const cluster = this.#cluster(node.cluster);
    state.stoppedOnPurpose = true;
    if (state.daemon?.pid !== undefined) await state.daemon.stop('SIGTERM');
    if (cluster.emulator.getNode(node.name)) cluster.emulator.deleteNode(node.name);
    await node.host.destroy();
    cluster.nodes = cluster.nodes.filter((candidate) => candidate !== node);
    this.#states.delete(node);
    this.#log(`lab: removed ${node.name}`);
  }

  async ping(from: LabNode, to: string, options: PingOptions = {}): Promise<PingResult> {
    const source = isIPv6(to) ? from.podIP6 : from.podIP;
    if (source === null) throw new Error(`${from.name} has no IPv6 pod address to ping ${to} from: its cluster is not dual stack`);
    try {
      const { stdout } = await from.host.run('ping', pingArguments(source, to, options), { timeoutMs: pingDeadlineMs(options) });
      return parsePingOutput(stdout);
    } catch (error) {
      // ping exits 1 when replies are missing; anything else is a broken lab.
      if (error instanceof CommandError && error.exitCode === 1) return { ok: false, rttMs: null };
      throw new Error(`ping from ${from.name} (${source}) to ${to} failed`, { cause: error });
    }
  }

  async wgShow(node: LabNode, device: string): Promise<ObservedDevice> {
    const { stdout } = await node.host.run('wg', ['show', device, 'dump']);
    return parseWgDump(device, stdout);
  }

  async waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let failure: Error | null = null;
      try {
        const result = await check();
        if (result !== undefined && result !== false) return result;
      } catch (error) {
        if (error instanceof DaemonExitedError) throw error;
        failure = error instanceof Error ? error : new Error(String(error));
      }
      if (Date.now() >= deadline) {
        const why = failure === null ? '' : `; the last check failed: ${failure.message}`;
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, { cause: failure ?? undefined });
      }
      await delay(POLL_MS);
    }
  }

  async waitUntilReady(timeoutMs = 60_000): Promise<void> {
    await this.waitFor(
      'every daemon to answer /readyz with 200',
      async () => {
        const running = this.#running();
        this.#failIfExited();
        const codes = await Promise.all(running.map(async (node) => (await fetch(`${node.baseURL}/readyz`, { signal: AbortSignal.timeout(2_000) })).status));
        const waiting = running.filter((_, i) => codes[i] !== 200).map((node) => node.name);
        if (waiting.length > 0) throw new Error(`not ready: ${waiting.join(', ')}`);
        return true;
      },
      timeoutMs,
    );
  }

  async waitUntilPeered(timeoutMs = 60_000): Promise<void> {
    await this.waitFor(
      'every device to have a peer for every running node of its remote cluster',
      async () => {
        this.#failIfExited();
        const running = this.#running();
        // Each device read once: "node>remote" → the device.
        const devices = new Map<string, ObservedDevice>();
        for (const node of running) {
          for (const remote of this.#remotesOf(node)) devices.set(`${node.name}>${remote}`, await this.wgShow(node, node.device(remote)));
        }
        const missing: string[] = [];
        for (const node of running) {
          for (const remote of this.#remotesOf(node)) {
            const peers = new Set(devices.get(`${node.name}>${remote}`)?.peers.map((peer) => peer.publicKey));
            for (const other of running.filter((candidate) => candidate.cluster === remote)) {
              const key = devices.get(`${other.name}>${node.cluster}`)?.publicKey;
              if (!key || !peers.has(key)) missing.push(`${node.name} lacks ${other.name}`);
            }
          }
        }
        if (missing.length > 0) throw new Error(missing.join(', '));
        return true;
      },
      timeoutMs,
    );
  }

  destroy(): Promise<void> {
    this.#destroyed ??= this.#teardown();
    return this.#destroyed;
  }

  async #teardown(): Promise<void> {
    const failures: unknown[] = [];
    // Mirrors before all: processes of the machine's namespace, which destroying the hosts does not reach.
    for (const mirrors of this.#mirrors.values()) await mirrors.stopAll('SIGKILL').catch((error: unknown) => failures.push(error));
    // Apiservers first, while the daemons still answer their FINs: killed
    // first, they would leave sockets that hold their namespaces open.
    for (const cluster of Object.values(this.clusters)) await cluster.emulator.stop().catch((error: unknown) => failures.push(error));
    // Killing everything in each host also kills its daemon and wireguard-go processes.
    for (const { node, daemon } of this.#states.values()) {
      try {
        await node.host.destroy();
        await daemon?.exited;
      } catch (error) {
        failures.push(error);
      }
    }
    await destroySlot(this.slot, this.#claim).catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw new AggregateError(failures, `tearing down lab slot ${this.slot} failed`);
    this.#log(`lab: slot ${this.slot} torn down`);
  }

  async #makeNode(spec: ClusterSpec): Promise<LabNode> {
    const ordinal = (this.#ordinals.get(spec.name) ?? 0) + 1;
    this.#ordinals.set(spec.name, ordinal);
    this.#hostNumber += 1;
    const plan = planNode(this.slot, spec, ordinal, this.#hostNumber);
    const cluster = this.#cluster(spec.name);
    const host = await createLabHost(plan.hostName);
    const node: LabNode = {
      name: plan.name,
      cluster: spec.name,
      host,
      address: plan.address,
      address6: plan.address6,
      internalIPs: plan.internalIPs,
      podCIDR: plan.podCIDR,
      podIP: plan.podIP,
      podCIDR6: plan.podCIDR6,
      podIP6: plan.podIP6,
      baseURL: `http://${plan.address}:${DAEMON_PORT}`,
      device: (remote) => `wireguard.${remote}`,
    };
    const nodeDir = path.join(this.dir, 'nodes', plan.name);
    // Registered before anything can fail, so that destroy() removes the host.
    this.#states.set(node, { node, nodeDir, daemon: null, stoppedOnPurpose: false });
    await plugHost(this.#names, host, plan);
    await mkdir(nodeDir, { recursive: true, mode: 0o700 });
    await this.#writeConfig(this.configPath(node), labClustersConfig(spec.name, this.#accessFiles(), this.#options.sources?.[spec.name]));
    cluster.emulator.createNode(realisticNode({ name: plan.name, podCIDRs: plan.podCIDRs, internalIPs: plan.internalIPs }));
    cluster.nodes.push(node);
    const pods = plan.podIP6 === null ? plan.podIP : `${plan.podIP} and ${plan.podIP6}`;
    this.#log(`lab: node ${plan.name} in ${host.name}: ${plan.internalIPs.join(', ')}, pods ${plan.podCIDRs.join(', ')}, pod ${pods}`);
    return node;
  }

  /** A mirror's config is the daemon's with access to every remote: it reads them all itself. */
  async #makeMirrors(cluster: string, replicas: number): Promise<void> {
    const dir = path.join(this.dir, 'mirrors', cluster);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const configPath = path.join(dir, 'clusters.json');
    await this.#writeConfig(configPath, labClustersConfig(cluster, this.#accessFiles()));
    const { emulator } = this.#cluster(cluster);
    this.#mirrors.set(cluster, new LabMirrors({ cluster, replicas, configPath, logDir: dir, emulator, extraFlags: this.#options.mirrorFlags ?? [], log: this.#log }));
  }

  async #writeConfig(file: string, config: object): Promise<void> {
    await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  }

  #accessFiles(): ClusterAccessFiles[] {
    return this.#specs.map((spec) => {
      const { emulator } = this.#cluster(spec.name);
      return {
        name: spec.name,
        podSubnet: spec.podSubnet,
        ...(spec.podSubnet6 === undefined ? {} : { podSubnet6: spec.podSubnet6 }),
        apiURL: emulator.url,
        caURL: emulator.caURL,
        tokenPath: emulator.tokenPath,
        kubeconfigPath: emulator.kubeconfigPath,
      };
    });
  }

  #remotesOf(node: LabNode): string[] {
    return this.#specs.map((spec) => spec.name).filter((name) => name !== node.cluster);
  }

  #running(): LabNode[] {
    return [...this.#states.values()].filter((state) => state.daemon?.pid !== undefined).map((state) => state.node);
  }

  /** A daemon that exited on its own will never become ready: say so at once. */
  #failIfExited(): void {
    for (const { node, daemon, stoppedOnPurpose } of this.#states.values()) {
      if (daemon && daemon.pid === undefined && !stoppedOnPurpose) {
        throw new DaemonExitedError(`the daemon of ${node.name} exited by itself; see ${this.#logPath(node)}`);
      }
    }
  }

  #cluster(name: string): LabCluster {
    const cluster = this.clusters[name];
    if (!cluster) throw new Error(`the lab has no cluster ${name}`);
    return cluster;
  }

  #state(node: LabNode): NodeState {
    const state = this.#states.get(node);
    if (!state) throw new Error(`${node.name} is not a node of this lab (removed?)`);
    return state;
  }

  #logPath(node: LabNode): string {
    return path.join(this.#state(node).nodeDir, 'daemon.log');
  }
}

async function readLog(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}
