/**
 * Who talks to the bench's apiservers in the fleet scenarios, and as whom:
 * each kind of client (daemons, a mirror, a publisher) authenticates as its
 * own service account, so the emulator's request log tells their bytes
 * apart. Also the waits for a mirror's slices to hold every node.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Emulator } from '../lab/emulator/emulator.ts';
import { renderKubeconfig } from '../lab/emulator/kubeconfig.ts';

export const FLEET_NAMESPACE = 'clusterwire';
/** The daemons' identity: on a remote, what deploy/remote and deploy/remote-slices grant. */
export const DAEMON_ACCOUNT = 'bench-daemon';
/** A cluster's own mirror, publishing its nodes (and, on its own cluster, mirroring its peers'). */
export const PUBLISHER_ACCOUNT = 'bench-publisher';
/** The local cluster's mirror, reading the remote for the daemons of source `mirror`. */
export const MIRROR_ACCOUNT = 'bench-mirror';
const RBAC = 'rbac.authorization.k8s.io/v1';
const PUBLISH_TIMEOUT_MS = 120_000;

export function serviceAccountUser(account: string): string {
  return `system:serviceaccount:${FLEET_NAMESPACE}:${account}`;
}

/**
 * What a service account may do: `peer-reader` is what a cluster grants to
 * its peers' readers (deploy/remote's Nodes and deploy/remote-slices'
 * slices and publisher Lease, together, so one account serves every
 * source); `cluster-admin` is the bootstrap role, for a process whose
 * local grants are not what the bench measures.
 */
export type Grant = 'peer-reader' | 'cluster-admin';

function grant(emulator: Emulator, account: string, kind: Grant): void {
  const subjects = [{ kind: 'ServiceAccount', name: account, namespace: FLEET_NAMESPACE }];
  const bind = (kindOf: 'ClusterRoleBinding' | 'RoleBinding', roleKind: 'ClusterRole' | 'Role', role: string, namespace?: string) =>
    emulator.create({ apiVersion: RBAC, kind: kindOf, metadata: { name: account, ...(namespace ? { namespace } : {}) }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role }, subjects });
  if (kind === 'cluster-admin') {
    bind('ClusterRoleBinding', 'ClusterRole', 'cluster-admin');
    return;
  }
  emulator.create({ apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: account }, rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }] });
  bind('ClusterRoleBinding', 'ClusterRole', account);
  emulator.create({
    apiVersion: RBAC,
    kind: 'Role',
    metadata: { name: account, namespace: FLEET_NAMESPACE },
    rules: [
      { apiGroups: ['clusterwire.io'], resources: ['peerslices'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['clusterwire-mirror'], verbs: ['get'] },
    ],
  });
  bind('RoleBinding', 'Role', account, FLEET_NAMESPACE);
}

/**
 * A kubeconfig for service account `account` of `emulator`, written in
 * `dir`; the account and its grant are made the first time. The emulator
 * needs the namespace (preparePublishing).
 */
export async function serviceAccountKubeconfig(emulator: Emulator, account: string, kind: Grant, dir: string, clusterName: string): Promise<string> {
  const secretRef = { apiVersion: 'v1', kind: 'Secret', namespace: FLEET_NAMESPACE, name: `${account}-token` };
  if (emulator.get(secretRef) === undefined) {
    emulator.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: account, namespace: FLEET_NAMESPACE } });
    emulator.create({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: `${account}-token`, namespace: FLEET_NAMESPACE, annotations: { 'kubernetes.io/service-account.name': account } },
    });
    grant(emulator, account, kind);
  }
  const token = (emulator.get(secretRef) as { data?: { token?: string } } | undefined)?.data?.token;
  if (!token) throw new Error(`the emulator of ${clusterName} gave ${account} no token`);
  const tokenFile = path.join(dir, `${clusterName}-${account}.token`);
  await writeFile(tokenFile, Buffer.from(token, 'base64'), { mode: 0o600 });
  const kubeconfig = path.join(dir, `${clusterName}-${account}.kubeconfig`);
  await writeFile(kubeconfig, renderKubeconfig({ clusterName, server: emulator.url, caFile: emulator.caFile, tokenFile }));
  return kubeconfig;
}

/** The labels of a PeerSlice (docs/fleet-mode.md): whose nodes, and whether a mirror copied it from their cluster. */
export const SOURCE_CLUSTER_LABEL = 'clusterwire.io/source-cluster';
export const MIRRORED_LABEL = 'clusterwire.io/mirrored';

/** Slices of `cluster`'s nodes that its own mirror published (`mirrored` false) or a peer's mirror copied (true). */
export function slicesOf(cluster: string, mirrored: boolean): (labels: Record<string, string>) => boolean {
  return (labels) => labels[SOURCE_CLUSTER_LABEL] === cluster && (labels[MIRRORED_LABEL] === 'true') === mirrored;
}

/**
 * Waits until the PeerSlices of `emulator` that `select` keeps hold
 * `nodes` entries in all; returns how many slices that took.
 */
export async function waitForSliceEntries(emulator: Emulator, nodes: number, what: string, select: (labels: Record<string, string>) => boolean): Promise<number> {
  const deadline = Date.now() + PUBLISH_TIMEOUT_MS;
  for (;;) {
    const slices = (emulator.list({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', namespace: FLEET_NAMESPACE }) as { metadata?: { labels?: Record<string, string> }; entries?: unknown[] }[]).filter((s) =>
      select(s.metadata?.labels ?? {}),
    );
    const entries = slices.reduce((sum, s) => sum + (s.entries?.length ?? 0), 0);
    if (entries === nodes) return slices.length;
    if (Date.now() > deadline) throw new Error(`${what}: ${entries} of ${nodes} nodes in slices after ${PUBLISH_TIMEOUT_MS} ms`);
    await delay(200);
  }
}
