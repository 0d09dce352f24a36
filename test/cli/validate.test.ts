import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { runCli } from '../../src/cli/cli.ts';

async function validate(json: unknown, extra: string[] = []): Promise<{ code: number; out: string; err: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cw-validate-'));
  try {
    const path = join(dir, 'clusters.json');
    await writeFile(path, JSON.stringify(json).replaceAll('DIR', dir));
    // The token file exists, as it does where the daemon runs: validate warns about one it cannot read.
    await writeFile(join(dir, 'c2.token'), 'token\n');
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const code = await runCli(['validate', '-clusters-config', path, ...extra.map((arg) => arg.replaceAll('DIR', dir))], {}, { stdout, stderr });
    return { code, out: String(stdout.read() ?? '').replaceAll(dir, 'DIR'), err: String(stderr.read() ?? '').replaceAll(dir, 'DIR') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const remote = (change: Record<string, unknown>) => ({
  local: { name: 'c1' },
  remotes: [
    {
      name: 'c2',
      remoteAPIURL: 'https://lb.c2.example:6443',
      remoteCAURL: 'https://ca.c2.example/ca.crt',
      remoteSATokenPath: 'DIR/c2.token',
      podSubnet: '10.4.0.0/16',
      ...change,
    },
  ],
});

test('validate warns on stderr about a plain-http CA URL without a pin, and still exits 0', async () => {
  const { code, out, err } = await validate(remote({ remoteCAURL: 'http://kube-ca-cert.c2.example' }));
  assert.equal(code, 0);
  assert.match(out, /is valid/);
  assert.equal(
    err,
    "clusterwire: warning: remotes[0].remoteCAURL: 'http://kube-ca-cert.c2.example' is plain http and remoteCASHA256 is not set: anyone on the path can replace the CA and then read the token sent to remoteAPIURL; use https, or pin the CA with remoteCASHA256\n",
  );
});

test('validate: no warning for a pinned http CA URL; the summary shows the pin', async () => {
  const pin = Array.from({ length: 32 }, () => 'AB').join(':');
  const { code, out, err } = await validate(remote({ remoteCAURL: 'http://kube-ca-cert.c2.example', remoteCASHA256: pin.toLowerCase() }));
  assert.equal(code, 0);
  assert.equal(err, '');
  assert.match(out, new RegExp(`access +API https://lb\\.c2\\.example:6443, CA from http://kube-ca-cert\\.c2\\.example \\(pinned, SHA-256 ${pin}\\), token file DIR/c2\\.token\n`));
});

test('validate refuses a token file in the key directory: the default -wg-key-path, or the one given', async () => {
  const atDefault = await validate(remote({ remoteSATokenPath: '/var/lib/semaphore-wireguard/wireguard.c2.key' }));
  assert.equal(atDefault.code, 1);
  assert.match(
    atDefault.err,
    /^ {2}remotes\[0\]\.remoteSATokenPath: token file \/var\/lib\/semaphore-wireguard\/wireguard\.c2\.key is a WireGuard private key file: its content would be sent as a bearer token$/m,
  );
  const given = await validate(remote({ remoteSATokenPath: 'DIR/keys/token' }), ['-wg-key-path', 'DIR/keys']);
  assert.equal(given.code, 1);
  assert.match(given.err, /^ {2}remotes\[0\]\.remoteSATokenPath: token file DIR\/keys\/token is inside the WireGuard key directory DIR\/keys \(-wg-key-path\)/m);
  assert.equal((await validate(remote({ remoteSATokenPath: 'DIR/keys/token' }), ['-wg-key-path', 'DIR/other'])).code, 0);
});
