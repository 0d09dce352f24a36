import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { configMapNameOf, planAccess, planRevokeAccess, type AccessInput, type AccessState } from '../../src/connect/access-plan.ts';
import { connectLabels } from '../../src/connect/objects.ts';
import { remoteKubeconfigText } from '../../src/connect/remote-kubeconfig.ts';
import { describeWrite, type Write } from '../../src/connect/write.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const access = { peer: 'c2', user: 'clusterwire-remote-c1', server: 'https://lb.c2.example:6443', tlsServerName: null, caPems: [] };
const input: AccessInput = { local: 'c1', access, token: 'jwt-of-c2', podSubnets: ['10.4.0.0/16'], annotationDomain: 'wireguard.semaphore.uw.io' };
const entry = { name: 'c2', kubeConfigPath: '/etc/clusterwire/tokens/c2.kubeconfig', podSubnets: ['10.4.0.0/16'], wgListenPort: 51820 };
const configText = (remotes: object[]) => `${JSON.stringify({ local: { name: 'c1' }, remotes }, null, 2)}\n`;
const daemonSet = (configMap: string, hash?: string) => ({
  metadata: { name: 'clusterwire' },
  spec: { template: { metadata: { annotations: hash === undefined ? {} : { 'clusterwire.io/clusters-config-sha256': hash } }, spec: { volumes: [{ name: 'config', configMap: { name: configMap } }] } } },
});
const connected = (remotes = 'c2') => ({ uid: 'u1', resourceVersion: '9', annotations: { 'clusterwire.io/connected-remotes': remotes } });
const tokens = (data: Record<string, string>, metadata: object = connected()) => ({ metadata: { name: 'clusterwire-remote-tokens', namespace: 'clusterwire', ...metadata }, data });
const configMap = (text: string, metadata: object = connected()) => ({ metadata: { name: 'clusterwire-config', namespace: 'clusterwire', ...metadata }, data: { 'clusters.json': text } });
const done: AccessState = {
  daemonSet: null,
  configMap: configMap(configText([entry])),
  tokensSecret: tokens({ 'c2.token': b64('jwt-of-c2'), 'c2.kubeconfig': b64(remoteKubeconfigText(access)) }),
};
const summary = (writes: readonly Write[]) => writes.map((w) => `${w.verb} ${w.ref.kind} ${w.ref.name}`);

test('planAccess: the writes that give a cluster\'s daemons access to a peer', () => {
  const rows: [string, AccessInput, AccessState, string[]][] = [
    ['nothing yet: both created', input, { daemonSet: null, configMap: null, tokensSecret: null }, ['create ConfigMap clusterwire-config', 'create Secret clusterwire-remote-tokens']],
    ['all there: nothing to write', input, done, []],
    ['a rotated token: only the Secret', { ...input, token: 'new-jwt' }, done, ['update Secret clusterwire-remote-tokens']],
    ['a moved apiserver: the Secret (kubeconfig)', { ...input, access: { ...access, server: 'https://new.c2.example' } }, done, ['update Secret clusterwire-remote-tokens']],
    ['new pod subnets: only the ConfigMap', { ...input, podSubnets: ['10.4.0.0/15'] }, done, ['update ConfigMap clusterwire-config']],
    ['same content, written by hand: marked as connected', input, { ...done, configMap: configMap(configText([entry]), { annotations: {} }) }, ['update ConfigMap clusterwire-config']],
    ['dry run before the token exists: the Secret will change', { ...input, token: null }, done, ['update Secret clusterwire-remote-tokens']],
    [
      "kustomize's hashed config map, through the DaemonSet, which rolls",
      input,
      { ...done, daemonSet: daemonSet('clusterwire-config-5fk2m8'), configMap: null },
      ['create ConfigMap clusterwire-config-5fk2m8', 'patch DaemonSet clusterwire'],
    ],
    ['a DaemonSet and an unchanged config: no roll', input, { ...done, daemonSet: daemonSet('clusterwire-config') }, []],
    [
      "a DaemonSet whose last roll did not happen (stale hash): rolled",
      input,
      { ...done, daemonSet: daemonSet('clusterwire-config', 'stale') },
      ['patch DaemonSet clusterwire'],
    ],
  ];
  for (const [name, given, state, expected] of rows) assert.deepEqual(summary(planAccess(given, state).writes), expected, name);
});

test('planAccess bodies: Secret data base64, connect\'s marks, the config hash on the DaemonSet; details never show the token', () => {
  const plan = planAccess(input, { daemonSet: daemonSet('clusterwire-config'), configMap: null, tokensSecret: tokens({ 'c3.token': b64('other') }, { annotations: {} }) });
  const [config, secret, roll] = plan.writes;
  assert.ok(secret?.verb === 'update' && config?.verb === 'create' && roll?.verb === 'patch');
  assert.deepEqual(secret.body.data, { 'c3.token': b64('other'), 'c2.token': b64('jwt-of-c2'), 'c2.kubeconfig': b64(remoteKubeconfigText(access)) });
  assert.deepEqual((secret.body.metadata as { annotations: object }).annotations, { 'clusterwire.io/connected-remotes': 'c2' });
  const text = (config.body.data as Record<string, string>)['clusters.json'] ?? '';
  assert.deepEqual(JSON.parse(text), { local: { name: 'c1' }, remotes: [entry] });
  assert.deepEqual((config.body.metadata as { labels: object }).labels, connectLabels(null));
  assert.deepEqual(roll.patch, { spec: { template: { metadata: { annotations: { 'clusterwire.io/clusters-config-sha256': createHash('sha256').update(text).digest('hex') } } } } });
  assert.deepEqual(plan.entry, entry);
  const printed = plan.writes.flatMap((write) => describeWrite(write, true)).join('\n');
  assert.doesNotMatch(printed, /jwt-of-c2/);
  assert.match(printed, /would update Secret clusterwire\/clusterwire-remote-tokens\n {4}c2\.token: the token of Secret clusterwire\/clusterwire-remote-c1-token in c2 \(redacted, 9 bytes\)/);
  assert.match(printed, /c2\.kubeconfig: server https:\/\/lb\.c2\.example:6443, the system trust store, tokenFile c2\.token/);
  assert.match(printed, /clusters\.json: remote c2 added: \{"name":"c2"/);
});

test('configMapNameOf: the DaemonSet\'s config volume, else clusterwire-config', () => {
  assert.equal(configMapNameOf(null), 'clusterwire-config');
  assert.equal(configMapNameOf(daemonSet('clusterwire-config-abc')), 'clusterwire-config-abc');
  assert.equal(configMapNameOf({ spec: { template: { spec: { volumes: [{ name: 'other', configMap: { name: 'x' } }] } } } }), 'clusterwire-config');
});

test('planRevokeAccess removes what connect wrote, keeps what it did not', () => {
  const other = { name: 'c3', kubeConfigPath: '/k', podSubnet: '10.8.0.0/16', wgListenPort: 51821 };
  const ours = { ...connected(), labels: connectLabels(null) };
  const madeByConnect: AccessState = { daemonSet: null, configMap: configMap(configText([entry]), ours), tokensSecret: tokens({ 'c2.token': 'x', 'c2.kubeconfig': 'y' }, ours) };
  const rows: [string, AccessState, string[], RegExp[]][] = [
    ["all connect's: both go", madeByConnect, ['delete Secret clusterwire-remote-tokens', 'delete ConfigMap clusterwire-config'], []],
    [
      'shared with another remote: keys and entry removed',
      {
        daemonSet: daemonSet('clusterwire-config', 'x'),
        configMap: configMap(configText([other, entry]), connected('c2,c3')),
        tokensSecret: tokens({ 'c2.token': 'x', 'c2.kubeconfig': 'y', 'c3.token': 'z' }, connected('c2,c3')),
      },
      ['update Secret clusterwire-remote-tokens', 'update ConfigMap clusterwire-config', 'patch DaemonSet clusterwire'],
      [],
    ],
    [
      'written by hand: kept, and said so',
      { daemonSet: null, configMap: configMap(configText([entry]), {}), tokensSecret: tokens({ 'c2.token': 'x' }, {}) },
      [],
      [/kept c2\.token in Secret clusterwire\/clusterwire-remote-tokens: not written by clusterwire connect/, /kept remote c2 in ConfigMap clusterwire\/clusterwire-config: not added/],
    ],
    [
      "the user's config map loses its last remote: written without it, the DaemonSet left alone",
      { daemonSet: daemonSet('clusterwire-config', 'x'), configMap: configMap(configText([entry])), tokensSecret: null },
      ['update ConfigMap clusterwire-config'],
      [/no remote is left in clusters\.json, which the daemon refuses: DaemonSet clusterwire\/clusterwire is not restarted; uninstall it/],
    ],
  ];
  for (const [name, state, expected, notes] of rows) {
    const plan = planRevokeAccess('c1', 'c2', state);
    assert.deepEqual(summary(plan.writes), expected, name);
    for (const note of notes) assert.ok(plan.notes.some((line) => note.test(line)), `${name}: ${note} in ${plan.notes.join(' | ')}`);
  }
  const shared = planRevokeAccess('c1', 'c2', rows[1]![1]);
  const [secret, config] = shared.writes;
  assert.ok(secret?.verb === 'update' && config?.verb === 'update');
  assert.deepEqual(secret.body.data, { 'c3.token': 'z' });
  assert.deepEqual((secret.body.metadata as { annotations: object }).annotations, { 'clusterwire.io/connected-remotes': 'c3' });
  assert.deepEqual((JSON.parse((config.body.data as Record<string, string>)['clusters.json'] ?? '') as { remotes: object[] }).remotes, [other]);
});
