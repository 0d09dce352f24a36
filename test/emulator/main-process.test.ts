import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ControlError } from '../../lab/emulator/control-client.ts';
import { derivedPublicKey } from '../../lab/emulator/nodes.ts';
import { asNode, getFromProcess, peerSliceCrd, smallNode, spawnEmulator, type WireList } from './helpers.ts';

describe('standalone emulator (lab/emulator/main.ts)', () => {
  it('prints its endpoints, is driven through the control socket and exits 0 on SIGTERM', async (t) => {
    const emulator = await spawnEmulator(t, ['--seed', '3', '--cluster-name', 'c2']);
    const { control, endpoints } = emulator;
    assert.match(endpoints.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(endpoints.caURL, /^http:\/\/127\.0\.0\.1:\d+\/ca\.crt$/);
    assert.deepEqual(await control.info(), { ...endpoints, caFile: endpoints.kubeconfigPath.replace(/kubeconfig$/, 'ca.crt') });

    await control.seedNodes(2, { namePrefix: 'peer-', annotations: { 'c1.wireguard.semaphore.uw.io/pubKey': '{key}' } });
    await control.createNode(smallNode('manual'));
    await control.patchNode('manual', { metadata: { labels: { patched: 'yes' } } });
    const listed = JSON.parse((await getFromProcess(emulator, '/api/v1/nodes')).text) as WireList;
    assert.deepEqual(listed.items.map((n) => n.metadata.name), ['manual', 'node-00000', 'node-00001', 'node-00002', 'peer-00003', 'peer-00004']);
    assert.equal(listed.items.find((n) => n.metadata.name === 'manual')?.metadata.labels?.patched, 'yes');
    assert.equal(asNode(await control.getNode('peer-00003')).metadata.annotations?.['c1.wireguard.semaphore.uw.io/pubKey'], derivedPublicKey('peer-00003'));

    await control.deleteNode('manual');
    assert.equal(await control.getNode('manual'), undefined);
    await assert.rejects(control.createNode(smallNode('node-00000')), (error: unknown) => error instanceof ControlError && error.code === 409);
    await assert.rejects(control.deleteNode('manual'), (error: unknown) => error instanceof ControlError && error.code === 404);
    const badRequest = (error: unknown) => error instanceof ControlError && error.code === 400;
    await assert.rejects(control.startHeartbeats(0), badRequest);
    await assert.rejects(control.seedNodes(1.5), badRequest);
    await assert.rejects(control.seedNodes(1, { podCIDRBlock: 'not-a-cidr' }), badRequest);

    const before = await getFromProcess(emulator, '/api/v1/nodes/node-00000');
    assert.equal(before.status, 200);
    await control.rotateToken();
    await control.compactHistory();
    await control.expireWatches();
    await control.startHeartbeats(100);
    await control.stopHeartbeats();
    await control.outage(50);
    assert.equal((await getFromProcess(emulator, '/api/v1/nodes/node-00000')).status, 200, 'serves again with the rotated token');
    const counters = await control.counters();
    assert.equal(counters.byVerb.list, 1);
    assert.equal(counters.byVerb.get, 2);

    assert.ok(emulator.child.pid);
    process.kill(emulator.child.pid, 'SIGTERM');
    assert.equal(await emulator.exited, 0);
  });

  it('creates, reads, patches and deletes any kind (CRDs too) and serves its request log through the control socket', async (t) => {
    const emulator = await spawnEmulator(t);
    const { control } = emulator;
    await control.create(await peerSliceCrd());
    await control.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fleet' } });
    const slice = {
      apiVersion: 'clusterwire.io/v1alpha1',
      kind: 'PeerSlice',
      metadata: { name: 's1', namespace: 'fleet', labels: { 'clusterwire.io/cluster': 'c2' } },
      entries: [{ node: 'n1', publicKey: `${'A'.repeat(42)}A=` }],
    };
    const created = (await control.create(slice)) as { metadata: { resourceVersion: string; generation: number } };
    assert.equal(created.metadata.generation, 1);
    const ref = { apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', namespace: 'fleet', name: 's1' };
    const patched = (await control.patch(ref, { metadata: { labels: { extra: 'yes' } } })) as { metadata: { labels: Record<string, string> } };
    assert.deepEqual(patched.metadata.labels, { 'clusterwire.io/cluster': 'c2', extra: 'yes' });
    await control.patch(ref, [{ op: 'replace', path: '/entries/0/node', value: 'n2' }], 'json');
    const listed = (await control.list({ apiVersion: 'clusterwire.io/v1alpha1', kind: 'PeerSlice', namespace: 'fleet', labelSelector: 'extra=yes' })) as { entries: { node: string }[] }[];
    assert.deepEqual(listed.map((s) => s.entries[0]?.node), ['n2']);
    await assert.rejects(control.update({ ...slice, metadata: { ...slice.metadata, resourceVersion: created.metadata.resourceVersion } }), (error: unknown) => error instanceof ControlError && error.code === 409);
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'fleet' }, spec: { holderIdentity: 'a' } };
    await control.create(lease);
    assert.equal(((await control.get({ ...lease, name: 'l', namespace: 'fleet' })) as { spec: { holderIdentity: string } }).spec.holderIdentity, 'a');
    await assert.rejects(control.create({ ...lease, metadata: { name: 'l', namespace: 'nowhere' } }), (error: unknown) => error instanceof ControlError && error.code === 404);
    await control.delete(ref);
    assert.equal(await control.get(ref), undefined);
    await assert.rejects(control.list({ apiVersion: 'nope/v1', kind: 'Thing' }), (error: unknown) => error instanceof ControlError && error.code === 404);

    assert.equal((await getFromProcess(emulator, '/apis/clusterwire.io/v1alpha1/namespaces/fleet/peerslices')).status, 200);
    const log = await control.requestLog();
    const last = log.at(-1);
    assert.deepEqual(last && [last.user, last.verb, last.apiGroup, last.resource, last.namespace, last.watch, last.code], ['emulator-admin', 'list', 'clusterwire.io', 'peerslices', 'fleet', false, 200]);
    assert.ok((last?.bytesSent ?? 0) > 0);
    assert.deepEqual(await control.requestLog(last?.seq), []);
    assert.deepEqual(await control.openWatches(), []);
  });
});
