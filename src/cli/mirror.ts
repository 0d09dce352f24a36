import { hostname } from 'node:os';
import type { LevelWithSilent } from 'pino';
import { ClustersConfigError, issueAt } from '../config/issue.ts';
import { loadClustersConfig } from '../config/load.ts';
import type { ClustersConfig } from '../config/types.ts';
import { timingProblem, type ElectionTiming } from '../election/leader-elector.ts';
import { createLogger } from '../log.ts';
import { mirrorSets, sliceName, sliceNameClash, type SliceSet } from '../fleet/peer-slice.ts';
import { startMirror } from '../mirror/mirror.ts';
import type { CommandSpec } from './command-spec.ts';
import { clustersConfigFlag, listenAddressFlag, logLevelFlag, watchBackoffCapFlag } from './daemon-flags.ts';
import { ExitCode, type CliIO } from './io.ts';
import type { ListenAddress } from './listen-address.ts';
import { identityFlag, leaseDurationFlag, leaseNameFlag, namespaceFlag, renewDeadlineFlag, resyncIntervalFlag, retryPeriodFlag } from './mirror-flags.ts';
import { UsageError } from './usage-error.ts';

export interface MirrorCommandOptions {
  clustersConfigPath: string;
  namespace: string;
  leaseName: string;
  /** '' means the host name. */
  identity: string;
  election: ElectionTiming;
  resyncIntervalMs: number;
  watchBackoffCapMs: number;
  listenAddress: ListenAddress;
  logLevel: LevelWithSilent;
}

const flags = [
  clustersConfigFlag,
  namespaceFlag,
  leaseNameFlag,
  identityFlag,
  leaseDurationFlag,
  renewDeadlineFlag,
  retryPeriodFlag,
  resyncIntervalFlag,
  watchBackoffCapFlag,
  listenAddressFlag,
  logLevelFlag,
];

export const mirrorCommand: CommandSpec<MirrorCommandOptions> = {
  summary: "publish this cluster's nodes as PeerSlices for its peer clusters, and mirror theirs for this one (fleet mode)",
  description: [
    "Publishes this cluster's nodes, per remote cluster of the clusters config, as PeerSlices in -namespace:",
    'the data a remote daemon needs to peer with them, written only when it changes (docs/fleet-mode.md).',
    "Mirrors each remote's nodes (its published slices, else its Nodes) into local PeerSlices in -namespace,",
    "for this cluster's daemons on source mirror, which then need no access to the remotes.",
    'Run it as a Deployment of 2 replicas: one leads through the Lease -lease-name and writes, the other stands by.',
  ].join('\n'),
  flags,
  options: (read) => {
    const election = { leaseDurationMs: read(leaseDurationFlag), renewDeadlineMs: read(renewDeadlineFlag), retryPeriodMs: read(retryPeriodFlag) };
    const problem = timingProblem(election);
    if (problem !== null) throw new UsageError(`-leader-elect-lease-duration, -leader-elect-renew-deadline, -leader-elect-retry-period: ${problem}`);
    return {
      clustersConfigPath: read(clustersConfigFlag),
      namespace: read(namespaceFlag),
      leaseName: read(leaseNameFlag),
      identity: read(identityFlag),
      election,
      resyncIntervalMs: read(resyncIntervalFlag),
      watchBackoffCapMs: read(watchBackoffCapFlag),
      listenAddress: read(listenAddressFlag),
      logLevel: read(logLevelFlag),
    };
  },
  execute: runMirror,
};

/** A stop that takes longer than this is cut short, as the daemon's. */
const STOP_DEADLINE_MS = 4_000;

/** Starts the mirror, then on SIGTERM or SIGINT stops writing, releases the lease and exits 0. */
export async function runMirror(options: MirrorCommandOptions, io: CliIO): Promise<number> {
  const config = await loadClustersConfig(options.clustersConfigPath);
  refuseSliceNameClash(config, options.clustersConfigPath, options.namespace);
  const logger = createLogger(options.logLevel, io.stdout);
  const mirror = await startMirror({
    config,
    namespace: options.namespace,
    leaseName: options.leaseName,
    identity: options.identity === '' ? hostname() : options.identity,
    election: options.election,
    resyncIntervalMs: options.resyncIntervalMs,
    watchBackoffCapMs: options.watchBackoffCapMs,
    listen: options.listenAddress,
    logger,
  });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info({ signal }, 'stopping');
  const deadline = setTimeout(() => {
    logger.warn({ deadlineMs: STOP_DEADLINE_MS }, 'stop took too long; exiting anyway');
    process.exit(ExitCode.ok);
  }, STOP_DEADLINE_MS);
  deadline.unref();
  await mirror.stop();
  clearTimeout(deadline);
  return ExitCode.ok;
}

/**
 * The mirror keeps, in one namespace, this cluster's nodes for each remote
 * and each remote's nodes for this cluster; cluster names that make two of
 * these sets' slice names equal are a config error (sliceNameClash).
 */
function refuseSliceNameClash(config: ClustersConfig, source: string, namespace: string): void {
  const sets: SliceSet[] = config.remotes.flatMap((remote) => {
    const { published, mirrored } = mirrorSets(config.local.name, remote.name);
    return [published, mirrored];
  });
  const clash = sliceNameClash(sets);
  if (clash === null) return;
  const [first, second] = clash;
  const describe = (set: SliceSet) => (set.mirrored ? `mirrored slices of ${set.source}` : `published slices for ${set.peer}`);
  const remote = config.remotes.findIndex((r) => r.name === (second.mirrored ? second.source : second.peer));
  throw new ClustersConfigError(source, [
    issueAt(
      ['remotes', remote, 'name'],
      `the ${describe(first)} and the ${describe(second)} would both be named ${sliceName(second.source, second.peer, 0).slice(0, -1)}<n> in namespace ${namespace}: rename a cluster so that no two of '<source>-for-<peer>' are equal`,
    ),
  ]);
}
