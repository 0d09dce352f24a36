import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { cleanup, type CleanupTargets } from '../../src/cli/cleanup.ts';
import { parseClustersConfig } from '../../src/config/parse.ts';
import type { ClustersConfig } from '../../src/config/types.ts';

const parsed = parseClustersConfig({
  local: { name: 'c1', kubeConfigPath: '/k' },
  remotes: [
    { name: 'c2', kubeConfigPath: '/k2', podSubnet: '10.4.0.0/16' },
    { name: 'c3', kubeConfigPath: '/k3', podSubnet: '10.6.0.0/16', wgListenPort: 51822 },
  ],
});
assert.ok(parsed.ok);
const config: ClustersConfig = parsed.config;

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  return { stdout, stderr, out: () => String(stdout.read() ?? ''), err: () => String(stderr.read() ?? '') };
}

test('cleanup says what it removed: links (with their routes) and annotations of every configured remote', async () => {
  const asked: string[][] = [];
  const targets: CleanupTargets = {
    removeOwnedLinks: () => Promise.resolve(['wireguard.c2', 'wireguard.c3']),
    removeAnnotations: (remotes) => {
      asked.push([...remotes]);
      return Promise.resolve(['c2.wireguard.semaphore.uw.io/pubKey']);
    },
    removeFromSlices: () => Promise.resolve(['c1-for-c2-0']),
  };
  const streams = io();
  assert.equal(await cleanup(config, 'n1', targets, streams), 0);
  assert.deepEqual(asked, [['c2', 'c3']]);
  assert.equal(
    streams.out(),
    'removed link wireguard.c2 and its routes\nremoved link wireguard.c3 and its routes\nremoved annotation c2.wireguard.semaphore.uw.io/pubKey\nremoved n1 from PeerSlice c1-for-c2-0\n',
  );
});

test('cleanup with nothing to do says so and exits 0', async () => {
  const streams = io();
  assert.equal(await cleanup(config, 'n1', { removeOwnedLinks: () => Promise.resolve([]), removeAnnotations: () => Promise.resolve([]), removeFromSlices: () => Promise.resolve([]) }, streams), 0);
  assert.equal(streams.out(), 'no links of clusterwire on this host\nno annotations of clusterwire on the local Node\nn1 is in no PeerSlice of c1\n');
});

test('a failure in one part does not stop the other, and exits 1 naming the cause', async () => {
  const streams = io();
  const code = await cleanup(
    config,
    'n1',
    {
      removeOwnedLinks: () => Promise.reject(new Error('removing 1 owned link(s) failed', { cause: new Error('RTNETLINK answers: Operation not permitted') })),
      removeAnnotations: () => Promise.resolve(['c2.wireguard.semaphore.uw.io/endpoint']),
      removeFromSlices: () => Promise.resolve([]),
    },
    streams,
  );
  assert.equal(code, 1);
  assert.match(streams.err(), /removing links failed: removing 1 owned link\(s\) failed: RTNETLINK answers: Operation not permitted/);
  assert.match(streams.out(), /removed annotation c2.wireguard.semaphore.uw.io\/endpoint/);
});
