import { objectAt, stringMapAt, type JsonObject, type JsonValue } from './json.ts';
import { AGE_COLUMN, ageCell, column, NAME_COLUMN, nameCell, type Printer } from './tables.ts';

/** kube's node printer: the columns and cells `kubectl get nodes` shows. */
export const NODE_COLUMNS: JsonObject[] = [
  NAME_COLUMN,
  column('Status', 'The status of the node'),
  column('Roles', 'The roles of the node'),
  AGE_COLUMN,
  column('Version', 'Kubelet Version reported by the node.'),
  column('Internal-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.', 1),
  column('External-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.', 1),
  column('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1),
  column('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
  column('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1),
];

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
  const info = objectAt(objectAt(node, 'status'), 'nodeInfo');
  const text = (value: JsonValue | undefined) => (typeof value === 'string' && value !== '' ? value : '<unknown>');
  return [
    nameCell(node),
    nodeStatus(node),
    nodeRoles(node),
    ageCell(node, nowMs),
    typeof info.kubeletVersion === 'string' ? info.kubeletVersion : '',
    address(node, 'InternalIP'),
    address(node, 'ExternalIP'),
    text(info.osImage),
    text(info.kernelVersion),
    text(info.containerRuntimeVersion),
  ];
}

export const NODE_PRINTER: Printer = { columns: NODE_COLUMNS, cells: nodeCells };
