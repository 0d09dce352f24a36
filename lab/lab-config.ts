/**
 * The clusters config (docs/configuration.md) a lab node's daemon runs with. Both ways of
 * reaching a remote apiserver are exercised: the lab's first cluster reaches
 * every remote with a service-account token file + CA URL (as
 * semaphore-wireguard deployments do), every other cluster with a
 * kubeconfig. Each remote is read from a source (docs/fleet-mode.md):
 * its Nodes (the default, no `source` key, as semaphore-wireguard configs
 * are), the PeerSlices it publishes (`slices`, with the same access), or
 * the local slices a mirror writes (`mirror`: no remote access at all).
 */

/** What the lab knows about one cluster's emulated apiserver. */
export interface ClusterAccessFiles {
  name: string;
  podSubnet: string;
  /** A dual-stack cluster's IPv6 pod subnet. */
  podSubnet6?: string;
  apiURL: string;
  caURL: string;
  tokenPath: string;
  kubeconfigPath: string;
}

/** One remote of the clusters config, with the fields the lab sets. */
export interface LabRemote {
  name: string;
  remoteAPIURL?: string;
  remoteCAURL?: string;
  remoteSATokenPath?: string;
  kubeConfigPath?: string;
  /** A single-stack remote's pod subnet, as semaphore-wireguard configs give it. */
  podSubnet?: string;
  /** A dual-stack remote's pod subnets, IPv4 then IPv6. */
  podSubnets?: string[];
  wgListenPort: number;
  source?: 'slices' | 'mirror';
}

/** Where a daemon reads a remote's nodes from. */
export type LabSource = 'nodes' | 'slices' | 'mirror';
export const LAB_SOURCES: readonly LabSource[] = ['nodes', 'slices', 'mirror'];

/** Per local cluster, per remote: the source its daemons read; a pair not named reads `nodes`. */
export type LabSources = Readonly<Record<string, Readonly<Record<string, LabSource>>>>;

/** Every cluster reads every other from `source`: e.g. the fleet demo's all-`mirror` lab. */
export function everyRemoteFrom(clusters: readonly string[], source: LabSource): Record<string, Record<string, LabSource>> {
  return Object.fromEntries(clusters.map((local) => [local, Object.fromEntries(clusters.filter((remote) => remote !== local).map((remote) => [remote, source]))]));
}

/** The JSON written to a node's clusters config file. */
export interface LabClustersConfig {
  local: { name: string; kubeConfigPath: string };
  remotes: LabRemote[];
}

/** Listen port of the device towards the lab's cluster number `index`: unique across one config's remotes. */
export function listenPortFor(index: number): number {
  return 51820 + index;
}

/**
 * The clusters config of a daemon of `local`, reading each remote from its
 * `sources` entry (default `nodes`). Without `sources` it is also the
 * config of `local`'s mirror, which reaches every remote itself.
 */
export function labClustersConfig(local: string, clusters: readonly ClusterAccessFiles[], sources: Readonly<Record<string, LabSource>> = {}): LabClustersConfig {
  const self = clusters.find((cluster) => cluster.name === local);
  if (!self) throw new Error(`cluster ${local} is not one of the lab's: ${clusters.map((c) => c.name).join(', ')}`);
  const useTokens = clusters[0]?.name === local;
  const remotes = clusters.flatMap((remote, index): LabRemote[] => {
    if (remote.name === local) return [];
    const source = sources[remote.name] ?? 'nodes';
    // Through a mirror, the daemon needs no access to the remote at all.
    const tokens = { remoteAPIURL: remote.apiURL, remoteCAURL: remote.caURL, remoteSATokenPath: remote.tokenPath };
    const access = source === 'mirror' ? {} : useTokens ? tokens : { kubeConfigPath: remote.kubeconfigPath };
    const subnets = remote.podSubnet6 === undefined ? { podSubnet: remote.podSubnet } : { podSubnets: [remote.podSubnet, remote.podSubnet6] };
    return [{ name: remote.name, ...access, ...subnets, wgListenPort: listenPortFor(index), ...(source === 'nodes' ? {} : { source }) }];
  });
  const unknown = Object.keys(sources).filter((name) => name === local || !clusters.some((cluster) => cluster.name === name));
  if (unknown.length > 0) throw new Error(`sources of ${local} name ${unknown.join(', ')}, not a remote of the lab`);
  return { local: { name: local, kubeConfigPath: self.kubeconfigPath }, remotes };
}

/** What is wrong with a lab's `sources` for its clusters and mirrors; empty when nothing. */
export function sourcesProblems(clusters: readonly string[], sources: LabSources, mirrorReplicas: number): string[] {
  return Object.entries(sources).flatMap(([local, bySource]) => {
    if (!clusters.includes(local)) return [`sources name cluster ${local}, which the lab does not have`];
    return Object.entries(bySource).flatMap(([remote, source]) => {
      if (remote === local || !clusters.includes(remote)) return [`sources of ${local} name ${remote}, not one of its remotes`];
      if (!LAB_SOURCES.includes(source)) return [`${local} reads ${remote} from ${String(source)}: use ${LAB_SOURCES.join(', ')}`];
      if (source === 'mirror' && mirrorReplicas < 1) return [`${local} reads ${remote} from its mirror, but the lab runs none: set mirrorReplicas`];
      return [];
    });
  });
}

/** Where a lab needs the PeerSlice CRD and the namespace clusterwire: every cluster when it runs mirrors or any daemon reads slices. */
export function labNeedsSlices(mirrorReplicas: number, sources: LabSources): boolean {
  return mirrorReplicas > 0 || Object.values(sources).some((bySource) => Object.values(bySource).some((source) => source !== 'nodes'));
}
