/**
 * The clusters config (docs/configuration.md) a lab node's daemon runs with. Both ways of
 * reaching a remote apiserver are exercised: the lab's first cluster reaches
 * every remote with a service-account token file + CA URL (as
 * semaphore-wireguard deployments do), every other cluster with a
 * kubeconfig.
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

export function labClustersConfig(local: string, clusters: readonly ClusterAccessFiles[]): LabClustersConfig {
  const self = clusters.find((cluster) => cluster.name === local);
  if (!self) throw new Error(`cluster ${local} is not one of the lab's: ${clusters.map((c) => c.name).join(', ')}`);
  const useTokens = clusters[0]?.name === local;
  const remotes = clusters.flatMap((remote, index): LabRemote[] => {
    if (remote.name === local) return [];
    const access = useTokens
      ? { remoteAPIURL: remote.apiURL, remoteCAURL: remote.caURL, remoteSATokenPath: remote.tokenPath }
      : { kubeConfigPath: remote.kubeconfigPath };
    const subnets = remote.podSubnet6 === undefined ? { podSubnet: remote.podSubnet } : { podSubnets: [remote.podSubnet, remote.podSubnet6] };
    return [{ name: remote.name, ...access, ...subnets, wgListenPort: listenPortFor(index) }];
  });
  return { local: { name: local, kubeConfigPath: self.kubeconfigPath }, remotes };
}
