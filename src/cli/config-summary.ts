import { formatGoDuration } from '../config/duration.ts';
import type { ClustersConfig, RemoteAccess, RemoteCluster, RemoteSource } from '../config/types.ts';

/** What clusterwire will do with a valid config, for a person to check before deploying it. */
export function describeClustersConfig(config: ClustersConfig): string {
  const localAccess = config.local.kubeConfigPath === null ? 'in-cluster service account' : `kubeconfig ${config.local.kubeConfigPath}`;
  const lines = [
    `local cluster ${config.local.name} (local API access: ${localAccess})`,
    `annotations: <cluster>.${config.annotationDomain}/pubKey and /endpoint`,
    ...config.remotes.flatMap(describeRemote),
  ];
  return `${lines.join('\n')}\n`;
}

function describeRemote(remote: RemoteCluster): string[] {
  const resync = remote.reconcileIntervalMs === null ? 'the -reconcile-interval' : `every ${formatGoDuration(BigInt(remote.reconcileIntervalMs) * 1_000_000n)} (resyncPeriod)`;
  return [
    `remote cluster ${remote.name}:`,
    `  device       ${remote.deviceName}, listen port ${remote.listenPort}, MTU ${remote.mtu}`,
    `  pod subnets  ${remote.podSubnets.join(', ')}`,
    `  access       ${remote.access === null ? 'none (read through the local mirror)' : describeAccess(remote.access)}`,
    `  source       ${describeSource(remote.source)}`,
    `  keepalive    ${remote.persistentKeepaliveSeconds === 0 ? 'off' : `${remote.persistentKeepaliveSeconds}s`}`,
    `  reconcile    ${resync}`,
  ];
}

function describeSource(source: RemoteSource): string {
  if (source.kind === 'nodes') return "the remote's Nodes";
  if (source.kind === 'slices') return `the PeerSlices it publishes for this cluster in namespace ${source.namespace}`;
  return `the PeerSlices the local clusterwire mirror mirrors from it in namespace ${source.namespace}`;
}

function describeAccess(access: RemoteAccess): string {
  return access.kind === 'kubeconfig'
    ? `kubeconfig ${access.path}`
    : `API ${access.apiURL}, CA from ${access.caURL}${access.caSHA256 === undefined ? '' : ` (pinned, SHA-256 ${access.caSHA256})`}, token file ${access.tokenPath}`;
}
