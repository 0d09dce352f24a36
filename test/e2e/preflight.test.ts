import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { onPath, preflightProblems, REQUIRED_TOOLS } from '../../lab/preflight.ts';

const everything = (command: string) => REQUIRED_TOOLS.some((tool) => tool.command === command);

describe('demo preflight', () => {
  it('has nothing to say on a ready machine', () => {
    assert.deepEqual(preflightProblems({ uid: 0, has: everything, tunPresent: true }), []);
  });

  it('names every missing tool with its Debian package, then one install command', () => {
    const missing = new Set(['wireguard-go', 'nsenter', 'unshare']);
    assert.deepEqual(preflightProblems({ uid: 0, has: (command) => everything(command) && !missing.has(command), tunPresent: true }), [
      'wireguard-go is missing (userspace WireGuard (no kernel module needed)): it is in the Debian package wireguard-go',
      'nsenter is missing (running commands inside a node): it is in the Debian package util-linux',
      "unshare is missing (each node's own mount namespace): it is in the Debian package util-linux",
      'install them with: apt-get install --no-install-recommends wireguard-go util-linux',
    ]);
  });

  it('asks for root and for the TUN device', () => {
    const problems = preflightProblems({ uid: 1000, has: everything, tunPresent: false });
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /^run it as root/);
    assert.match(problems[1] ?? '', /\/dev\/net\/tun is missing/);
    assert.match(preflightProblems({ uid: undefined, has: everything, tunPresent: true })[0] ?? '', /^run it as root/);
  });

  it('finds executables on a PATH, not plain files', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'preflight-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(path.join(dir, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(path.join(dir, 'data'), '', { mode: 0o644 });
    assert.equal(onPath('tool', `/nonexistent${path.delimiter}${dir}`), true);
    assert.equal(onPath('data', dir), false);
    assert.equal(onPath('tool', ''), false);
  });
});
