import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filledToken, NotOursError, planGrant, planRevokeGrant, READ_NODES_RULES, type GrantState } from '../../src/connect/grant-plan.ts';
import { connectLabels } from '../../src/connect/objects.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const ours = (peer: string, extra: object = {}) => ({ metadata: { uid: `uid-${peer}`, resourceVersion: '7', labels: connectLabels(peer) }, ...extra });
const binding = (peer: string, subject: object = { kind: 'ServiceAccount', name: `clusterwire-remote-${peer}`, namespace: 'clusterwire' }) =>
  ours(peer, { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `clusterwire-remote-${peer}` }, subjects: [subject] });
const tokenSecret = (peer: string, type = 'kubernetes.io/service-account-token') => ({
  metadata: { uid: 'uid-s', labels: connectLabels(peer), annotations: { 'kubernetes.io/service-account.name': `clusterwire-remote-${peer}` } },
  type,
});
const granted = (peer: string): GrantState => ({
  namespace: { metadata: { name: 'clusterwire' } },
  serviceAccount: ours(peer),
  clusterRole: ours(peer, { rules: READ_NODES_RULES }),
  binding: binding(peer),
  tokenSecret: tokenSecret(peer),
});
const nothing: GrantState = { namespace: null, serviceAccount: null, clusterRole: null, binding: null, tokenSecret: null };

/** `verb Kind name` per write. */
const summary = (state: GrantState) => planGrant('c1', state).map((w) => `${w.verb} ${w.ref.kind} ${w.ref.name}`);

test('planGrant: the writes that make what exists into the grant for a peer', () => {
  const rows: [string, GrantState, string[]][] = [
    [
      'nothing yet',
      nothing,
      [
        'create Namespace clusterwire',
        'create ServiceAccount clusterwire-remote-c1',
        'create ClusterRole clusterwire-remote-c1',
        'create ClusterRoleBinding clusterwire-remote-c1',
        'create Secret clusterwire-remote-c1-token',
      ],
    ],
    ['all there: nothing to write', granted('c1'), []],
    ["the namespace is deploy/local's: only the grant", { ...nothing, namespace: { metadata: { name: 'clusterwire', labels: {} } } }, [
      'create ServiceAccount clusterwire-remote-c1',
      'create ClusterRole clusterwire-remote-c1',
      'create ClusterRoleBinding clusterwire-remote-c1',
      'create Secret clusterwire-remote-c1-token',
    ]],
    ['a rule added by hand is reset', { ...granted('c1'), clusterRole: ours('c1', { rules: [...READ_NODES_RULES, { apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] }) }, [
      'update ClusterRole clusterwire-remote-c1',
    ]],
    ['a subject added by hand is reset', { ...granted('c1'), binding: ours('c1', { ...binding('c1'), subjects: [{ kind: 'Group', name: 'system:authenticated' }] }) }, [
      'update ClusterRoleBinding clusterwire-remote-c1',
    ]],
    ['the apiserver\'s defaulted subject apiGroup is no change', { ...granted('c1'), binding: binding('c1', { kind: 'ServiceAccount', apiGroup: '', name: 'clusterwire-remote-c1', namespace: 'clusterwire' }) }, []],
    ['the token Secret is gone (someone deleted it to rotate the token)', { ...granted('c1'), tokenSecret: null }, ['create Secret clusterwire-remote-c1-token']],
  ];
  for (const [name, state, expected] of rows) assert.deepEqual(summary(state), expected, name);
});

test('planGrant: bodies are what deploy/remote declares, one set per peer', () => {
  type Body = { metadata: { labels: Record<string, string>; annotations?: object }; [key: string]: unknown };
  const created = new Map(planGrant('c1', nothing).flatMap((w) => (w.verb === 'create' ? [[w.ref.kind, w.body as Body] as const] : [])));
  const body = (kind: string) => created.get(kind as never) ?? assert.fail(`no ${kind} created`);
  assert.deepEqual(body('ClusterRole').rules, [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }]);
  assert.deepEqual(body('ClusterRoleBinding').subjects, [{ kind: 'ServiceAccount', name: 'clusterwire-remote-c1', namespace: 'clusterwire' }]);
  assert.equal(body('Secret').type, 'kubernetes.io/service-account-token');
  assert.deepEqual(body('Secret').metadata.annotations, { 'kubernetes.io/service-account.name': 'clusterwire-remote-c1' });
  for (const kind of ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Secret']) {
    assert.equal(body(kind).metadata.labels['app.kubernetes.io/managed-by'], 'clusterwire-connect', kind);
    assert.equal(body(kind).metadata.labels['clusterwire.io/peer'], 'c1', kind);
  }
});

test('planGrant refuses same-named objects it did not make, naming them', () => {
  const rows: [string, GrantState, RegExp][] = [
    ['a ServiceAccount made by hand', { ...granted('c1'), serviceAccount: { metadata: { labels: {} } } }, /ServiceAccount clusterwire\/clusterwire-remote-c1 exists but was not made by clusterwire connect/],
    ['made for another peer', { ...granted('c1'), clusterRole: ours('c9', { rules: READ_NODES_RULES }) }, /ClusterRole clusterwire-remote-c1 exists but is labelled for peer "c9", not c1/],
    ['a binding to another role', { ...granted('c1'), binding: ours('c1', { roleRef: { kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [] }) }, /binds another role/],
    ['an Opaque token Secret', { ...granted('c1'), tokenSecret: tokenSecret('c1', 'Opaque') }, /is not a kubernetes.io\/service-account-token Secret/],
  ];
  for (const [name, state, message] of rows) assert.throws(() => planGrant('c1', state), (err: Error) => err instanceof NotOursError && message.test(err.message), name);
});

test('planRevokeGrant deletes only what connect made for that peer, binding first, by uid; never the namespace', () => {
  const all = planRevokeGrant('c1', granted('c1'));
  assert.deepEqual(all.writes.map((w) => `${w.verb} ${w.ref.kind} ${w.verb === 'delete' ? w.uid : ''}`), [
    'delete ClusterRoleBinding uid-c1',
    'delete ClusterRole uid-c1',
    'delete Secret uid-s',
    'delete ServiceAccount uid-c1',
  ]);
  assert.deepEqual(all.kept, []);
  const mixed = planRevokeGrant('c1', { ...nothing, serviceAccount: { metadata: { labels: {} } }, clusterRole: ours('c9') });
  assert.deepEqual(mixed.writes, []);
  assert.deepEqual(mixed.kept, [
    'ClusterRole clusterwire-remote-c1 (not made by clusterwire connect for c1)',
    'ServiceAccount clusterwire/clusterwire-remote-c1 (not made by clusterwire connect for c1)',
  ]);
  assert.deepEqual(planRevokeGrant('c1', nothing), { writes: [], kept: [] });
});

test('filledToken: the token controller has filled the Secret, or not yet', () => {
  const rows: [unknown, ReturnType<typeof filledToken>][] = [
    [null, null],
    [{ data: {} }, null],
    [{ data: { token: '' } }, null],
    [{ data: { token: b64('jwt') } }, { token: 'jwt', caPem: null }],
    [{ data: { token: b64('jwt'), 'ca.crt': b64('PEM') } }, { token: 'jwt', caPem: 'PEM' }],
  ];
  for (const [secret, expected] of rows) assert.deepEqual(filledToken(secret as Record<string, unknown> | null), expected, JSON.stringify(secret));
});
