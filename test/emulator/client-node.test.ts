import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { ApiException, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, Watch, type V1Node } from '@kubernetes/client-node';
import type { Emulator } from '../../lab/emulator/emulator.ts';
import { smallNode, startTestEmulator } from './helpers.ts';

/**
 * client-node reads `token-file`, not kubectl's `tokenFile`, so the token
 * from the emulator's token file is handed to it directly.
 */
async function kubeConfigFor(emulator: Emulator, token?: string): Promise<KubeConfig> {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'emulated', server: emulator.url, caFile: emulator.caFile }],
    users: [{ name: 'admin', token: token ?? (await readFile(emulator.tokenPath, 'utf8')) }],
    contexts: [{ name: 'emulated', cluster: 'emulated', user: 'admin' }],
    currentContext: 'emulated',
  });
  return config;
}

interface Received {
  type: string;
  object: V1Node;
}

describe('@kubernetes/client-node against the emulator', () => {
  it('lists in pages, reads, patches and gets Status errors as ApiExceptions', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.seedNodes(5);
    const api = (await kubeConfigFor(emulator)).makeApiClient(CoreV1Api);

    const names: string[] = [];
    let continueToken: string | undefined;
    let pages = 0;
    do {
      const page = await api.listNode({ limit: 2, _continue: continueToken });
      names.push(...page.items.map((node) => node.metadata?.name ?? ''));
      continueToken = page.metadata?._continue;
      pages++;
    } while (continueToken !== undefined && continueToken !== '');
    assert.equal(pages, 3);
    assert.deepEqual(names, ['node-00000', 'node-00001', 'node-00002', 'node-00003', 'node-00004']);

    const node = await api.readNode({ name: 'node-00002' });
    assert.equal(node.spec?.podCIDR, '10.128.2.0/24');
    assert.equal(node.status?.images?.length, 50);

    const patched = await api.patchNode(
      { name: 'node-00002', body: { metadata: { annotations: { 'c1.wireguard.semaphore.uw.io/endpoint': '198.19.0.3:51820' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.equal(patched.metadata?.annotations?.['c1.wireguard.semaphore.uw.io/endpoint'], '198.19.0.3:51820');
    assert.notEqual(patched.metadata?.resourceVersion, node.metadata?.resourceVersion);
    const jsonPatched = await api.patchNode(
      { name: 'node-00002', body: [{ op: 'remove', path: '/metadata/annotations/c1.wireguard.semaphore.uw.io~1endpoint' }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    assert.equal(jsonPatched.metadata?.annotations?.['c1.wireguard.semaphore.uw.io/endpoint'], undefined);

    await assert.rejects(api.readNode({ name: 'ghost' }), (error: unknown) => {
      assert.ok(error instanceof ApiException);
      assert.equal(error.code, 404);
      assert.match(String(error.body), /"reason":"NotFound"/);
      return true;
    });
    const intruder = (await kubeConfigFor(emulator, 'wrong-token')).makeApiClient(CoreV1Api);
    await assert.rejects(intruder.listNode(), (error: unknown) => error instanceof ApiException && error.code === 401);
  });

  it('watches with bookmarks through the Watch class, and sees 410 as an ERROR event', async (t) => {
    const emulator = await startTestEmulator(t, { bookmarkIntervalMs: 100 });
    emulator.seedNodes(2);
    const config = await kubeConfigFor(emulator);
    const list = await config.makeApiClient(CoreV1Api).listNode();
    const listRV = list.metadata?.resourceVersion ?? '';

    const received: Received[] = [];
    let done: (error: unknown) => void = () => undefined;
    const finished = new Promise<unknown>((resolve) => {
      done = resolve;
    });
    const controller = await new Watch(config).watch(
      '/api/v1/nodes',
      { allowWatchBookmarks: true, resourceVersion: listRV },
      (type, object: V1Node) => received.push({ type, object }),
      (error) => done(error),
    );
    t.after(() => controller.abort());
    emulator.createNode(smallNode('added'));
    emulator.patchNode('node-00000', { metadata: { labels: { x: 'y' } } });
    emulator.deleteNode('node-00001');
    const waitFor = async (what: string, test: () => boolean) => {
      for (let i = 0; i < 200 && !test(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(test(), `timed out waiting for ${what}: ${JSON.stringify(received.map((r) => r.type))}`);
    };
    await waitFor('3 changes and a bookmark', () => received.filter((r) => r.type !== 'BOOKMARK').length >= 3 && received.some((r) => r.type === 'BOOKMARK'));
    const changes = received.filter((r) => r.type !== 'BOOKMARK');
    assert.deepEqual(changes.map((r) => `${r.type} ${r.object.metadata?.name}`), ['ADDED added', 'MODIFIED node-00000', 'DELETED node-00001']);
    const bookmark = received.find((r) => r.type === 'BOOKMARK');
    assert.match(bookmark?.object.metadata?.resourceVersion ?? '', /^\d+$/);

    emulator.expireWatches();
    assert.equal(await finished, null, 'the server closed the stream cleanly');
    const error = received.at(-1);
    assert.equal(error?.type, 'ERROR');
    assert.equal((error?.object as unknown as { code: number }).code, 410);
  });
});
