/**
 * A DaemonSet's container as `podman run` options, for running the image in
 * a lab node exactly as the kubelet would run it there (lab/containers.md).
 * Pure: the caller says where the node's files are and creates them.
 *
 * Every field of the pod template is either translated or named below as
 * having no effect on how the container runs (scheduling, rollout,
 * metadata); anything else makes the translation fail, so a manifest change
 * the lab cannot reproduce is noticed rather than silently dropped.
 */
import type { IDaemonSet } from 'kubernetes-models/apps/v1';
import type { IContainer, IPodSpec, IProbe, IVolume, IVolumeMount } from 'kubernetes-models/v1';

/** The lab node the pod is scheduled on, and the files the kubelet would give it. */
export interface PodNode {
  nodeName: string;
  /** The node's network namespace (/run/netns/NAME): where a hostNetwork pod runs. */
  networkNamespace: string;
  /** Where the node's `path` is on this machine (a lab node's filesystem is mostly emulated). */
  hostPath(path: string): string;
  /** Directory of each ConfigMap's and Secret's files, by object name. */
  configMaps: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, string>>;
  /** The apiserver as the kubelet announces it to pods (the `kubernetes` Service). */
  apiServer: { host: string; port: number };
  /** Holds the service account's `token`, `ca.crt` and `namespace`, as the kubelet projects them. */
  serviceAccountDirectory: string;
}

export interface HttpProbe {
  path: string;
  port: number;
}

export interface PodmanContainer {
  /** `podman run` options derived from the manifest (the caller adds its name, runtime, detach). */
  options: string[];
  /** The manifest's image; tests run their own build of it. */
  image: string;
  /** Arguments after the image: the container's `args`, given to the image's entrypoint. */
  args: string[];
  /** hostPath directories of type DirectoryOrCreate: the kubelet makes them (0755) when missing. */
  directoriesToCreate: string[];
  /** Mounted ConfigMap and Secret directories whose files get `mode` (the volume's defaultMode). */
  fileModes: { directory: string; mode: number }[];
  liveness: HttpProbe;
  readiness: HttpProbe;
}

/** The kubelet mounts the service account's token here (automountServiceAccountToken). */
export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Without a defaultMode the kubelet writes ConfigMap and Secret files 0644. */
const DEFAULT_FILE_MODE = 0o644;

/** Fields with no effect on how the container runs, and why. */
const NO_EFFECT: Record<string, string> = {
  'spec.selector': 'which pods the DaemonSet owns',
  'spec.updateStrategy': 'rollout',
  'spec.template.metadata': 'labels and annotations',
  'spec.template.spec.priorityClassName': 'scheduling and eviction order',
  'spec.template.spec.tolerations': 'scheduling',
  'spec.template.spec.nodeSelector': 'scheduling',
  // The lab has no cluster DNS; the daemon's lookups there are of IP literals.
  'spec.template.spec.dnsPolicy': 'cluster DNS',
};

export class UnsupportedPodSpecError extends Error {
  override name = 'UnsupportedPodSpecError';
}

/** Binary and decimal suffixes of Kubernetes memory quantities. */
const MEMORY_SUFFIXES: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };

/** A memory quantity (`256Mi`, `1G`, `512000`) in bytes; null when it is not one. */
export function memoryBytes(quantity: string | number): number | null {
  const match = /^(\d+)(Ki|Mi|Gi|k|M|G)?$/.exec(String(quantity));
  if (!match) return null;
  return Number(match[1]) * (MEMORY_SUFFIXES[match[2] ?? ''] ?? 1);
}

/** A CPU quantity (`20m`, `1`, `0.5`) in millicores; null when it is not one. */
export function milliCPU(quantity: string | number): number | null {
  const text = String(quantity);
  const milli = /^(\d+)m$/.exec(text);
  if (milli) return Number(milli[1]);
  return /^\d+(\.\d{1,3})?$/.test(text) ? Math.round(Number(text) * 1000) : null;
}

/** cgroup cpu shares for a CPU request, as the kubelet computes them (MilliCPUToShares). */
export function cpuShares(milli: number): number {
  return Math.max(2, Math.floor((milli * 1024) / 1000));
}

/** Throws UnsupportedPodSpecError naming every field it cannot reproduce. */
export function podmanContainer(daemonSet: IDaemonSet, containerName: string, node: PodNode): PodmanContainer {
  const problems: string[] = [];
  const translation = new Translation(node, problems);
  const result = translation.daemonSet(daemonSet, containerName);
  if (problems.length > 0 || result === null) {
    throw new UnsupportedPodSpecError(`the lab cannot run this DaemonSet as the kubelet would:\n- ${problems.join('\n- ')}`);
  }
  return result;
}

type Fields = Record<string, unknown>;

class Translation {
  readonly #node: PodNode;
  readonly #problems: string[];
  readonly #options: string[] = [];
  readonly #directoriesToCreate: string[] = [];
  readonly #fileModes: { directory: string; mode: number }[] = [];

  constructor(node: PodNode, problems: string[]) {
    this.#node = node;
    this.#problems = problems;
  }

  daemonSet(daemonSet: IDaemonSet, containerName: string): PodmanContainer | null {
    this.#known('spec', daemonSet.spec, ['template']);
    this.#known('spec.template', daemonSet.spec?.template, ['spec']);
    const pod = daemonSet.spec?.template.spec;
    if (!pod) return this.#fail('spec.template.spec is missing');
    this.#known('spec.template.spec', pod, ['serviceAccountName', 'automountServiceAccountToken', 'hostNetwork', 'terminationGracePeriodSeconds', 'containers', 'volumes']);
    const [container, ...others] = pod.containers;
    if (!container || container.name !== containerName || others.length > 0) {
      return this.#fail(`spec.template.spec.containers: the lab runs one container, ${containerName}; found ${pod.containers.map((c) => c.name).join(', ')}`);
    }
    this.#pod(pod);
    const ports = this.#ports(container);
    this.#known('container', container, [
      'name',
      'image',
      'args',
      'env',
      'ports',
      'livenessProbe',
      'readinessProbe',
      'resources',
      'securityContext',
      'volumeMounts',
    ]);
    this.#env(container);
    this.#resources(container);
    this.#securityContext(container);
    this.#volumes(pod.volumes ?? [], container.volumeMounts ?? []);
    const liveness = this.#probe('livenessProbe', container.livenessProbe, ports);
    const readiness = this.#probe('readinessProbe', container.readinessProbe, ports);
    if (container.image === undefined) this.#problem('container.image is missing');
    if (!liveness || !readiness || container.image === undefined) return null;
    return {
      options: this.#options,
      image: container.image,
      args: container.args ?? [],
      directoriesToCreate: this.#directoriesToCreate,
      fileModes: this.#fileModes,
      liveness,
      readiness,
    };
  }

  #pod(pod: IPodSpec): void {
    if (pod.hostNetwork !== true) this.#problem('spec.template.spec.hostNetwork: only a host-network pod can run in a lab node');
    this.#options.push('--network', `ns:${this.#node.networkNamespace}`);
    if (pod.terminationGracePeriodSeconds !== undefined) this.#options.push('--stop-timeout', String(pod.terminationGracePeriodSeconds));
    // The kubelet mounts the service account's token unless told not to, and
    // tells the pod where the apiserver is.
    if (pod.automountServiceAccountToken !== false) {
      this.#options.push(
        '-v',
        `${this.#node.serviceAccountDirectory}:${SERVICE_ACCOUNT_MOUNT}:ro`,
        '--env',
        `KUBERNETES_SERVICE_HOST=${this.#node.apiServer.host}`,
        '--env',
        `KUBERNETES_SERVICE_PORT=${this.#node.apiServer.port}`,
      );
    }
  }

  #ports(container: IContainer): Map<string, number> {
    const ports = new Map<string, number>();
    for (const port of container.ports ?? []) {
      this.#known(`ports[${port.name ?? port.containerPort}]`, port, ['name', 'containerPort', 'protocol']);
      // With the host network a container port is the node's port: nothing to map.
      if (port.name !== undefined) ports.set(port.name, port.containerPort);
    }
    return ports;
  }

  #env(container: IContainer): void {
    for (const variable of container.env ?? []) {
      if (variable.value !== undefined) {
        this.#options.push('--env', `${variable.name}=${variable.value}`);
      } else if (variable.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') {
        this.#options.push('--env', `${variable.name}=${this.#node.nodeName}`);
      } else {
        this.#problem(`env ${variable.name}: only values and the downward API's spec.nodeName are understood`);
      }
    }
  }

  #resources(container: IContainer): void {
    this.#known('resources', container.resources, ['requests', 'limits']);
    const { requests = {}, limits = {} } = container.resources ?? {};
    this.#known('resources.requests', requests, ['cpu', 'memory']);
    this.#known('resources.limits', limits, ['memory']);
    if (requests.cpu !== undefined) {
      const milli = milliCPU(requests.cpu);
      if (milli === null) this.#problem(`resources.requests.cpu ${requests.cpu} is not a CPU quantity`);
      else this.#options.push('--cpu-shares', String(cpuShares(milli)));
    }
    // A memory request only places the pod and orders evictions: the runtime never sees it.
    if (requests.memory !== undefined && memoryBytes(requests.memory) === null) this.#problem(`resources.requests.memory ${requests.memory} is not a memory quantity`);
    if (limits.memory !== undefined) {
      const bytes = memoryBytes(limits.memory);
      // The kubelet gives containers no swap: the limit is the whole budget.
      if (bytes === null) this.#problem(`resources.limits.memory ${limits.memory} is not a memory quantity`);
      else this.#options.push('--memory', String(bytes), '--memory-swap', String(bytes));
    }
  }

  #securityContext(container: IContainer): void {
    const context = container.securityContext ?? {};
    this.#known('securityContext', context, ['runAsUser', 'privileged', 'allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'capabilities', 'seccompProfile']);
    if (context.runAsUser !== undefined) this.#options.push('--user', String(context.runAsUser));
    if (context.privileged === true) this.#problem('securityContext.privileged: a privileged container is not reproduced');
    if (context.allowPrivilegeEscalation !== false) this.#problem('securityContext.allowPrivilegeEscalation: only false is understood');
    else this.#options.push('--security-opt', 'no-new-privileges');
    // podman's --read-only alone mounts tmpfs on /tmp, /var/tmp and /run;
    // the kubelet mounts nothing there.
    if (context.readOnlyRootFilesystem === true) this.#options.push('--read-only', '--read-only-tmpfs=false');
    this.#known('securityContext.capabilities', context.capabilities, ['drop', 'add']);
    const { drop = [], add = [] } = context.capabilities ?? {};
    for (const capability of drop) this.#options.push('--cap-drop', capability);
    for (const capability of add) this.#options.push('--cap-add', capability);
    // RuntimeDefault is the runtime's default seccomp profile: podman applies its own unless told otherwise.
    if (context.seccompProfile?.type !== 'RuntimeDefault') this.#problem('securityContext.seccompProfile: only RuntimeDefault is understood');
  }

  #volumes(volumes: readonly IVolume[], mounts: readonly IVolumeMount[]): void {
    for (const mount of mounts) {
      this.#known(`volumeMounts[${mount.name}]`, mount, ['name', 'mountPath', 'readOnly']);
      const volume = volumes.find((candidate) => candidate.name === mount.name);
      if (!volume) this.#problem(`volumeMounts[${mount.name}]: no such volume`);
      else this.#volume(volume, mount);
    }
    for (const volume of volumes) {
      if (!mounts.some((mount) => mount.name === volume.name)) this.#problem(`volumes[${volume.name}] is not mounted`);
    }
  }

  #volume(volume: IVolume, mount: IVolumeMount): void {
    const at = `volumes[${volume.name}]`;
    this.#known(at, volume, ['name', 'configMap', 'secret', 'hostPath', 'emptyDir']);
    const { configMap, secret, hostPath, emptyDir } = volume;
    const readOnly = mount.readOnly === true ? ':ro' : '';
    if (configMap !== undefined || secret !== undefined) {
      const objectName = configMap?.name ?? secret?.secretName ?? '';
      const directory = (configMap ? this.#node.configMaps : this.#node.secrets)[objectName];
      this.#known(at, configMap ?? secret, configMap ? ['name', 'defaultMode'] : ['secretName', 'defaultMode']);
      if (directory === undefined) return this.#problem(`${at}: the lab has no files for ${configMap ? 'ConfigMap' : 'Secret'} ${objectName}`);
      this.#fileModes.push({ directory, mode: configMap?.defaultMode ?? secret?.defaultMode ?? DEFAULT_FILE_MODE });
      // The kubelet mounts ConfigMap and Secret volumes read-only, whatever the mount says.
      this.#options.push('-v', `${directory}:${mount.mountPath}:ro`);
    } else if (hostPath !== undefined) {
      this.#known(at, hostPath, ['path', 'type']);
      const source = this.#node.hostPath(hostPath.path);
      if (hostPath.type === 'CharDevice') this.#options.push('--device', `${source}:${mount.mountPath}`);
      else if (hostPath.type === 'DirectoryOrCreate') {
        this.#directoriesToCreate.push(source);
        this.#options.push('-v', `${source}:${mount.mountPath}${readOnly}`);
      } else this.#problem(`${at}: hostPath type ${hostPath.type ?? '(none)'} is not understood`);
    } else if (emptyDir !== undefined) {
      this.#known(at, emptyDir, ['medium', 'sizeLimit']);
      if (emptyDir.medium !== 'Memory') return this.#problem(`${at}: only a Memory emptyDir is understood`);
      const size = emptyDir.sizeLimit === undefined ? null : memoryBytes(emptyDir.sizeLimit);
      if (size === null) return this.#problem(`${at}: a Memory emptyDir needs a sizeLimit quantity`);
      // The kubelet mounts a tmpfs of sizeLimit, mode 0777, and nothing more.
      this.#options.push('--tmpfs', `${mount.mountPath}:rw,exec,size=${size},mode=0777`);
    } else this.#problem(`${at}: only configMap, secret, hostPath and emptyDir volumes are understood`);
  }

  #probe(name: string, probe: IProbe | undefined, ports: ReadonlyMap<string, number>): HttpProbe | null {
    if (!probe?.httpGet) return this.#fail(`${name}: only an httpGet probe is understood`);
    this.#known(name, probe, ['httpGet', 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'failureThreshold']);
    this.#known(`${name}.httpGet`, probe.httpGet, ['path', 'port']);
    const { port } = probe.httpGet;
    const number = typeof port === 'number' ? port : ports.get(port);
    if (number === undefined) return this.#fail(`${name}: no container port named ${String(port)}`);
    return { path: probe.httpGet.path ?? '/', port: number };
  }

  /** Every field of `object` must be in `understood` or in NO_EFFECT. */
  #known(at: string, object: unknown, understood: readonly string[]): void {
    if (object === undefined) return;
    for (const key of Object.keys(object as Fields)) {
      if (!understood.includes(key) && NO_EFFECT[`${at}.${key}`] === undefined) this.#problem(`${at}.${key} is not understood`);
    }
  }

  #problem(text: string): void {
    this.#problems.push(text);
  }

  #fail(text: string): null {
    this.#problem(text);
    return null;
  }
}
