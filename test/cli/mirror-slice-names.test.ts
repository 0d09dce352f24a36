/**
 * `clusterwire mirror` refuses cluster names that would give two of its
 * slice sets the same slice names (src/fleet/peer-slice.ts,
 * sliceNameClash): a config error, exit 1, before anything is read.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { runCli } from '../../src/cli/cli.ts';
import { ExitCode } from '../../src/cli/io.ts';

const remote = (name: string, device: string, port: number, subnet: string) => ({
  name,
  // Nothing listens there: the refusal comes before any request.
  remoteAPIURL: 'https://127.0.0.1:9',
  remoteCAURL: 'https://127.0.0.1:9/ca.crt',
  remoteSATokenPath: 'DIR/token',
  podSubnet: subnet,
  wgDeviceName: device,
  wgListenPort: port,
});

test('mirror: remotes b-for-a and a-for-b of local a would share slice names: a config error naming them, exit 1', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-mirror-names-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'token'), 'token\n');
  const path = join(dir, 'clusters.json');
  const config = { local: { name: 'a' }, remotes: [remote('b-for-a', 'wg-ba', 51821, '10.4.0.0/16'), remote('a-for-b', 'wg-ab', 51822, '10.5.0.0/16')] };
  await writeFile(path, JSON.stringify(config).replaceAll('DIR', dir));
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const code = await runCli(['mirror', '-clusters-config', path, '-namespace', 'clusterwire', '-listen-address', '127.0.0.1:0'], {}, { stdout, stderr });
  const err = String(stderr.read() ?? '');
  assert.equal(code, ExitCode.badConfig, err);
  assert.match(err, /remotes\[1\]\.name: the published slices for b-for-a and the mirrored slices of a-for-b would both be named a-for-b-for-a-<n> in namespace clusterwire/);
});
