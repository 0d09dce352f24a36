import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { nodeIssues, tokenFileIssues } from '../../src/cli/node-checks.ts';
import { resolvedPath } from '../../src/cli/resolved-path.ts';
import { formatIssue } from '../../src/config/issue.ts';
import { parseClustersConfig } from '../../src/config/parse.ts';
import type { ClustersConfig } from '../../src/config/types.ts';
import { scriptedRunner } from '../support/scripted-runner.ts';

async function temporaryDirectory(t: TestContext): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'cw-node-checks-'));
  t.after(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

function config(json: unknown): ClustersConfig {
  const result = parseClustersConfig(json);
  assert.ok(result.ok, JSON.stringify(result));
  return result.config;
}

const tokenRemote = (tokenPath: string, extra: Record<string, unknown> = {}) => ({
  name: 'c2',
  remoteAPIURL: 'https://lb.c2.example:6443',
  remoteCAURL: 'https://ca.c2.example/ca.crt',
  remoteSATokenPath: tokenPath,
  podSubnet: '10.4.0.0/16',
  ...extra,
});

function kubeconfig(tokenFile: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'k', cluster: { server: 'https://lb.c3.example:6443' } }],
    users: [{ name: 'u', user: { tokenFile } }],
    contexts: [{ name: 'k', context: { cluster: 'k', user: 'u' } }],
    'current-context': 'k',
  });
}

const BEARER = 'its content would be sent as a bearer token';

describe('resolvedPath', () => {
  it('follows links in existing paths and dangling links, and keeps the missing rest', async (t) => {
    const dir = await resolvedPath(await temporaryDirectory(t));
    await mkdir(join(dir, 'keys'));
    await symlink(join(dir, 'keys'), join(dir, 'keys-link'));
    await symlink(join(dir, 'keys', 'wg.key'), join(dir, 'dangling'));
    await symlink('keys-link/later.key', join(dir, 'relative-dangling'));
    await symlink('loop-b', join(dir, 'loop-a'));
    await symlink('loop-a', join(dir, 'loop-b'));
    assert.equal(await resolvedPath(join(dir, 'keys-link', 'wg.key')), join(dir, 'keys', 'wg.key'));
    assert.equal(await resolvedPath(join(dir, 'dangling')), join(dir, 'keys', 'wg.key'));
    assert.equal(await resolvedPath(join(dir, 'relative-dangling')), join(dir, 'keys', 'later.key'));
    assert.equal(await resolvedPath(join(dir, 'keys-link', 'a', 'b')), join(dir, 'keys', 'a', 'b'));
    assert.equal(await resolvedPath(join(dir, 'keys-link', '..', 'keys')), join(dir, 'keys'));
    await assert.rejects(resolvedPath(join(dir, 'loop-a')), /ELOOP|too many levels of symbolic links/);
  });
});

describe('token files against the key directory', () => {
  it('refuses remoteSATokenPath in the key directory, as a symlink to a key file, and a kubeconfig tokenFile there', async (t) => {
    const dir = await resolvedPath(await temporaryDirectory(t));
    const keys = join(dir, 'keys');
    await mkdir(keys);
    await writeFile(join(keys, 'wireguard.c2.key'), 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=\n');
    await mkdir(join(dir, 'tokens'));
    await symlink(join(keys, 'wireguard.c2.key'), join(dir, 'tokens', 'c2.token'));
    // Relative to the kubeconfig, as kubectl reads it; the key it names does not exist yet.
    await writeFile(join(dir, 'tokens', 'c3.kubeconfig'), kubeconfig('../keys/wg-c3.key'));
    await writeFile(join(dir, 'tokens', 'local.kubeconfig'), kubeconfig('local.token'));
    const cfg = config({
      local: { name: 'c1', kubeConfigPath: join(dir, 'tokens', 'local.kubeconfig') },
      remotes: [
        tokenRemote(join(dir, 'tokens', 'c2.token'), { wgListenPort: 51821 }),
        { name: 'c3', kubeConfigPath: join(dir, 'tokens', 'c3.kubeconfig'), podSubnet: '10.5.0.0/16', wgDeviceName: 'wg-c3', wgListenPort: 51822 },
        tokenRemote(join(keys, 'old.token'), { name: 'c4', podSubnet: '10.6.0.0/16', wgListenPort: 51823 }),
      ],
    });
    assert.deepEqual((await tokenFileIssues(cfg, keys)).map(formatIssue), [
      `remotes[0].remoteSATokenPath: token file ${dir}/tokens/c2.token (${keys}/wireguard.c2.key) is a WireGuard private key file: ${BEARER}`,
      `remotes[1].kubeConfigPath: tokenFile of kubeconfig ${dir}/tokens/c3.kubeconfig ${keys}/wg-c3.key is a WireGuard private key file: ${BEARER}`,
      `remotes[2].remoteSATokenPath: token file ${keys}/old.token is inside the WireGuard key directory ${keys} (-wg-key-path): ${BEARER}`,
    ]);
    // With the keys elsewhere, the same config is fine.
    assert.deepEqual(await tokenFileIssues(cfg, join(dir, 'other-keys')), []);
  });

  it('a symlinked key directory is seen through', async (t) => {
    const dir = await resolvedPath(await temporaryDirectory(t));
    await mkdir(join(dir, 'real-keys'));
    await symlink(join(dir, 'real-keys'), join(dir, 'keys'));
    const cfg = config({ local: { name: 'c1' }, remotes: [tokenRemote(join(dir, 'real-keys', 'token'))] });
    assert.deepEqual((await tokenFileIssues(cfg, join(dir, 'keys'))).map(formatIssue), [
      `remotes[0].remoteSATokenPath: token file ${dir}/real-keys/token is inside the WireGuard key directory ${dir}/real-keys (-wg-key-path): ${BEARER}`,
    ]);
  });

  it('a kubeconfig that is not there, or does not parse, is skipped: validate reports it, and run fails building its client', async (t) => {
    const dir = await resolvedPath(await temporaryDirectory(t));
    await writeFile(join(dir, 'broken.kubeconfig'), 'apiVersion: [');
    const cfg = config({
      local: { name: 'c1', kubeConfigPath: join(dir, 'absent.kubeconfig') },
      remotes: [{ name: 'c2', kubeConfigPath: join(dir, 'broken.kubeconfig'), podSubnet: '10.4.0.0/16' }],
    });
    assert.deepEqual(await tokenFileIssues(cfg, join(dir, 'keys')), []);
  });
});

describe('nodeIssues: what run checks before it touches the node', () => {
  it("names the subnet, the address and the interface, with the token problems", async (t) => {
    const dir = await resolvedPath(await temporaryDirectory(t));
    const { run, calls } = scriptedRunner(() =>
      JSON.stringify([
        { ifname: 'lo', addr_info: [{ local: '127.0.0.1' }] },
        { ifname: 'ens5', addr_info: [{ local: '10.4.7.9' }] },
      ]),
    );
    const cfg = config({ local: { name: 'c1' }, remotes: [tokenRemote(join(dir, 'keys', 'wireguard.c2.key'))] });
    assert.deepEqual((await nodeIssues(cfg, join(dir, 'keys'), run)).map(formatIssue), [
      "remotes[0]: pod subnet 10.4.0.0/16 contains 10.4.7.9, this node's address on ens5: routing the subnet into the tunnel would cut the node off that network (is it this cluster's node or pod network rather than c2's pods?)",
      `remotes[0].remoteSATokenPath: token file ${dir}/keys/wireguard.c2.key is a WireGuard private key file: ${BEARER}`,
    ]);
    assert.equal(calls.length, 1);
  });
});
