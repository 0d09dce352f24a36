import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { api, asNode, currentToken, openWatch, smallNode, startTestEmulator, type WireList, type WireStatus } from './helpers.ts';

describe('emulator authentication', () => {
  it('answers a bad token with 401 and no token with 403, as Status objects', async (t) => {
    const emulator = await startTestEmulator(t);
    const bad = await api<WireStatus>(emulator, 'GET', '/api/v1/nodes', { token: 'not-a-token' });
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    const anonymous = await api<WireStatus>(emulator, 'GET', '/api/v1/nodes', { token: null });
    assert.equal(anonymous.status, 403);
    assert.equal(anonymous.body.reason, 'Forbidden');
    assert.equal(anonymous.body.message, 'nodes is forbidden: User "system:anonymous" cannot list resource "nodes" in API group "" at the cluster scope');
    assert.equal((await api(emulator, 'GET', '/version', { token: null })).status, 200);
    assert.equal((await api(emulator, 'GET', '/healthz', { token: null })).text, 'ok');
    assert.equal((await api(emulator, 'GET', '/version', { token: 'not-a-token' })).status, 401);
  });

  it('rotates tokens: the new one works at once, the old one after its grace period no more', async (t) => {
    const emulator = await startTestEmulator(t);
    const first = await currentToken(emulator);
    assert.equal((await api(emulator, 'GET', '/api/v1/nodes', { token: first })).status, 200);

    const second = await emulator.rotateToken();
    assert.notEqual(second, first);
    assert.equal(await readFile(emulator.tokenPath, 'utf8'), second);
    assert.equal((await api(emulator, 'GET', '/api/v1/nodes', { token: first })).status, 401);
    assert.equal((await api(emulator, 'GET', '/api/v1/nodes', { token: second })).status, 200);

    const third = await emulator.rotateToken({ graceMs: 300 });
    assert.equal((await api(emulator, 'GET', '/api/v1/nodes', { token: second })).status, 200, 'within the grace period');
    assert.equal((await api(emulator, 'GET', '/api/v1/nodes', { token: third })).status, 200);
    await delay(600);
    assert.equal((await api(emulator, 'GET', '/api/v1/nodes', { token: second })).status, 401, 'after the grace period');
  });

  it('serves the CA over plain HTTP and writes a kubeconfig pointing at the token file', async (t) => {
    const emulator = await startTestEmulator(t);
    const response = await fetch(emulator.caURL);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), emulator.caPem);
    assert.match(emulator.caPem, /^-----BEGIN CERTIFICATE-----/);
    const kubeconfig = JSON.parse(await readFile(emulator.kubeconfigPath, 'utf8')) as {
      clusters: { cluster: { server: string; 'certificate-authority': string } }[];
      users: { user: { tokenFile: string } }[];
    };
    assert.equal(kubeconfig.clusters[0]?.cluster.server, emulator.url);
    assert.equal(kubeconfig.clusters[0]?.cluster['certificate-authority'], emulator.caFile);
    assert.equal(kubeconfig.users[0]?.user.tokenFile, emulator.tokenPath);
  });
});

describe('emulator outage and counters', () => {
  it('drops watches, refuses connections during an outage, then serves again on the same URL', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.createNode(smallNode('a'));
    const rv = asNode(emulator.getNode('a')).metadata.resourceVersion;
    const watch = await openWatch(emulator, `resourceVersion=${rv}`, t);
    const outage = emulator.outage(400);
    await watch.ended;
    await assert.rejects(api(emulator, 'GET', '/api/v1/nodes'), { code: 'ECONNREFUSED' });
    emulator.createNode(smallNode('during-outage'));
    await outage;
    const list = await api<WireList>(emulator, 'GET', '/api/v1/nodes');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.items.map((n) => n.metadata.name), ['a', 'during-outage']);
    const resumed = await openWatch(emulator, `resourceVersion=${rv}`, t);
    assert.equal((await resumed.next()).object.metadata.name, 'during-outage', 'resume sees what happened during the outage');
  });

  it('an outage ends on time even when a client was still in its TLS handshake as it began', async (t) => {
    const emulator = await startTestEmulator(t);
    const { port, hostname } = new URL(emulator.url);
    // A TCP connection that has not finished TLS is not yet an HTTP connection: closeAllConnections does not see it,
    // and server.close() would wait for it (its handshake timeout is 120 s) while daemons reconnect in a loop.
    const socket = connect(Number(port), hostname);
    t.after(() => socket.destroy());
    socket.on('error', () => {});
    await once(socket, 'connect');
    const started = performance.now();
    await emulator.outage(100);
    const took = performance.now() - started;
    t.diagnostic(`outage of 100 ms took ${Math.round(took)} ms with a half-open TLS client`);
    assert.ok(socket.destroyed || socket.readableEnded, 'the half-open client was disconnected');
    assert.equal((await api(emulator, 'GET', '/api/v1/nodes')).status, 200);
  });

  it('counts requests by verb, bytes sent and open watches', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.seedNodes(3);
    assert.deepEqual(emulator.counters(), { requests: 0, bytesSent: 0, watchesOpen: 0, byVerb: {} });
    const list = await api(emulator, 'GET', '/api/v1/nodes');
    await api(emulator, 'GET', '/api/v1/nodes/node-00000');
    await api(emulator, 'PATCH', '/api/v1/nodes/node-00000', { contentType: 'application/merge-patch+json', body: { metadata: { labels: { a: 'b' } } } });
    await api(emulator, 'GET', '/api');
    const watch = await openWatch(emulator, 'resourceVersion=0', t);
    await watch.next();
    const counters = emulator.counters();
    assert.equal(counters.requests, 5);
    assert.deepEqual(counters.byVerb, { list: 1, get: 1, patch: 1, discovery: 1, watch: 1 });
    assert.equal(counters.watchesOpen, 1);
    assert.ok(counters.bytesSent > Buffer.byteLength(list.text) + 3 * 14_000, `bytesSent ${counters.bytesSent}`);
    watch.close();
    await watch.ended;
    for (let i = 0; i < 50 && emulator.counters().watchesOpen > 0; i++) await delay(10);
    assert.equal(emulator.counters().watchesOpen, 0);
  });
});
