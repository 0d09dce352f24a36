import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, test, type TestContext } from 'node:test';
import { caFingerprint } from '../../src/config/ca-fingerprint.ts';
import { CA_RELOAD_INTERVAL_MS, caSource, fetchCAOverHttp, isCARotationError, redirectTarget } from '../../src/kube/ca-source.ts';
import { execCommand } from '../../src/process/exec.ts';
import { makeCA } from './helpers/certs.ts';

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

test('CA sources', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-ca-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [ca1, ca2, ca3] = await Promise.all([makeCA(dir, 'one'), makeCA(dir, 'two'), makeCA(dir, 'three')]);
  let clock = 1_000_000;
  const now = () => clock;

  await t.test('URL: fetched once, shared by concurrent callers, fetched again only on reload', async () => {
    const served = [ca1, ca2];
    const fetched: string[] = [];
    const source = caSource(
      { kind: 'url', url: 'http://ca.example/ca.crt' },
      {
        now,
        fetchCA: (url) => {
          fetched.push(url);
          return Promise.resolve(served[fetched.length - 1] ?? ca2);
        },
      },
    );
    assert.deepEqual(await Promise.all([source.current(), source.current()]), [ca1, ca1]);
    assert.equal(await source.current(), ca1);
    assert.equal(fetched.length, 1);
    assert.deepEqual(await source.reload(), { pem: ca2, refetched: true });
    assert.equal(await source.current(), ca2);
    assert.deepEqual(fetched, ['http://ca.example/ca.crt', 'http://ca.example/ca.crt']);
  });

  await t.test('URL: a failed or bogus fetch is an error that does not stick', async () => {
    let answer: () => Promise<string> = () => Promise.reject(new Error('connection refused'));
    const source = caSource({ kind: 'url', url: 'http://ca.example/ca.crt' }, { now, fetchCA: () => answer() });
    await assert.rejects(source.current(), /connection refused/);
    answer = () => Promise.resolve('<html>oops</html>');
    await assert.rejects(source.current(), /CA from http:\/\/ca.example\/ca.crt is not a PEM certificate/);
    answer = () => Promise.resolve('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await assert.rejects(source.current(), /is not a valid certificate/);
    answer = () => Promise.resolve(ca1);
    assert.equal(await source.current(), ca1);
  });

  await t.test('reload: at most once per interval, concurrent callers share one; within the interval the current CA', async () => {
    let fetches = 0;
    let serve = ca1;
    const source = caSource(
      { kind: 'url', url: 'http://ca.example/ca.crt' },
      {
        now,
        fetchCA: () => {
          fetches += 1;
          return Promise.resolve(serve);
        },
      },
    );
    await source.current();
    serve = ca2;
    const [a, b] = await Promise.all([source.reload(), source.reload()]);
    assert.deepEqual([a, b], [{ pem: ca2, refetched: true }, { pem: ca2, refetched: true }]);
    assert.equal(fetches, 2);

    serve = ca3;
    clock += CA_RELOAD_INTERVAL_MS - 1;
    assert.deepEqual(await source.reload(), {
      pem: ca2,
      refetched: false,
      why: 'the last re-fetch was 60 s ago, and there is at most one per 60 s',
    });
    assert.equal(fetches, 2);
    clock += 1;
    assert.deepEqual(await source.reload(), { pem: ca3, refetched: true });
    assert.equal(fetches, 3);
  });

  await t.test('reload: a failed re-fetch keeps the CA it had, and counts against the interval', async () => {
    let answer: () => Promise<string> = () => Promise.resolve(ca1);
    let fetches = 0;
    const source = caSource(
      { kind: 'url', url: 'http://ca.example/ca.crt' },
      {
        now,
        fetchCA: () => {
          fetches += 1;
          return answer();
        },
      },
    );
    await source.current();
    answer = () => Promise.resolve('<html>oops</html>');
    await assert.rejects(source.reload(), /not a PEM certificate/);
    assert.equal(await source.current(), ca1);
    answer = () => Promise.resolve(ca2);
    assert.equal((await source.reload()).refetched, false);
    assert.equal(fetches, 2);
  });

  await t.test('pinned: only the pinned certificate of a bundle is trusted', async () => {
    const source = caSource({ kind: 'url', url: 'http://ca.example/ca.crt', sha256: fingerprint(ca2) }, { now, fetchCA: () => Promise.resolve(`${ca1}${ca2}${ca3}`) });
    const pem = await source.current();
    assert.equal(fingerprint(pem as string), fingerprint(ca2));
    assert.equal(pem?.match(/BEGIN CERTIFICATE/g)?.length, 1);
  });

  await t.test('pinned: a CA that does not match is refused with both fingerprints, and fetched again on a later request', async () => {
    let serve = ca1;
    let fetches = 0;
    const source = caSource(
      { kind: 'url', url: 'http://ca.example/ca.crt', sha256: fingerprint(ca2) },
      {
        now,
        fetchCA: () => {
          fetches += 1;
          return Promise.resolve(serve);
        },
      },
    );
    await assert.rejects(source.current(), {
      message: `CA from http://ca.example/ca.crt does not match remoteCASHA256 ${fingerprint(ca2)}: it holds ${fingerprint(ca1)}; refused (fetched again on a later request)`,
    });
    serve = ca2;
    assert.equal(await source.current(), ca2);
    assert.equal(fetches, 2);
  });

  await t.test('pinned: a re-fetched CA must pass the pin too; the pinned one stays', async () => {
    let serve = ca2;
    const source = caSource({ kind: 'url', url: 'http://ca.example/ca.crt', sha256: fingerprint(ca2) }, { now, fetchCA: () => Promise.resolve(serve) });
    assert.equal(await source.current(), ca2);
    serve = ca3; // an on-path attacker's CA
    clock += CA_RELOAD_INTERVAL_MS;
    await assert.rejects(source.reload(), /does not match remoteCASHA256/);
    assert.equal(await source.current(), ca2);
  });

  await t.test('file: read on first use and re-read on reload', async () => {
    const path = join(dir, 'bundle.crt');
    await writeFile(path, ca1);
    const source = caSource({ kind: 'file', path }, { now });
    assert.equal(await source.current(), ca1);
    await writeFile(path, ca2);
    assert.equal(await source.current(), ca1);
    clock += CA_RELOAD_INTERVAL_MS;
    assert.deepEqual(await source.reload(), { pem: ca2, refetched: true });
  });

  await t.test('inline: checked at once, never changes', async () => {
    const source = caSource({ kind: 'inline', pem: ca1 });
    assert.deepEqual(await source.reload(), { pem: ca1, refetched: false, why: 'it cannot change' });
    assert.throws(() => caSource({ kind: 'inline', pem: 'nope' }), /inline certificate-authority-data is not a PEM/);
  });

  await t.test('system: null', async () => {
    assert.equal(await caSource({ kind: 'system' }).current(), null);
  });

  await t.test("remoteCASHA256's format is what openssl x509 -fingerprint -sha256 prints after '='", async () => {
    await writeFile(join(dir, 'pin.crt'), ca1);
    const { stdout } = await execCommand('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', join(dir, 'pin.crt')]);
    const printed = stdout.trim().split('=')[1] ?? '';
    assert.equal(caFingerprint(printed), fingerprint(ca1));
    const { stdout: der } = await execCommand('sh', ['-c', `openssl x509 -in ${join(dir, 'pin.crt')} -outform DER | sha256sum`]);
    assert.equal(caFingerprint(der.split(' ')[0] ?? ''), fingerprint(ca1));
  });
});

describe('isCARotationError: only failures a new CA can fix re-fetch it', () => {
  const cases: [code: string | undefined, rotation: boolean][] = [
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', true],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', true],
    ['SELF_SIGNED_CERT_IN_CHAIN', true],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', true],
    ['CERT_SIGNATURE_FAILURE', true],
    ['CERT_HAS_EXPIRED', true],
    ['ERR_TLS_CERT_ALTNAME_INVALID', false],
    ['CERT_NOT_YET_VALID', false],
    ['ECONNRESET', false],
    [undefined, false],
  ];
  for (const [code, rotation] of cases) {
    it(`${code ?? 'no code'} → ${rotation}`, () => assert.equal(isCARotationError(Object.assign(new Error('x'), { code })), rotation));
  }
});

describe('redirectTarget: followed only within the origin of remoteCAURL', () => {
  const OUTSIDE = 'redirects to another scheme, host or port are not followed (set remoteCAURL to where the CA is)';
  const cases: [name: string, start: string, from: string, location: string | null, expected: ReturnType<typeof redirectTarget>][] = [
    ['a relative path', 'https://ca.example/ca.crt', 'https://ca.example/ca.crt', '/v2/ca.crt', { ok: true, url: 'https://ca.example/v2/ca.crt' }],
    ['an absolute URL on the same origin', 'http://ca.example:8080/a', 'http://ca.example:8080/b', 'http://ca.example:8080/c', { ok: true, url: 'http://ca.example:8080/c' }],
    ['https to http', 'https://ca.example/ca.crt', 'https://ca.example/ca.crt', 'http://ca.example/ca.crt', { ok: false, reason: `a redirect to http://ca.example/ca.crt, outside https://ca.example: ${OUTSIDE}` }],
    ['http to https (still another scheme)', 'http://ca.example/ca.crt', 'http://ca.example/ca.crt', 'https://ca.example/ca.crt', { ok: false, reason: `a redirect to https://ca.example/ca.crt, outside http://ca.example: ${OUTSIDE}` }],
    ['another host', 'https://ca.example/ca.crt', 'https://ca.example/ca.crt', 'https://evil.example/ca.crt', { ok: false, reason: `a redirect to https://evil.example/ca.crt, outside https://ca.example: ${OUTSIDE}` }],
    ['another port', 'https://ca.example/ca.crt', 'https://ca.example/ca.crt', 'https://ca.example:8443/ca.crt', { ok: false, reason: `a redirect to https://ca.example:8443/ca.crt, outside https://ca.example: ${OUTSIDE}` }],
    ['a protocol-relative URL to another host', 'https://ca.example/ca.crt', 'https://ca.example/x', '//evil.example/ca.crt', { ok: false, reason: `a redirect to https://evil.example/ca.crt, outside https://ca.example: ${OUTSIDE}` }],
    ['no Location', 'https://ca.example/ca.crt', 'https://ca.example/ca.crt', null, { ok: false, reason: 'a redirect without a Location' }],
  ];
  for (const [name, start, from, location, expected] of cases) {
    it(name, () => assert.deepEqual(redirectTarget(start, from, location), expected));
  }
});

/** A loopback HTTP server answering with `handler`; its base URL on 127.0.0.1. */
async function server(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ base: string; port: number; hits: string[] }> {
  const hits: string[] = [];
  const http = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => http.close(() => resolve())));
  const port = (http.address() as AddressInfo).port;
  return { base: `http://127.0.0.1:${port}`, port, hits };
}

describe('fetchCAOverHttp, against a loopback server', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const redirect = (res: ServerResponse, location: string, status = 302) => {
    res.writeHead(status, { Location: location });
    res.end();
  };

  it('follows redirects within the origin', async (t) => {
    const { base, hits } = await server(t, (req, res) => {
      if (req.url === '/ca.crt') return redirect(res, '/v1/ca.crt', 301);
      if (req.url === '/v1/ca.crt') return redirect(res, `${base}/v2/ca.crt`, 308);
      res.end(PEM);
    });
    assert.equal(await fetchCAOverHttp(`${base}/ca.crt`), PEM);
    assert.deepEqual(hits, ['/ca.crt', '/v1/ca.crt', '/v2/ca.crt']);
  });

  it('refuses a redirect to another host, and does not fetch from it', async (t) => {
    const other = await server(t, (_req, res) => res.end(PEM));
    const { base } = await server(t, (_req, res) => redirect(res, `http://localhost:${other.port}/ca.crt`));
    await assert.rejects(fetchCAOverHttp(`${base}/ca.crt`), {
      message: `fetching CA from ${base}/ca.crt failed: HTTP 302 from ${base}/ca.crt: a redirect to http://localhost:${other.port}/ca.crt, outside ${base}: redirects to another scheme, host or port are not followed (set remoteCAURL to where the CA is)`,
    });
    assert.deepEqual(other.hits, []);
  });

  it('refuses a redirect to another port of the same host', async (t) => {
    const other = await server(t, (_req, res) => res.end(PEM));
    const { base } = await server(t, (_req, res) => redirect(res, `${other.base}/ca.crt`, 307));
    await assert.rejects(fetchCAOverHttp(`${base}/ca.crt`), /HTTP 307 from .*: a redirect to http:\/\/127\.0\.0\.1:\d+\/ca\.crt, outside/);
    assert.deepEqual(other.hits, []);
  });

  it('refuses http → https on the same host', async (t) => {
    const { base, port } = await server(t, (_req, res) => redirect(res, `https://127.0.0.1:${port}/ca.crt`));
    await assert.rejects(fetchCAOverHttp(`${base}/ca.crt`), /a redirect to https:\/\/127\.0\.0\.1:\d+\/ca\.crt, outside http:\/\/127\.0\.0\.1:\d+/);
  });

  it('stops after 5 redirects', async (t) => {
    const { base, hits } = await server(t, (req, res) => redirect(res, `${req.url ?? ''}x`));
    await assert.rejects(fetchCAOverHttp(`${base}/ca`), { message: `fetching CA from ${base}/ca failed: more than 5 redirects` });
    assert.equal(hits.length, 6);
  });

  it('fails on an HTTP error and on a body over 1 MiB', async (t) => {
    const { base } = await server(t, (req, res) => {
      if (req.url === '/missing') {
        res.writeHead(404);
        return res.end('not found');
      }
      // Chunked, no Content-Length: the cap applies while reading.
      res.writeHead(200, { 'Content-Type': 'application/x-pem-file' });
      const chunk = 'A'.repeat(64 * 1024);
      for (let i = 0; i < 17; i += 1) res.write(chunk);
      res.end();
    });
    await assert.rejects(fetchCAOverHttp(`${base}/missing`), { message: `fetching CA from ${base}/missing failed: HTTP 404` });
    await assert.rejects(fetchCAOverHttp(`${base}/big`), { message: `CA from ${base}/big is larger than 1048576 bytes` });
  });
});
