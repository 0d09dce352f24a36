import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { KubeRequest } from '../../src/kube/client.ts';
import { endpointFor } from '../../src/kube/node-annotations.ts';
import { NodeAdvertiser } from '../../src/kube/node-advertiser.ts';
import { createMetrics } from '../../src/metrics.ts';
import { eventually, FakeKubeClient, nodeObject } from './helpers/fake-client.ts';
import { captureLogs } from './helpers/log-capture.ts';

const D = 'wireguard.semaphore.uw.io';
const adverts = [
  { remote: 'c2', device: 'wireguard.c2', publicKey: 'PUB2', listenPort: 51821 },
  { remote: 'c3', device: 'wireguard.c3', publicKey: 'PUB3', listenPort: 51822 },
];
const WANT = {
  [`c2.${D}/pubKey`]: 'PUB2',
  [`c2.${D}/endpoint`]: '198.18.0.7:51821',
  [`c3.${D}/pubKey`]: 'PUB3',
  [`c3.${D}/endpoint`]: '198.18.0.7:51822',
};

/** A fake apiserver holding one Node; PATCH applies a JSON merge patch to its annotations. */
function setup(ip = '198.18.0.7', annotations: Record<string, string> = { unrelated: 'keep' }) {
  const client = new FakeKubeClient();
  const node = nodeObject('local-1', { ip, annotations, rv: '1' }) as { metadata: { annotations: Record<string, string | undefined>; resourceVersion: string } };
  let rv = 1;
  const log: string[] = [];
  client.onJson = (req: KubeRequest) => {
    log.push(req.method);
    assert.equal(req.path, '/api/v1/nodes/local-1');
    if (req.method === 'PATCH') {
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
  const { logger, lines } = captureLogs();
  const advertiser = new NodeAdvertiser({
    client,
    nodeName: 'local-1',
    annotationDomain: D,
    adverts,
    logger,
    metrics,
    random: () => 0.5,
    sleep: () => new Promise((resolve) => setImmediate(resolve)),
  });
  return { client, node, log, lines, metrics, advertiser };
}

async function repairs(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.driftRepairs.get()).values) out[`${v.labels.device}/${v.labels.kind}`] = v.value;
  return out;
}

test('ensure() merge-patches exactly the missing or changed annotations', async () => {
  const { node, log, lines, metrics, advertiser } = setup();
  assert.deepEqual(await advertiser.ensure(), Object.keys(WANT));
  assert.deepEqual({ ...node.metadata.annotations }, { unrelated: 'keep', ...WANT });
  assert.deepEqual(log, ['GET', 'PATCH']);
  assert.deepEqual(await repairs(metrics), {}, 'the first advertisement is not a repair');

  assert.deepEqual(await advertiser.ensure(), []);
  assert.deepEqual(log, ['GET', 'PATCH', 'GET'], 'nothing to do: no patch');

  delete node.metadata.annotations[`c3.${D}/endpoint`];
  node.metadata.annotations[`c2.${D}/pubKey`] = 'TAMPERED';
  assert.deepEqual((await advertiser.ensure()).sort(), [`c2.${D}/pubKey`, `c3.${D}/endpoint`]);
  assert.deepEqual({ ...node.metadata.annotations }, { unrelated: 'keep', ...WANT });
  assert.deepEqual(await repairs(metrics), { 'wireguard.c2/annotation': 1, 'wireguard.c3/annotation': 1 });
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['advertised public keys and endpoints', 'restored annotations removed or changed by someone else'],
  );
});

test('ensure() calls run one at a time', async () => {
  const { log, advertiser } = setup();
  const results = await Promise.all([advertiser.ensure(), advertiser.ensure()]);
  assert.deepEqual(log, ['GET', 'PATCH', 'GET']);
  assert.deepEqual(results[1], []);
});

test('an IPv6 InternalIP is advertised as [addr]:port; no InternalIP is an error', async () => {
  const v6 = setup('fd12::7');
  await v6.advertiser.ensure();
  assert.equal(v6.node.metadata.annotations[`c2.${D}/endpoint`], '[fd12::7]:51821');
  assert.equal(endpointFor('198.18.0.7', 1), '198.18.0.7:1');

  const none = setup();
  (none.node as unknown as { status: { addresses: unknown[] } }).status.addresses = [{ type: 'Hostname', address: 'local-1' }];
  await assert.rejects(none.advertiser.ensure(), /node local-1 has no InternalIP address/);
});

test('removeAnnotations() removes only the given remotes\' annotations that exist', async () => {
  const { node, log, advertiser } = setup('198.18.0.7', { unrelated: 'keep', ...WANT });
  assert.deepEqual(await advertiser.removeAnnotations(['c2', 'c9']), [`c2.${D}/pubKey`, `c2.${D}/endpoint`]);
  assert.deepEqual({ ...node.metadata.annotations }, {
    unrelated: 'keep',
    [`c3.${D}/pubKey`]: 'PUB3',
    [`c3.${D}/endpoint`]: '198.18.0.7:51822',
  });
  assert.deepEqual(await advertiser.removeAnnotations(['c2']), []);
  assert.deepEqual(log, ['GET', 'PATCH', 'GET']);
});

test('start() watches the local Node and repairs as soon as an event shows drift', async (t) => {
  const { client, node, log, advertiser } = setup();
  t.after(() => advertiser.stop());
  advertiser.start();
  const watch = await client.watchAt(0);
  assert.deepEqual(log, ['GET', 'PATCH']);
  assert.equal(watch.request.query?.fieldSelector, 'metadata.name=local-1');
  assert.equal(watch.request.query?.resourceVersion, '1');
  assert.equal(watch.request.query?.watch, '1');

  // Our own patch comes back as an event: nothing to do.
  watch.send('MODIFIED', structuredClone(node));
  // A heartbeat without drift: nothing to do either.
  watch.send('BOOKMARK', { metadata: { resourceVersion: '3' } });
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(log, ['GET', 'PATCH']);

  // Someone removes an annotation.
  delete node.metadata.annotations[`c2.${D}/pubKey`];
  watch.send('MODIFIED', structuredClone(node));
  await eventually(() => node.metadata.annotations[`c2.${D}/pubKey`] === 'PUB2');
  assert.deepEqual(log, ['GET', 'PATCH', 'GET', 'PATCH']);

  // A watch that expires is started again from a fresh read.
  watch.send('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' });
  const again = await client.watchAt(1);
  assert.equal(again.request.query?.resourceVersion, node.metadata.resourceVersion);
});
