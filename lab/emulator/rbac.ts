import { MASTERS_GROUP, type UserInfo } from './auth.ts';
import { isJsonObject, objectAt, type JsonObject, type JsonValue, text } from './json.ts';
import { qualifiedResource } from './status.ts';

/**
 * kube-apiserver's authorization for the emulator: the system:masters
 * group may do anything (the privileged-group authorizer), everyone else
 * gets what RBAC's Roles, ClusterRoles and their bindings grant. Pure
 * functions over the RBAC objects; messages as kube words them.
 */

/** authorizer.Attributes: what a request asks to do. */
export interface RequestAttributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  /** For non-resource requests. */
  path: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

/** The RBAC objects a decision reads. */
export interface RbacObjects {
  clusterRole(name: string): JsonObject | undefined;
  clusterRoleBindings(): readonly JsonObject[];
  role(namespace: string, name: string): JsonObject | undefined;
  roleBindings(namespace: string): readonly JsonObject[];
}

export interface Decision {
  allowed: boolean;
  /** `RBAC: allowed by ...`, or why roles could not be read (missing roles); '' otherwise. */
  reason: string;
}

export interface PolicyRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

const strings = (value: JsonValue | undefined): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

function policyRule(value: JsonValue): PolicyRule {
  const rule = isJsonObject(value) ? value : {};
  return {
    verbs: strings(rule.verbs),
    apiGroups: strings(rule.apiGroups),
    resources: strings(rule.resources),
    resourceNames: strings(rule.resourceNames),
    nonResourceURLs: strings(rule.nonResourceURLs),
  };
}

function rulesOf(role: JsonObject): PolicyRule[] {
  return Array.isArray(role.rules) ? role.rules.map(policyRule) : [];
}

/** rbacv1helpers.ResourceMatches: `*`, exact `resource[/subresource]`, or `*\/subresource`. */
function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  return rule.resources.some((r) => r === '*' || r === combined || (subresource !== '' && r === `*/${subresource}`));
}

function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  return rule.nonResourceURLs.some((url) => url === '*' || url === path || (url.endsWith('*') && path.startsWith(url.slice(0, -1))));
}

/** RuleAllows. */
function ruleAllows(attributes: RequestAttributes, rule: PolicyRule): boolean {
  const verbMatches = rule.verbs.includes('*') || rule.verbs.includes(attributes.verb);
  if (!attributes.resourceRequest) return verbMatches && nonResourceURLMatches(rule, attributes.path);
  const combined = attributes.subresource === '' ? attributes.resource : `${attributes.resource}/${attributes.subresource}`;
  return (
    verbMatches &&
    (rule.apiGroups.includes('*') || rule.apiGroups.includes(attributes.apiGroup)) &&
    resourceMatches(rule, combined, attributes.subresource) &&
    (rule.resourceNames.length === 0 || rule.resourceNames.includes(attributes.name))
  );
}

/** appliesToUser: a ServiceAccount subject without namespace means the binding's own. */
function subjectApplies(subject: JsonObject, user: UserInfo, bindingNamespace: string): boolean {
  const name = typeof subject.name === 'string' ? subject.name : '';
  switch (subject.kind) {
    case 'User':
      return user.name === name;
    case 'Group':
      return user.groups.includes(name);
    case 'ServiceAccount': {
      const namespace = typeof subject.namespace === 'string' && subject.namespace !== '' ? subject.namespace : bindingNamespace;
      return namespace !== '' && user.name === `system:serviceaccount:${namespace}:${name}`;
    }
    default:
      return false;
  }
}

function describeSubject(subject: JsonObject, bindingNamespace: string): string {
  const name = text(subject.name);
  if (subject.kind !== 'ServiceAccount') return `${text(subject.kind)} ${JSON.stringify(name)}`;
  const namespace = typeof subject.namespace === 'string' && subject.namespace !== '' ? subject.namespace : bindingNamespace;
  return `ServiceAccount ${JSON.stringify(`${name}/${namespace}`)}`;
}

interface Grant {
  rules: PolicyRule[];
  /** `ClusterRoleBinding "x" of ClusterRole "y" to Group "z"`. */
  source: string;
}

/**
 * Every binding that applies to the user at the cluster scope and, for a
 * namespace, in it, with its role's rules; `errors` names roles that
 * bindings reference but do not exist (RBAC reports them as its reason).
 */
function visit(user: UserInfo, namespace: string, rbac: RbacObjects, each: (grant: Grant) => boolean): string[] {
  const errors: string[] = [];
  const bindings: [JsonObject, string][] = [
    ...rbac.clusterRoleBindings().map((b): [JsonObject, string] => [b, '']),
    ...(namespace === '' ? [] : rbac.roleBindings(namespace).map((b): [JsonObject, string] => [b, namespace])),
  ];
  for (const [binding, bindingNamespace] of bindings) {
    const subjects = Array.isArray(binding.subjects) ? binding.subjects.filter(isJsonObject) : [];
    const subject = subjects.find((s) => subjectApplies(s, user, bindingNamespace));
    if (subject === undefined) continue;
    const roleRef = objectAt(binding, 'roleRef');
    const roleName = text(roleRef.name);
    const isClusterRole = roleRef.kind === 'ClusterRole';
    const role = isClusterRole ? rbac.clusterRole(roleName) : rbac.role(bindingNamespace, roleName);
    if (role === undefined) {
      const resource = qualifiedResource({ group: 'rbac.authorization.k8s.io', resource: isClusterRole ? 'clusterrole' : 'role' });
      errors.push(`${resource} ${JSON.stringify(roleName)} not found`);
      continue;
    }
    const bindingName = text(objectAt(binding, 'metadata').name);
    const source =
      bindingNamespace === ''
        ? `ClusterRoleBinding ${JSON.stringify(bindingName)} of ${text(roleRef.kind)} ${JSON.stringify(roleName)} to ${describeSubject(subject, '')}`
        : `RoleBinding ${JSON.stringify(`${bindingName}/${bindingNamespace}`)} of ${text(roleRef.kind)} ${JSON.stringify(roleName)} to ${describeSubject(subject, bindingNamespace)}`;
    if (each({ rules: rulesOf(role), source })) break;
  }
  return errors;
}

function aggregate(errors: string[]): string {
  return errors.length === 1 ? (errors[0] as string) : `[${errors.join(', ')}]`;
}

export function authorize(attributes: RequestAttributes, rbac: RbacObjects): Decision {
  if (attributes.user.groups.includes(MASTERS_GROUP)) return { allowed: true, reason: '' };
  let allowedBy: string | null = null;
  const errors = visit(attributes.user, attributes.namespace, rbac, (grant) => {
    if (!grant.rules.some((rule) => ruleAllows(attributes, rule))) return false;
    allowedBy = grant.source;
    return true;
  });
  if (allowedBy !== null) return { allowed: true, reason: `RBAC: allowed by ${allowedBy as string}` };
  return { allowed: false, reason: errors.length === 0 ? '' : `RBAC: ${aggregate(errors)}` };
}

/** What a user may do in a namespace (SelfSubjectRulesReview): the rules of every binding that applies. */
export function rulesFor(user: UserInfo, namespace: string, rbac: RbacObjects): { rules: PolicyRule[]; errors: string[] } {
  const rules: PolicyRule[] = [];
  const errors = visit(user, namespace, rbac, (grant) => {
    rules.push(...grant.rules);
    return false;
  });
  return { rules, errors };
}

/** forbiddenMessage: the text after `is forbidden: ` in a 403. */
export function forbiddenReason(attributes: RequestAttributes): string {
  const user = JSON.stringify(attributes.user.name);
  if (!attributes.resourceRequest) return `User ${user} cannot ${attributes.verb} path ${JSON.stringify(attributes.path)}`;
  const resource = attributes.subresource === '' ? attributes.resource : `${attributes.resource}/${attributes.subresource}`;
  const where = attributes.namespace === '' ? 'at the cluster scope' : `in the namespace ${JSON.stringify(attributes.namespace)}`;
  return `User ${user} cannot ${attributes.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attributes.apiGroup)} ${where}`;
}
