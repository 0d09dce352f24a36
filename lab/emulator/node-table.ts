import { objectAt, stringMapAt, type JsonObject, type JsonValue } from './json.ts';
import { recordWireJson } from './node-record.ts';
import { frame, type FrameRenderer } from './watch-frames.ts';

/**
 * Server-side printing of Nodes (what `kubectl get nodes` asks for with
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): the columns and
 * cells of kube's node printer.
 */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

export const NODE_COLUMNS: JsonObject[] = [
  { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
  { name: 'Status', type: 'string', format: '', description: 'The status of the node', priority: 0 },
  { name: 'Roles', type: 'string', format: '', description: 'The roles of the node', priority: 0 },
  { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
  { name: 'Version', type: 'string', format: '', description: 'Kubelet Version reported by the node.', priority: 0 },
  { name: 'Internal-IP', type: 'string', format: '', description: "List of addresses reachable to the node. Queried from cloud provider, if available.", priority: 1 },
  { name: 'External-IP', type: 'string', format: '', description: "List of addresses reachable to the node. Queried from cloud provider, if available.", priority: 1 },
  { name: 'OS-Image', type: 'string', format: '', description: 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', priority: 1 },
  { name: 'Kernel-Version', type: 'string', format: '', description: "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", priority: 1 },
  { name: 'Container-Runtime', type: 'string', format: '', description: 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', priority: 1 },
];

/** kube's duration.HumanDuration, as the Age column shows it. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

function nodeStatus(node: JsonObject): string {
  const conditions = objectAt(node, 'status').conditions;
  const ready = Array.isArray(conditions)
    ? conditions.find((c): c is JsonObject => typeof c === 'object' && c !== null && !Array.isArray(c) && c.type === 'Ready')
    : undefined;
  let status = ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : ready.status === 'False' ? 'NotReady' : 'Unknown';
  if (objectAt(node, 'spec').unschedulable === true) status += ',SchedulingDisabled';
  return status;
}

function nodeRoles(node: JsonObject): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(stringMapAt(objectAt(node, 'metadata'), 'labels'))) {
    if (key.startsWith('node-role.kubernetes.io/')) roles.add(key.slice('node-role.kubernetes.io/'.length));
    else if (key === 'kubernetes.io/role' && value !== '') roles.add(value);
  }
  return roles.size === 0 ? '<none>' : [...roles].sort().join(',');
}

function address(node: JsonObject, type: string): string {
  const addresses = objectAt(node, 'status').addresses;
  if (!Array.isArray(addresses)) return '<none>';
  const found = addresses.find((a) => typeof a === 'object' && a !== null && !Array.isArray(a) && a.type === type) as JsonObject | undefined;
  return typeof found?.address === 'string' ? found.address : '<none>';
}

export function nodeCells(node: JsonObject, nowMs: number): JsonValue[] {
  const metadata = objectAt(node, 'metadata');
  const info = objectAt(objectAt(node, 'status'), 'nodeInfo');
  const created = typeof metadata.creationTimestamp === 'string' ? Date.parse(metadata.creationTimestamp) : NaN;
  const text = (value: JsonValue | undefined) => (typeof value === 'string' && value !== '' ? value : '<unknown>');
  return [
    typeof metadata.name === 'string' ? metadata.name : '',
    nodeStatus(node),
    nodeRoles(node),
    Number.isNaN(created) ? '<unknown>' : humanDuration(nowMs - created),
    typeof info.kubeletVersion === 'string' ? info.kubeletVersion : '',
    address(node, 'InternalIP'),
    address(node, 'ExternalIP'),
    text(info.osImage),
    text(info.kernelVersion),
    text(info.containerRuntimeVersion),
  ];
}

export function tableRow(node: JsonObject, fullJson: string, include: IncludeObject, tableVersion: string, nowMs: number): string {
  const cells = JSON.stringify(nodeCells(node, nowMs));
  if (include === 'None') return `{"cells":${cells}}`;
  if (include === 'Object') return `{"cells":${cells},"object":${fullJson}}`;
  const partial = { kind: 'PartialObjectMetadata', apiVersion: tableVersion, metadata: objectAt(node, 'metadata') };
  return `{"cells":${cells},"object":${JSON.stringify(partial)}}`;
}

/** A Table's text around its rows. */
export function tableJson(listMetadata: JsonObject, rows: string[], tableVersion: string, withColumns = true): string {
  const columns = withColumns ? `,"columnDefinitions":${JSON.stringify(NODE_COLUMNS)}` : ',"columnDefinitions":null';
  return `{"kind":"Table","apiVersion":"${tableVersion}","metadata":${JSON.stringify(listMetadata)}${columns},"rows":[${rows.join(',')}]}`;
}

/**
 * Watch events as Tables of one row; like kube-apiserver, only the first
 * carries the column definitions.
 */
export function tableWatchRenderer(include: IncludeObject, tableVersion: string, now: () => number): FrameRenderer {
  let first = true;
  return (type, record) => {
    const row = tableRow(record.object, recordWireJson(record), include, tableVersion, now());
    const table = tableJson({ resourceVersion: String(record.resourceVersion) }, [row], tableVersion, first);
    first = false;
    return frame(type, table);
  };
}
