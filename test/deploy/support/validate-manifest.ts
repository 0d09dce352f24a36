import { ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, ResourceQuota, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { ipPoolProblems, prometheusRuleProblems, serviceMonitorProblems } from './custom-resources.ts';
import { describeManifest, type Manifest } from './manifests.ts';

interface Validatable {
  validate(): void;
}

/** kubernetes-models' classes for the kinds deploy/ uses, by apiVersion and kind. */
const MODELS: Record<string, (data: never) => Validatable> = {
  'v1/Namespace': (data) => new Namespace(data),
  'v1/ServiceAccount': (data) => new ServiceAccount(data),
  'v1/Secret': (data) => new Secret(data),
  'v1/ConfigMap': (data) => new ConfigMap(data),
  'v1/Service': (data) => new Service(data),
  'v1/ResourceQuota': (data) => new ResourceQuota(data),
  'apps/v1/DaemonSet': (data) => new DaemonSet(data),
  'apps/v1/Deployment': (data) => new Deployment(data),
  'policy/v1/PodDisruptionBudget': (data) => new PodDisruptionBudget(data),
  'rbac.authorization.k8s.io/v1/ClusterRole': (data) => new ClusterRole(data),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': (data) => new ClusterRoleBinding(data),
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': (data) => new ValidatingAdmissionPolicy(data),
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': (data) => new ValidatingAdmissionPolicyBinding(data),
  'rbac.authorization.k8s.io/v1/Role': (data) => new Role(data),
  'rbac.authorization.k8s.io/v1/RoleBinding': (data) => new RoleBinding(data),
  'apiextensions.k8s.io/v1/CustomResourceDefinition': (data) => new CustomResourceDefinition(data),
};

const CUSTOM_RESOURCES: Record<string, (m: Manifest) => string[]> = {
  'monitoring.coreos.com/v1/ServiceMonitor': serviceMonitorProblems,
  'monitoring.coreos.com/v1/PrometheusRule': prometheusRuleProblems,
  'projectcalico.org/v3/IPPool': ipPoolProblems,
};

/** Kustomize's own files: checked by rendering them. */
export const KUSTOMIZE_TYPES = new Set(['kustomize.config.k8s.io/v1beta1/Kustomization', 'kustomize.config.k8s.io/v1alpha1/Component']);

export const typeOf = (m: Manifest) => `${m.apiVersion}/${m.kind}`;

/**
 * Throws, naming the object, when it does not validate against its schema.
 * A kind nobody taught this function is an error too, so a new manifest
 * cannot slip through unchecked.
 */
export function validateManifest(m: Manifest): void {
  const type = typeOf(m);
  const model = MODELS[type];
  const custom = CUSTOM_RESOURCES[type];
  if (model !== undefined) {
    try {
      model(m as never).validate();
    } catch (error) {
      throw new Error(`${describeManifest(m)} does not validate as ${type}`, { cause: error });
    }
  } else if (custom !== undefined) {
    const problems = custom(m);
    if (problems.length > 0) throw new Error(`${describeManifest(m)} is not a valid ${type}: ${problems.join('; ')}`);
  } else {
    throw new Error(`${describeManifest(m)}: no schema check for ${type}; add its model to test/deploy/support/validate-manifest.ts`);
  }
}
