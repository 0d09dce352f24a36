import { fieldErrors, type FieldError } from './field-errors.ts';
import { isJsonObject, objectAt, type JsonObject, type JsonValue, text } from './json.ts';
import { ALL_VERBS, type ResourceType } from './resource-type.ts';
import { METADATA_LIST_STRATEGIES } from './strategic-merge-patch.ts';
import { AGE_COLUMN, ageCell, column, NAME_COLUMN, nameCell, type Printer } from './tables.ts';

/** rbac.authorization.k8s.io/v1: Roles, ClusterRoles and their bindings, with kube's defaulting and validation. */

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

const strings = (value: JsonValue | undefined): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/** ValidatePolicyRule. */
function ruleErrors(rule: JsonValue, path: string, namespaced: boolean): FieldError[] {
  const r = isJsonObject(rule) ? rule : {};
  const found: FieldError[] = [];
  if (strings(r.verbs).length === 0) found.push(fieldErrors.required(`${path}.verbs`, 'verbs must contain at least one value'));
  const urls = strings(r.nonResourceURLs);
  if (urls.length > 0) {
    if (namespaced) found.push(fieldErrors.invalid(`${path}.nonResourceURLs`, urls, 'namespaced rules cannot apply to non-resource URLs'));
    if (strings(r.apiGroups).length > 0 || strings(r.resources).length > 0 || strings(r.resourceNames).length > 0) {
      found.push(fieldErrors.invalid(`${path}.nonResourceURLs`, urls, 'rules cannot apply to both regular resources and non-resource URLs'));
    }
    return found;
  }
  if (strings(r.apiGroups).length === 0) found.push(fieldErrors.required(`${path}.apiGroups`, 'resource rules must supply at least one api group'));
  if (strings(r.resources).length === 0) found.push(fieldErrors.required(`${path}.resources`, 'resource rules must supply at least one resource'));
  return found;
}

function rulesErrors(role: JsonObject, namespaced: boolean): FieldError[] {
  const rules = Array.isArray(role.rules) ? role.rules : [];
  return rules.flatMap((rule, i) => ruleErrors(rule, `rules[${i}]`, namespaced));
}

/** SetDefaults_Subject and SetDefaults_RoleBinding: apiGroups that kubectl users leave out. */
function withBindingDefaults(binding: JsonObject): JsonObject {
  const roleRef = objectAt(binding, 'roleRef');
  const subjects = Array.isArray(binding.subjects)
    ? binding.subjects.map((subject) => {
        if (!isJsonObject(subject) || (typeof subject.apiGroup === 'string' && subject.apiGroup !== '')) return subject;
        return { ...subject, apiGroup: subject.kind === 'ServiceAccount' ? '' : RBAC_GROUP };
      })
    : binding.subjects;
  return {
    ...binding,
    ...(subjects === undefined ? {} : { subjects }),
    roleRef: { ...roleRef, apiGroup: typeof roleRef.apiGroup === 'string' && roleRef.apiGroup !== '' ? roleRef.apiGroup : RBAC_GROUP },
  };
}

function bindingErrors(binding: JsonObject, old: JsonObject | null, namespaced: boolean): FieldError[] {
  const found: FieldError[] = [];
  const roleRef = objectAt(binding, 'roleRef');
  if (roleRef.apiGroup !== RBAC_GROUP) found.push(fieldErrors.notSupported('roleRef.apiGroup', roleRef.apiGroup ?? '', [RBAC_GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (typeof roleRef.kind !== 'string' || !kinds.includes(roleRef.kind)) found.push(fieldErrors.notSupported('roleRef.kind', roleRef.kind ?? '', kinds));
  if (typeof roleRef.name !== 'string' || roleRef.name === '') found.push(fieldErrors.required('roleRef.name'));
  if (old !== null && JSON.stringify(objectAt(old, 'roleRef')) !== JSON.stringify(roleRef)) {
    found.push(fieldErrors.invalid('roleRef', roleRef, 'cannot change roleRef'));
  }
  const subjects = Array.isArray(binding.subjects) ? binding.subjects : [];
  subjects.forEach((value, i) => {
    const subject = isJsonObject(value) ? value : {};
    const path = `subjects[${i}]`;
    if (typeof subject.name !== 'string' || subject.name === '') found.push(fieldErrors.required(`${path}.name`));
    switch (subject.kind) {
      case 'ServiceAccount':
        if (subject.apiGroup !== '') found.push(fieldErrors.notSupported(`${path}.apiGroup`, subject.apiGroup ?? '', ['']));
        if (!namespaced && (typeof subject.namespace !== 'string' || subject.namespace === '')) found.push(fieldErrors.required(`${path}.namespace`));
        break;
      case 'User':
      case 'Group':
        if (subject.apiGroup !== RBAC_GROUP) found.push(fieldErrors.notSupported(`${path}.apiGroup`, subject.apiGroup ?? '', [RBAC_GROUP]));
        break;
      default:
        found.push(fieldErrors.notSupported(`${path}.kind`, subject.kind ?? '', ['ServiceAccount', 'User', 'Group']));
    }
  });
  return found;
}

/** The Created At column: RFC 3339 in UTC, as kube's role printers show it. */
const ROLE_PRINTER: Printer = {
  columns: [NAME_COLUMN, { ...column('Created At', 'CreationTimestamp is a timestamp representing the server time when this object was created.'), type: 'date' }],
  cells: (role) => [nameCell(role), text(objectAt(role, 'metadata').creationTimestamp)],
};

function subjectNames(binding: JsonObject, kind: string): string {
  const subjects = Array.isArray(binding.subjects) ? binding.subjects.filter(isJsonObject) : [];
  return subjects
    .filter((s) => s.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${text(s.namespace)}/${text(s.name)}` : text(s.name)))
    .join(', ');
}

const BINDING_PRINTER: Printer = {
  columns: [
    NAME_COLUMN,
    column('Role', 'Role references the role that this binding refers to.'),
    AGE_COLUMN,
    column('Users', 'Users in the binding', 1),
    column('Groups', 'Groups in the binding', 1),
    column('ServiceAccounts', 'ServiceAccounts in the binding', 1),
  ],
  cells: (binding, nowMs) => {
    const roleRef = objectAt(binding, 'roleRef');
    return [
      nameCell(binding),
      `${text(roleRef.kind)}/${text(roleRef.name)}`,
      ageCell(binding, nowMs),
      subjectNames(binding, 'User'),
      subjectNames(binding, 'Group'),
      subjectNames(binding, 'ServiceAccount'),
    ];
  },
};

const RBAC = {
  group: RBAC_GROUP,
  versions: ['v1'],
  shortNames: [],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  nameRule: 'pathSegment',
  listStrategies: METADATA_LIST_STRATEGIES,
  fields: {},
  custom: false,
  allowUnconditionalUpdate: true,
} as const;

function roleType(kind: 'Role' | 'ClusterRole', namespaced: boolean): ResourceType {
  return {
    ...RBAC,
    resource: `${kind.toLowerCase()}s`,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced,
    printer: ROLE_PRINTER,
    prepareCreate: (role) => role,
    prepareUpdate: (role) => role,
    validate: (role) => rulesErrors(role, namespaced),
  };
}

function bindingType(kind: 'RoleBinding' | 'ClusterRoleBinding', namespaced: boolean): ResourceType {
  return {
    ...RBAC,
    resource: `${kind.toLowerCase()}s`,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced,
    printer: BINDING_PRINTER,
    prepareCreate: withBindingDefaults,
    prepareUpdate: withBindingDefaults,
    validate: (binding, old) => bindingErrors(binding, old, namespaced),
  };
}

export const ROLES = roleType('Role', true);
export const CLUSTER_ROLES = roleType('ClusterRole', false);
export const ROLE_BINDINGS = bindingType('RoleBinding', true);
export const CLUSTER_ROLE_BINDINGS = bindingType('ClusterRoleBinding', false);
