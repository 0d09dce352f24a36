import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANONYMOUS, type UserInfo } from '../../lab/emulator/auth.ts';
import { impersonatedUser, impersonationChecks, impersonationOf } from '../../lab/emulator/impersonation.ts';
import type { JsonObject } from '../../lab/emulator/json.ts';
import { authorize, forbiddenReason, rulesFor, type RbacObjects, type RequestAttributes } from '../../lab/emulator/rbac.ts';
import { ApiError } from '../../lab/emulator/status.ts';

const RBAC = 'rbac.authorization.k8s.io';

function objects(clusterRoles: JsonObject[], clusterBindings: JsonObject[], roles: JsonObject[], bindings: JsonObject[]): RbacObjects {
  const name = (o: JsonObject) => (o.metadata as JsonObject).name;
  const namespace = (o: JsonObject) => (o.metadata as JsonObject).namespace;
  return {
    clusterRole: (n) => clusterRoles.find((r) => name(r) === n),
    clusterRoleBindings: () => clusterBindings,
    role: (ns, n) => roles.find((r) => namespace(r) === ns && name(r) === n),
    roleBindings: (ns) => bindings.filter((b) => namespace(b) === ns),
  };
}

const binding = (metadata: JsonObject, kind: 'Role' | 'ClusterRole', role: string, subjects: JsonObject[]): JsonObject => ({
  metadata,
  roleRef: { apiGroup: RBAC, kind, name: role },
  subjects,
});

const rbac = objects(
  [
    { metadata: { name: 'node-reader' }, rules: [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['nodes'] }] },
    { metadata: { name: 'health' }, rules: [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/metrics/*'] }] },
    { metadata: { name: 'status-writer' }, rules: [{ verbs: ['patch'], apiGroups: ['*'], resources: ['*/status'] }] },
  ],
  [
    binding({ name: 'readers' }, 'ClusterRole', 'node-reader', [{ kind: 'Group', apiGroup: RBAC, name: 'readers' }]),
    binding({ name: 'health' }, 'ClusterRole', 'health', [{ kind: 'User', apiGroup: RBAC, name: 'prober' }]),
    binding({ name: 'dangling' }, 'ClusterRole', 'does-not-exist', [{ kind: 'User', apiGroup: RBAC, name: 'lost' }]),
  ],
  [
    {
      metadata: { name: 'slices', namespace: 'cw' },
      rules: [
        { verbs: ['get', 'list', 'watch'], apiGroups: ['clusterwire.io'], resources: ['peerslices'] },
        { verbs: ['get', 'update'], apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['mirror'] },
      ],
    },
  ],
  [
    binding({ name: 'mirror', namespace: 'cw' }, 'Role', 'slices', [{ kind: 'ServiceAccount', name: 'mirror' }]),
    binding({ name: 'status', namespace: 'cw' }, 'ClusterRole', 'status-writer', [{ kind: 'ServiceAccount', name: 'writer', namespace: 'cw' }]),
  ],
);

const account = (namespace: string, name: string): UserInfo => ({
  name: `system:serviceaccount:${namespace}:${name}`,
  uid: 'u',
  groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
});
const user = (name: string, groups: string[] = []): UserInfo => ({ name, uid: '', groups: [...groups, 'system:authenticated'] });

function resource(who: UserInfo, verb: string, apiGroup: string, res: string, namespace = '', name = '', subresource = ''): RequestAttributes {
  return { user: who, verb, resourceRequest: true, path: '', apiGroup, apiVersion: 'v1', namespace, resource: res, subresource, name };
}
function path(who: UserInfo, verb: string, p: string): RequestAttributes {
  return { user: who, verb, resourceRequest: false, path: p, apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '' };
}

describe('RBAC authorization', () => {
  const mirror = account('cw', 'mirror');
  const cases: [string, RequestAttributes, boolean][] = [
    ['system:masters may do anything', resource(user('admin', ['system:masters']), 'delete', '', 'nodes', '', 'n1'), true],
    ['a group bound cluster-wide lists nodes', resource(user('alice', ['readers']), 'list', '', 'nodes'), true],
    ['… but does not delete them', resource(user('alice', ['readers']), 'delete', '', 'nodes', '', 'n1'), false],
    ['… nor list nodes/status', resource(user('alice', ['readers']), 'get', '', 'nodes', '', 'n1', 'status'), false],
    ['a Role binds a service account in its namespace', resource(mirror, 'watch', 'clusterwire.io', 'peerslices', 'cw'), true],
    ['… not in another namespace', resource(mirror, 'watch', 'clusterwire.io', 'peerslices', 'other'), false],
    ['… not at the cluster scope', resource(mirror, 'list', 'clusterwire.io', 'peerslices'), false],
    ['… nor another account of the namespace', resource(account('cw', 'other'), 'list', 'clusterwire.io', 'peerslices', 'cw'), false],
    ['resourceNames allow the named object', resource(mirror, 'update', 'coordination.k8s.io', 'leases', 'cw', 'mirror'), true],
    ['resourceNames refuse other names', resource(mirror, 'update', 'coordination.k8s.io', 'leases', 'cw', 'other'), false],
    ['resourceNames refuse create (no name)', resource(mirror, 'create', 'coordination.k8s.io', 'leases', 'cw'), false],
    ['*/status matches any status subresource', resource(account('cw', 'writer'), 'patch', 'clusterwire.io', 'peerslices', 'cw', 'x', 'status'), true],
    ['*/status does not match the main resource', resource(account('cw', 'writer'), 'patch', 'clusterwire.io', 'peerslices', 'cw', 'x'), false],
    ['nonResourceURLs: exact path', path(user('prober'), 'get', '/healthz'), true],
    ['nonResourceURLs: prefix with *', path(user('prober'), 'get', '/metrics/cadvisor'), true],
    ['nonResourceURLs: other paths refused', path(user('prober'), 'get', '/version'), false],
    ['anonymous gets nothing without bindings', resource(ANONYMOUS, 'get', '', 'nodes'), false],
  ];
  for (const [what, attributes, allowed] of cases) {
    it(what, () => assert.equal(authorize(attributes, rbac).allowed, allowed));
  }

  it('says which binding allowed a request, in kube words', () => {
    assert.equal(authorize(resource(mirror, 'get', 'clusterwire.io', 'peerslices', 'cw'), rbac).reason, 'RBAC: allowed by RoleBinding "mirror/cw" of Role "slices" to ServiceAccount "mirror/cw"');
    assert.equal(authorize(resource(user('alice', ['readers']), 'get', '', 'nodes'), rbac).reason, 'RBAC: allowed by ClusterRoleBinding "readers" of ClusterRole "node-reader" to Group "readers"');
  });

  it('reports bindings to missing roles as the reason of a refusal', () => {
    assert.deepEqual(authorize(resource(user('lost'), 'get', '', 'nodes'), rbac), {
      allowed: false,
      reason: 'RBAC: clusterrole.rbac.authorization.k8s.io "does-not-exist" not found',
    });
  });

  it('words refusals as kube-apiserver does', () => {
    assert.equal(forbiddenReason(resource(mirror, 'list', 'clusterwire.io', 'peerslices', 'default')), 'User "system:serviceaccount:cw:mirror" cannot list resource "peerslices" in API group "clusterwire.io" in the namespace "default"');
    assert.equal(forbiddenReason(resource(ANONYMOUS, 'patch', '', 'nodes', '', 'n1', 'status')), 'User "system:anonymous" cannot patch resource "nodes/status" in API group "" at the cluster scope');
    assert.equal(forbiddenReason(path(ANONYMOUS, 'get', '/api')), 'User "system:anonymous" cannot get path "/api"');
  });

  it('lists the rules a user has in a namespace (SelfSubjectRulesReview)', () => {
    const { rules, errors } = rulesFor(mirror, 'cw', rbac);
    assert.deepEqual(rules.map((r) => `${r.verbs.join(',')} ${r.resources.join(',')} ${r.resourceNames.join(',')}`), ['get,list,watch peerslices ', 'get,update leases mirror']);
    assert.deepEqual(errors, []);
    assert.deepEqual(rulesFor(user('lost'), '', rbac).errors, ['clusterrole.rbac.authorization.k8s.io "does-not-exist" not found']);
  });
});

describe('impersonation', () => {
  it('reads Impersonate-* headers and checks each thing impersonated', () => {
    const wanted = impersonationOf({ 'impersonate-user': ['system:serviceaccount:cw:mirror'], 'impersonate-group': ['extra-group'], 'impersonate-extra-scopes': ['a', 'b'] });
    assert.ok(wanted);
    const admin = user('admin');
    assert.deepEqual(
      impersonationChecks(admin, wanted).map((a) => `${a.verb} ${a.apiGroup}/${a.resource}${a.subresource === '' ? '' : `/${a.subresource}`} ${a.namespace}/${a.name}`),
      ['impersonate /serviceaccounts cw/mirror', 'impersonate /groups /extra-group', 'impersonate authentication.k8s.io/userextras/scopes /a', 'impersonate authentication.k8s.io/userextras/scopes /b'],
    );
    assert.deepEqual(impersonatedUser(wanted).groups, ['system:serviceaccounts', 'system:serviceaccounts:cw', 'extra-group', 'system:authenticated']);
    assert.deepEqual(impersonatedUser({ user: 'bob', groups: [], uid: '', extra: {} }), { name: 'bob', uid: '', groups: ['system:authenticated'] });
  });

  it('needs a user to impersonate groups, and nothing without headers', () => {
    assert.equal(impersonationOf({}), null);
    assert.throws(() => impersonationOf({ 'impersonate-group': ['g'] }), (error: unknown) => error instanceof ApiError && error.code === 400);
  });
});
