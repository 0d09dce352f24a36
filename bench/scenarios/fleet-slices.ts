/**
 * Fleet mode (docs/fleet-mode.md) against the classic shape, at N remote
 * nodes under the same kubelet churn (N/10 status-only events per second):
 * one daemon reading the remote's Nodes, then one reading the PeerSlices
 * the remote's `clusterwire mirror` publishes, the mirror running beside
 * the remote apiserver all along. For each: the bytes the remote apiserver
 * served to that daemon (its own service account, counted request by
 * request, open watches included) and the daemon's CPU, per hour. Then
 * propagation through a slice, publisher included: annotation changes on
 * remote Nodes while the cluster churns, until the daemon's device shows
 * them (bench/scenarios/propagation.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Emulator } from '../../lab/emulator/emulator.ts';
import { LabMirror, preparePublishing } from '../../lab/lab-mirror.ts';
import { renderKubeconfig } from '../../lab/emulator/kubeconfig.ts';
import { LOCAL_CLUSTER, REMOTE_CLUSTER, benchClustersConfig, type RemoteCluster } from '../clusters.ts';
import { withBenchHost, type BenchContext } from '../context.ts';
import { NODE_FLAGS } from '../daemon-process.ts';
import { cpuSeconds } from '../proc.ts';
import { sumOf } from '../prom-text.ts';
import { APPLY_MESSAGES, DRAIN_MS, markResourceVersion } from './churn.ts';
import { coldStart } from './cold-start.ts';
import { measurePropagation, type Propagation } from './propagation.ts';

const NAMESPACE = 'clusterwire';
/** The daemon's identity on the remote: its bytes are told apart from the mirror's by it. */
const DAEMON_ACCOUNT = 'bench-daemon';
const DAEMON_USER = `system:serviceaccount:${NAMESPACE}:${DAEMON_ACCOUNT}`;
const PUBLISH_TIMEOUT_MS = 120_000;

export type Source = 'nodes' | 'slices';

export interface SourceChurn {
  source: Source;
  seconds: number;
  events: number;
  /** Served by the remote apiserver to the daemon's account over the window. */
  daemonBytes: number;
  daemonRequests: number;
  daemonCpuSeconds: number;
  /** Sync passes and applies over the window: only the reconcile timer's, whatever the source. */
  passes: number;
  /** Wall time of those passes (clusterwire_sync_duration_seconds): the reconcile timer's share of the CPU, at most. */
  syncSeconds: number;
  applies: number;
  /** The remote's mirror over the same window (one per cluster, not per daemon). */
  mirrorCpuSeconds: number;
  sliceWrites: number;
}

export interface FleetRun {
  nodes: number;
  slices: number;
  /** From the mirror's start to every node published. */
  publishMs: number;
  churn: SourceChurn[];
  propagation: Propagation;
}

/** `mirrors` holds the mirror while it runs, for the bench's clean-up on a signal. */
export async function runFleet(context: BenchContext, remote: RemoteCluster, run: number, mirrors: Set<LabMirror>): Promise<FleetRun> {
  const nodes = remote.nodes.length;
  const say = (what: string) => context.progress(`fleet run ${run}, ${nodes} nodes: ${what}`);
  const { emulator } = remote;
  const dir = path.join(context.workDirectory, `fleet-${run}`);
  await mkdir(dir, { recursive: true });
  if (run === 1) {
    await preparePublishing(emulator, NAMESPACE);
    grantDaemon(emulator);
  }
  const kubeconfig = path.join(dir, 'daemon.kubeconfig');
  await writeFile(kubeconfig, daemonKubeconfig(emulator, await daemonTokenFile(emulator, dir)));
  const configs: Record<Source, string> = { nodes: path.join(dir, 'nodes.json'), slices: path.join(dir, 'slices.json') };
  for (const source of ['nodes', 'slices'] as const) {
    const config = benchClustersConfig(context.clusters.local.kubeconfigPath, kubeconfig) as { remotes: Record<string, unknown>[] };
    if (source === 'slices') for (const r of config.remotes) r.source = 'slices';
    await writeFile(configs[source], JSON.stringify(config, null, 2));
  }
  const mirrorConfig = path.join(dir, 'mirror.json');
  // The remote's own config: it publishes for the bench's local cluster.
  await writeFile(
    mirrorConfig,
    JSON.stringify({ local: { name: REMOTE_CLUSTER, kubeConfigPath: emulator.kubeconfigPath }, remotes: [{ name: LOCAL_CLUSTER, kubeConfigPath: context.clusters.local.kubeconfigPath, podSubnet: '10.64.0.0/16' }] }),
  );

  say('mirror: publishing the remote nodes');
  const publishStarted = performance.now();
  const mirror = await LabMirror.start({
    configPath: mirrorConfig,
    identity: `bench-mirror-${run}`,
    logPath: path.join(dir, 'mirror.log'),
    // As the image runs every command (its ENTRYPOINT), so as the daemon is launched here.
    command: { file: process.execPath, args: [...NODE_FLAGS, context.launcher] },
  });
  mirrors.add(mirror);
  try {
    const slices = await publishedSlices(emulator, nodes);
    const publishMs = performance.now() - publishStarted;
    const churn: SourceChurn[] = [];
    let propagation: Propagation | null = null;
    for (const source of ['nodes', 'slices'] as const) {
      await withBenchHost(context, async (benchHost) => {
        say(`${source}: daemon cold start`);
        const { daemon } = await coldStart(context, benchHost, { ...remote, configPath: configs[source] });
        try {
          say(`${source}: churn, ${nodes / 10} events/s for ${context.options.churnSeconds} s`);
          churn.push(await measureSourceChurn(context, source, remote, daemon, mirror));
          if (source === 'slices') {
            say(`slices: propagation of ${context.options.changes} annotation changes through the mirror`);
            propagation = await measurePropagation(context, benchHost, daemon, remote, run);
          }
        } finally {
          await daemon.stop();
        }
      });
    }
    if (propagation === null) throw new Error('no propagation measured');
    return { nodes, slices, publishMs, churn, propagation };
  } finally {
    await mirror.stop();
    mirrors.delete(mirror);
  }
}

/**
 * The daemon's remote identity: a service account allowed what each source
 * needs there, the Nodes (deploy/remote) or the slices and the Lease
 * (deploy/remote-slices), so the slices run also shows that grant is enough.
 */
function grantDaemon(emulator: Emulator): void {
  const subject = { kind: 'ServiceAccount', name: DAEMON_ACCOUNT, namespace: NAMESPACE };
  emulator.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DAEMON_ACCOUNT, namespace: NAMESPACE } });
  emulator.create({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name: `${DAEMON_ACCOUNT}-token`, namespace: NAMESPACE, annotations: { 'kubernetes.io/service-account.name': DAEMON_ACCOUNT } },
  });
  const rbac = 'rbac.authorization.k8s.io/v1';
  emulator.create({ apiVersion: rbac, kind: 'ClusterRole', metadata: { name: DAEMON_ACCOUNT }, rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }] });
  emulator.create({ apiVersion: rbac, kind: 'ClusterRoleBinding', metadata: { name: DAEMON_ACCOUNT }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: DAEMON_ACCOUNT }, subjects: [subject] });
  emulator.create({
    apiVersion: rbac,
    kind: 'Role',
    metadata: { name: DAEMON_ACCOUNT, namespace: NAMESPACE },
    rules: [
      { apiGroups: ['clusterwire.io'], resources: ['peerslices'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['clusterwire-mirror'], verbs: ['get'] },
    ],
  });
  emulator.create({ apiVersion: rbac, kind: 'RoleBinding', metadata: { name: DAEMON_ACCOUNT, namespace: NAMESPACE }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: DAEMON_ACCOUNT }, subjects: [subject] });
}

async function daemonTokenFile(emulator: Emulator, dir: string): Promise<string> {
  const secret = emulator.get({ apiVersion: 'v1', kind: 'Secret', namespace: NAMESPACE, name: `${DAEMON_ACCOUNT}-token` }) as { data?: { token?: string } } | undefined;
  const token = secret?.data?.token;
  if (!token) throw new Error(`the emulator gave ${DAEMON_ACCOUNT} no token`);
  const file = path.join(dir, 'daemon.token');
  await writeFile(file, Buffer.from(token, 'base64'), { mode: 0o600 });
  return file;
}

function daemonKubeconfig(emulator: Emulator, tokenFile: string): string {
  return renderKubeconfig({ clusterName: REMOTE_CLUSTER, server: emulator.url, caFile: emulator.caFile, tokenFile });
}

/** Waits until the mirror has published every node; returns the number of slices. */
async function publishedSlices(emulator: Emulator, nodes: number): Promise<number> {
  const deadline = Date.now() + PUBLISH_TIMEOUT_MS;
  for (;;) {
    const slices = emulator.list({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', namespace: NAMESPACE }) as { entries?: unknown[] }[];
    const entries = slices.reduce((sum, s) => sum + (s.entries?.length ?? 0), 0);
    if (entries === nodes) return slices.length;
    if (Date.now() > deadline) throw new Error(`the mirror published ${entries} of ${nodes} nodes within ${PUBLISH_TIMEOUT_MS} ms`);
    await delay(200);
  }
}

/** What the remote served to the daemon's account so far: bytes of every request, open watches up to now. */
function servedToDaemon(emulator: Emulator): { bytes: number; requests: number } {
  let bytes = 0;
  let requests = 0;
  for (const record of emulator.requestLog()) {
    if (record.user !== DAEMON_USER) continue;
    bytes += record.bytesSent;
    requests += 1;
  }
  return { bytes, requests };
}

async function measureSourceChurn(
  context: BenchContext,
  source: Source,
  remote: RemoteCluster,
  daemon: Awaited<ReturnType<typeof coldStart>>['daemon'],
  mirror: LabMirror,
): Promise<SourceChurn> {
  const { emulator } = remote;
  const seconds = context.options.churnSeconds;
  const mirrorPid = mirror.pid;
  if (mirrorPid === undefined) throw new Error('the mirror is not running');
  // As the churn scenario follows a settled memory reading: the cold start's work and garbage stay out of the window.
  await delay(context.options.settleSeconds * 1000);
  const before = (await daemon.scrape()).samples;
  const passesBefore = sumOf(before, 'semaphore_wg_sync_peers_total');
  const syncBefore = sumOf(before, 'clusterwire_sync_duration_seconds_sum');
  const logsBefore = daemon.logs.length;
  const mark = emulator.requestLog().at(-1)?.seq ?? 0;
  const firstVersion = markResourceVersion(remote);
  const servedBefore = servedToDaemon(emulator);
  const cpuBefore = await cpuSeconds(daemon.pid);
  const mirrorCpuBefore = await cpuSeconds(mirrorPid);
  const started = performance.now();
  emulator.startHeartbeats(remote.nodes.length / 10);
  try {
    await delay(seconds * 1000);
  } finally {
    emulator.stopHeartbeats();
  }
  const lastVersion = markResourceVersion(remote);
  await delay(DRAIN_MS);
  const cpuAfter = await cpuSeconds(daemon.pid);
  const mirrorCpuAfter = await cpuSeconds(mirrorPid);
  const elapsed = (performance.now() - started) / 1000;
  const servedAfter = servedToDaemon(emulator);
  const after = (await daemon.scrape()).samples;
  const passesAfter = sumOf(after, 'semaphore_wg_sync_peers_total');
  const sliceWrites = emulator.requestLog(mark).filter((r) => r.resource === 'peerslices' && ['create', 'update', 'patch', 'delete'].includes(r.verb)).length;
  return {
    source,
    seconds: elapsed,
    events: lastVersion - firstVersion - 1,
    daemonBytes: servedAfter.bytes - servedBefore.bytes,
    daemonRequests: servedAfter.requests - servedBefore.requests,
    daemonCpuSeconds: cpuAfter - cpuBefore,
    passes: passesAfter - passesBefore,
    syncSeconds: sumOf(after, 'clusterwire_sync_duration_seconds_sum') - syncBefore,
    applies: daemon.logs.slice(logsBefore).filter((line) => APPLY_MESSAGES.has(line.msg)).length,
    mirrorCpuSeconds: mirrorCpuAfter - mirrorCpuBefore,
    sliceWrites,
  };
}
