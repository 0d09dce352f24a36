/**
 * Cluster names and the annotation domain end up in Node annotation keys
 * (`<cluster>.<domain>/pubKey`), whose prefix must be a DNS subdomain:
 * lowercase labels of letters, digits and '-', at most 253 characters.
 */
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const MAX_ANNOTATION_PREFIX_LENGTH = 253;

/** Why `name` cannot be a cluster name, or null. */
export function clusterNameProblem(name: string): string | null {
  if (name === '') return 'a cluster name must not be empty';
  if (LABEL.test(name)) return null;
  return `'${name}' is not a valid cluster name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (it becomes part of annotation keys like ${name}.<domain>/pubKey)`;
}

/** Why `domain` cannot be an annotation domain, or null. */
export function annotationDomainProblem(domain: string): string | null {
  if (domain.length <= MAX_ANNOTATION_PREFIX_LENGTH && domain.split('.').every((label) => LABEL.test(label))) return null;
  return `'${domain}' is not a valid annotation domain: use a DNS name of lowercase labels separated by dots, like wireguard.semaphore.uw.io`;
}

/** Why `namespace` cannot be a Kubernetes namespace name (a DNS label), or null. */
export function namespaceProblem(namespace: string): string | null {
  if (LABEL.test(namespace)) return null;
  return `'${namespace}' is not a valid namespace: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`;
}
