import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connectionSettings } from '../../src/kube/client.ts';
import { inClusterSettings, kubeconfigSettings, rawTokenFile, settingsFromKubeconfig } from '../../src/kube/kubeconfig.ts';

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
  await t.test('in-cluster tokenFile auth provider', () => {
    const s = settingsFromKubeconfig(cluster, { ...user, authProvider: { name: 'tokenFile', config: { tokenFile: '/sa/token' } } }, null, 'o');
    assert.deepEqual(s.token, { kind: 'file', path: '/sa/token' });
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

test('rawTokenFile reads the current user\'s tokenFile from the raw document', () => {
  const doc = { users: [{ name: 'a', user: { token: 'x' } }, { name: 'b', user: { tokenFile: 'tok' } }] };
  assert.equal(rawTokenFile(doc, 'b'), 'tok');
  assert.equal(rawTokenFile(doc, 'a'), null);
  assert.equal(rawTokenFile(doc, 'c'), null);
  assert.equal(rawTokenFile('junk', 'a'), null);
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
