import { cidrsOverlap, formatCidr, type Cidr } from '../net/cidr.ts';
import { MAX_ANNOTATION_PREFIX_LENGTH } from './dns-names.ts';
import { defaultDeviceName, IFNAMSIZ_NOTE, interfaceNameBytes, MAX_INTERFACE_NAME_BYTES, MAX_NAME_FOR_DEFAULT_DEVICE } from './interface-name.ts';
import { formatJsonPath, issueAt, type ConfigIssue, type JsonPath } from './issue.ts';
import { DEFAULT_SLICES_NAMESPACE, type LenientConfig, type LenientFields, type RemoteFields } from './schema.ts';
import type { ClustersConfig, RemoteAccess, RemoteCluster, RemoteSource } from './types.ts';

/**
 * The rules between fields and between remotes (docs/configuration.md), checked on the
 * fields that are individually valid, so one broken field does not hide
 * the other problems. Also builds the normalised config when nothing is
 * wrong.
 */
export interface RelationsResult {
  issues: ConfigIssue[];
  /** null when a field is missing or invalid, or a rule is broken. */
  config: ClustersConfig | null;
}

interface Subnet {
  cidr: Cidr;
  path: JsonPath;
}

/** What one remote resolves to; undefined parts could not be determined. */
interface ResolvedRemote {
  index: number;
  name: string | undefined;
  device: { name: string; path: JsonPath } | undefined;
  listenPort: { port: number; defaulted: boolean } | undefined;
  subnets: Subnet[];
  /** null: none needed (source mirror) and none given. */
  access: RemoteAccess | null | undefined;
}

export function resolveRelations(lenient: LenientConfig): RelationsResult {
  const localName = lenient.local.values.name;
  const perRemote = lenient.remotes.map((fields, index) => resolveRemote(fields, index));
  const resolved = perRemote.map(({ remote }) => remote);
  const issues = [
    ...perRemote.flatMap(({ issues: remoteIssues }) => remoteIssues),
    ...nameIssues(resolved, localName),
    ...deviceIssues(resolved),
    ...portIssues(resolved),
    ...subnetOverlapIssues(resolved),
    ...annotationPrefixIssues(lenient.annotationDomain, localName, resolved),
  ];
  return { issues, config: issues.length === 0 ? build(lenient, resolved) : null };
}

function resolveRemote(fields: LenientFields<RemoteFields>, index: number): { remote: ResolvedRemote; issues: ConfigIssue[] } {
  const at = (key: keyof RemoteFields): JsonPath => ['remotes', index, key];
  const issues: ConfigIssue[] = [];
  const { values } = fields;

  // With source mirror the daemon never reads the remote: access is optional (configWarnings says when it is given anyway).
  const access = values.source === 'mirror' && !hasAccessKeys(fields) ? null : resolveAccess(fields);
  if (typeof access === 'string') issues.push(issueAt(['remotes', index], access));
  if (values.remoteCASHA256 !== undefined && typeof access === 'object' && access?.kind === 'kubeconfig') {
    issues.push(
      issueAt(
        at('remoteCASHA256'),
        "pins the CA fetched from remoteCAURL, but this remote uses kubeConfigPath, whose CA comes from the kubeconfig: remove remoteCASHA256, or use remoteCAURL instead of kubeConfigPath",
      ),
    );
  }

  const subnets = mergeSubnets(fields, index);
  const noSubnetField = !fields.invalid.has('podSubnet') && !fields.invalid.has('podSubnets');
  if (subnets.length === 0 && noSubnetField) {
    issues.push(issueAt(['remotes', index], "podSubnet or podSubnets is required: the remote cluster's pod CIDRs"));
  }
  issues.push(...pairwiseOverlaps(subnets, subnets));

  let device: ResolvedRemote['device'];
  if (values.wgDeviceName !== undefined) device = { name: values.wgDeviceName, path: at('wgDeviceName') };
  else if (values.name !== undefined && !fields.invalid.has('wgDeviceName')) {
    const name = defaultDeviceName(values.name);
    const bytes = interfaceNameBytes(name);
    if (bytes > MAX_INTERFACE_NAME_BYTES) {
      issues.push(
        issueAt(
          at('name'),
          `'${values.name}' makes interface name '${name}' (${bytes} bytes); ${IFNAMSIZ_NOTE} — use a name of at most ${MAX_NAME_FOR_DEFAULT_DEVICE} characters or set wgDeviceName`,
        ),
      );
    } else device = { name, path: at('name') };
  }

  if (values.slicesNamespace !== undefined && values.source === 'nodes') {
    issues.push(issueAt(at('slicesNamespace'), "is only read with source 'slices' or 'mirror': remove it, or set source"));
  }
  if (values.mirrorNamespace !== undefined && values.source !== undefined && values.source !== 'mirror') {
    issues.push(issueAt(at('mirrorNamespace'), "is only read with source 'mirror': remove it, or set source to 'mirror'"));
  }

  const listenPort = values.wgListenPort === undefined ? undefined : { port: values.wgListenPort, defaulted: fields.omitted.has('wgListenPort') };
  return {
    remote: { index, name: values.name, device, listenPort, subnets, access: typeof access === 'string' ? undefined : access },
    issues,
  };
}

const ACCESS_KEYS = ['kubeConfigPath', 'remoteAPIURL', 'remoteCAURL', 'remoteSATokenPath', 'remoteCASHA256'] as const;

/** Any remote access key present, valid or not. */
function hasAccessKeys({ values, invalid }: LenientFields<RemoteFields>): boolean {
  return ACCESS_KEYS.some((key) => values[key] !== undefined || invalid.has(key));
}

/** `kubeConfigPath`, else all three token-access fields; a string explains what is missing. */
function resolveAccess({ values, invalid }: LenientFields<RemoteFields>): RemoteAccess | string | undefined {
  if (values.kubeConfigPath !== undefined) return { kind: 'kubeconfig', path: values.kubeConfigPath };
  // A broken kubeConfigPath is reported on its own; which access was meant cannot be known.
  if (invalid.has('kubeConfigPath')) return undefined;
  const tokenKeys = ['remoteAPIURL', 'remoteCAURL', 'remoteSATokenPath'] as const;
  const missing = tokenKeys.filter((key) => values[key] === undefined && !invalid.has(key));
  if (missing.length === tokenKeys.length) {
    return 'no API access for the remote cluster: set kubeConfigPath, or all of remoteAPIURL, remoteCAURL and remoteSATokenPath';
  }
  if (missing.length > 0) {
    return `${joinAnd(missing)} ${missing.length === 1 ? 'is' : 'are'} missing: token access needs remoteAPIURL, remoteCAURL and remoteSATokenPath (or set kubeConfigPath instead)`;
  }
  const { remoteAPIURL: apiURL, remoteCAURL: caURL, remoteSATokenPath: tokenPath } = values;
  if (apiURL === undefined || caURL === undefined || tokenPath === undefined) return undefined; // an invalid one, reported on its own
  const pin = values.remoteCASHA256;
  return { kind: 'token', apiURL, caURL, tokenPath, ...(pin === undefined ? {} : { caSHA256: pin }) };
}

/** `podSubnet` then `podSubnets`; the same block given twice is kept once. */
function mergeSubnets({ values }: LenientFields<RemoteFields>, index: number): Subnet[] {
  const given: Subnet[] = [];
  if (values.podSubnet !== undefined) given.push({ cidr: values.podSubnet, path: ['remotes', index, 'podSubnet'] });
  (values.podSubnets ?? []).forEach((cidr, i) => given.push({ cidr, path: ['remotes', index, 'podSubnets', i] }));
  return given.filter((subnet, i) => given.findIndex((other) => formatCidr(other.cidr) === formatCidr(subnet.cidr)) === i);
}

/** Overlaps between two lists, each pair reported once, on the later entry. */
function pairwiseOverlaps(earlier: readonly Subnet[], later: readonly Subnet[]): ConfigIssue[] {
  const sameList = earlier === later;
  return later.flatMap((subnet, j) =>
    earlier
      .filter((other, i) => (!sameList || i < j) && cidrsOverlap(other.cidr, subnet.cidr))
      .map((other) =>
        issueAt(
          subnet.path,
          `${formatCidr(subnet.cidr)} overlaps ${formatCidr(other.cidr)} (${formatJsonPath(other.path)}); routes to remote pod subnets must not overlap`,
        ),
      ),
  );
}

function subnetOverlapIssues(remotes: readonly ResolvedRemote[]): ConfigIssue[] {
  return remotes.flatMap((remote, j) => remotes.slice(0, j).flatMap((earlier) => pairwiseOverlaps(earlier.subnets, remote.subnets)));
}

function nameIssues(remotes: readonly ResolvedRemote[], localName: string | undefined): ConfigIssue[] {
  return remotes.flatMap((remote) => {
    if (remote.name === undefined) return [];
    const at = ['remotes', remote.index, 'name'];
    if (remote.name === localName) return [issueAt(at, `'${remote.name}' is the local cluster's name (local.name); a remote must be another cluster`)];
    const first = remotes.find((other) => other.name === remote.name);
    return first !== undefined && first.index < remote.index ? [issueAt(at, `'${remote.name}' is already used by remotes[${first.index}]`)] : [];
  });
}

function deviceIssues(remotes: readonly ResolvedRemote[]): ConfigIssue[] {
  return remotes.flatMap((remote) => {
    const device = remote.device;
    if (device === undefined) return [];
    const first = remotes.find((other) => other.device?.name === device.name);
    if (first === undefined || first.index >= remote.index) return [];
    // Same name, both default device names: the duplicate name is the one problem to report.
    if (first.name === remote.name && first.device?.path.at(-1) === 'name' && device.path.at(-1) === 'name') return [];
    return [issueAt(device.path, `interface name '${device.name}' is already used by remotes[${first.index}]`)];
  });
}

function portIssues(remotes: readonly ResolvedRemote[]): ConfigIssue[] {
  return remotes.flatMap((remote) => {
    const port = remote.listenPort;
    if (port === undefined) return [];
    const first = remotes.find((other) => other.listenPort?.port === port.port);
    if (first === undefined || first.index >= remote.index) return [];
    const note = port.defaulted ? ` (${port.port} is the default when wgListenPort is omitted; each remote needs its own port)` : '';
    return [issueAt(['remotes', remote.index, 'wgListenPort'], `${port.port} is already used by remotes[${first.index}]${note}`)];
  });
}

/** `<cluster>.<domain>` prefixes annotation keys, which Kubernetes limits to 253 characters. */
function annotationPrefixIssues(domain: string | undefined, localName: string | undefined, remotes: readonly ResolvedRemote[]): ConfigIssue[] {
  if (domain === undefined) return [];
  const named: { name: string | undefined; path: JsonPath }[] = [
    { name: localName, path: ['local', 'name'] },
    ...remotes.map((remote) => ({ name: remote.name, path: ['remotes', remote.index, 'name'] })),
  ];
  return named.flatMap(({ name, path }) => {
    if (name === undefined) return [];
    const prefix = `${name}.${domain}`;
    return prefix.length > MAX_ANNOTATION_PREFIX_LENGTH
      ? [issueAt(path, `annotation key prefix '${prefix}' is ${prefix.length} characters; Kubernetes allows ${MAX_ANNOTATION_PREFIX_LENGTH}`)]
      : [];
  });
}

function build(lenient: LenientConfig, resolved: readonly ResolvedRemote[]): ClustersConfig | null {
  const { name: localName } = lenient.local.values;
  if (localName === undefined || lenient.annotationDomain === undefined || lenient.local.invalid.size > 0 || resolved.length === 0) return null;
  const remotes: RemoteCluster[] = [];
  for (const [index, remote] of resolved.entries()) {
    const fields = lenient.remotes[index];
    const v = fields?.values;
    if (v === undefined || fields === undefined || fields.invalid.size > 0) return null;
    const { name, device, listenPort, access } = remote;
    if (name === undefined || device === undefined || listenPort === undefined || access === undefined) return null;
    if (v.wgDeviceMTU === undefined || v.persistentKeepalive === undefined || v.resyncPeriod === undefined || v.maxNodes === undefined || v.source === undefined) return null;
    remotes.push({
      name,
      access,
      podSubnets: remote.subnets.map((subnet) => formatCidr(subnet.cidr)),
      mtu: v.wgDeviceMTU,
      listenPort: listenPort.port,
      deviceName: device.name,
      persistentKeepaliveSeconds: v.persistentKeepalive,
      reconcileIntervalMs: v.resyncPeriod,
      maxNodes: v.maxNodes,
      source: remoteSource(v),
      slicesNamespace: v.slicesNamespace ?? DEFAULT_SLICES_NAMESPACE,
    });
  }
  return {
    local: { name: localName, kubeConfigPath: lenient.local.values.kubeConfigPath ?? null },
    annotationDomain: lenient.annotationDomain,
    remotes,
  };
}

function remoteSource(v: Partial<RemoteFields>): RemoteSource {
  if (v.source === 'slices') return { kind: 'slices', namespace: v.slicesNamespace ?? DEFAULT_SLICES_NAMESPACE };
  if (v.source === 'mirror') return { kind: 'mirror', namespace: v.mirrorNamespace ?? DEFAULT_SLICES_NAMESPACE };
  return { kind: 'nodes' };
}

function joinAnd(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
