/**
 * What one cluster must hold so that its daemons reach a peer cluster: the
 * peer's token and kubeconfig in `clusterwire-remote-tokens`, the peer's
 * entry in clusters.json, and, when that config changed, a rolled
 * DaemonSet (the daemon reads its config only at start). Pure: the objects
 * as they are → the writes. Nothing is written when nothing would change.
 */
import { createHash } from 'node:crypto';
import { field, isObject, type JsonObject } from '../kube/json-value.ts';
import { withoutRemote, withRemote, type ConfigEdit } from './clusters-config-edit.ts';
import {
  annotationsOf,
  CONFIG_HASH_ANNOTATION,
  CONFIG_KEY,
  CONFIG_MAP,
  CONNECTED_ANNOTATION,
  connectedRemotes,
  connectLabels,
  DAEMONSET,
  describeRef,
  kubeconfigKey,
  madeByConnect,
  metadataOf,
  NAMESPACE,
  ref,
  tokenKey,
  tokenSecretName,
  TOKENS_MOUNT_PATH,
  TOKENS_SECRET,
  uidOf,
  withConnectedRemotes,
  type KubeObject,
  type ObjectRef,
} from './objects.ts';
import { describeRemoteKubeconfig, remoteKubeconfigText, type PeerAccess } from './remote-kubeconfig.ts';
import type { Write } from './write.ts';

/** The objects as read from the cluster; null where absent. */
export interface AccessState {
  daemonSet: KubeObject | null;
  /** The config map the DaemonSet mounts (configMapNameOf). */
  configMap: KubeObject | null;
  tokensSecret: KubeObject | null;
}

export interface AccessInput {
  /** This cluster's name (local.name). */
  local: string;
  access: PeerAccess;
  /** The peer's token; null only in a dry run, before the token controller has filled it. */
  token: string | null;
  /** null: keep the entry's own pod subnets. */
  podSubnets: string[] | null;
  /** The annotation domain of the peering, for a config made from scratch. */
  annotationDomain: string;
}

export interface AccessPlan {
  writes: Write[];
  /** The peer's entry in clusters.json after the plan. */
  entry: JsonObject;
  notes: string[];
}

export const daemonSetRef = (): ObjectRef => ref('DaemonSet', DAEMONSET, NAMESPACE);
export const tokensSecretRef = (): ObjectRef => ref('Secret', TOKENS_SECRET, NAMESPACE);

/** The config map deploy/local's DaemonSet mounts as its `config` volume (kustomize adds a hash to its name), else `clusterwire-config`. */
export function configMapNameOf(daemonSet: KubeObject | null): string {
  const volumes = field(field(field(field(daemonSet, 'spec'), 'template'), 'spec'), 'volumes');
  if (Array.isArray(volumes)) {
    const volume: unknown = (volumes as unknown[]).find((v) => isObject(v) && v.name === 'config');
    const name = field(field(volume, 'configMap'), 'name');
    if (typeof name === 'string' && name !== '') return name;
  }
  return CONFIG_MAP;
}

export function planAccess(input: AccessInput, state: AccessState): AccessPlan {
  const { peer } = input.access;
  const configRef = ref('ConfigMap', configMapNameOf(state.daemonSet), NAMESPACE);
  const writes: Write[] = [];
  const notes: string[] = [];

  // A null token (dry run, grant not made yet) counts as a change: it will be written once known.
  const values = new Map<string, string | null>([
    [tokenKey(peer), input.token],
    [kubeconfigKey(peer), remoteKubeconfigText(input.access)],
  ]);
  const secretDetails = (changed: readonly string[]) =>
    changed.map((key) => {
      if (key !== tokenKey(peer)) return `${key}: ${describeRemoteKubeconfig(input.access)}`;
      const source = `the token of Secret ${NAMESPACE}/${tokenSecretName(input.local)} in ${peer}`;
      return input.token === null ? `${key}: ${source}, once the token controller has filled it` : `${key}: ${source} (redacted, ${Buffer.byteLength(input.token)} bytes)`;
    });
  const secretWrite = dataWrite(tokensSecretRef(), state.tokensSecret, 'Secret', values, peer, true, secretDetails);

  const source = `${describeRef(configRef)} (${CONFIG_KEY}) of ${input.local} with remote ${peer}`;
  const edit = withRemote(configText(state.configMap), input.local, { name: peer, kubeConfigPath: `${TOKENS_MOUNT_PATH}/${kubeconfigKey(peer)}`, podSubnets: input.podSubnets }, source, input.annotationDomain);
  const entry = edit.entry ?? {};
  const configDetails = () => [`${CONFIG_KEY}: remote ${peer} ${state.configMap === null || !hasRemote(state.configMap, peer) ? 'added' : 'updated'}: ${JSON.stringify(entry)}`];
  const configWrite = dataWrite(configRef, state.configMap, 'ConfigMap', new Map([[CONFIG_KEY, edit.text]]), peer, false, configDetails);
  // The config before the Secret: a pod waiting for the Secret to mount then starts with the complete config.
  if (configWrite) writes.push(configWrite);
  if (secretWrite) writes.push(secretWrite);
  writes.push(...rollout(state.daemonSet, edit, configWrite !== null, notes));
  return { writes, entry, notes };
}

/** What disconnect removes from the cluster whose daemons read `peer`: the keys and the entry connect wrote, nothing else. */
export function planRevokeAccess(local: string, peer: string, state: AccessState): { writes: Write[]; notes: string[] } {
  const writes: Write[] = [];
  const notes: string[] = [];
  const secret = state.tokensSecret;
  if (secret !== null) {
    const keys = [tokenKey(peer), kubeconfigKey(peer)].filter((key) => isObject(secret.data) && secret.data[key] !== undefined);
    if (connectedRemotes(secret).includes(peer)) {
      const data = isObject(secret.data) ? { ...secret.data } : {};
      for (const key of keys) delete data[key];
      if (Object.keys(data).length === 0 && madeByConnect(secret)) writes.push({ verb: 'delete', ref: tokensSecretRef(), uid: uidOf(secret), details: ['(connect made it and it holds nothing else)'] });
      else writes.push({ verb: 'update', ref: tokensSecretRef(), body: withAnnotation({ ...secret, data }, remaining(secret, peer)), details: keys.map((key) => `${key}: removed`) });
    } else if (keys.length > 0) notes.push(`kept ${keys.join(' and ')} in ${describeRef(tokensSecretRef())}: not written by clusterwire connect`);
  }
  const configRef = ref('ConfigMap', configMapNameOf(state.daemonSet), NAMESPACE);
  const configMap = state.configMap;
  if (configMap !== null && hasRemote(configMap, peer)) {
    if (connectedRemotes(configMap).includes(peer)) {
      const edit = withoutRemote(configText(configMap) ?? '', peer, `${describeRef(configRef)} (${CONFIG_KEY}) of ${local} without remote ${peer}`);
      if (edit.config === null && madeByConnect(configMap)) {
        writes.push({ verb: 'delete', ref: configRef, uid: uidOf(configMap), details: [`(connect made it and no remote is left in ${CONFIG_KEY})`] });
        return { writes, notes };
      }
      const body = withAnnotation({ ...configMap, data: { ...(isObject(configMap.data) ? configMap.data : {}), [CONFIG_KEY]: edit.text } }, remaining(configMap, peer));
      writes.push({ verb: 'update', ref: configRef, body, details: [`${CONFIG_KEY}: remote ${peer} removed`] });
      writes.push(...rollout(state.daemonSet, edit, true, notes));
    } else notes.push(`kept remote ${peer} in ${describeRef(configRef)}: not added by clusterwire connect`);
  }
  return { writes, notes };
}

/**
 * Rolls the DaemonSet when the config changed (or a previous run's roll
 * did not happen), by the config's hash on its pod template. Not with no
 * remote left: the daemons would refuse that config.
 */
function rollout(daemonSet: KubeObject | null, edit: ConfigEdit, configChanged: boolean, notes: string[]): Write[] {
  if (edit.config === null) {
    const restart = daemonSet === null ? '' : `${describeRef(daemonSetRef())} is not restarted; `;
    notes.push(`no remote is left in ${CONFIG_KEY}, which the daemon refuses: ${restart}uninstall it (docs/install.md#uninstall) or connect another cluster`);
    return [];
  }
  if (daemonSet === null) {
    if (configChanged) notes.push(`no ${describeRef(daemonSetRef())} here: its pods will read this config when they start`);
    return [];
  }
  const hash = createHash('sha256').update(edit.text).digest('hex');
  const current = field(field(field(field(daemonSet, 'spec'), 'template'), 'metadata'), 'annotations');
  const stamped = field(current, CONFIG_HASH_ANNOTATION);
  if (stamped === hash || (!configChanged && stamped === undefined)) return [];
  return [
    {
      verb: 'patch',
      ref: daemonSetRef(),
      patch: { spec: { template: { metadata: { annotations: { [CONFIG_HASH_ANNOTATION]: hash } } } } },
      details: ['rolls its pods: the daemon reads its config only at start'],
    },
  ];
}

/**
 * A create when the object is absent, an update when one of `values`
 * differs or the object does not yet list `peer` as connected, else null.
 */
function dataWrite(
  objectRef: ObjectRef,
  current: KubeObject | null,
  kind: 'Secret' | 'ConfigMap',
  values: ReadonlyMap<string, string | null>,
  peer: string,
  base64: boolean,
  details: (changedKeys: string[]) => string[],
): Write | null {
  const encode = (value: string) => (base64 ? Buffer.from(value).toString('base64') : value);
  const data: Record<string, string> = isObject(current?.data) ? (current.data as Record<string, string>) : {};
  const changed = [...values].filter(([key, value]) => value === null || data[key] !== encode(value)).map(([key]) => key);
  const listed = connectedRemotes(current).includes(peer);
  if (current !== null && changed.length === 0 && listed) return null;
  const known = changed.flatMap((key) => {
    const value = values.get(key);
    return value === null || value === undefined ? [] : [[key, encode(value)] as const];
  });
  const newData = { ...data, ...Object.fromEntries(known) };
  if (current === null) {
    const body: KubeObject = {
      apiVersion: 'v1',
      kind,
      metadata: { name: objectRef.name, namespace: objectRef.namespace, labels: connectLabels(null), annotations: { [CONNECTED_ANNOTATION]: peer } },
      ...(kind === 'Secret' ? { type: 'Opaque' } : {}),
      data: newData,
    };
    return { verb: 'create', ref: objectRef, body, details: details(changed) };
  }
  const body = withAnnotation({ ...current, data: newData }, [...connectedRemotes(current), peer]);
  return { verb: 'update', ref: objectRef, body, details: changed.length > 0 ? details(changed) : [`marked ${peer} as connected (${CONNECTED_ANNOTATION})`] };
}

function withAnnotation(object: KubeObject, remotes: readonly string[]): KubeObject {
  const metadata = metadataOf(object);
  const annotations: Record<string, string> = { ...annotationsOf(object) };
  if (remotes.length === 0) delete annotations[CONNECTED_ANNOTATION];
  else annotations[CONNECTED_ANNOTATION] = withConnectedRemotes(remotes);
  return { ...object, metadata: { ...metadata, annotations } };
}

function remaining(object: KubeObject, peer: string): string[] {
  return connectedRemotes(object).filter((remote) => remote !== peer);
}

function configText(configMap: KubeObject | null): string | null {
  const text = field(configMap?.data, CONFIG_KEY);
  return typeof text === 'string' ? text : null;
}

function hasRemote(configMap: KubeObject, peer: string): boolean {
  const text = configText(configMap);
  if (text === null) return false;
  try {
    const remotes = field(JSON.parse(text), 'remotes');
    return Array.isArray(remotes) && remotes.some((entry) => isObject(entry) && entry.name === peer);
  } catch {
    return false; // not JSON: the edit reports it
  }
}
