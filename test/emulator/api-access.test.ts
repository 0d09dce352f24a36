import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Emulator } from '../../lab/emulator/emulator.ts';
import { KubeRequestError } from '../../src/kube/kube-request-error.ts';
import { api, currentToken, openWatchAt, peerSliceCrd, projectClient, projectWatch, suiteEmulator, type WireStatus } from './helpers.ts';

interface Wire {
  metadata: { name: string; uid: string; resourceVersion: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
  status?: Record<string, unknown>;
}

const SLICES = '/apis/clusterwire.io/v1alpha1/namespaces/fleet/peerslices';

/** A namespace with a reader account bound to a Role that reads PeerSlices and one Lease, as issue 13's slice readers will be. */
const READER_SETUP: [string, object][] = [
  ['/api/v1/namespaces', { metadata: { name: 'fleet' } }],
  ['/api/v1/namespaces/fleet/serviceaccounts', { metadata: { name: 'reader' } }],
  [
    '/api/v1/namespaces/fleet/secrets',
    { metadata: { name: 'reader-token', annotations: { 'kubernetes.io/service-account.name': 'reader' } }, type: 'kubernetes.io/service-account-token' },
  ],
  [
    '/apis/rbac.authorization.k8s.io/v1/namespaces/fleet/roles',
    {
      metadata: { name: 'slice-reader' },
      rules: [
        { apiGroups: ['clusterwire.io'], resources: ['peerslices'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['clusterwire-mirror'], verbs: ['get'] },
      ],
    },
  ],
  [
    '/apis/rbac.authorization.k8s.io/v1/namespaces/fleet/rolebindings',
    { metadata: { name: 'slice-reader' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'slice-reader' }, subjects: [{ kind: 'ServiceAccount', name: 'reader' }] },
  ],
];

function forbidden(message: string): (error: unknown) => boolean {
  return (error) => error instanceof KubeRequestError && error.status === 403 && error.reason === 'Forbidden' && error.message.endsWith(message);
}

describe('service accounts, RBAC and reviews over HTTPS', () => {
  const started = suiteEmulator();
  let emulator: Emulator;
  let readerToken = '';
  before(async () => {
    emulator = started();
    const crd = await api(emulator, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: await peerSliceCrd() });
    assert.equal(crd.status, 201);
    for (const [path, body] of READER_SETUP) assert.equal((await api(emulator, 'POST', path, { body })).status, 201, path);
    const secret = await api<Wire>(emulator, 'GET', '/api/v1/namespaces/fleet/secrets/reader-token');
    readerToken = Buffer.from(secret.body.data?.token ?? '', 'base64').toString('utf8');
  });

  it('fills a service-account-token Secret as the tokens controller does', async () => {
    const secret = (await api<Wire>(emulator, 'GET', '/api/v1/namespaces/fleet/secrets/reader-token')).body;
    const account = (await api<Wire>(emulator, 'GET', '/api/v1/namespaces/fleet/serviceaccounts/reader')).body;
    const data = secret.data ?? {};
    assert.deepEqual(Object.keys(data).sort(), ['ca.crt', 'namespace', 'token']);
    assert.equal(Buffer.from(data['ca.crt'] ?? '', 'base64').toString(), emulator.caPem);
    assert.equal(Buffer.from(data.namespace ?? '', 'base64').toString(), 'fleet');
    assert.equal(secret.metadata.annotations?.['kubernetes.io/service-account.uid'], account.metadata.uid);
    const [, payload = ''] = readerToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, string>;
    assert.equal(claims.sub, 'system:serviceaccount:fleet:reader');
    assert.equal(claims['kubernetes.io/serviceaccount/secret.name'], 'reader-token');
  });

  it("authenticates the token as its account: 200 inside its Role, 403 outside, with kube's messages", async (t) => {
    const reader = await projectClient(t, emulator, readerToken);
    const list = (await reader.json({ method: 'GET', path: SLICES })) as { items: unknown[] };
    assert.deepEqual(list.items, []);
    const watch = await projectWatch(t, reader, SLICES, { resourceVersion: '0' });
    const user = 'User "system:serviceaccount:fleet:reader"';
    await assert.rejects(reader.json({ method: 'GET', path: '/api/v1/nodes' }), forbidden(`nodes is forbidden: ${user} cannot list resource "nodes" in API group "" at the cluster scope`));
    await assert.rejects(
      reader.json({ method: 'GET', path: '/apis/clusterwire.io/v1alpha1/namespaces/default/peerslices' }),
      forbidden(`peerslices.clusterwire.io is forbidden: ${user} cannot list resource "peerslices" in API group "clusterwire.io" in the namespace "default"`),
    );
    await assert.rejects(
      reader.json({ method: 'PATCH', path: `${SLICES}/x`, body: { contentType: 'application/merge-patch+json', value: {} } }),
      forbidden(`peerslices.clusterwire.io "x" is forbidden: ${user} cannot patch resource "peerslices" in API group "clusterwire.io" in the namespace "fleet"`),
    );
    await assert.rejects(reader.json({ method: 'GET', path: '/apis/coordination.k8s.io/v1/namespaces/fleet/leases/clusterwire-mirror' }), (e: unknown) => e instanceof KubeRequestError && e.status === 404, 'allowed by resourceNames: 404, not 403');
    await assert.rejects(reader.json({ method: 'GET', path: '/apis/coordination.k8s.io/v1/namespaces/fleet/leases/other' }), (e: unknown) => e instanceof KubeRequestError && e.status === 403);
    const created = await api(emulator, 'POST', SLICES, {
      body: { apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', metadata: { name: 's1' }, entries: [{ node: 'n', publicKey: `${'A'.repeat(42)}A=` }] },
    });
    assert.equal(created.status, 201);
    assert.equal((await watch.next()).object.metadata.name, 's1', 'the reader watches what the admin writes');
    assert.equal((await api(emulator, 'GET', '/version', { token: readerToken })).status, 200, 'discovery and version for every authenticated user');
    assert.equal((await api(emulator, 'GET', '/apis', { token: readerToken })).status, 200);
  });

  it('mints bound tokens (TokenRequest) with kube validation; a deleted account no longer authenticates', async () => {
    const path = '/api/v1/namespaces/fleet/serviceaccounts';
    assert.equal((await api(emulator, 'POST', path, { body: { metadata: { name: 'temp' } } })).status, 201);
    const request = await api<{ status: { token: string; expirationTimestamp: string }; spec: { audiences: string[]; expirationSeconds: number } }>(emulator, 'POST', `${path}/temp/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
    });
    assert.equal(request.status, 201);
    assert.deepEqual(request.body.spec.audiences, ['https://kubernetes.default.svc.cluster.local']);
    assert.equal(request.body.spec.expirationSeconds, 3600);
    const ttl = Date.parse(request.body.status.expirationTimestamp) - Date.now();
    assert.ok(ttl > 3500_000 && ttl <= 3600_000, `expires in ${ttl} ms`);
    const token = request.body.status.token;
    const whoami = await api<{ status: { userInfo: { username: string; groups: string[] } } }>(emulator, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { token, body: {} });
    assert.equal(whoami.status, 201);
    assert.deepEqual(whoami.body.status.userInfo.groups, ['system:serviceaccounts', 'system:serviceaccounts:fleet', 'system:authenticated']);
    assert.equal(whoami.body.status.userInfo.username, 'system:serviceaccount:fleet:temp');
    const short = await api<WireStatus>(emulator, 'POST', `${path}/temp/token`, { body: { spec: { expirationSeconds: 300 } } });
    assert.equal(short.status, 422);
    assert.equal(short.body.message, 'TokenRequest.authentication.k8s.io "temp" is invalid: spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes');
    assert.equal((await api(emulator, 'POST', `${path}/ghost/token`, { body: {} })).status, 404);
    assert.equal((await api(emulator, 'DELETE', `${path}/temp`)).status, 200);
    assert.equal((await api(emulator, 'GET', '/version', { token })).status, 401, 'the account is gone');
  });

  it('deletes a token Secret whose account is missing, and the Secrets of a deleted account', async () => {
    const secrets = '/api/v1/namespaces/fleet/secrets';
    const orphan = await api(emulator, 'POST', secrets, {
      body: { metadata: { name: 'orphan', annotations: { 'kubernetes.io/service-account.name': 'nobody' } }, type: 'kubernetes.io/service-account-token' },
    });
    assert.equal(orphan.status, 201);
    assert.equal((await api(emulator, 'GET', `${secrets}/orphan`)).status, 404);
    assert.equal((await api(emulator, 'POST', '/api/v1/namespaces/fleet/serviceaccounts', { body: { metadata: { name: 'short-lived' } } })).status, 201);
    await api(emulator, 'POST', secrets, {
      body: { metadata: { name: 'short-lived-token', annotations: { 'kubernetes.io/service-account.name': 'short-lived' } }, type: 'kubernetes.io/service-account-token' },
    });
    const secret = await api<Wire>(emulator, 'GET', `${secrets}/short-lived-token`);
    const token = Buffer.from(secret.body.data?.token ?? '', 'base64').toString();
    assert.equal((await api(emulator, 'GET', '/version', { token })).status, 200);
    await api(emulator, 'DELETE', '/api/v1/namespaces/fleet/serviceaccounts/short-lived');
    assert.equal((await api(emulator, 'GET', `${secrets}/short-lived-token`)).status, 404);
    assert.equal((await api(emulator, 'GET', '/version', { token })).status, 401);
    const missing = await api<WireStatus>(emulator, 'POST', secrets, { body: { metadata: { name: 'unnamed' }, type: 'kubernetes.io/service-account-token' } });
    assert.equal(missing.body.message, 'Secret "unnamed" is invalid: metadata.annotations[kubernetes.io/service-account.name]: Required value');
  });

  it('answers SelfSubjectAccessReviews, SubjectAccessReviews and SelfSubjectRulesReviews', async () => {
    type Review = { status: { allowed: boolean; reason?: string } };
    const can = async (token: string, verb: string, resource: string, namespace: string, name = '') =>
      (
        await api<Review>(emulator, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          token,
          body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb, group: resource === 'leases' ? 'coordination.k8s.io' : 'clusterwire.io', resource, namespace, name } } },
        })
      ).body.status;
    assert.deepEqual(await can(readerToken, 'watch', 'peerslices', 'fleet'), {
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "slice-reader/fleet" of Role "slice-reader" to ServiceAccount "reader/fleet"',
    });
    assert.deepEqual(await can(readerToken, 'create', 'peerslices', 'fleet'), { allowed: false });
    assert.equal((await can(readerToken, 'get', 'leases', 'fleet', 'clusterwire-mirror')).allowed, true);
    assert.equal((await can(await currentToken(emulator), 'delete', 'peerslices', 'anywhere')).allowed, true, 'the admin token is system:masters');
    const sar = await api<Review>(emulator, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      body: { spec: { user: 'system:serviceaccount:fleet:reader', groups: ['system:serviceaccounts'], resourceAttributes: { verb: 'list', group: 'clusterwire.io', resource: 'peerslices', namespace: 'fleet' } } },
    });
    assert.equal(sar.body.status.allowed, true);
    const denied = await api<WireStatus>(emulator, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      token: readerToken,
      body: { spec: { user: 'x', resourceAttributes: { verb: 'list', resource: 'nodes' } } },
    });
    assert.equal(denied.status, 403, 'only who may create subjectaccessreviews asks about others');
    const rules = await api<{ status: { resourceRules: { verbs: string[]; resources?: string[] }[]; incomplete: boolean } }>(emulator, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
      token: readerToken,
      body: { spec: { namespace: 'fleet' } },
    });
    assert.ok(rules.body.status.resourceRules.some((r) => r.resources?.includes('peerslices') && r.verbs.includes('watch')));
    assert.equal(rules.body.status.incomplete, false);
    const neither = await api<WireStatus>(emulator, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { body: { spec: {} } });
    assert.equal(neither.status, 422);
  });

  it('lets system:masters impersonate an account, and refuses impersonation to others', async () => {
    const admin = await currentToken(emulator);
    const asReader = await api<WireStatus>(emulator, 'GET', '/api/v1/nodes', { token: admin, headers: { 'Impersonate-User': 'system:serviceaccount:fleet:reader' } });
    assert.equal(asReader.status, 403);
    assert.match(asReader.body.message, /User "system:serviceaccount:fleet:reader" cannot list resource "nodes"/);
    const byReader = await api<WireStatus>(emulator, 'GET', '/version', { token: readerToken, headers: { 'Impersonate-User': 'admin' } });
    assert.equal(byReader.status, 403);
    assert.equal(byReader.body.message, 'users "admin" is forbidden: User "system:serviceaccount:fleet:reader" cannot impersonate resource "users" in API group "" at the cluster scope');
  });

  it('keeps a request log: who, what, where, watch or not, bytes and times; and counts open watches per user and resource', async (t) => {
    const mark = emulator.requestLog().at(-1)?.seq ?? 0;
    const watches = await Promise.all([1, 2, 3].map(() => openWatchAt(emulator, SLICES, 'resourceVersion=0', t, readerToken)));
    const adminWatch = await openWatchAt(emulator, '/api/v1/nodes', '', t);
    await api(emulator, 'GET', '/api/v1/namespaces/fleet/configmaps', { token: readerToken });
    assert.deepEqual(emulator.openWatches(), [
      { user: 'emulator-admin', apiGroup: '', resource: 'nodes', count: 1 },
      { user: 'system:serviceaccount:fleet:reader', apiGroup: 'clusterwire.io', resource: 'peerslices', count: 3 },
    ]);
    const entries = emulator.requestLog(mark);
    const watchEntry = entries.find((e) => e.watch && e.resource === 'peerslices');
    assert.ok(watchEntry);
    assert.equal(watchEntry.user, 'system:serviceaccount:fleet:reader');
    assert.equal(watchEntry.client, '127.0.0.1', 'the address the client connected from');
    assert.equal(watchEntry.verb, 'watch');
    assert.equal(watchEntry.namespace, 'fleet');
    assert.equal(watchEntry.endedAt, null, 'still open');
    assert.ok(watchEntry.bytesSent > 0, 'the initial ADDED event counted');
    const refused = entries.find((e) => e.resource === 'configmaps');
    assert.deepEqual(refused && [refused.verb, refused.code, refused.user], ['list', 403, 'system:serviceaccount:fleet:reader']);
    for (const watch of [...watches, adminWatch]) watch.close();
    for (let i = 0; i < 100 && emulator.openWatches().length > 0; i++) await delay(10);
    assert.deepEqual(emulator.openWatches(), []);
    const closed = emulator.requestLog(mark).find((e) => e.seq === watchEntry.seq);
    assert.ok(closed?.endedAt !== null && closed?.endedAt !== undefined && closed.endedAt >= closed.startedAt);
    assert.equal(closed.code, 200);
  });
});
