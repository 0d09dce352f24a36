import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { connectionSettings, createKubeClient } from '../../src/kube/client.ts';
import { inClusterSettings } from '../../src/kube/in-cluster.ts';
import { createMetrics } from '../../src/metrics.ts';
import { makeCA } from './helpers/certs.ts';
import { clientFor, emulatorFor, requestCounts } from './helpers/emulator.ts';

/* Integration: credentials against the emulated apiserver, over real TLS with node:https. */

/** A plain-HTTP CA server on loopback that serves whatever `pem()` returns and counts fetches. */
async function caServer(t: TestContext, pem: () => string): Promise<{ url: string; fetches: () => number }> {
  let fetches = 0;
  const server: Server = createServer((_req, res) => {
    fetches += 1;
    res.writeHead(200, { 'Content-Type': 'application/x-pem-file' });
    res.end(pem());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ca.crt`, fetches: () => fetches };
}

test('token rotated on disk: the next request uses the new one, no 401', async (t) => {
  const { emulator } = await emulatorFor(t);
  const { client, metrics } = clientFor(t, { kind: 'token', apiURL: emulator.url, caURL: emulator.caURL, tokenPath: emulator.tokenPath });
  await client.json({ method: 'GET', path: '/api/v1/nodes' });
  await emulator.rotateToken(); // the old token is refused at once
  await client.json({ method: 'GET', path: '/api/v1/nodes' });
  assert.deepEqual(await requestCounts(metrics), { 'GET 200': 2 });
});

test('401: the token file is re-read and the request retried once', async (t) => {
  const { emulator, dir } = await emulatorFor(t);
  // A token file whose rewrite the stat check cannot see (same inode, size and mtime): only the 401 reveals it.
  const tokenPath = join(dir, 'token');
  const fixed = 1_700_000_000;
  await copyFile(emulator.tokenPath, tokenPath);
  await utimes(tokenPath, fixed, fixed);
  const { client, metrics } = clientFor(t, { kind: 'token', apiURL: emulator.url, caURL: emulator.caURL, tokenPath });
  await client.json({ method: 'GET', path: '/api/v1/nodes' });

  const fresh = await emulator.rotateToken();
  await writeFile(tokenPath, fresh);
  await utimes(tokenPath, fixed, fixed);
  await client.json({ method: 'GET', path: '/api/v1/nodes' });
  assert.deepEqual(await requestCounts(metrics), { 'GET 200': 2, 'GET 401': 1 });

  // A token that stays refused: one retry, then a clear error.
  await writeFile(tokenPath, 'x'.repeat(fresh.length));
  await assert.rejects(client.json({ method: 'GET', path: '/api/v1/nodes' }), (err: Error) => {
    assert.match(err.message, /^GET \/api\/v1\/nodes on cluster c2 failed: HTTP 401 Unauthorized/);
    return true;
  });
  assert.deepEqual(await requestCounts(metrics), { 'GET 200': 2, 'GET 401': 2 });
});

test('wrong CA: a clear error and no request reaches the apiserver', async (t) => {
  const { emulator, dir } = await emulatorFor(t);
  const wrongCA = await makeCA(dir, 'wrong');
  const token = await readFile(emulator.tokenPath, 'utf8');
  const kubeconfig = join(dir, 'wrong-ca.kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e', cluster: { server: emulator.url, 'certificate-authority-data': Buffer.from(wrongCA).toString('base64') } }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'e', context: { cluster: 'e', user: 'u' } }],
      'current-context': 'e',
    }),
  );
  const { client, metrics } = clientFor(t, { kind: 'kubeconfig', path: kubeconfig });
  const served = emulator.counters().requests;
  await assert.rejects(client.json({ method: 'GET', path: '/api/v1/nodes' }), (err: Error) => {
    assert.match(err.message, /^GET \/api\/v1\/nodes on cluster c2 failed: TLS verification of 127\.0\.0\.1:\d+ failed against inline certificate-authority-data/);
    assert.match(err.message, /self.signed|unable to verify/i);
    return true;
  });
  assert.equal(emulator.counters().requests, served);
  assert.deepEqual(await requestCounts(metrics), { 'GET <error>': 1 });
});

test('CA fetched from the CA URL once, and again after a verification failure', async (t) => {
  const { emulator, dir } = await emulatorFor(t);
  const wrongCA = await makeCA(dir, 'wrong');
  let serve = wrongCA;
  const ca = await caServer(t, () => serve);
  let clock = 0;
  const { client, metrics } = clientFor(t, { kind: 'token', apiURL: emulator.url, caURL: ca.url, tokenPath: emulator.tokenPath }, 'c2', () => clock);

  // The CA URL serves a CA that does not sign the apiserver: fetched again once, still wrong, clear error.
  await assert.rejects(client.json({ method: 'GET', path: '/api/v1/nodes' }), /TLS verification of 127\.0\.0\.1:\d+ failed against CA from http:\/\/127\.0\.0\.1:\d+\/ca\.crt \(re-fetched, unchanged\)/);
  assert.equal(ca.fetches(), 2);
  assert.equal(emulator.counters().requests, 0);

  // The remote rotated to the right CA: the next verification failure (a minute later) fetches it and the retry succeeds.
  serve = emulator.caPem;
  clock += 60_000;
  await client.json({ method: 'GET', path: '/api/v1/nodes' });
  assert.equal(ca.fetches(), 3);
  await client.json({ method: 'GET', path: '/api/v1/nodes' });
  await client.json({ method: 'GET', path: '/api/v1/nodes' });
  assert.equal(ca.fetches(), 3, 'not fetched per request or per connection');
  assert.deepEqual(await requestCounts(metrics), { 'GET <error>': 2, 'GET 200': 3 });
});

test('a pinned CA URL over plain http: only the pinned certificate of the bundle is trusted; another CA is refused before any request', async (t) => {
  const { emulator, dir } = await emulatorFor(t);
  const wrongCA = await makeCA(dir, 'wrong');
  let serve = `${wrongCA}${emulator.caPem}`;
  const ca = await caServer(t, () => serve);
  const pin = new X509Certificate(emulator.caPem).fingerprint256;
  const { client, metrics } = clientFor(t, { kind: 'token', apiURL: emulator.url, caURL: ca.url, tokenPath: emulator.tokenPath, caSHA256: pin });
  await client.json({ method: 'GET', path: '/api/v1/nodes' });
  assert.equal(ca.fetches(), 1);

  const other = createKubeClient({
    cluster: 'c2',
    settings: connectionSettings({ kind: 'token', apiURL: emulator.url, caURL: ca.url, tokenPath: emulator.tokenPath, caSHA256: pin }),
    requests: metrics.kubeHttpRequests,
  });
  t.after(() => other.close());
  serve = wrongCA;
  const served = emulator.counters().requests;
  await assert.rejects(other.json({ method: 'GET', path: '/api/v1/nodes' }), /loading CA from http:\/\/127\.0\.0\.1:\d+\/ca\.crt failed: CA from .* does not match remoteCASHA256/);
  assert.equal(emulator.counters().requests, served, 'no request, so no token, went out');
});

test('in-cluster: service-account token and CA from the pod volume, API from KUBERNETES_SERVICE_*', async (t) => {
  const { emulator, dir } = await emulatorFor(t);
  const volume = join(dir, 'pod', 'var/run/secrets/kubernetes.io/serviceaccount');
  await mkdir(volume, { recursive: true });
  await copyFile(emulator.tokenPath, join(volume, 'token'));
  await copyFile(emulator.caFile, join(volume, 'ca.crt'));
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  t.after(() => {
    for (const [key, value] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  const url = new URL(emulator.url);
  process.env.KUBERNETES_SERVICE_HOST = url.hostname;
  process.env.KUBERNETES_SERVICE_PORT = url.port;
  const metrics = createMetrics(new Registry());
  const client = createKubeClient({ cluster: 'local', settings: inClusterSettings(join(dir, 'pod')), requests: metrics.kubeHttpRequests });
  t.after(() => client.close());
  const list = (await client.json({ method: 'GET', path: '/api/v1/nodes' })) as { kind: string };
  assert.equal(list.kind, 'NodeList');
});
