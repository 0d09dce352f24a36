import assert from 'node:assert/strict';
import { test } from 'node:test';
import { realisticNode } from '../../lab/emulator/nodes.ts';
import { systemClock } from '../../src/clock/clock.ts';
import { removeAnnotations } from '../../src/kube/annotation-removal.ts';
import { NodeAdvertiser } from '../../src/kube/node-advertiser.ts';
import { eventually } from './helpers/fake-client.ts';
import { clientFor, emulatorFor } from './helpers/emulator.ts';
import { captureLogs } from './helpers/log-capture.ts';

/* Integration: the advertiser against the emulated apiserver, over real TLS with node:https. */

const D = 'wireguard.semaphore.uw.io';
const WANT = {
  [`c2.${D}/pubKey`]: 'PUBKEY-FOR-C2',
  [`c2.${D}/endpoint`]: '198.18.5.5:51821',
  [`c3.${D}/pubKey`]: 'PUBKEY-FOR-C3',
  [`c3.${D}/endpoint`]: '198.18.5.5:51822',
};

test('annotations advertised by merge patch, restored when someone removes or changes them, removed on cleanup', async (t) => {
  const { emulator } = await emulatorFor(t, { bookmarkIntervalMs: 500 });
  emulator.createNode(realisticNode({ name: 'local-1', internalIP: '198.18.5.5', podCIDR: '10.1.0.0/24', annotations: { 'owner.example/keep': 'yes' } }));
  emulator.createNode(realisticNode({ name: 'local-2', internalIP: '198.18.5.6' }));
  const { client, metrics } = clientFor(t, { kind: 'kubeconfig', path: emulator.kubeconfigPath }, 'c1');
  const { logger } = captureLogs();
  const advertiser = new NodeAdvertiser({
    client,
    nodeName: 'local-1',
    annotationDomain: D,
    adverts: [
      { remote: 'c2', device: 'wireguard.c2', publicKey: 'PUBKEY-FOR-C2', listenPort: 51821 },
      { remote: 'c3', device: 'wireguard.c3', publicKey: 'PUBKEY-FOR-C3', listenPort: 51822 },
    ],
    logger,
    metrics,
    clock: systemClock,
    random: Math.random,
    backoff: { baseMs: 100, capMs: 500 },
  });
  t.after(() => advertiser.stop());
  const annotations = () => ({ ...(emulator.getNode('local-1') as { metadata: { annotations: Record<string, string> } }).metadata.annotations });

  const initial = annotations();
  assert.equal(initial['owner.example/keep'], 'yes');
  advertiser.ready('c2');
  advertiser.ready('c3');
  assert.deepEqual((await advertiser.ensure()).sort(), Object.keys(WANT).sort());
  assert.deepEqual(annotations(), { ...initial, ...WANT });
  assert.equal(emulator.counters().byVerb.patch, 1);
  assert.equal(emulator.counters().byVerb.update, undefined, 'never a full update');

  advertiser.start();
  await eventually(() => emulator.counters().watchesOpen === 1, 5000, 'watch of the local node');

  // Someone removes one and edits another; a third party's annotation appears meanwhile.
  emulator.patchNode('local-1', { metadata: { annotations: { [`c2.${D}/pubKey`]: null, [`c3.${D}/endpoint`]: '203.0.113.1:1', 'other/x': '1' } } });
  await eventually(() => Object.entries(WANT).every(([key, value]) => annotations()[key] === value), 5000, 'restored');
  assert.deepEqual(annotations(), { ...initial, 'other/x': '1', ...WANT });
  // The emulator applies the restoring patch before the advertiser has its answer and counts the repair.
  let repairs: string[] = [];
  const countRepairs = async () => {
    repairs = (await metrics.driftRepairs.get()).values.map((v) => `${v.labels.device}/${v.labels.kind}=${v.value}`).sort();
  };
  for (const deadline = Date.now() + 5000; repairs.length < 2 && Date.now() < deadline; ) {
    await countRepairs();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(repairs, ['wireguard.c2/annotation=1', 'wireguard.c3/annotation=1']);

  // Changes to other nodes and heartbeats of this one cause no writes.
  const patches = emulator.counters().byVerb.patch;
  emulator.patchNode('local-2', { metadata: { annotations: { [`c2.${D}/pubKey`]: null } } });
  emulator.startHeartbeats(50);
  await new Promise((resolve) => setTimeout(resolve, 500));
  emulator.stopHeartbeats();
  assert.equal(emulator.counters().byVerb.patch, patches);

  await advertiser.stop();
  assert.deepEqual(await removeAnnotations(client, { nodeName: 'local-1', annotationDomain: D, remotes: ['c2'], logger }), [`c2.${D}/pubKey`, `c2.${D}/endpoint`]);
  assert.deepEqual(annotations(), {
    ...initial,
    'other/x': '1',
    [`c3.${D}/pubKey`]: 'PUBKEY-FOR-C3',
    [`c3.${D}/endpoint`]: '198.18.5.5:51822',
  });
});
