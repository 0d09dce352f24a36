import type { UserInfo } from './auth.ts';
import type { DiscoveredResource } from './discovery.ts';
import { fieldErrors } from './field-errors.ts';
import { isJsonObject, objectAt, type JsonObject, type JsonValue } from './json.ts';
import { authorize, rulesFor, type RbacObjects, type RequestAttributes } from './rbac.ts';
import { errors } from './status.ts';

/**
 * The create-only review resources clients use to ask the authorizer:
 * SelfSubjectAccessReview (`kubectl auth can-i`), SubjectAccessReview,
 * SelfSubjectRulesReview (`kubectl auth can-i --list`) and
 * SelfSubjectReview (`kubectl auth whoami`). Nothing is stored.
 */
const review = (group: string, resource: string, kind: string): DiscoveredResource => ({
  group,
  versions: ['v1'],
  resource,
  singular: resource.slice(0, -1),
  kind,
  namespaced: false,
  verbs: ['create'],
  shortNames: [],
  categories: [],
  subresources: [],
  stored: false,
  custom: false,
});

export const REVIEW_RESOURCES: readonly DiscoveredResource[] = [
  review('authentication.k8s.io', 'selfsubjectreviews', 'SelfSubjectReview'),
  review('authorization.k8s.io', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview'),
  review('authorization.k8s.io', 'selfsubjectrulesreviews', 'SelfSubjectRulesReview'),
  review('authorization.k8s.io', 'subjectaccessreviews', 'SubjectAccessReview'),
];

export function reviewResource(group: string, version: string, resource: string): DiscoveredResource | undefined {
  return REVIEW_RESOURCES.find((r) => r.group === group && r.versions.includes(version) && r.resource === resource);
}

const str = (value: JsonValue | undefined): string => (typeof value === 'string' ? value : '');
const strings = (value: JsonValue | undefined): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

function accessAttributes(spec: JsonObject, user: UserInfo, kind: string): RequestAttributes {
  const resource = spec.resourceAttributes;
  const nonResource = spec.nonResourceAttributes;
  if (isJsonObject(resource) && isJsonObject(nonResource)) {
    throw errors.invalid({ group: 'authorization.k8s.io', kind }, '', [
      fieldErrors.invalid('spec.nonResourceAttributes', nonResource, 'cannot be specified in combination with resourceAttributes'),
    ]);
  }
  if (isJsonObject(nonResource)) {
    return { user, verb: str(nonResource.verb), resourceRequest: false, path: str(nonResource.path), apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '' };
  }
  if (!isJsonObject(resource)) {
    throw errors.invalid({ group: 'authorization.k8s.io', kind }, '', [
      fieldErrors.invalid('spec.resourceAttributes', null, 'exactly one of nonResourceAttributes or resourceAttributes must be specified'),
    ]);
  }
  return {
    user,
    verb: str(resource.verb),
    resourceRequest: true,
    path: '',
    apiGroup: str(resource.group),
    apiVersion: str(resource.version),
    namespace: str(resource.namespace),
    resource: str(resource.resource),
    subresource: str(resource.subresource),
    name: str(resource.name),
  };
}

function accessStatus(attributes: RequestAttributes, rbac: RbacObjects): JsonObject {
  const decision = authorize(attributes, rbac);
  return { allowed: decision.allowed, ...(decision.reason === '' ? {} : { reason: decision.reason }) };
}

function subjectOf(spec: JsonObject): UserInfo {
  const extra = objectAt(spec, 'extra');
  return {
    name: str(spec.user),
    uid: str(spec.uid),
    groups: strings(spec.groups),
    extra: Object.fromEntries(Object.entries(extra).map(([key, values]) => [key, strings(values)])),
  };
}

function userInfoDocument(user: UserInfo): JsonObject {
  const extra = user.extra ?? {};
  return {
    username: user.name,
    ...(user.uid === '' ? {} : { uid: user.uid }),
    groups: [...user.groups],
    ...(Object.keys(extra).length === 0 ? {} : { extra: Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, [...v]])) }),
  };
}

/** The answer (201) to creating a review of `resource` as `user`. */
export function answerReview(resource: DiscoveredResource, body: JsonValue | undefined, user: UserInfo, rbac: RbacObjects): JsonObject {
  if (!isJsonObject(body)) throw errors.badRequest('the body of the request was empty');
  const spec = objectAt(body, 'spec');
  const head = { kind: resource.kind, apiVersion: `${resource.group}/v1`, metadata: { ...objectAt(body, 'metadata'), creationTimestamp: null } };
  switch (resource.resource) {
    case 'selfsubjectaccessreviews':
      return { ...head, spec, status: accessStatus(accessAttributes(spec, user, resource.kind), rbac) };
    case 'subjectaccessreviews': {
      const subject = subjectOf(spec);
      if (subject.name === '' && subject.groups.length === 0) {
        throw errors.invalid({ group: 'authorization.k8s.io', kind: resource.kind }, '', [
          fieldErrors.invalid('spec.user', '', 'at least one of user or group must be specified'),
        ]);
      }
      return { ...head, spec, status: accessStatus(accessAttributes(spec, subject, resource.kind), rbac) };
    }
    case 'selfsubjectrulesreviews': {
      const { rules, errors: problems } = rulesFor(user, str(spec.namespace), rbac);
      const resourceRules = rules
        .filter((r) => r.nonResourceURLs.length === 0)
        .map((r) => ({
          verbs: r.verbs,
          ...(r.apiGroups.length > 0 ? { apiGroups: r.apiGroups } : {}),
          ...(r.resources.length > 0 ? { resources: r.resources } : {}),
          ...(r.resourceNames.length > 0 ? { resourceNames: r.resourceNames } : {}),
        }));
      const nonResourceRules = rules.filter((r) => r.nonResourceURLs.length > 0).map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs }));
      return {
        ...head,
        spec,
        status: { resourceRules, nonResourceRules, incomplete: problems.length > 0, ...(problems.length > 0 ? { evaluationError: problems.join(', ') } : {}) },
      };
    }
    default:
      return { ...head, status: { userInfo: userInfoDocument(user) } };
  }
}
