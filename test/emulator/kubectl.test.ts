import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { execCommand } from '../../src/process/exec.ts';
import { asNode, openWatchAt, smallNode, startTestEmulator } from './helpers.ts';

async function kubectlVersion(): Promise<string | null> {
  try {
    return (await execCommand('kubectl', ['version', '--client'], { timeoutMs: 20_000 })).stdout.split('\n')[0] ?? '';
  } catch {
    return null;
  }
}

const version = await kubectlVersion();

describe('kubectl against the emulator', { skip: version === null ? 'kubectl is not installed here' : false }, () => {
  it('gets, watches, annotates, patches (merge, json, strategic) and deletes nodes', async (t) => {
    t.diagnostic(`kubectl: ${version}`);
    const emulator = await startTestEmulator(t);
    const cacheDir = await mkdtemp(join(tmpdir(), 'cw-kubectl-cache-'));
    t.after(() => rm(cacheDir, { recursive: true, force: true }));
    const kubectl = async (...args: string[]) =>
      (await execCommand('kubectl', ['--kubeconfig', emulator.kubeconfigPath, '--cache-dir', cacheDir, ...args], { timeoutMs: 30_000 })).stdout;
    emulator.seedNodes(2);
    emulator.createNode(smallNode('worker-a', { labels: { 'node-role.kubernetes.io/worker': '' } }));

    const table = await kubectl('get', 'nodes');
    assert.match(table, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\n/);
    assert.match(table, /\nnode-00000\s+Ready\s+<none>\s+\d+s\s+v1\.32\.4\n/);
    assert.match(table, /\nworker-a\s+Ready\s+worker\s+/);
    const asJson = JSON.parse(await kubectl('get', 'nodes', '-o', 'json')) as { items: { metadata: { name: string } }[] };
    assert.deepEqual(asJson.items.map((n) => n.metadata.name), ['node-00000', 'node-00001', 'worker-a']);
    assert.equal((await kubectl('get', 'node', 'node-00001', '-o', 'jsonpath={.spec.podCIDR}')).trim(), '10.128.1.0/24');

    await kubectl('annotate', 'node', 'node-00000', 'c1.wireguard.semaphore.uw.io/pubKey=abc=');
    await kubectl('patch', 'node', 'node-00000', '--type', 'merge', '-p', '{"metadata":{"labels":{"merged":"yes"}}}');
    await kubectl('patch', 'node', 'node-00000', '--type', 'json', '-p', '[{"op":"add","path":"/metadata/labels/jsonpatched","value":"yes"}]');
    await kubectl('patch', 'node', 'node-00000', '--type', 'strategic', '-p', '{"metadata":{"labels":{"merged":null,"strategic":"yes"}}}');
    const node = asNode(emulator.getNode('node-00000'));
    assert.equal(node.metadata.annotations?.['c1.wireguard.semaphore.uw.io/pubKey'], 'abc=');
    assert.deepEqual(
      Object.fromEntries(Object.entries(node.metadata.labels ?? {}).filter(([key]) => ['merged', 'jsonpatched', 'strategic'].includes(key))),
      { jsonpatched: 'yes', strategic: 'yes' },
    );

    // The watch ends itself after --request-timeout; nodes change while it runs.
    const watching = kubectl('get', 'nodes', '--watch', '--output-watch-events', '--request-timeout=4s');
    for (let i = 0; i < 300 && emulator.counters().watchesOpen === 0; i++) await delay(10);
    assert.equal(emulator.counters().watchesOpen, 1, 'kubectl opened a watch');
    emulator.createNode(smallNode('late-arrival'));
    await kubectl('delete', 'node', 'node-00001');
    const watched = await watching;
    t.diagnostic(`kubectl get --watch printed:\n${watched}`);
    assert.match(watched, /^EVENT\s+NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\n/);
    assert.match(watched, /\nADDED\s+late-arrival\s+Ready\s+/);
    assert.match(watched, /\nDELETED\s+node-00001\s+Ready\s+/);
    assert.equal(emulator.getNode('node-00001'), undefined);
  });

  it('names and watches whole nodes while a metadata-only client watches the same nodes', async (t) => {
    const emulator = await startTestEmulator(t);
    const cacheDir = await mkdtemp(join(tmpdir(), 'cw-kubectl-cache-'));
    t.after(() => rm(cacheDir, { recursive: true, force: true }));
    const kubectl = async (...args: string[]) =>
      (await execCommand('kubectl', ['--kubeconfig', emulator.kubeconfigPath, '--cache-dir', cacheDir, ...args], { timeoutMs: 30_000 })).stdout;
    emulator.createNode(smallNode('a', { podCIDR: '10.4.1.0/24' }));
    // What clusterwire's node watcher asks for; kubectl asks for application/json.
    const metadata = await openWatchAt(emulator, '/api/v1/nodes', 'resourceVersion=0', t, undefined, 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1');
    assert.equal((await metadata.next()).object.kind, 'PartialObjectMetadata');

    assert.equal(await kubectl('get', 'nodes', '-o', 'name'), 'node/a\n');
    const watching = kubectl('get', 'nodes', '--watch-only', '-o', 'json', '--request-timeout=4s');
    for (let i = 0; i < 300 && emulator.counters().watchesOpen < 2; i++) await delay(10);
    assert.equal(emulator.counters().watchesOpen, 2, 'kubectl opened a watch next to the metadata-only one');
    emulator.createNode(smallNode('b', { podCIDR: '10.4.2.0/24' }));
    emulator.patchNode('b', { metadata: { annotations: { k: 'v' } } });
    const whole = (await watching)
      .split(/\n(?=\{)/)
      .map((text) => JSON.parse(text) as { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec: { podCIDR?: string } });
    assert.deepEqual(
      whole.map((node) => [node.kind, node.metadata.name, node.spec.podCIDR, node.metadata.annotations?.k]),
      [['Node', 'b', '10.4.2.0/24', undefined], ['Node', 'b', '10.4.2.0/24', 'v']],
      'kubectl got whole Nodes, not the metadata form served to the other watch',
    );
    const partial = [await metadata.next(), await metadata.next()];
    assert.deepEqual(
      partial.map((event) => [event.type, event.object.kind, event.object.metadata.name, event.object.spec, event.object.metadata.annotations?.k]),
      [['ADDED', 'PartialObjectMetadata', 'b', undefined, undefined], ['MODIFIED', 'PartialObjectMetadata', 'b', undefined, 'v']],
    );
    assert.equal(await kubectl('get', 'nodes', '-o', 'name'), 'node/a\nnode/b\n');
  });
});
