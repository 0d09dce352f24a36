import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connectionSettings } from '../../src/kube/client.ts';
import { inClusterSettings } from '../../src/kube/in-cluster.ts';
import {
  kubeconfigPaths,
  kubeconfigProblems,
  kubeconfigSettings,
  mergeKubeconfigs,
  selectContext,
  settingsFromKubeconfig,
} from '../../src/kube/kubeconfig.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const cluster = { server: 'https://api.c2.example:6443' };
const user = { name: 'u' };

test('settingsFromKubeconfig maps every static credential form', async (t) => {
  await t.test('inline CA, client certificate and key are decoded', () => {
    const s = settingsFromKubeconfig({ ...cluster, caData: b64('CA PEM') }, { ...user, certData: b64('CERT'), keyData: b64('KEY') }, null, 'o');
    assert.deepEqual(s.ca, { kind: 'inline', pem: 'CA PEM' });
    assert.deepEqual(s.clientCertificate, { cert: { kind: 'inline', pem: 'CERT' }, key: { kind: 'inline', pem: 'KEY' } });
    assert.deepEqual(s.token, { kind: 'none' });
  });
  await t.test('CA, certificate and key as files', () => {
    const s = settingsFromKubeconfig({ ...cluster, caFile: '/ca' }, { ...user, certFile: '/c', keyFile: '/k' }, null, 'o');
    assert.deepEqual(s.ca, { kind: 'file', path: '/ca' });
    assert.deepEqual(s.clientCertificate, { cert: { kind: 'file', path: '/c' }, key: { kind: 'file', path: '/k' } });
  });
  await t.test('no CA: the default trust store', () => {
    assert.deepEqual(settingsFromKubeconfig(cluster, user, null, 'o').ca, { kind: 'system' });
  });
  await t.test('static token, trimmed', () => {
    assert.deepEqual(settingsFromKubeconfig(cluster, { ...user, token: 'abc\n' }, null, 'o').token, { kind: 'static', token: 'abc' });
  });
  await t.test('tokenFile wins over token', () => {
    assert.deepEqual(settingsFromKubeconfig(cluster, { ...user, token: 'abc' }, '/t', 'o').token, { kind: 'file', path: '/t' });
  });
  await t.test('tls-server-name', () => {
    assert.equal(settingsFromKubeconfig({ ...cluster, tlsServerName: 'kubernetes' }, user, null, 'o').tlsServerName, 'kubernetes');
  });
});

test('settingsFromKubeconfig refuses what it would only half do', () => {
  const refused: [string, () => unknown, RegExp][] = [
    ['skip verify', () => settingsFromKubeconfig({ ...cluster, skipTLSVerify: true }, user, null, 'o'), /never disables TLS verification/],
    ['plain http', () => settingsFromKubeconfig({ server: 'http://api:8080' }, user, null, 'o'), /must be an https URL/],
    ['not a URL', () => settingsFromKubeconfig({ server: 'api:6443:x' }, user, null, 'o'), /not a URL|https/],
    ['proxy', () => settingsFromKubeconfig({ ...cluster, proxyUrl: 'http://proxy' }, user, null, 'o'), /proxy-url/],
    ['exec', () => settingsFromKubeconfig(cluster, { ...user, exec: { command: 'aws' } }, null, 'o'), /exec credential plugins/],
    ['oidc', () => settingsFromKubeconfig(cluster, { ...user, authProvider: { name: 'oidc' } }, null, 'o'), /auth-provider oidc/],
    ['basic', () => settingsFromKubeconfig(cluster, { ...user, username: 'a', password: 'b' }, null, 'o'), /basic authentication/],
    ['impersonation', () => settingsFromKubeconfig(cluster, { ...user, impersonateUser: 'x' }, null, 'o'), /impersonation/],
    ['cert without key', () => settingsFromKubeconfig(cluster, { ...user, certFile: '/c' }, null, 'o'), /both certificate and key/],
  ];
  for (const [name, f, message] of refused) assert.throws(f, message, name);
});

test('kubeconfigSettings reads a file like kubectl: current context, paths relative to the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-kubeconfig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'config');
  await writeFile(
    path,
    `apiVersion: v1
kind: Config
current-context: second
clusters:
- name: one
  cluster: { server: "https://one.example:6443" }
- name: two
  cluster:
    server: https://two.example:6443/prefix
    certificate-authority: certs/ca.crt
users:
- name: alice
  user: { token: alice-token }
- name: bob
  user:
    tokenFile: secrets/token
    client-certificate-data: ${b64('CERT')}
    client-key-data: ${b64('KEY')}
contexts:
- name: first
  context: { cluster: one, user: alice }
- name: second
  context: { cluster: two, user: bob }
`,
  );
  const s = kubeconfigSettings(path);
  assert.equal(s.server, 'https://two.example:6443/prefix');
  assert.deepEqual(s.ca, { kind: 'file', path: join(dir, 'certs/ca.crt') });
  assert.deepEqual(s.token, { kind: 'file', path: join(dir, 'secrets/token') });
  assert.deepEqual(s.clientCertificate, { cert: { kind: 'inline', pem: 'CERT' }, key: { kind: 'inline', pem: 'KEY' } });
  assert.deepEqual(connectionSettings({ kind: 'kubeconfig', path }), s);

  assert.throws(() => kubeconfigSettings(join(dir, 'missing')), (err: Error) => err.message.includes(join(dir, 'missing')));
});

test('inClusterSettings uses the service-account volume and KUBERNETES_SERVICE_*', (t) => {
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  t.after(() => {
    for (const [key, value] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  delete process.env.KUBERNETES_SERVICE_HOST;
  assert.throws(() => inClusterSettings('/nowhere'), /KUBERNETES_SERVICE_HOST/);

  process.env.KUBERNETES_SERVICE_HOST = 'fd12::1';
  process.env.KUBERNETES_SERVICE_PORT = '443';
  const s = inClusterSettings('/prefix');
  assert.equal(s.server, 'https://[fd12::1]:443');
  assert.equal(inClusterSettings('', { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }).server, 'https://10.96.0.1:443');
  assert.equal(inClusterSettings('', { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }).origin, 'in-cluster service account');
  assert.deepEqual(s.ca, { kind: 'file', path: '/prefix/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' });
  assert.deepEqual(s.token, { kind: 'file', path: '/prefix/var/run/secrets/kubernetes.io/serviceaccount/token' });
  assert.equal(s.clientCertificate, null);
});

test('connectionSettings for API URL + CA URL + token file', () => {
  const s = connectionSettings({ kind: 'token', apiURL: 'https://lb.c2:6443', caURL: 'http://ca.c2/ca.crt', tokenPath: '/tok' });
  assert.deepEqual(s.ca, { kind: 'url', url: 'http://ca.c2/ca.crt' });
  assert.deepEqual(s.token, { kind: 'file', path: '/tok' });
  assert.throws(() => connectionSettings({ kind: 'token', apiURL: 'http://lb.c2', caURL: 'x', tokenPath: '/t' }), /https/);
  const pinned = connectionSettings({ kind: 'token', apiURL: 'https://lb.c2:6443', caURL: 'http://ca.c2/ca.crt', tokenPath: '/tok', caSHA256: 'AB:CD' });
  assert.deepEqual(pinned.ca, { kind: 'url', url: 'http://ca.c2/ca.crt', sha256: 'AB:CD' });
});

test('settingsFromKubeconfig names every problem at once', () => {
  assert.throws(
    () => settingsFromKubeconfig({ server: 'http://api', skipTLSVerify: true }, { name: 'u', exec: {}, username: 'a', impersonateOther: ['as-groups'] }, null, 'o'),
    (err: Error) =>
      ['must be an https URL', 'insecure-skip-tls-verify', 'exec credential plugins', 'basic authentication', 'impersonation (as-groups)'].every((part) => err.message.includes(part)),
  );
});

test('kubeconfigProblems: one line per unsupported setting, none for static credentials', () => {
  const rows: [string, Parameters<typeof kubeconfigProblems>, string[]][] = [
    ['token', [cluster, { ...user, token: 't' }], []],
    ['client certificate files', [cluster, { ...user, certFile: '/c', keyFile: '/k' }], []],
    // client-node's model of in-cluster access, which kubectl does not know: in-cluster access no longer goes through it.
    ['tokenFile auth-provider', [cluster, { ...user, authProvider: { name: 'tokenFile', config: { tokenFile: '/t' } } }], ['user u: auth-provider tokenFile is not supported (use a token, tokenFile or client certificate)']],
    ['gcp auth-provider', [cluster, { ...user, authProvider: { name: 'gcp' } }], ['user u: auth-provider gcp is not supported (use a token, tokenFile or client certificate)']],
    ['as-uid alone', [cluster, { ...user, impersonateOther: ['as-uid'] }], ['user u: impersonation (as-uid) is not supported']],
    ['key without certificate', [cluster, { ...user, keyData: 'x' }], ['user u: a client certificate needs both certificate and key']],
    ['proxy and skip verify', [{ ...cluster, proxyUrl: 'socks5://p', skipTLSVerify: true }, user], [
      'insecure-skip-tls-verify is set: clusterwire never disables TLS verification',
      'proxy-url is not supported',
    ]],
  ];
  for (const [name, args, expected] of rows) assert.deepEqual(kubeconfigProblems(...args), expected, name);
});

test('kubeconfigPaths: KUBECONFIG-style lists, ~ expanded, duplicates once, ~/.kube/config by default', () => {
  const rows: [string, string[]][] = [
    ['', ['/home/op/.kube/config']],
    ['/a', ['/a']],
    ['/a:/b', ['/a', '/b']],
    ['/a::/b:/a', ['/a', '/b']],
    ['~/.kube/c1:~/.kube/c2', ['/home/op/.kube/c1', '/home/op/.kube/c2']],
    [':', ['/home/op/.kube/config']],
  ];
  for (const [text, expected] of rows) assert.deepEqual(kubeconfigPaths(text, '/home/op'), expected, JSON.stringify(text));
});

const fileA = {
  path: '/k/a',
  doc: {
    'current-context': 'c1',
    clusters: [
      { name: 'c1', cluster: { server: 'https://c1.example:6443/', 'certificate-authority': 'ca/c1.crt' } },
      { name: 'shared', cluster: { server: 'https://from-a.example' } },
    ],
    users: [{ name: 'op1', user: { tokenFile: 'tokens/op1' } }],
    contexts: [
      { name: 'c1', context: { cluster: 'c1', user: 'op1', namespace: 'kube-system' } },
      { name: 'shared', context: { cluster: 'shared', user: 'op1' } },
    ],
  },
};
const fileB = {
  path: '/other/b',
  doc: {
    'current-context': 'c2',
    clusters: [
      { name: 'c2', cluster: { server: 'https://c2.example:6443', 'certificate-authority-data': b64('PEM') } },
      { name: 'shared', cluster: { server: 'https://from-b.example' } },
    ],
    users: [{ name: 'op2', user: { token: 't2', 'client-certificate': '/abs/cert', 'client-key': 'key' } }],
    contexts: [
      { name: 'c2', context: { cluster: 'c2', user: 'op2' } },
      { name: 'anonymous', context: { cluster: 'c2' } },
      { name: 'lost', context: { cluster: 'c2', user: 'nobody' } },
      { name: 'nowhere', context: { cluster: 'gone', user: 'op2' } },
    ],
  },
};

test('mergeKubeconfigs + selectContext follow kubectl: first file wins per name and for current-context', async (t) => {
  const merged = mergeKubeconfigs([fileA, { path: '/empty', doc: null }, fileB]);
  assert.equal(merged.currentContext, 'c1');
  assert.deepEqual(mergeKubeconfigs([fileB, fileA]).currentContext, 'c2');

  await t.test('the current context, paths relative to the file that defines each entry', () => {
    const s = selectContext(merged, null);
    assert.equal(s.context, 'c1');
    assert.equal(s.cluster.server, 'https://c1.example:6443');
    assert.equal(s.cluster.caFile, '/k/ca/c1.crt');
    assert.equal(s.tokenFile, '/k/tokens/op1');
    assert.equal(s.origin, 'context c1 of kubeconfig /k/a:/empty:/other/b');
  });
  await t.test('a named context from the second file', () => {
    const s = selectContext(merged, 'c2');
    assert.equal(s.cluster.caData, b64('PEM'));
    assert.equal(s.user.token, 't2');
    assert.equal(s.user.certFile, '/abs/cert');
    assert.equal(s.user.keyFile, '/other/key');
    assert.equal(s.tokenFile, null);
  });
  await t.test('a name defined twice: the first file keeps it', () => {
    assert.equal(selectContext(merged, 'shared').cluster.server, 'https://from-a.example');
    assert.equal(selectContext(mergeKubeconfigs([fileB, fileA]), 'shared').cluster.server, 'https://from-b.example');
  });
  await t.test('a context without a user has no credentials', () => {
    assert.deepEqual(selectContext(merged, 'anonymous').user, { name: '' });
  });
  await t.test('what cannot be resolved is named', () => {
    assert.throws(() => selectContext(merged, 'c3'), /has no context "c3" \(contexts: c1, shared, c2, anonymous, lost, nowhere\)/);
    assert.throws(() => selectContext(merged, 'lost'), /context lost of kubeconfig .*: its user "nobody" is in none of the files/);
    assert.throws(() => selectContext(merged, 'nowhere'), /its cluster "gone" is in none of the files/);
    assert.throws(() => selectContext(mergeKubeconfigs([{ path: '/x', doc: { contexts: [] } }]), null), /kubeconfig \/x has no current-context: name a context/);
    assert.throws(() => mergeKubeconfigs([{ path: '/x', doc: { clusters: [{ cluster: {} }] } }]), /kubeconfig \/x: clusters\[0\] has no name/);
    assert.throws(() => mergeKubeconfigs([{ path: '/x', doc: 'text' }]), /not a YAML mapping/);
  });
});
