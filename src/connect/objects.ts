/**
 * The Kubernetes objects `clusterwire connect` makes and edits, by name,
 * and the marks that let `disconnect` remove only what connect made. The
 * names and paths follow deploy/ (docs/install.md): the DaemonSet of
 * deploy/local mounts the Secret `clusterwire-remote-tokens` at
 * /etc/clusterwire/tokens and reads `clusters.json` from its config map.
 */
import { isObject, type JsonObject } from '../kube/json-value.ts';

export const NAMESPACE = 'clusterwire';
export const TOKENS_SECRET = 'clusterwire-remote-tokens';
export const TOKENS_MOUNT_PATH = '/etc/clusterwire/tokens';
export const CONFIG_MAP = 'clusterwire-config';
export const CONFIG_KEY = 'clusters.json';
export const DAEMONSET = 'clusterwire';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'clusterwire-connect';
/** On the grant objects: which cluster's daemons they are for. */
export const PEER_LABEL = 'clusterwire.io/peer';
/** On the shared Secret and ConfigMap: the remotes whose entries connect wrote there, comma-separated. */
export const CONNECTED_ANNOTATION = 'clusterwire.io/connected-remotes';
/** On the DaemonSet's pod template: a change rolls the pods, which read the config only at start. */
export const CONFIG_HASH_ANNOTATION = 'clusterwire.io/clusters-config-sha256';

/** ServiceAccount, ClusterRole and ClusterRoleBinding that `peer`'s daemons use here: one per peer, so one can be revoked alone. */
export const grantName = (peer: string) => `clusterwire-remote-${peer}`;
export const tokenSecretName = (peer: string) => `clusterwire-remote-${peer}-token`;
/** Keys of `clusterwire-remote-tokens` for one remote (files under TOKENS_MOUNT_PATH). */
export const tokenKey = (remote: string) => `${remote}.token`;
export const kubeconfigKey = (remote: string) => `${remote}.kubeconfig`;

export type Kind = 'Namespace' | 'ServiceAccount' | 'ClusterRole' | 'ClusterRoleBinding' | 'Secret' | 'ConfigMap' | 'DaemonSet';

export interface ObjectRef {
  kind: Kind;
  /** null for cluster-scoped kinds. */
  namespace: string | null;
  name: string;
}

const COLLECTIONS: Record<Kind, { prefix: string; resource: string }> = {
  Namespace: { prefix: '/api/v1', resource: 'namespaces' },
  ServiceAccount: { prefix: '/api/v1', resource: 'serviceaccounts' },
  Secret: { prefix: '/api/v1', resource: 'secrets' },
  ConfigMap: { prefix: '/api/v1', resource: 'configmaps' },
  ClusterRole: { prefix: '/apis/rbac.authorization.k8s.io/v1', resource: 'clusterroles' },
  ClusterRoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', resource: 'clusterrolebindings' },
  DaemonSet: { prefix: '/apis/apps/v1', resource: 'daemonsets' },
};

/** The API path of the object's collection (for create) or, with `named`, of the object. */
export function apiPath(ref: ObjectRef, named: boolean): string {
  const { prefix, resource } = COLLECTIONS[ref.kind];
  const scope = ref.namespace === null ? '' : `/namespaces/${ref.namespace}`;
  return `${prefix}${scope}/${resource}${named ? `/${ref.name}` : ''}`;
}

/** `Secret clusterwire/x`, `ClusterRole x`: how messages name an object. */
export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace === null ? '' : `${ref.namespace}/`}${ref.name}`;
}

export const ref = (kind: Kind, name: string, namespace: string | null = null): ObjectRef => ({ kind, namespace, name });

/** An object as the API returns it; only the fields connect reads are ever looked at. */
export type KubeObject = JsonObject;

export function metadataOf(object: KubeObject): JsonObject {
  return isObject(object.metadata) ? object.metadata : {};
}

function stringMap(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

export const labelsOf = (object: KubeObject) => stringMap(metadataOf(object).labels);
export const annotationsOf = (object: KubeObject) => stringMap(metadataOf(object).annotations);
export function uidOf(object: KubeObject): string {
  const uid = metadataOf(object).uid;
  return typeof uid === 'string' ? uid : '';
}

/** Made by connect: the only objects disconnect deletes whole. */
export function madeByConnect(object: KubeObject): boolean {
  return labelsOf(object)[MANAGED_BY_LABEL] === MANAGED_BY;
}

/** The remotes listed in CONNECTED_ANNOTATION. */
export function connectedRemotes(object: KubeObject | null): string[] {
  const value = object === null ? undefined : annotationsOf(object)[CONNECTED_ANNOTATION];
  return value === undefined || value === '' ? [] : value.split(',');
}

export function withConnectedRemotes(remotes: readonly string[]): string {
  return [...new Set(remotes)].sort().join(',');
}

/** Labels of what connect creates; `peer` on the grant objects. */
export function connectLabels(peer: string | null): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'clusterwire',
    'app.kubernetes.io/component': peer === null ? 'peering' : 'remote-access',
    [MANAGED_BY_LABEL]: MANAGED_BY,
    ...(peer === null ? {} : { [PEER_LABEL]: peer }),
  };
}
