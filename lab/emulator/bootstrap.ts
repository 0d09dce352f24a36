import type { JsonObject } from './json.ts';
import type { ObjectApi } from './object-api.ts';
import { RBAC_GROUP } from './rbac-types.ts';
import type { Registry, Resource } from './registry.ts';

/**
 * What a fresh cluster holds before anyone writes: the system namespaces
 * and the bootstrap RBAC policy that matters to clients (cluster-admin
 * for system:masters, discovery and self-reviews for everyone
 * authenticated, version and health for everyone).
 */
const NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

const BOOTSTRAP = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };
const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };

const CLUSTER_ROLES: JsonObject[] = [
  {
    metadata: { name: 'cluster-admin' },
    rules: [
      { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
      { verbs: ['*'], nonResourceURLs: ['*'] },
    ],
  },
  {
    metadata: { name: 'system:discovery' },
    rules: [{ verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'] }],
  },
  {
    metadata: { name: 'system:basic-user' },
    rules: [
      { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
      { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
    ],
  },
  {
    metadata: { name: 'system:public-info-viewer' },
    rules: [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'] }],
  },
];

const group = (name: string) => ({ kind: 'Group', apiGroup: RBAC_GROUP, name });

const CLUSTER_ROLE_BINDINGS: JsonObject[] = [
  { metadata: { name: 'cluster-admin' }, subjects: [group('system:masters')] },
  { metadata: { name: 'system:discovery' }, subjects: [group('system:authenticated')] },
  { metadata: { name: 'system:basic-user' }, subjects: [group('system:authenticated')] },
  { metadata: { name: 'system:public-info-viewer' }, subjects: [group('system:authenticated'), group('system:unauthenticated')] },
].map((binding) => ({ ...binding, roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: binding.metadata.name } }));

function withBootstrapMeta(object: JsonObject): JsonObject {
  return { ...object, metadata: { ...(object.metadata as JsonObject), labels: BOOTSTRAP_LABELS, annotations: BOOTSTRAP } };
}

export function bootstrap(registry: Registry, api: ObjectApi): void {
  const resource = (group: string, name: string) => registry.byResource(group, name) as Resource;
  for (const name of NAMESPACES) api.create(resource('', 'namespaces'), 'v1', '', { metadata: { name } });
  for (const role of CLUSTER_ROLES) api.create(resource(RBAC_GROUP, 'clusterroles'), 'v1', '', withBootstrapMeta(role));
  for (const binding of CLUSTER_ROLE_BINDINGS) api.create(resource(RBAC_GROUP, 'clusterrolebindings'), 'v1', '', withBootstrapMeta(binding));
}
