/**
 * What one cluster must hold so that a peer cluster's daemons can read its
 * Nodes (deploy/remote, one set per peer): a ServiceAccount, a read-only
 * ClusterRole and its binding, and a long-lived token Secret that the token
 * controller fills. Pure: the objects as they are → the writes.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  annotationsOf,
  connectLabels,
  describeRef,
  grantName,
  labelsOf,
  madeByConnect,
  NAMESPACE,
  PEER_LABEL,
  ref,
  tokenSecretName,
  uidOf,
  type KubeObject,
  type ObjectRef,
} from './objects.ts';
import type { Write } from './write.ts';

/** The grant objects as read from the cluster; null where absent. */
export interface GrantState {
  namespace: KubeObject | null;
  serviceAccount: KubeObject | null;
  clusterRole: KubeObject | null;
  binding: KubeObject | null;
  tokenSecret: KubeObject | null;
}

export const READ_NODES_RULES = [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }];
const SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
export const SERVICE_ACCOUNT_TOKEN_TYPE = 'kubernetes.io/service-account-token';

/** The objects of a grant, in the order they are created (and read). */
export function grantRefs(peer: string): Record<keyof GrantState, ObjectRef> {
  return {
    namespace: ref('Namespace', NAMESPACE),
    serviceAccount: ref('ServiceAccount', grantName(peer), NAMESPACE),
    clusterRole: ref('ClusterRole', grantName(peer)),
    binding: ref('ClusterRoleBinding', grantName(peer)),
    tokenSecret: ref('Secret', tokenSecretName(peer), NAMESPACE),
  };
}

/** An object connect must not touch: same name, not made by connect (or made for another peer). */
export class NotOursError extends Error {
  constructor(objectRef: ObjectRef, why: string) {
    super(`${describeRef(objectRef)} exists but ${why}: connect leaves it alone. Delete or rename it, then run connect again`);
    this.name = 'NotOursError';
  }
}

function desired(peer: string): Record<keyof GrantState, KubeObject> {
  const refs = grantRefs(peer);
  const meta = (r: ObjectRef, labels: Record<string, string>, extra: KubeObject = {}) => ({
    name: r.name,
    ...(r.namespace === null ? {} : { namespace: r.namespace }),
    labels,
    ...extra,
  });
  const labels = connectLabels(peer);
  return {
    namespace: { apiVersion: 'v1', kind: 'Namespace', metadata: meta(refs.namespace, connectLabels(null)) },
    serviceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(refs.serviceAccount, labels) },
    clusterRole: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta(refs.clusterRole, labels), rules: READ_NODES_RULES },
    binding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(refs.binding, labels),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: grantName(peer) },
      subjects: [{ kind: 'ServiceAccount', name: grantName(peer), namespace: NAMESPACE }],
    },
    tokenSecret: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(refs.tokenSecret, labels, { annotations: { [SA_NAME_ANNOTATION]: grantName(peer) } }),
      type: SERVICE_ACCOUNT_TOKEN_TYPE,
    },
  };
}

const DETAILS: Record<keyof GrantState, (peer: string) => string[]> = {
  namespace: () => [],
  serviceAccount: (peer) => [`the identity ${peer}'s daemons use here`],
  clusterRole: () => ['get, list, watch nodes (nothing else)'],
  binding: (peer) => [`ClusterRole ${grantName(peer)} → ServiceAccount ${NAMESPACE}/${grantName(peer)}`],
  tokenSecret: () => [`${SERVICE_ACCOUNT_TOKEN_TYPE}: a long-lived token, filled in by the token controller`],
};

/** The writes that make `state` into the grant for `peer`; throws NotOursError for a same-named object connect did not make. */
export function planGrant(peer: string, state: GrantState): Write[] {
  const want = desired(peer);
  const refs = grantRefs(peer);
  const writes: Write[] = [];
  // The namespace may be deploy/local's: it only has to exist.
  if (state.namespace === null) writes.push({ verb: 'create', ref: refs.namespace, body: want.namespace, details: DETAILS.namespace(peer) });
  for (const key of ['serviceAccount', 'clusterRole', 'binding', 'tokenSecret'] as const) {
    const current = state[key];
    if (current === null) {
      writes.push({ verb: 'create', ref: refs[key], body: want[key], details: DETAILS[key](peer) });
      continue;
    }
    checkOurs(refs[key], current, peer);
    const update = updateOf(key, current, want[key], refs[key], peer);
    if (update !== null) writes.push(update);
  }
  return writes;
}

function checkOurs(objectRef: ObjectRef, current: KubeObject, peer: string): void {
  if (!madeByConnect(current)) throw new NotOursError(objectRef, 'was not made by clusterwire connect');
  const owner = labelsOf(current)[PEER_LABEL];
  if (owner !== peer) throw new NotOursError(objectRef, `is labelled for peer ${JSON.stringify(owner ?? '')}, not ${peer}`);
}

/** What can drift on an object connect made: the role's rules and the binding's subjects. Anything else is left as it is. */
function updateOf(key: keyof GrantState, current: KubeObject, want: KubeObject, objectRef: ObjectRef, peer: string): Write | null {
  if (key === 'clusterRole' && !isDeepStrictEqual(current.rules, want.rules)) {
    return { verb: 'update', ref: objectRef, body: { ...current, rules: want.rules }, details: ['rules reset to get, list, watch nodes'] };
  }
  if (key === 'binding') {
    if (!isDeepStrictEqual(current.roleRef, want.roleRef)) throw new NotOursError(objectRef, 'binds another role (roleRef cannot be changed)');
    // The apiserver defaults a ServiceAccount subject's apiGroup to "": compare what identifies a subject.
    if (!isDeepStrictEqual(subjectsOf(current.subjects), subjectsOf(want.subjects))) {
      return { verb: 'update', ref: objectRef, body: { ...current, subjects: want.subjects }, details: ['subjects reset to the peer\'s ServiceAccount'] };
    }
  }
  if (key === 'tokenSecret') {
    if (current.type !== SERVICE_ACCOUNT_TOKEN_TYPE || annotationsOf(current)[SA_NAME_ANNOTATION] !== grantName(peer)) {
      throw new NotOursError(objectRef, `is not a ${SERVICE_ACCOUNT_TOKEN_TYPE} Secret of the peer's ServiceAccount`);
    }
  }
  return null;
}

function subjectsOf(subjects: unknown): unknown[] {
  if (!Array.isArray(subjects)) return [];
  return subjects.map((subject: unknown) => {
    const { kind, name, namespace } = (typeof subject === 'object' && subject !== null ? subject : {}) as Record<string, unknown>;
    return { kind, name, namespace };
  });
}

/**
 * What disconnect removes from the cluster that granted `peer` access:
 * the grant objects connect made for that peer, never the namespace (the
 * daemon and other peers' grants live there). Objects that are not ours
 * are named in `kept`.
 */
export function planRevokeGrant(peer: string, state: GrantState): { writes: Write[]; kept: string[] } {
  const refs = grantRefs(peer);
  const writes: Write[] = [];
  const kept: string[] = [];
  // The binding first: access ends with the first delete.
  for (const key of ['binding', 'clusterRole', 'tokenSecret', 'serviceAccount'] as const) {
    const current = state[key];
    if (current === null) continue;
    if (madeByConnect(current) && labelsOf(current)[PEER_LABEL] === peer) {
      writes.push({ verb: 'delete', ref: refs[key], uid: uidOf(current), details: [] });
    } else kept.push(`${describeRef(refs[key])} (not made by clusterwire connect for ${peer})`);
  }
  return { writes, kept };
}

/** The token and CA the token controller put in the Secret, once it has. */
export function filledToken(secret: KubeObject | null): { token: string; caPem: string | null } | null {
  const data = secret?.data;
  if (typeof data !== 'object' || data === null) return null;
  const { token, 'ca.crt': ca } = data as Record<string, unknown>;
  if (typeof token !== 'string' || token === '') return null;
  return { token: Buffer.from(token, 'base64').toString('utf8'), caPem: typeof ca === 'string' && ca !== '' ? Buffer.from(ca, 'base64').toString('utf8') : null };
}
