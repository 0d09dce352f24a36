import { systemClock } from '../clock/clock.ts';
import { loadClustersConfig } from '../config/load.ts';
import type { ClustersConfig } from '../config/types.ts';
import { IpLinks } from '../ip/links.ts';
import { connectionSettings, createKubeClient } from '../kube/client.ts';
import { removeAnnotations } from '../kube/annotation-removal.ts';
import { KubeSliceApi } from '../fleet/slice-api.ts';
import { removeNodeFromSlices } from '../fleet/slice-entry-removal.ts';
import { createLogger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { execCommand } from '../process/exec.ts';
import { WireGuardDevices } from '../wireguard/devices.ts';
import { DEFAULT_SOCKET_DIRECTORY } from '../wireguard/uapi-client.ts';
import { spawnLauncher } from '../wireguard/userspace-process.ts';
import { WgToolClient } from '../wireguard/wg-tool-client.ts';
import type { CommandSpec } from './command-spec.ts';
import { clustersConfigFlag, nodeNameFlag } from './daemon-flags.ts';
import { namespaceFlag } from './mirror-flags.ts';
import { ExitCode, type CliIO } from './io.ts';

export interface CleanupOptions {
  clustersConfigPath: string;
  nodeName: string;
  /** Where this cluster's mirror publishes its PeerSlices. */
  namespace: string;
}

/** What cleanup needs from the host and the local cluster; real ones below, fakes in tests. */
export interface CleanupTargets {
  /** Removes every link marked as clusterwire's; returns their names. */
  removeOwnedLinks(): Promise<string[]>;
  /** Removes our annotations for these remotes from the local Node; returns the keys removed. */
  removeAnnotations(remotes: readonly string[]): Promise<string[]>;
  /** Removes the local Node from the PeerSlices this cluster published (docs/fleet-mode.md); returns the slices changed. */
  removeFromSlices(): Promise<string[]>;
}

export const cleanupCommand: CommandSpec<CleanupOptions> = {
  summary: 'remove what clusterwire made on this node (for uninstall)',
  description:
    'Removes the WireGuard links clusterwire owns on this host (their routes go with them), its annotations on the local Node,\n' +
    "and the Node's entries in the PeerSlices this cluster published (fleet mode, in -namespace).\n" +
    'Stop the daemon first (delete the DaemonSet), or it puts them back. Private key files are kept.',
  flags: [clustersConfigFlag, nodeNameFlag, namespaceFlag],
  options: (read) => ({ clustersConfigPath: read(clustersConfigFlag), nodeName: read(nodeNameFlag), namespace: read(namespaceFlag) }),
  async execute(options, io) {
    const config = await loadClustersConfig(options.clustersConfigPath);
    return cleanup(config, options.nodeName, realTargets(config, options), io);
  },
};

/**
 * Tries both parts even when one fails, and says what it removed, so an
 * operator can finish by hand what could not be done.
 */
export async function cleanup(config: ClustersConfig, nodeName: string, targets: CleanupTargets, io: CliIO): Promise<number> {
  let failed = false;
  try {
    const links = await targets.removeOwnedLinks();
    io.stdout.write(links.length === 0 ? 'no links of clusterwire on this host\n' : links.map((l) => `removed link ${l} and its routes\n`).join(''));
  } catch (error) {
    failed = true;
    io.stderr.write(`clusterwire: removing links failed: ${describe(error)}\n`);
  }
  try {
    const keys = await targets.removeAnnotations(config.remotes.map((r) => r.name));
    io.stdout.write(keys.length === 0 ? 'no annotations of clusterwire on the local Node\n' : keys.map((k) => `removed annotation ${k}\n`).join(''));
  } catch (error) {
    failed = true;
    io.stderr.write(`clusterwire: removing annotations failed: ${describe(error)}\n`);
  }
  try {
    const slices = await targets.removeFromSlices();
    io.stdout.write(slices.length === 0 ? `${nodeName} is in no PeerSlice of ${config.local.name}\n` : slices.map((s) => `removed ${nodeName} from PeerSlice ${s}\n`).join(''));
  } catch (error) {
    failed = true;
    io.stderr.write(`clusterwire: removing the node from PeerSlices failed: ${describe(error)}\n`);
  }
  return failed ? ExitCode.failed : ExitCode.ok;
}

function realTargets(config: ClustersConfig, options: CleanupOptions): CleanupTargets {
  const { nodeName } = options;
  const logger = createLogger('warn', process.stderr);
  const metrics = createMetrics();
  const localClient = () => {
    const access = config.local.kubeConfigPath === null ? ({ kind: 'in-cluster' } as const) : ({ kind: 'kubeconfig', path: config.local.kubeConfigPath } as const);
    return createKubeClient({ cluster: config.local.name, settings: connectionSettings(access), requests: metrics.kubeHttpRequests });
  };
  const devices = new WireGuardDevices({
    backend: 'auto',
    links: new IpLinks(execCommand),
    kernelClient: new WgToolClient(execCommand),
    userspace: { binary: 'wireguard-go', socketDirectory: DEFAULT_SOCKET_DIRECTORY, launch: spawnLauncher },
    logger,
    clock: systemClock,
  });
  return {
    removeOwnedLinks: () => devices.removeOwnedLinks([]),
    async removeAnnotations(remotes) {
      const client = localClient();
      try {
        return await removeAnnotations(client, { nodeName, annotationDomain: config.annotationDomain, remotes, logger });
      } finally {
        client.close();
      }
    },
    async removeFromSlices() {
      const client = localClient();
      try {
        return await removeNodeFromSlices(new KubeSliceApi(client, options.namespace), config.local.name, nodeName);
      } finally {
        client.close();
      }
    },
  };
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
}
