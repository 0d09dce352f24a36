/**
 * `clusterwire run` refuses, before it touches the node, a remote pod subnet
 * that holds one of the node's addresses: the real program in a network
 * namespace the test creates, with a veth interface holding 10.9.0.5/16.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { createLabHost } from '../../lab/netns.ts';
import { skipUnlessRoot } from '../support/root.ts';

const ROOT = resolve(import.meta.dirname, '../..');

test('run: a remote pod subnet holding a node address stops start-up (exit 1), naming subnet, address and interface; nothing is touched', async (t) => {
  if (skipUnlessRoot(t)) return;
  const dir = await mkdtemp(join(tmpdir(), 'cw-run-refusal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const host = await createLabHost(`cwrefuse${process.pid}`);
  t.after(() => host.destroy());
  await host.run('ip', ['link', 'add', 'cw-node0', 'type', 'veth', 'peer', 'name', 'cw-node1']);
  await host.run('ip', ['address', 'add', '10.9.0.5/16', 'dev', 'cw-node0']);

  const config = join(dir, 'clusters.json');
  await writeFile(join(dir, 'token'), 'token\n');
  await writeFile(
    config,
    JSON.stringify({
      local: { name: 'c1', kubeConfigPath: join(dir, 'local.kubeconfig') },
      remotes: [
        {
          name: 'c2',
          remoteAPIURL: 'https://127.0.0.1:6443',
          remoteCAURL: 'http://127.0.0.1:8080/ca.crt',
          remoteSATokenPath: join(dir, 'token'),
          podSubnets: ['10.9.0.0/16'],
        },
      ],
    }),
  );
  const keys = join(dir, 'keys');
  const child = host.launch(
    process.execPath,
    [join(ROOT, 'src/main.ts'), 'run', '-clusters-config', config, '-node-name', 'n1', '-wg-key-path', keys, '-wg-backend', 'kernel', '-listen-address', '127.0.0.1:0'],
    {},
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((done) => child.on('close', done));
  clearTimeout(killer);

  assert.equal(code, 1, stderr);
  assert.equal(
    stderr,
    `clusterwire: clusters config ${config}, checked on this node, has 1 problem:\n` +
      "  remotes[0]: pod subnet 10.9.0.0/16 contains 10.9.0.5, this node's address on cw-node0: routing the subnet into the tunnel would cut the node off that network (is it this cluster's node or pod network rather than c2's pods?)\n",
  );
  // The plain-http CA URL was warned about first, in the log.
  assert.match(stdout, /"level":"warn",.*"field":"remotes\[0\]\.remoteCAURL".*is plain http and remoteCASHA256 is not set/);
  await assert.rejects(stat(keys), { code: 'ENOENT' }, 'the key directory was not even created');
  const links = JSON.parse((await host.run('ip', ['-j', 'link', 'show'])).stdout) as { ifname: string }[];
  assert.deepEqual(links.map((link) => link.ifname).sort(), ['cw-node0', 'cw-node1', 'lo'], 'no link was made');
});
