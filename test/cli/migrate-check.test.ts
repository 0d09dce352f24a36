/**
 * `clusterwire migrate-check` as run in a pod that mounts the node's
 * /var/lib at <root>/var/lib (-host-root), against an emulated apiserver
 * holding the node's annotations.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { startEmulator } from '../../lab/emulator/emulator.ts';
import { realisticNode } from '../../lab/emulator/nodes.ts';
import { runCli } from '../../src/cli/cli.ts';
import { generatePrivateKey, publicKeyOf } from '../../src/wireguard/keys.ts';

async function clusterwire(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [stdout, stderr] = [new PassThrough(), new PassThrough()];
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await runCli(args, {}, { stdout, stderr });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

test('migrate-check: exit 0 when the node keeps its key, 1 with the way out when semaphore kept it elsewhere, 2 on a bad command line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), `cw-migrate-${process.pid}-`));
  const emulator = await startEmulator({ dir: join(dir, 'apiserver'), clusterName: 'c1' });
  t.after(async () => {
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const privateKey = generatePrivateKey();
  emulator.createNode(realisticNode({ name: 'n1', podCIDRs: ['10.2.1.0/24'], internalIPs: ['198.18.64.2'], annotations: { 'c2.wireguard.semaphore.uw.io/pubKey': publicKeyOf(privateKey) } }));
  const config = join(dir, 'clusters.json');
  await writeFile(config, JSON.stringify({ local: { name: 'c1', kubeConfigPath: emulator.kubeconfigPath }, remotes: [{ name: 'c2', kubeConfigPath: '/k', podSubnet: '10.4.0.0/16' }] }));
  const root = join(dir, 'host');
  const args = ['migrate-check', '-clusters-config', config, '-node-name', 'n1', '-host-root', root];

  await mkdir(join(root, 'var/lib/semaphore-wireguard'), { recursive: true });
  await writeFile(join(root, 'var/lib/semaphore-wireguard/wireguard.c2.key'), `${privateKey}\n`, { mode: 0o600 });
  const safe = await clusterwire(args);
  t.diagnostic(safe.stdout);
  assert.equal(safe.code, 0, safe.stdout + safe.stderr);
  assert.match(safe.stdout, /remote c2, device wireguard\.c2: OK: keeps its key/);
  assert.match(safe.stdout, /^safe: /m);

  // semaphore's example DaemonSet: the node's key is at the misspelled path, none where clusterwire reads.
  await rm(join(root, 'var/lib/semaphore-wireguard/wireguard.c2.key'));
  await mkdir(join(root, 'var/lib/semaphore-wiregurad'), { recursive: true });
  await writeFile(join(root, 'var/lib/semaphore-wiregurad/wireguard.c2.key'), `${privateKey}\n`, { mode: 0o600 });
  const changes = await clusterwire(args);
  t.diagnostic(changes.stdout);
  assert.equal(changes.code, 1);
  assert.match(changes.stdout, /WOULD CHANGE: no key file at \/var\/lib\/semaphore-wireguard\/wireguard\.c2\.key.*copy it to \/var\/lib\/semaphore-wireguard\/wireguard\.c2\.key/);
  assert.match(changes.stdout, /\/var\/lib\/semaphore-wiregurad: wireguard\.c2\.key/);

  const usage = await clusterwire(['migrate-check', '-node-name', 'n1']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /-clusters-config \(or SWG_CLUSTERS_CONFIG\) is required/);
});
