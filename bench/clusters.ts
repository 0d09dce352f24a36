/**
 * The clusters a bench daemon peers: a local one holding only its own Node,
 * and remote ones with N Nodes each (one emulator per N, seeded once and
 * reused by every run), plus an empty remote for the idle measurement.
 * Remote Nodes are realistic (~15 KB) and carry real WireGuard public keys
 * and endpoints for the local cluster, so every one of them is a peer.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startEmulator, type Emulator } from '../lab/emulator/emulator.ts';
import { nthHost, nthSubnet, parseIpv4Cidr } from '../lab/emulator/ipv4.ts';
import type { JsonObject } from '../lab/emulator/json.ts';
import { realisticNode } from '../lab/emulator/nodes.ts';
import { DEFAULT_ANNOTATION_DOMAIN } from '../src/config/schema.ts';
import { generatePrivateKey, publicKeyOf } from '../src/wireguard/keys.ts';
import { ENDPOINT_SINK_ROUTE } from './network.ts';

export const LOCAL_CLUSTER = 'c1';
export const REMOTE_CLUSTER = 'c2';
export const LOCAL_NODE = 'bench-local';
/** The default device name of remote c2 (`wireguard.<name>`). */
export const DEVICE = `wireguard.${REMOTE_CLUSTER}`;
export const REMOTE_POD_SUBNET = '10.128.0.0/9';
/** Peer endpoints: inside the lab range, routed into each host's endpoint sink (network.ts). */
const REMOTE_INTERNAL_IPS = ENDPOINT_SINK_ROUTE;
const REMOTE_WG_PORT = 51820;

export const PUBLIC_KEY_ANNOTATION = `${LOCAL_CLUSTER}.${DEFAULT_ANNOTATION_DOMAIN}/pubKey`;
export const ENDPOINT_ANNOTATION = `${LOCAL_CLUSTER}.${DEFAULT_ANNOTATION_DOMAIN}/endpoint`;

/** What a remote node advertises to the local cluster. */
export interface RemoteNodeSpec {
  name: string;
  podCIDR: string;
  internalIP: string;
  publicKey: string;
  endpoint: string;
}

export function remoteNodeSpec(i: number, publicKey: string): RemoteNodeSpec {
  const internalIP = nthHost(parseIpv4Cidr(REMOTE_INTERNAL_IPS), i);
  return {
    name: `remote-${String(i).padStart(5, '0')}`,
    podCIDR: nthSubnet(parseIpv4Cidr(REMOTE_POD_SUBNET), 24, i),
    internalIP,
    publicKey,
    endpoint: `${internalIP}:${REMOTE_WG_PORT}`,
  };
}

export function remoteNodeObject(spec: RemoteNodeSpec): JsonObject {
  return realisticNode({
    name: spec.name,
    podCIDR: spec.podCIDR,
    internalIP: spec.internalIP,
    annotations: { [PUBLIC_KEY_ANNOTATION]: spec.publicKey, [ENDPOINT_ANNOTATION]: spec.endpoint },
  });
}

/** The clusters config (docs/configuration.md) of a bench daemon: local c1, remote c2, both through kubeconfigs. */
export function benchClustersConfig(localKubeconfig: string, remoteKubeconfig: string): object {
  return {
    local: { name: LOCAL_CLUSTER, kubeConfigPath: localKubeconfig },
    remotes: [{ name: REMOTE_CLUSTER, kubeConfigPath: remoteKubeconfig, podSubnet: REMOTE_POD_SUBNET }],
  };
}

export interface RemoteCluster {
  readonly emulator: Emulator;
  /** The seeded nodes, in order; the propagation scenario updates them as it changes the emulator. */
  readonly nodes: RemoteNodeSpec[];
  /** A clusters config for a daemon peering with this remote. */
  readonly configPath: string;
}

export interface BenchClusters {
  readonly local: Emulator;
  /** A remote with no nodes at all: the idle measurement. */
  readonly empty: RemoteCluster;
  remote(nodes: number): RemoteCluster;
  stop(): Promise<void>;
}

export async function startBenchClusters(dir: string, host: string, nodeCounts: readonly number[]): Promise<BenchClusters> {
  const emulators: Emulator[] = [];
  const start = async (name: string) => {
    const emulator = await startEmulator({ dir: path.join(dir, name), host, clusterName: name, bookmarkIntervalMs: 60_000 });
    emulators.push(emulator);
    return emulator;
  };
  const stop = async () => {
    await Promise.all(emulators.map((e) => e.stop()));
  };
  try {
    const local = await start('local');
    local.createNode(realisticNode({ name: LOCAL_NODE, internalIP: '198.19.255.1' }));
    const remoteCluster = async (count: number): Promise<RemoteCluster> => {
      const emulator = await start(`remote-${count}`);
      const nodes = Array.from({ length: count }, (_, i) => remoteNodeSpec(i, publicKeyOf(generatePrivateKey())));
      emulator.seedNodes(count, (i) => remoteNodeObject(nodes[i] as RemoteNodeSpec));
      const configPath = path.join(dir, `clusters-${count}.json`);
      await writeFile(configPath, JSON.stringify(benchClustersConfig(local.kubeconfigPath, emulator.kubeconfigPath), null, 2));
      return { emulator, nodes, configPath };
    };
    const empty = await remoteCluster(0);
    const remotes = new Map<number, RemoteCluster>();
    for (const count of nodeCounts) remotes.set(count, await remoteCluster(count));
    return {
      local,
      empty,
      remote(count) {
        const remote = remotes.get(count);
        if (!remote) throw new Error(`no remote cluster with ${count} nodes was started`);
        return remote;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw new Error('starting the bench clusters failed', { cause: error });
  }
}
