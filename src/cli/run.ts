import type { LevelWithSilent } from 'pino';
import { loadClustersConfig } from '../config/load.ts';
import type { ClustersConfig } from '../config/types.ts';
import { createLogger } from '../log.ts';
import type { CommandSpec } from './command-spec.ts';
import {
  clustersConfigFlag,
  listenAddressFlag,
  logLevelFlag,
  nodeNameFlag,
  reconcileIntervalFlag,
  wgBackendFlag,
  wgKeyPathFlag,
  wgUserspaceBinaryFlag,
  type WgBackend,
} from './daemon-flags.ts';
import { ExitCode, type CliIO } from './io.ts';
import type { ListenAddress } from './listen-address.ts';

/** Everything the daemon is started with, from flags and environment (SPEC §1). */
export interface RunOptions {
  clustersConfigPath: string;
  nodeName: string;
  wgKeyPath: string;
  listenAddress: ListenAddress;
  logLevel: LevelWithSilent;
  wgBackend: WgBackend;
  wgUserspaceBinary: string;
  reconcileIntervalMs: number;
}

const flags = [
  clustersConfigFlag,
  nodeNameFlag,
  wgKeyPathFlag,
  listenAddressFlag,
  logLevelFlag,
  wgBackendFlag,
  wgUserspaceBinaryFlag,
  reconcileIntervalFlag,
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
    reconcileIntervalMs: read(reconcileIntervalFlag),
  }),
  execute: runDaemon,
};

/** The daemon's entry point; the peering daemon plugs in here once its issue lands. */
export async function runDaemon(options: RunOptions, io: CliIO): Promise<number> {
  const config = await loadClustersConfig(options.clustersConfigPath);
  const logger = createLogger(options.logLevel, io.stdout);
  logger.info(startupSummary(options, config), `clusterwire would peer node ${options.nodeName} with ${config.remotes.length} remote cluster(s)`);
  io.stderr.write('clusterwire: run is not implemented yet (the peering daemon comes with a later issue)\n');
  return ExitCode.notImplemented;
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
    wgKeyPath: options.wgKeyPath,
    reconcileIntervalMs: options.reconcileIntervalMs,
    remotes: config.remotes.map((remote) => ({
      name: remote.name,
      device: remote.deviceName,
      listenPort: remote.listenPort,
      mtu: remote.mtu,
      podSubnets: remote.podSubnets,
      access: remote.access.kind,
      persistentKeepaliveSeconds: remote.persistentKeepaliveSeconds,
      reconcileIntervalMs: remote.reconcileIntervalMs ?? options.reconcileIntervalMs,
    })),
  };
}
