import type { LevelWithSilent } from 'pino';
import { ClustersConfigError } from '../config/issue.ts';
import { loadClustersConfig } from '../config/load.ts';
import type { ClustersConfig } from '../config/types.ts';
import { configWarnings } from '../config/warnings.ts';
import { startDaemon } from '../daemon.ts';
import { createLogger } from '../log.ts';
import { execCommand } from '../process/exec.ts';
import type { CommandSpec } from './command-spec.ts';
import {
  clustersConfigFlag,
  listenAddressFlag,
  logLevelFlag,
  nodeNameFlag,
  peerMetricsFlag,
  readyWatchGraceFlag,
  reconcileIntervalFlag,
  watchBackoffCapFlag,
  wgBackendFlag,
  wgKeyPathFlag,
  wgUserspaceBinaryFlag,
  wgUserspaceClientFlag,
  type WgBackend,
  type WgUserspaceClient,
} from './daemon-flags.ts';
import type { PeerMetricsMode } from '../server/device-metrics.ts';
import { ExitCode, type CliIO } from './io.ts';
import type { ListenAddress } from './listen-address.ts';
import { nodeIssues } from './node-checks.ts';

/** Everything the daemon is started with, from flags and environment (docs/configuration.md#flags-of-run). */
export interface RunOptions {
  clustersConfigPath: string;
  nodeName: string;
  wgKeyPath: string;
  listenAddress: ListenAddress;
  logLevel: LevelWithSilent;
  wgBackend: WgBackend;
  wgUserspaceBinary: string;
  wgUserspaceClient: WgUserspaceClient;
  reconcileIntervalMs: number;
  watchBackoffCapMs: number;
  readyWatchGraceMs: number;
  peerMetrics: PeerMetricsMode;
}

const flags = [
  clustersConfigFlag,
  nodeNameFlag,
  wgKeyPathFlag,
  listenAddressFlag,
  logLevelFlag,
  wgBackendFlag,
  wgUserspaceBinaryFlag,
  wgUserspaceClientFlag,
  reconcileIntervalFlag,
  watchBackoffCapFlag,
  readyWatchGraceFlag,
  peerMetricsFlag,
];

export const runCommand: CommandSpec<RunOptions> = {
  summary: 'run the peering daemon (the default command)',
  description: 'Runs the daemon: one WireGuard device per remote cluster, peered with the remote nodes.',
  flags,
  options: (read) => ({
    clustersConfigPath: read(clustersConfigFlag),
    nodeName: read(nodeNameFlag),
    wgKeyPath: read(wgKeyPathFlag),
    listenAddress: read(listenAddressFlag),
    logLevel: read(logLevelFlag),
    wgBackend: read(wgBackendFlag),
    wgUserspaceBinary: read(wgUserspaceBinaryFlag),
    wgUserspaceClient: read(wgUserspaceClientFlag),
    reconcileIntervalMs: read(reconcileIntervalFlag),
    watchBackoffCapMs: read(watchBackoffCapFlag),
    readyWatchGraceMs: read(readyWatchGraceFlag),
    peerMetrics: read(peerMetricsFlag),
  }),
  execute: runDaemon,
};

/** A stop that takes longer than this is cut short: the stop has 5 s in all (docs/how-it-works.md, Stop). */
const STOP_DEADLINE_MS = 4_000;

/** The daemon's entry point: starts it, then stops it on SIGTERM or SIGINT and exits 0. */
export async function runDaemon(options: RunOptions, io: CliIO): Promise<number> {
  const config = await loadClustersConfig(options.clustersConfigPath);
  const logger = createLogger(options.logLevel, io.stdout);
  logger.info(startupSummary(options, config), `starting: node ${options.nodeName}, ${config.remotes.length} remote cluster(s)`);
  for (const warning of configWarnings(config)) logger.warn({ field: warning.path }, warning.message);
  // Before anything is touched: a refusal here leaves the node as it was.
  const refusals = await nodeIssues(config, options.wgKeyPath, execCommand);
  if (refusals.length > 0) throw new ClustersConfigError(`${options.clustersConfigPath}, checked on this node,`, refusals);
  const daemon = await startDaemon({
    config,
    nodeName: options.nodeName,
    wgKeyPath: options.wgKeyPath,
    listen: options.listenAddress,
    wgBackend: options.wgBackend,
    wgUserspaceBinary: options.wgUserspaceBinary,
    wgUserspaceClient: options.wgUserspaceClient,
    reconcileIntervalMs: options.reconcileIntervalMs,
    watchBackoffCapMs: options.watchBackoffCapMs,
    readyWatchGraceMs: options.readyWatchGraceMs,
    peerMetrics: options.peerMetrics,
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
  await daemon.stop();
  clearTimeout(deadline);
  // Supervised userspace processes stay running (detached) and their pipes must not hold the exit.
  setTimeout(() => process.exit(ExitCode.ok), 200).unref();
  return ExitCode.ok;
}

function startupSummary(options: RunOptions, config: ClustersConfig) {
  const { host, port } = options.listenAddress;
  return {
    node: options.nodeName,
    clustersConfig: options.clustersConfigPath,
    localCluster: config.local.name,
    listenAddress: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    wgBackend: options.wgBackend,
    wgUserspaceBinary: options.wgUserspaceBinary,
    wgUserspaceClient: options.wgUserspaceClient,
    wgKeyPath: options.wgKeyPath,
    reconcileIntervalMs: options.reconcileIntervalMs,
    peerMetrics: options.peerMetrics,
    remotes: config.remotes.map((remote) => ({
      name: remote.name,
      device: remote.deviceName,
      listenPort: remote.listenPort,
      mtu: remote.mtu,
      podSubnets: remote.podSubnets,
      access: remote.source.kind === 'mirror' ? 'none' : (remote.access?.kind ?? 'none'),
      source: remote.source.kind === 'nodes' ? 'nodes' : `${remote.source.kind} in ${remote.source.namespace}`,
      persistentKeepaliveSeconds: remote.persistentKeepaliveSeconds,
      reconcileIntervalMs: remote.reconcileIntervalMs ?? options.reconcileIntervalMs,
    })),
  };
}
