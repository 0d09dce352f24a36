import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../src/clock/clock.ts';
import { Informer } from '../../src/kube/informer.ts';
import type { StoreChange } from '../../src/kube/store-changes.ts';
import { peerSliceCrd } from '../emulator/helpers.ts';
import { eventually } from './helpers/fake-client.ts';
import { clientFor, emulatorFor } from './helpers/emulator.ts';
import { captureLogs } from './helpers/log-capture.ts';

/*
 * Integration: the informer over a custom resource (the PeerSlice test
 * fixture) of the emulated apiserver, over real TLS: what the PeerSlice
 * watchers will be, with a label selector and a projection of their own.
 */

const PATH = '/apis/clusterwire.io/v1alpha1/namespaces/fleet/peerslices';
const KEY = (n: number) => `${'A'.repeat(42)}${'AEIMQUYcgkosw480'[n % 16]}=`;

interface SliceNodes {
  name: string;
  nodes: string[];
}

function slice(name: string, cluster: string, nodes: string[]): Record<string, unknown> {
  return {
    apiVersion: 'clusterwire.io/v1alpha1',
    kind: 'PeerSlice',
    metadata: { name, namespace: 'fleet', labels: { 'clusterwire.io/cluster': cluster } },
    entries: nodes.map((node, i) => ({ node, publicKey: KEY(i) })),
  };
}

function project(object: unknown): SliceNodes | null {
  const o = object as { metadata?: { name?: unknown }; entries?: { node?: unknown }[] };
  if (typeof o.metadata?.name !== 'string') return null;
  return { name: o.metadata.name, nodes: (o.entries ?? []).map((e) => String(e.node)) };
}

test('a custom resource, label-selected: paged list, watch, objects entering and leaving the selector', async (t) => {
  const { emulator } = await emulatorFor(t, { bookmarkIntervalMs: 200 });
  emulator.create(await peerSliceCrd());
  emulator.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fleet' } });
  for (let i = 0; i < 5; i++) emulator.create(slice(`c2-${i}`, 'c2', [`n${i}`]));
  emulator.create(slice('c3-0', 'c3', ['m0']));
  const { client } = clientFor(t, { kind: 'kubeconfig', path: emulator.kubeconfigPath });
  const changes: StoreChange<SliceNodes>[] = [];
  const { logger } = captureLogs();
  const informer = new Informer<SliceNodes>({
    client,
    path: PATH,
    labelSelector: 'clusterwire.io/cluster=c2',
    names: { singular: 'peer slice', plural: 'peer slices' },
    project,
    keyOf: (s) => s.name,
    same: (a, b) => a.nodes.join() === b.nodes.join(),
    maxObjects: 100,
    onChange: (change) => changes.push(change),
    logger,
    metrics: { failed: () => {}, connected: () => {}, dropped: () => {} },
    clock: systemClock,
    random: Math.random,
    pageSize: 2,
  });
  t.after(() => informer.stop());
  informer.start();
  await informer.whenSynced();
  assert.deepEqual([...informer.objects.keys()], ['c2-0', 'c2-1', 'c2-2', 'c2-3', 'c2-4']);
  assert.equal(emulator.counters().byVerb.list, 3, 'pages of 2');
  await eventually(() => informer.status().state === 'connected', 5000, 'watch connected');

  changes.length = 0;
  const ref = (name: string) => ({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', namespace: 'fleet', name });
  emulator.patch(ref('c2-1'), { entries: [{ node: 'n1', publicKey: KEY(1) }, { node: 'n9', publicKey: KEY(9) }] });
  emulator.patch(ref('c2-2'), { metadata: { annotations: { unrelated: 'x' } } }); // the same projection: nothing
  emulator.patch(ref('c2-3'), { metadata: { labels: { 'clusterwire.io/cluster': 'c3' } } }); // leaves the selector
  emulator.patch(ref('c3-0'), { metadata: { labels: { 'clusterwire.io/cluster': 'c2' } } }); // enters it
  emulator.delete(ref('c2-4'));
  await eventually(() => changes.length >= 4, 5000, 'four changes');
  assert.deepEqual(
    changes.map((c) => `${c.type} ${c.key} ${c.value.nodes.join('+')}`),
    ['updated c2-1 n1+n9', 'deleted c2-3 n3', 'added c3-0 m0', 'deleted c2-4 n4'],
  );

  // An expired resourceVersion: the relist finds the same objects and reports nothing.
  changes.length = 0;
  const lists = emulator.counters().byVerb.list ?? 0;
  emulator.expireWatches();
  await eventually(() => (emulator.counters().byVerb.list ?? 0) > lists && emulator.counters().watchesOpen === 1, 5000, 'relisted and watching');
  assert.deepEqual(changes, []);
  assert.deepEqual([...informer.objects.keys()].sort(), ['c2-0', 'c2-1', 'c2-2', 'c3-0']);
});
