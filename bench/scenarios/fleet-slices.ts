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
import { LabMirror, preparePublishing } from '../../lab/lab-mirror.ts';
import { servedBetween } from '../apiserver-load.ts';
import { LOCAL_CLUSTER, REMOTE_CLUSTER, benchClustersConfig, type RemoteCluster } from '../clusters.ts';
import { withBenchHost, type BenchContext } from '../context.ts';
import { NODE_FLAGS } from '../daemon-process.ts';
import { DAEMON_ACCOUNT, FLEET_NAMESPACE, serviceAccountKubeconfig, serviceAccountUser, slicesOf, waitForSliceEntries } from '../fleet-access.ts';
import { cpuSeconds } from '../proc.ts';
import { sumOf } from '../prom-text.ts';
import { APPLY_MESSAGES, churnWindow } from './churn.ts';
import { coldStart } from './cold-start.ts';
import { measurePropagation, type Propagation } from './propagation.ts';


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
  if (run === 1) await preparePublishing(emulator, FLEET_NAMESPACE);
  // What deploy/remote and deploy/remote-slices grant, so the slices run also shows that grant is enough.
  const kubeconfig = await serviceAccountKubeconfig(emulator, DAEMON_ACCOUNT, 'peer-reader', dir, REMOTE_CLUSTER);
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
    const slices = await waitForSliceEntries(emulator, nodes, 'the mirror published', slicesOf(REMOTE_CLUSTER, false));
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

async function measureSourceChurn(
  context: BenchContext,
  source: Source,
  remote: RemoteCluster,
  daemon: Awaited<ReturnType<typeof coldStart>>['daemon'],
  mirror: LabMirror,
): Promise<SourceChurn> {
  const { emulator } = remote;
  const mirrorPid = mirror.pid;
  if (mirrorPid === undefined) throw new Error('the mirror is not running');
  // As the churn scenario follows a settled memory reading: the cold start's work and garbage stay out of the window.
  await delay(context.options.settleSeconds * 1000);
  const before = (await daemon.scrape()).samples;
  const passesBefore = sumOf(before, 'semaphore_wg_sync_peers_total');
  const syncBefore = sumOf(before, 'clusterwire_sync_duration_seconds_sum');
  const logsBefore = daemon.logs.length;
  const mark = emulator.requestLog().at(-1)?.seq ?? 0;
  const window = await churnWindow(remote, context.options.churnSeconds, async () => ({
    log: emulator.requestLog(),
    cpu: await cpuSeconds(daemon.pid),
    mirrorCpu: await cpuSeconds(mirrorPid),
  }));
  const daemonUser = serviceAccountUser(DAEMON_ACCOUNT);
  const served = servedBetween(window.before.log, window.after.log, (user) => (user === daemonUser ? 'daemon' : 'other')).get('daemon') ?? { bytes: 0, requests: 0 };
  const after = (await daemon.scrape()).samples;
  const passesAfter = sumOf(after, 'semaphore_wg_sync_peers_total');
  const sliceWrites = emulator.requestLog(mark).filter((r) => r.resource === 'peerslices' && ['create', 'update', 'patch', 'delete'].includes(r.verb)).length;
  return {
    source,
    seconds: window.seconds,
    events: window.events,
    daemonBytes: served.bytes,
    daemonRequests: served.requests,
    daemonCpuSeconds: window.after.cpu - window.before.cpu,
    passes: passesAfter - passesBefore,
    syncSeconds: sumOf(after, 'clusterwire_sync_duration_seconds_sum') - syncBefore,
    applies: daemon.logs.slice(logsBefore).filter((line) => APPLY_MESSAGES.has(line.msg)).length,
    mirrorCpuSeconds: window.after.mirrorCpu - window.before.mirrorCpu,
    sliceWrites,
  };
}
