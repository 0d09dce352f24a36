import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from './json.ts';
import { nthHost, nthSubnet, parseIpv4Cidr } from './ipv4.ts';

export interface RealisticNodeOptions {
  name: string;
  podCIDR?: string;
  podCIDRs?: string[];
  internalIP?: string;
  /** Several InternalIPs (a dual-stack node), in order; instead of internalIP. */
  internalIPs?: string[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

/** Fixed so that nodes are reproducible; heartbeats move lastHeartbeatTime on. */
const BOOT_TIME = '2025-01-06T08:00:00Z';
const IMAGE_COUNT = 50;

/**
 * The images every node reports. Real nodes of one cluster pull the same
 * images, and sharing one frozen array keeps 10,000 seeded nodes from
 * costing 10,000 copies of it (the emulator never mutates stored objects).
 */
const IMAGES: JsonValue[] = Array.from({ length: IMAGE_COUNT }, (_, i) => {
  const repository = `registry.example.internal/platform/service-${String(i).padStart(3, '0')}-${['api', 'worker', 'sidecar', 'exporter', 'agent'][i % 5] ?? 'api'}`;
  const digest = createHash('sha256').update(repository).digest('hex');
  const names = Object.freeze([`${repository}@sha256:${digest}`, `${repository}:v1.${i % 17}.${(i * 7) % 23}-build.${1000 + i * 37}`]);
  return Object.freeze({ names: names as string[], sizeBytes: 12_000_000 + ((i * 7_919_333) % 900_000_000) });
});
Object.freeze(IMAGES);

/** A stable, plausible InternalIP for a node that was given none. */
function defaultInternalIP(name: string): string {
  const hash = createHash('sha256').update(name).digest();
  return `198.19.${hash[0] ?? 0}.${1 + ((hash[1] ?? 0) % 254)}`;
}

function condition(type: string, status: string, reason: string, message: string): JsonObject {
  return { type, status, lastHeartbeatTime: BOOT_TIME, lastTransitionTime: BOOT_TIME, reason, message };
}

/**
 * A core/v1 Node shaped like what a kubelet on a cloud VM reports, ~15 KB
 * of compact JSON (docs/design.md, "Measured costs"): what list and watch costs
 * must be measured against.
 */
export function realisticNode(options: RealisticNodeOptions): JsonObject {
  const { name } = options;
  const podCIDRs = options.podCIDRs ?? (options.podCIDR === undefined ? [] : [options.podCIDR]);
  const internalIPs = options.internalIPs ?? [options.internalIP ?? defaultInternalIP(name)];
  const spec: JsonObject = { providerID: `gce://example-project/europe-west1-b/${name}` };
  if (podCIDRs.length > 0) {
    spec.podCIDR = podCIDRs[0] ?? null;
    spec.podCIDRs = [...podCIDRs];
  }
  const capacity = {
    cpu: '8',
    'ephemeral-storage': '101430960Ki',
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: '32863332Ki',
    pods: '110',
  };
  return {
    metadata: {
      name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/instance-type': 'n2-standard-8',
        'beta.kubernetes.io/os': 'linux',
        'cloud.google.com/machine-family': 'n2',
        'failure-domain.beta.kubernetes.io/region': 'europe-west1',
        'failure-domain.beta.kubernetes.io/zone': 'europe-west1-b',
        'kubernetes.io/arch': 'amd64',
        // A label value has at most 63 characters: a longer (FQDN) node name keeps its host part.
        'kubernetes.io/hostname': name.length <= 63 ? name : (name.split('.')[0] ?? name).slice(0, 63),
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': 'n2-standard-8',
        'topology.kubernetes.io/region': 'europe-west1',
        'topology.kubernetes.io/zone': 'europe-west1-b',
        ...options.labels,
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        ...options.annotations,
      },
    },
    spec,
    status: {
      capacity,
      allocatable: { ...capacity, cpu: '7910m', 'ephemeral-storage': '47093746742', memory: '29094244Ki' },
      conditions: [
        condition('NetworkUnavailable', 'False', 'RouteCreated', 'RouteController created a route'),
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status. AppArmor enabled'),
      ],
      addresses: [
        ...internalIPs.map((address) => ({ type: 'InternalIP', address })),
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: createHash('md5').update(`machine/${name}`).digest('hex'),
        systemUUID: createHash('md5').update(`system/${name}`).digest('hex'),
        bootID: createHash('md5').update(`boot/${name}`).digest('hex'),
        kernelVersion: '6.1.0-28-cloud-amd64',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: 'v1.32.4',
        kubeProxyVersion: 'v1.32.4',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: IMAGES,
    },
  };
}

/** How `seedNodes` and the control API's seed make node number i. */
export interface SeedSpec {
  /** Default `node-`; names are the prefix and i padded to 5 digits. */
  namePrefix?: string;
  /** IPv4 block carved into one /24 per node, default 10.128.0.0/9. */
  podCIDRBlock?: string;
  /** IPv4 block giving each node an InternalIP, default 198.19.0.0/16. */
  internalIPBlock?: string;
  /**
   * Annotations whose values may use {name}, {internalIP}, {podCIDR} and
   * {key} (a WireGuard-shaped public key derived from the name), so seeded
   * nodes can be peers: e.g. `{"c1.wireguard.semaphore.uw.io/pubKey": "{key}"}`.
   */
  annotations?: Record<string, string>;
}

/** A deterministic 32-byte key in wg's base64 form, distinct per name. */
export function derivedPublicKey(name: string): string {
  return createHash('sha256').update(`wg/${name}`).digest('base64');
}

export function seedNode(spec: SeedSpec, i: number): JsonObject {
  const name = `${spec.namePrefix ?? 'node-'}${String(i).padStart(5, '0')}`;
  const podCIDR = nthSubnet(parseIpv4Cidr(spec.podCIDRBlock ?? '10.128.0.0/9'), 24, i);
  const internalIP = nthHost(parseIpv4Cidr(spec.internalIPBlock ?? '198.19.0.0/16'), i);
  const values: Record<string, string> = { name, internalIP, podCIDR, key: derivedPublicKey(name) };
  const annotations: Record<string, string> = {};
  for (const [key, template] of Object.entries(spec.annotations ?? {})) {
    annotations[key] = template.replace(/\{(name|internalIP|podCIDR|key)\}/g, (_, field: string) => values[field] ?? '');
  }
  return realisticNode({ name, podCIDR, internalIP, annotations });
}
