import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { IClusterRole, IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type { IDaemonSet } from 'kubernetes-models/apps/v1';
import { findOne, hasKubectl, renderKustomization, type Manifest } from './support/manifests.ts';
import { DEPLOY_DIR } from './support/repo.ts';

const kubectl = await hasKubectl();
const skip = kubectl ? false : 'kubectl is not installed: cannot render the kustomizations';

/** The verbs the binding of `serviceAccount` grants on core nodes, and nothing else may be granted. */
function grantedOnNodes(rendered: readonly Manifest[], serviceAccount: Manifest): string[] {
  const bindings = rendered.filter((m): m is Manifest & IClusterRoleBinding => m.kind === 'ClusterRoleBinding');
  const binding = bindings.find((b) =>
    b.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === serviceAccount.metadata?.name && s.namespace === serviceAccount.metadata?.namespace),
  );
  assert.ok(binding, `a ClusterRoleBinding names ServiceAccount ${serviceAccount.metadata?.namespace}/${serviceAccount.metadata?.name}`);
  assert.equal(binding.roleRef.kind, 'ClusterRole');
  const role = findOne(rendered, 'ClusterRole', binding.roleRef.name) as Manifest & IClusterRole;
  assert.equal(role.metadata?.name, binding.roleRef.name);
  const rules = role.rules ?? [];
  assert.deepEqual(
    rules.map((r) => ({ apiGroups: r.apiGroups, resources: r.resources })),
    [{ apiGroups: [''], resources: ['nodes'] }],
    'the role covers core Nodes and nothing else',
  );
  return [...(rules[0]?.verbs ?? [])].sort();
}

describe('RBAC', { skip }, () => {
  test('the daemon may read and patch Nodes in its own cluster', async () => {
    const rendered = await renderKustomization(join(DEPLOY_DIR, 'local'));
    const daemonSet = findOne(rendered, 'DaemonSet', 'clusterwire') as Manifest & IDaemonSet;
    const account = findOne(rendered, 'ServiceAccount', daemonSet.spec?.template.spec?.serviceAccountName);
    assert.deepEqual(grantedOnNodes(rendered, account), ['get', 'list', 'patch', 'watch']);
  });

  test('a remote cluster grants read-only access to its Nodes, with a long-lived token', async () => {
    const rendered = await renderKustomization(join(DEPLOY_DIR, 'remote'));
    const account = findOne(rendered, 'ServiceAccount', 'clusterwire-remote');
    assert.deepEqual(grantedOnNodes(rendered, account), ['get', 'list', 'watch']);
    const token = findOne(rendered, 'Secret') as Manifest & { type?: string };
    assert.equal(token.type, 'kubernetes.io/service-account-token');
    assert.equal(token.metadata?.annotations?.['kubernetes.io/service-account.name'], account.metadata?.name);
    assert.equal(token.metadata?.namespace, account.metadata?.namespace);
    assert.equal(
      rendered.find((m) => m.kind === 'Namespace'),
      undefined,
      'the namespace belongs to deploy/local: deleting the remote grant must not delete the daemon',
    );
  });
});
