import type { RbacObjects } from './rbac.ts';
import { RBAC_GROUP } from './rbac-types.ts';
import type { Registry } from './registry.ts';

/** The RBAC objects of a registry's stores, read at decision time. */
export function rbacObjects(registry: Registry): RbacObjects {
  const store = (resource: string) => registry.byResource(RBAC_GROUP, resource)?.store;
  return {
    clusterRole: (name) => store('clusterroles')?.get('', name)?.object,
    clusterRoleBindings: () => store('clusterrolebindings')?.list().map((r) => r.object) ?? [],
    role: (namespace, name) => store('roles')?.get(namespace, name)?.object,
    roleBindings: (namespace) => store('rolebindings')?.list(namespace).map((r) => r.object) ?? [],
  };
}
