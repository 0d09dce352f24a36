import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { systemClock, type Clock } from '../../src/clock/clock.ts';
import { removeAnnotations } from '../../src/kube/annotation-removal.ts';
import type { KubeRequest } from '../../src/kube/client.ts';
import { KubeRequestError } from '../../src/kube/kube-request-error.ts';
import { endpointFor } from '../../src/kube/node-annotations.ts';
import { NodeAdvertiser, type NodeAdvertiserOptions } from '../../src/kube/node-advertiser.ts';
import { createMetrics } from '../../src/metrics.ts';
import { ManualClock } from '../support/manual-clock.ts';
import { eventually, FakeKubeClient, nodeObject } from './helpers/fake-client.ts';
import { captureLogs } from './helpers/log-capture.ts';

const D = 'wireguard.semaphore.uw.io';
const adverts = [
  { remote: 'c2', device: 'wireguard.c2', publicKey: 'PUB2', listenPort: 51821 },
  { remote: 'c3', device: 'wireguard.c3', publicKey: 'PUB3', listenPort: 51822 },
];
const C2 = { [`c2.${D}/pubKey`]: 'PUB2', [`c2.${D}/endpoint`]: '198.18.0.7:51821' };
const C3 = { [`c3.${D}/pubKey`]: 'PUB3', [`c3.${D}/endpoint`]: '198.18.0.7:51822' };
const WANT = { ...C2, ...C3 };

/** The system clock, with sleeps that end on the next turn of the event loop. */
const fastClock: Clock = { now: () => Date.now(), schedule: (fn, ms) => systemClock.schedule(fn, ms), sleep: () => new Promise((resolve) => setImmediate(resolve)) };

/**
 * A fake apiserver holding one Node: GET by name, the list the advertiser's
 * informer makes (selecting it by name), PATCH as a JSON merge patch of its
 * annotations. `log` is `METHOD path` of each request but the list.
 */
function setup(ip = '198.18.0.7', annotations: Record<string, string> = { unrelated: 'keep' }, options: Partial<NodeAdvertiserOptions> = {}) {
  const client = new FakeKubeClient();
  const node = nodeObject('local-1', { ip, annotations, rv: '1' }) as { metadata: { annotations: Record<string, string | undefined>; resourceVersion: string } };
  let rv = 1;
  const log: string[] = [];
  const failures = { patch: 0 };
  client.onJson = (req: KubeRequest) => {
    if (req.path === '/api/v1/nodes') {
      assert.equal(req.query?.fieldSelector, 'metadata.name=local-1');
      return { kind: 'NodeList', metadata: { resourceVersion: node.metadata.resourceVersion }, items: [structuredClone(node)] };
    }
    log.push(req.method);
    assert.equal(req.path, '/api/v1/nodes/local-1');
    if (req.method === 'PATCH') {
      if (failures.patch > 0) {
        failures.patch -= 1;
        throw new KubeRequestError({ cluster: 'c1', method: 'PATCH', path: req.path }, 503, null, 'unavailable');
      }
      assert.equal(req.body?.contentType, 'application/merge-patch+json');
      const patch = req.body?.value as { metadata: { annotations: Record<string, string | null> } };
      assert.deepEqual(Object.keys(patch), ['metadata']);
      assert.deepEqual(Object.keys(patch.metadata), ['annotations']);
      for (const [k, v] of Object.entries(patch.metadata.annotations)) {
        if (v === null) delete node.metadata.annotations[k];
        else node.metadata.annotations[k] = v;
      }
      rv += 1;
      node.metadata.resourceVersion = String(rv);
    }
    return structuredClone(node);
  };
  const metrics = createMetrics(new Registry());
  const { logger, lines, written } = captureLogs();
  // As the daemon gives it: a child logger that names the node.
  const advertiser = new NodeAdvertiser({ client, nodeName: 'local-1', annotationDomain: D, adverts, logger: logger.child({ node: 'local-1' }), metrics, clock: fastClock, random: () => 0.5, ...options });
  return { client, node, log, lines, written, metrics, advertiser, failures };
}

async function repairs(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.driftRepairs.get()).values) out[`${v.labels.device}/${v.labels.kind}`] = v.value;
  return out;
}

test('ensure() merge-patches exactly the missing or changed annotations of the ready remotes', async () => {
  const { node, log, lines, metrics, advertiser } = setup();
  assert.deepEqual(await advertiser.ensure(), [], 'no remote is ready: nothing is read or written');
  assert.deepEqual(log, []);

  advertiser.ready('c2');
  advertiser.ready('c9');
  assert.deepEqual(await advertiser.ensure(), Object.keys(C2));
  assert.deepEqual({ ...node.metadata.annotations }, { unrelated: 'keep', ...C2 });
  advertiser.ready('c3');
  assert.deepEqual(await advertiser.ensure(), Object.keys(C3));
  assert.deepEqual({ ...node.metadata.annotations }, { unrelated: 'keep', ...WANT });
  assert.deepEqual(log, ['GET', 'PATCH', 'GET', 'PATCH']);
  assert.deepEqual(await repairs(metrics), {}, 'the first advertisement is not a repair');

  assert.deepEqual(await advertiser.ensure(), []);
  assert.deepEqual(log, ['GET', 'PATCH', 'GET', 'PATCH', 'GET'], 'nothing to do: no patch');

  delete node.metadata.annotations[`c3.${D}/endpoint`];
  node.metadata.annotations[`c2.${D}/pubKey`] = 'TAMPERED';
  assert.deepEqual((await advertiser.ensure()).sort(), [`c2.${D}/pubKey`, `c3.${D}/endpoint`]);
  assert.deepEqual({ ...node.metadata.annotations }, { unrelated: 'keep', ...WANT });
  assert.deepEqual(await repairs(metrics), { 'wireguard.c2/annotation': 1, 'wireguard.c3/annotation': 1 });
  assert.deepEqual(
    lines.map((l) => [l.msg, l.remotes]),
    [
      ['advertised public keys and endpoints', ['c2']],
      ['advertised public keys and endpoints', ['c3']],
      ['restored annotations removed or changed by someone else', ['c2', 'c3']],
    ],
  );
});

test('a restart with the annotations in place writes nothing, before or after its remotes are ready', async () => {
  const { log, lines, advertiser } = setup('198.18.0.7', { ...WANT });
  advertiser.ready('c2');
  advertiser.ready('c3');
  assert.deepEqual(await advertiser.ensure(), []);
  assert.deepEqual(log, ['GET']);
  assert.deepEqual(lines, []);
});

test('ensure() calls run one at a time', async () => {
  const { log, advertiser } = setup();
  advertiser.ready('c2');
  const results = await Promise.all([advertiser.ensure(), advertiser.ensure()]);
  assert.deepEqual(log, ['GET', 'PATCH', 'GET']);
  assert.deepEqual(results[1], []);
});

test('an IPv6 InternalIP is advertised as [addr]:port; no InternalIP is an error', async () => {
  const v6 = setup('fd12::7');
  v6.advertiser.ready('c2');
  await v6.advertiser.ensure();
  assert.equal(v6.node.metadata.annotations[`c2.${D}/endpoint`], '[fd12::7]:51821');
  assert.equal(endpointFor('198.18.0.7', 1), '198.18.0.7:1');
  assert.equal(endpointFor('fd12::7', 1), '[fd12::7]:1');

  const none = setup();
  (none.node as unknown as { status: { addresses: unknown[] } }).status.addresses = [{ type: 'Hostname', address: 'local-1' }];
  none.advertiser.ready('c2');
  await assert.rejects(none.advertiser.ensure(), /node local-1 has no InternalIP address/);
});

test("removeAnnotations() removes only the given remotes' annotations that exist", async () => {
  const { client, node, log } = setup('198.18.0.7', { unrelated: 'keep', ...WANT });
  const { logger } = captureLogs();
  const remove = (remotes: string[]) => removeAnnotations(client, { nodeName: 'local-1', annotationDomain: D, remotes, logger });
  assert.deepEqual(await remove(['c2', 'c9']), [`c2.${D}/pubKey`, `c2.${D}/endpoint`]);
  assert.deepEqual({ ...node.metadata.annotations }, { unrelated: 'keep', ...C3 });
  assert.deepEqual(await remove(['c2']), []);
  assert.deepEqual(log, ['GET', 'PATCH', 'GET']);
});

test('start() advertises each remote when it becomes ready, and repairs as soon as an event shows drift', async (t) => {
  const { client, node, log, advertiser } = setup();
  t.after(() => advertiser.stop());
  advertiser.start();
  const watch = await client.watchAt(0);
  assert.equal(watch.request.query?.fieldSelector, 'metadata.name=local-1');
  assert.equal(watch.request.query?.resourceVersion, '1');
  assert.equal(watch.request.query?.watch, '1');
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(log, [], 'no remote is ready: nothing written, whatever the Node lacks');

  advertiser.ready('c2');
  await eventually(() => node.metadata.annotations[`c2.${D}/pubKey`] === 'PUB2');
  assert.deepEqual(log, ['GET', 'PATCH']);
  assert.equal(node.metadata.annotations[`c3.${D}/pubKey`], undefined, 'c3 is not ready yet');

  // Our own patch comes back as an event: nothing to do. A bookmark: nothing either.
  watch.send('MODIFIED', structuredClone(node));
  watch.send('BOOKMARK', { metadata: { resourceVersion: '3' } });
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(log, ['GET', 'PATCH']);

  // Someone removes an annotation.
  delete node.metadata.annotations[`c2.${D}/pubKey`];
  watch.send('MODIFIED', structuredClone(node));
  await eventually(() => node.metadata.annotations[`c2.${D}/pubKey`] === 'PUB2');
  assert.deepEqual(log, ['GET', 'PATCH', 'GET', 'PATCH']);

  advertiser.ready('c3');
  await eventually(() => node.metadata.annotations[`c3.${D}/pubKey`] === 'PUB3');
  assert.deepEqual({ ...node.metadata.annotations }, { unrelated: 'keep', ...WANT });

  // A watch that expires is started again after a fresh list.
  watch.send('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' });
  const again = await client.watchAt(1);
  assert.equal(again.request.query?.resourceVersion, node.metadata.resourceVersion);
});

test('a failed write is retried with backoff, logged when it fails and when it recovers', async (t) => {
  const { node, lines, written, advertiser, failures } = setup();
  t.after(() => advertiser.stop());
  failures.patch = 3;
  advertiser.start();
  advertiser.ready('c2');
  await eventually(() => node.metadata.annotations[`c2.${D}/pubKey`] === 'PUB2');
  assert.deepEqual(
    lines.filter((l) => l.level !== 'debug' && l.msg !== 'watching local nodes' && l.msg !== 'first list of local nodes complete').map((l) => l.msg),
    ['advertising on the local node failed, retrying with backoff', 'advertised public keys and endpoints', 'annotations of the local node in place again'],
  );
  // Each line names the node once: a key written twice is ambiguous to log pipelines (and was, from the child logger and the line).
  for (const line of written) assert.equal(line.split('"node":').length - 1, 1, line);
});

test('every checkIntervalMs, a fresh read repairs what a watch that is down missed', async (t) => {
  const clock = new ManualClock(Date.now());
  const { node, log, advertiser, client } = setup('198.18.0.7', { ...WANT }, { clock, checkIntervalMs: 30_000 });
  client.onStream = () => {
    throw new KubeRequestError({ cluster: 'c1', method: 'GET', path: '/api/v1/nodes' }, null, null, 'connect ECONNREFUSED');
  };
  t.after(() => advertiser.stop());
  advertiser.start();
  advertiser.ready('c2');
  advertiser.ready('c3');
  await eventually(() => log.length === 1);
  delete node.metadata.annotations[`c3.${D}/pubKey`];
  clock.advance(29_000);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(log, ['GET']);
  clock.advance(1_000);
  await eventually(() => node.metadata.annotations[`c3.${D}/pubKey`] === 'PUB3');
  assert.deepEqual(log, ['GET', 'GET', 'PATCH']);
});

test('while the watch of the Node is connected, the check interval reads nothing; once it is down, it reads again', async (t) => {
  const clock = new ManualClock(Date.now());
  const { log, advertiser, client } = setup('198.18.0.7', { ...WANT }, { clock, checkIntervalMs: 30_000, idleTimeoutMs: 10 * 60_000 });
  t.after(() => advertiser.stop());
  advertiser.start();
  advertiser.ready('c2');
  advertiser.ready('c3');
  await eventually(() => log.length === 1 && client.watches.length === 1);
  for (let i = 0; i < 3; i++) {
    clock.advance(30_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(log, ['GET'], 'the first advertisement read the Node; three intervals with the watch up read nothing');
  client.onStream = () => {
    throw new KubeRequestError({ cluster: 'c1', method: 'GET', path: '/api/v1/nodes' }, null, null, 'connect ECONNREFUSED');
  };
  client.watches[0]?.body.destroy(new Error('connection reset'));
  await new Promise((resolve) => setTimeout(resolve, 20));
  clock.advance(30_000);
  await eventually(() => log.length === 2, 2000, 'a read of the Node');
  assert.deepEqual(log, ['GET', 'GET'], 'with the watch down, the interval reads the Node');
});
