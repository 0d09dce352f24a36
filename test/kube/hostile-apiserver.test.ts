/**
 * A remote apiserver is untrusted (docs/how-it-works.md, "Bounds"): a body
 * or a watch line that never ends must fail its request, close the
 * connection and keep memory bounded, never crash the process. A real
 * HTTPS server on loopback plays the hostile apiserver.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { createServingCertificates } from '../../lab/emulator/certificates.ts';
import { createKubeClient, isResponseTooLarge, MAX_BODY_BYTES } from '../../src/kube/client.ts';
import type { HttpResponse, TransportFactory } from '../../src/kube/http-transport.ts';
import { MAX_LINE_BYTES } from '../../src/kube/watch-lines.ts';
import { watchEventBatches } from '../../src/kube/watch-stream.ts';
import { systemClock } from '../../src/clock/clock.ts';

const CHUNK = Buffer.alloc(64 * 1024, 'a');

/** An HTTPS server whose every answer is `head` followed by `a`s for ever; records how much it wrote and when the client hung up. */
async function endlessServer(t: TestContext, head: string) {
  const dir = await mkdtemp(join(tmpdir(), 'cw-hostile-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const certs = await createServingCertificates(dir, '127.0.0.1');
  const state = { written: 0, closed: 0 };
  const pump = (res: ServerResponse) => {
    while (!res.destroyed) {
      state.written += CHUNK.length;
      if (!res.write(CHUNK)) break;
    }
  };
  const server = createServer({ cert: await readFile(certs.certFile), key: await readFile(certs.keyFile) }, (_req, res) => {
    res.on('close', () => (state.closed += 1));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(head);
    res.on('drain', () => pump(res));
    pump(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  t.after(() => server.closeAllConnections());
  const port = (server.address() as { port: number }).port;
  const client = createKubeClient({
    cluster: 'hostile',
    settings: { server: `https://127.0.0.1:${port}`, ca: { kind: 'inline', pem: certs.caPem }, token: { kind: 'none' }, clientCertificate: null, tlsServerName: null, origin: 'test' },
    requests: new Counter({ name: 'kube_requests', help: 'h', labelNames: ['host', 'code', 'method'] as const, registers: [new Registry()] }),
  });
  t.after(() => client.close());
  return { client, state };
}

test(`a response body over ${MAX_BODY_BYTES} bytes fails the request and closes the connection`, async (t) => {
  const { client, state } = await endlessServer(t, '{"kind":"NodeList","items":["');
  const rssBefore = process.memoryUsage().rss;
  await assert.rejects(client.json({ method: 'GET', path: '/api/v1/nodes' }), (err: Error) => {
    assert.ok(isResponseTooLarge(err), String(err));
    assert.equal(err.message, `GET /api/v1/nodes on cluster hostile failed: response body larger than ${MAX_BODY_BYTES} bytes`);
    return true;
  });
  await t.waitFor(() => assert.equal(state.closed, 1));
  const written = state.written;
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(state.written, written, 'nothing more is read');
  t.diagnostic(`the server wrote ${(written / 2 ** 20).toFixed(1)} MiB before the client hung up; RSS grew ${((process.memoryUsage().rss - rssBefore) / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(written < MAX_BODY_BYTES + 16 * 2 ** 20, `${written} bytes written: the client kept reading past the cap`);
});

test(`a watch line over ${MAX_LINE_BYTES} bytes fails the watch and closes the connection`, async (t) => {
  const { client, state } = await endlessServer(t, '{"type":"ADDED","object":{"metadata":{"name":"');
  const body = await client.stream({ method: 'GET', path: '/api/v1/nodes', query: { watch: '1' } });
  const events: unknown[] = [];
  await assert.rejects(
    (async () => {
      for await (const batch of watchEventBatches(body, 60_000, systemClock)) events.push(...batch);
    })(),
    new RegExp(`watch line longer than ${MAX_LINE_BYTES} bytes`),
  );
  assert.deepEqual(events, []);
  await t.waitFor(() => assert.equal(state.closed, 1));
  t.diagnostic(`the server wrote ${(state.written / 2 ** 20).toFixed(1)} MiB before the client hung up`);
  assert.ok(state.written < MAX_LINE_BYTES + 16 * 2 ** 20, `${state.written} bytes written`);
});

test('an error answer is read only for its message: at most 64 KiB of it', async () => {
  let pulled = 0;
  const endless = Readable.from(
    (function* () {
      for (;;) {
        pulled += 1;
        yield Buffer.alloc(16 * 1024, 'x');
      }
    })(),
  );
  const transport: TransportFactory = () => ({ send: () => Promise.resolve<HttpResponse>({ status: 500, body: endless }), close: () => undefined });
  const client = createKubeClient({
    cluster: 'c2',
    settings: { server: 'https://api.c2.example:6443', ca: { kind: 'system' }, token: { kind: 'none' }, clientCertificate: null, tlsServerName: null, origin: 'test' },
    requests: new Counter({ name: 'kube_requests', help: 'h', labelNames: ['host', 'code', 'method'] as const, registers: [new Registry()] }),
    transport,
  });
  await assert.rejects(client.json({ method: 'GET', path: '/api' }), (err: Error) => {
    assert.match(err.message, /^GET \/api on cluster c2 failed: HTTP 500: x{500}$/);
    return true;
  });
  assert.ok(pulled <= 5, `${pulled} chunks of 16 KiB read`);
  assert.equal(endless.destroyed, true);
});
