/**
 * The clusters config after validation and defaulting: what the rest of
 * the program reads. The JSON form (docs/configuration.md) is parsed into this by
 * `loadClustersConfig`; nothing else looks at raw JSON.
 */
export interface ClustersConfig {
  local: LocalCluster;
  /** Annotation domain, default `wireguard.semaphore.uw.io`. */
  annotationDomain: string;
  remotes: RemoteCluster[];
}

export interface LocalCluster {
  name: string;
  /** null: in-cluster service account. */
  kubeConfigPath: string | null;
}

/** How to reach a remote apiserver: a kubeconfig, or API URL + CA URL + token file. */
export type RemoteAccess =
  | { kind: 'kubeconfig'; path: string }
  | {
      kind: 'token';
      apiURL: string;
      caURL: string;
      tokenPath: string;
      /** `remoteCASHA256` as openssl prints it (`AB:CD:…`); absent when the CA is not pinned. */
      caSHA256?: string;
    };

export interface RemoteCluster {
  name: string;
  /**
   * How to reach the remote's apiserver; null only with source `mirror`,
   * where the daemon never reads the remote (`clusterwire mirror` does,
   * and refuses a remote without it).
   */
  access: RemoteAccess | null;
  /** `podSubnet` and `podSubnets` merged, canonical CIDR text, no duplicates. */
  podSubnets: string[];
  mtu: number;
  listenPort: number;
  /** `wgDeviceName`, default `wireguard.<name>`. */
  deviceName: string;
  /** 0 disables keepalive. */
  persistentKeepaliveSeconds: number;
  /** From `resyncPeriod`; null when 0 or absent (the global -reconcile-interval applies). */
  reconcileIntervalMs: number | null;
  /** Nodes of this remote peered at most; the ones past it by name are skipped. */
  maxNodes: number;
  /** Where the remote's nodes are read: its Nodes, or the PeerSlices it publishes for this cluster (docs/fleet-mode.md). */
  source: RemoteSource;
  /** Where the remote publishes its slices (`slicesNamespace`): what source `slices` and `clusterwire mirror` read. */
  slicesNamespace: string;
}

/** `slices`: read in the remote's `namespace`; `mirror`: in the local mirror's `namespace`. */
export type RemoteSource = { kind: 'nodes' } | { kind: 'slices'; namespace: string } | { kind: 'mirror'; namespace: string };
