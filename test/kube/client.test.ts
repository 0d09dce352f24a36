import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { createKubeClient } from '../../src/kube/client.ts';
import type { ConnectionSettings } from '../../src/kube/connection-settings.ts';
import type { HttpRequest, HttpResponse, TlsSettings, TransportFactory } from '../../src/kube/http-transport.ts';
import { KubeRequestError } from '../../src/kube/kube-request-error.ts';
import { makeCA } from './helpers/certs.ts';

type Handler = (request: HttpRequest, tls: TlsSettings) => Promise<HttpResponse>;

/** An in-memory transport: records every pool it was asked to build and every request. */
function fakeTransport(handler: Handler) {
  const pools: { tls: TlsSettings; closed: boolean }[] = [];
  const requests: { request: HttpRequest; body: string | undefined }[] = [];
  const factory: TransportFactory = (tls) => {
    const pool = { tls, closed: false };
    pools.push(pool);
    return {
      send: (request) => {
        requests.push({ request, body: request.body });
        return handler(request, tls);
      },
      close: () => {
        pool.closed = true;
      },
    };
  };
  return { factory, pools, requests };
}

function respond(status: number, body: unknown): Promise<HttpResponse> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return Promise.resolve({ status, body: Readable.from([Buffer.from(text)]) });
}

function counter() {
  return new Counter({ name: 'kube_requests', help: 'h', labelNames: ['host', 'code', 'method'] as const, registers: [new Registry()] });
}

async function counts(c: Counter<'host' | 'code' | 'method'>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await c.get()).values) out[`${v.labels.method} ${v.labels.code} ${v.labels.host}`] = v.value;
  return out;
}

const settings = (patch: Partial<ConnectionSettings> = {}): ConnectionSettings => ({
  server: 'https://api.c2.example:6443/prefix/',
  ca: { kind: 'system' },
  token: { kind: 'static', token: 'tok' },
  clientCertificate: null,
  tlsServerName: null,
  origin: 'test',
  ...patch,
});

test('json(): URL, headers, body and metrics of a request', async () => {
  const fake = fakeTransport(() => respond(200, { kind: 'Node', metadata: { name: 'n1' } }));
  const requests = counter();
  const client = createKubeClient({ cluster: 'c2', settings: settings(), requests, transport: fake.factory });
  const got = await client.json({
    method: 'PATCH',
    path: '/api/v1/nodes/n1',
    query: { fieldManager: 'clusterwire', skipped: undefined },
    body: { contentType: 'application/merge-patch+json', value: { metadata: { annotations: { a: 'b' } } } },
  });
  assert.deepEqual(got, { kind: 'Node', metadata: { name: 'n1' } });
  const [sent] = fake.requests;
  assert.ok(sent);
  assert.equal(sent.request.url.href, 'https://api.c2.example:6443/prefix/api/v1/nodes/n1?fieldManager=clusterwire');
  assert.equal(sent.request.method, 'PATCH');
  assert.equal(sent.request.headers.Authorization, 'Bearer tok');
  assert.equal(sent.request.headers['Content-Type'], 'application/merge-patch+json');
  assert.equal(sent.body, '{"metadata":{"annotations":{"a":"b"}}}');
  assert.equal(sent.request.headers['Content-Length'], String(sent.body?.length));
  assert.deepEqual(await counts(requests), { 'PATCH 200 api.c2.example:6443': 1 });
  assert.equal(client.host, 'api.c2.example:6443');
});

test('errors carry cluster, method, path, status and the Status message', async () => {
  const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'nodes "n9" not found', reason: 'NotFound', code: 404 };
  const fake = fakeTransport((req) => (req.url.pathname.endsWith('n9') ? respond(404, status) : respond(502, '<html>bad gateway</html>')));
  const client = createKubeClient({ cluster: 'c2', settings: settings(), requests: counter(), transport: fake.factory });
  await assert.rejects(client.json({ method: 'GET', path: '/api/v1/nodes/n9' }), (err: unknown) => {
    assert.ok(err instanceof KubeRequestError);
    assert.equal(err.status, 404);
    assert.equal(err.reason, 'NotFound');
    assert.equal(err.message, 'GET /api/v1/nodes/n9 on cluster c2 failed: HTTP 404 NotFound: nodes "n9" not found');
    return true;
  });
  await assert.rejects(client.json({ method: 'GET', path: '/api/v1/nodes' }), /GET \/api\/v1\/nodes on cluster c2 failed: HTTP 502: <html>bad gateway<\/html>/);
});

test('a connection error is counted as <error> and named', async () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 198.18.0.1:6443'), { code: 'ECONNREFUSED' });
  const fake = fakeTransport(() => Promise.reject(refused));
  const requests = counter();
  const client = createKubeClient({ cluster: 'c2', settings: settings(), requests, transport: fake.factory });
  await assert.rejects(client.json({ method: 'GET', path: '/api/v1/nodes' }), (err: unknown) => {
    assert.ok(err instanceof KubeRequestError);
    assert.equal(err.status, null);
    assert.match(err.message, /^GET \/api\/v1\/nodes on cluster c2 failed: connect ECONNREFUSED/);
    return true;
  });
  assert.deepEqual(await counts(requests), { 'GET <error> api.c2.example:6443': 1 });
});

test('401: the token file is re-read and the request retried once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-client-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'token');
  const fixed = 1_700_000_000;
  await writeFile(path, 'old-token');
  await utimes(path, fixed, fixed);
  let valid = 'old-token';
  const fake = fakeTransport((req) =>
    req.headers.Authorization === `Bearer ${valid}` ? respond(200, { ok: true }) : respond(401, { kind: 'Status', reason: 'Unauthorized', message: 'Unauthorized', code: 401 }),
  );
  const requests = counter();
  const client = createKubeClient({ cluster: 'c2', settings: settings({ token: { kind: 'file', path } }), requests, transport: fake.factory });
  assert.deepEqual(await client.json({ method: 'GET', path: '/api' }), { ok: true });

  // Rotated behind the stat check's back (same size and mtime): only the 401 reveals it.
  valid = 'new-token';
  await writeFile(path, 'new-token');
  await utimes(path, fixed, fixed);
  assert.deepEqual(await client.json({ method: 'GET', path: '/api' }), { ok: true });
  assert.deepEqual(
    fake.requests.map((r) => r.request.headers.Authorization),
    ['Bearer old-token', 'Bearer old-token', 'Bearer new-token'],
  );
  assert.deepEqual(await counts(requests), { 'GET 200 api.c2.example:6443': 2, 'GET 401 api.c2.example:6443': 1 });

  // Still refused with the freshest token: no second retry, a clear error.
  valid = 'something-else';
  await assert.rejects(client.json({ method: 'GET', path: '/api' }), /HTTP 401 Unauthorized/);
  assert.equal(fake.requests.length, 4);
});

test('a static token is not retried on 401', async () => {
  const fake = fakeTransport(() => respond(401, { kind: 'Status', reason: 'Unauthorized', message: 'Unauthorized', code: 401 }));
  const client = createKubeClient({ cluster: 'c2', settings: settings(), requests: counter(), transport: fake.factory });
  await assert.rejects(client.json({ method: 'GET', path: '/api' }), /HTTP 401/);
  assert.equal(fake.requests.length, 1);
});

test('TLS verification failure: CA fetched again, new connections, one retry', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-client-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [oldCA, newCA] = await Promise.all([makeCA(dir, 'old'), makeCA(dir, 'new')]);
  let served = oldCA;
  let fetches = 0;
  const fetchCA = () => {
    fetches += 1;
    return Promise.resolve(served);
  };
  let clock = 0;
  const verifyError = () => Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
  let serverCA = oldCA;
  const fake = fakeTransport((_req, tls) => (tls.ca === serverCA ? respond(200, {}) : Promise.reject(verifyError())));
  const requests = counter();
  const client = createKubeClient({
    cluster: 'c2',
    settings: settings({ ca: { kind: 'url', url: 'http://ca/ca.crt' } }),
    requests,
    transport: fake.factory,
    fetchCA,
    now: () => clock,
  });
  await client.json({ method: 'GET', path: '/api' });
  await client.json({ method: 'GET', path: '/api' });
  assert.equal(fetches, 1, 'the CA is fetched once, not per request');

  serverCA = newCA;
  served = newCA;
  await client.json({ method: 'GET', path: '/api' });
  assert.equal(fetches, 2);
  assert.equal(fake.pools.length, 2);
  assert.deepEqual(
    fake.pools.map((p) => [p.tls.ca === oldCA ? 'old' : 'new', p.closed]),
    [['old', true], ['new', false]],
  );

  // The server changes its CA again within the minute: no re-fetch, a clear error.
  serverCA = 'something else';
  await assert.rejects(client.json({ method: 'GET', path: '/api' }), {
    message: /TLS verification of api.c2.example:6443 failed against CA from http:\/\/ca\/ca.crt \(not re-fetched: the last re-fetch was 0 s ago, and there is at most one per 60 s\)/,
  });
  assert.equal(fetches, 2);

  // A minute later: fetched again; the CA URL still serves a CA that does not verify the server.
  clock += 60_000;
  await assert.rejects(client.json({ method: 'GET', path: '/api' }), (err: Error) => {
    assert.match(err.message, /GET \/api on cluster c2 failed: TLS verification of api.c2.example:6443 failed against CA from http:\/\/ca\/ca.crt \(re-fetched, unchanged\)/);
    assert.match(err.message, /self-signed certificate in certificate chain/);
    return true;
  });
  assert.equal(fetches, 3);
  assert.deepEqual(await counts(requests), { 'GET 200 api.c2.example:6443': 3, 'GET <error> api.c2.example:6443': 3 });
});

test('a hostname mismatch does not re-fetch the CA: no CA fixes it, and the CA URL gets no chance to swap it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-client-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = await makeCA(dir, 'ca');
  let fetches = 0;
  const altname = Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  const fake = fakeTransport(() => Promise.reject(altname));
  const client = createKubeClient({
    cluster: 'c2',
    settings: settings({ ca: { kind: 'url', url: 'http://ca/ca.crt' } }),
    requests: counter(),
    transport: fake.factory,
    fetchCA: () => {
      fetches += 1;
      return Promise.resolve(ca);
    },
  });
  await assert.rejects(client.json({ method: 'GET', path: '/api' }), {
    message: /TLS verification of api.c2.example:6443 failed against CA from http:\/\/ca\/ca.crt \(not a CA change, so the CA is not fetched again\): Hostname\/IP does not match/,
  });
  assert.equal(fetches, 1);
  assert.equal(fake.requests.length, 1);
});

test('a pinned CA: a re-fetch that answers another CA is refused, the token is never sent under it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-client-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [good, evil] = await Promise.all([makeCA(dir, 'good'), makeCA(dir, 'evil')]);
  let served = good;
  let serverCA = good;
  const verifyError = () => Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  const fake = fakeTransport((_req, tls) => (tls.ca === serverCA ? respond(200, {}) : Promise.reject(verifyError())));
  const client = createKubeClient({
    cluster: 'c2',
    settings: settings({ ca: { kind: 'url', url: 'http://ca/ca.crt', sha256: new X509Certificate(good).fingerprint256 } }),
    requests: counter(),
    transport: fake.factory,
    fetchCA: () => Promise.resolve(served),
  });
  await client.json({ method: 'GET', path: '/api' });
  // An on-path attacker answers the apiserver and the CA URL with its own CA.
  serverCA = evil;
  served = evil;
  await assert.rejects(client.json({ method: 'GET', path: '/api' }), {
    message: /reloading CA from http:\/\/ca\/ca.crt after a TLS verification failure failed: CA from http:\/\/ca\/ca.crt does not match remoteCASHA256/,
  });
  assert.ok(
    fake.pools.every((pool) => pool.tls.ca !== evil),
    'no connection ever trusted the unpinned CA',
  );
});

test('client certificate files reach the TLS settings', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-client-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'c.crt'), 'CERT PEM');
  await writeFile(join(dir, 'c.key'), 'KEY PEM');
  const fake = fakeTransport(() => respond(200, {}));
  const client = createKubeClient({
    cluster: 'c2',
    settings: settings({
      clientCertificate: { cert: { kind: 'file', path: join(dir, 'c.crt') }, key: { kind: 'file', path: join(dir, 'c.key') } },
      tlsServerName: 'kubernetes.default',
      token: { kind: 'none' },
    }),
    requests: counter(),
    transport: fake.factory,
  });
  await client.json({ method: 'GET', path: '/api' });
  assert.deepEqual(fake.pools[0]?.tls, { ca: null, cert: 'CERT PEM', key: 'KEY PEM', servername: 'kubernetes.default' });
  assert.equal(fake.requests[0]?.request.headers.Authorization, undefined);
});

test('json() times out; stream() only until the headers arrive', async () => {
  const never = () =>
    new Promise<HttpResponse>((_resolve, reject) => {
      // Like node:https, the pending request fails when its signal aborts.
      const signal = fake.requests.at(-1)?.request.signal;
      signal?.addEventListener('abort', () => reject(new Error('aborted')));
    });
  let handler: Handler = never;
  const fake = fakeTransport((req, tls) => handler(req, tls));
  const client = createKubeClient({ cluster: 'c2', settings: settings(), requests: counter(), transport: fake.factory, requestTimeoutMs: 50 });
  await assert.rejects(client.json({ method: 'GET', path: '/api/v1/nodes' }), /GET \/api\/v1\/nodes on cluster c2 failed: timed out after 50 ms/);
  await assert.rejects(client.stream({ method: 'GET', path: '/api/v1/nodes' }), /no response within 50 ms/);

  const body = new PassThrough();
  handler = () => Promise.resolve({ status: 200, body });
  const stream = await client.stream({ method: 'GET', path: '/api/v1/nodes' });
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.equal(fake.requests.at(-1)?.request.signal.aborted, false, 'a watch outlives the request timeout');
  body.end('{"x":1}\n');
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  assert.equal(Buffer.concat(chunks).toString(), '{"x":1}\n');
});

test('a caller abort is passed down to the request', async () => {
  const controller = new AbortController();
  // Like node:https: an aborted signal fails the request, already aborted or later.
  const fake = fakeTransport(
    (req) =>
      new Promise((_resolve, reject) => {
        if (req.signal.aborted) reject(new Error('The operation was aborted'));
        req.signal.addEventListener('abort', () => reject(new Error('The operation was aborted')));
      }),
  );
  const client = createKubeClient({ cluster: 'c2', settings: settings(), requests: counter(), transport: fake.factory });
  const pending = client.json({ method: 'GET', path: '/api', signal: controller.signal });
  controller.abort();
  await assert.rejects(pending, /GET \/api on cluster c2 failed: .*aborted/);
});

test('json(): POST, PUT and DELETE send their method and JSON body; a 2xx answer is parsed', async () => {
  const fake = fakeTransport((request) => respond(request.method === 'POST' ? 201 : 200, { method: request.method }));
  const requests = counter();
  const client = createKubeClient({ cluster: 'c2', settings: settings(), requests, transport: fake.factory });
  const json = { contentType: 'application/json', value: { kind: 'Secret', metadata: { name: 's' } } };
  const cases = [
    { method: 'POST', path: '/api/v1/namespaces/clusterwire/secrets', body: json },
    { method: 'PUT', path: '/api/v1/namespaces/clusterwire/secrets/s', body: json },
    { method: 'DELETE', path: '/api/v1/namespaces/clusterwire/secrets/s', body: { contentType: 'application/json', value: { preconditions: { uid: 'u1' } } } },
    { method: 'DELETE', path: '/api/v1/namespaces/clusterwire/secrets/t', body: undefined },
  ] as const;
  for (const request of cases) assert.deepEqual(await client.json(request), { method: request.method });
  assert.deepEqual(
    fake.requests.map(({ request, body }) => [request.method, request.url.pathname, request.headers['Content-Type'], body]),
    cases.map((c) => [c.method, `/prefix${c.path}`, c.body?.contentType, c.body === undefined ? undefined : JSON.stringify(c.body.value)]),
  );
  assert.deepEqual(await counts(requests), {
    'POST 201 api.c2.example:6443': 1,
    'PUT 200 api.c2.example:6443': 1,
    'DELETE 200 api.c2.example:6443': 2,
  });
});

test('a refused write names its method and path: a 409 Conflict on PUT', async () => {
  const fake = fakeTransport(() =>
    respond(409, { kind: 'Status', reason: 'Conflict', message: 'the object has been modified; please apply your changes to the latest version and try again' }),
  );
  const client = createKubeClient({ cluster: 'c1', settings: settings(), requests: counter(), transport: fake.factory });
  await assert.rejects(client.json({ method: 'PUT', path: '/api/v1/namespaces/clusterwire/configmaps/clusterwire-config', body: { contentType: 'application/json', value: {} } }), (err: unknown) => {
    assert.ok(err instanceof KubeRequestError);
    assert.equal(err.status, 409);
    assert.equal(err.reason, 'Conflict');
    assert.match(err.message, /^PUT \/api\/v1\/namespaces\/clusterwire\/configmaps\/clusterwire-config on cluster c1 failed: HTTP 409 Conflict: the object has been modified/);
    return true;
  });
});
