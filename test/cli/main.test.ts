import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';

// The real program, as the container runs it, in a child process: exit codes and streams are the contract here.
const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLE = join(ROOT, 'config.example.json');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node src/main.ts ...args` with only the environment given (plus PATH), so the caller's SWG_* do not leak in. */
function clusterwire(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(ROOT, 'src/main.ts'), ...args],
      { cwd: ROOT, timeout: 30_000, env: { PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`, ...env } },
      (error, stdout, stderr) => done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr }),
    );
  });
}

describe('clusterwire as a process', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `clusterwire-cli-${process.pid}-`));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('validate on the example config: exit 0 and a summary per remote; the pod-only files it names are warnings', async () => {
    const { code, stdout, stderr } = await clusterwire(['validate', '-clusters-config', EXAMPLE]);
    assert.deepEqual(
      stderr.split('\n').filter((line) => line !== '').map((line) => line.replace(/ cannot be read here.*/, '')),
      ['clusterwire: warning: remotes[0].remoteSATokenPath: token file /etc/clusterwire/tokens/c2.token', 'clusterwire: warning: remotes[1].kubeConfigPath: kubeconfig /etc/clusterwire/tokens/gcp-eu1.kubeconfig'],
    );
    assert.equal(code, 0);
    assert.match(stdout, /^clusters config .*config\.example\.json is valid\n/);
    assert.match(stdout, /remote cluster c2:\n {2}device +wireguard\.c2, listen port 51821, MTU 1380\n {2}pod subnets +10\.4\.0\.0\/16\n {2}access +API https:\/\/\S+, CA from https:\/\/\S+, token file \/\S+\n {2}source +the remote's Nodes\n {2}keepalive +25s\n/);
    assert.match(stdout, /remote cluster gcp-eu1:\n {2}device +wg-gcp-eu1, listen port 51822, MTU 1380\n {2}pod subnets +10\.8\.0\.0\/16, fd10:8::\/56\n {2}access +kubeconfig \/\S+\n {2}source +the remote's Nodes\n {2}keepalive +15s\n {2}reconcile +every 5m0s/);
  });

  it('validate on a bad config: exit 1 naming every bad field by JSON path', async () => {
    const path = join(dir, 'bad.json');
    const example = JSON.parse(await readFile(EXAMPLE, 'utf8')) as { remotes: Record<string, unknown>[] };
    Object.assign(example.remotes[1] ?? {}, { wgListenPort: 51821, wgDeviceMTU: 1279, podSubnets: ['10.4.0.0/17'] });
    await writeFile(path, JSON.stringify(example));
    const { code, stdout, stderr } = await clusterwire(['validate', `--clusters-config=${path}`]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, new RegExp(`^clusterwire: clusters config ${path} has 3 problems:\\n`));
    assert.match(stderr, /^ {2}remotes\[1\]\.wgDeviceMTU: 1279 is out of range/m);
    assert.match(stderr, /^ {2}remotes\[1\]\.wgListenPort: 51821 is already used by remotes\[0\]/m);
    assert.match(stderr, /^ {2}remotes\[1\]\.podSubnets\[0\]: 10\.4\.0\.0\/17 overlaps 10\.4\.0\.0\/16/m);
  });

  it('validate on a missing file: exit 1', async () => {
    const { code, stderr } = await clusterwire(['validate'], { SWG_CLUSTERS_CONFIG: join(dir, 'absent.json') });
    assert.equal(code, 1);
    assert.match(stderr, /has 1 problem:\n {2}cannot read the file: ENOENT/);
  });

  it('calico-ippools: exit 0 and YAML that parses', async () => {
    const { code, stdout } = await clusterwire(['calico-ippools', '--clusters-config', EXAMPLE]);
    assert.equal(code, 0);
    const documents = parseAllDocuments(stdout);
    assert.ok(Array.isArray(documents));
    assert.deepEqual(
      documents.map((document) => (document.toJS() as { metadata: { name: string } }).metadata.name),
      ['c2-pods', 'gcp-eu1-pods', 'gcp-eu1-pods-ipv6'],
    );
  });

  it('version: exit 0, the version of package.json', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual(await clusterwire(['version']), { code: 0, stdout: `clusterwire ${version}\n`, stderr: '' });
  });

  it('--help and validate --help: exit 0 on stdout', async () => {
    const top = await clusterwire(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /^Commands:$/m);
    const validate = await clusterwire(['validate', '--help']);
    assert.equal(validate.code, 0);
    assert.match(validate.stdout, /^Usage: clusterwire validate \[flags\]/);
  });

  it('an unknown flag or a missing required one: exit 2, one line on stderr', async () => {
    assert.deepEqual(await clusterwire(['-foo']), { code: 2, stdout: '', stderr: 'clusterwire: flag provided but not defined: -foo\n' });
    assert.deepEqual(await clusterwire(['-clusters-config', EXAMPLE]), {
      code: 2,
      stdout: '',
      stderr: 'clusterwire: -node-name (or SWG_NODE_NAME) is required\n',
    });
  });

  it('run: logs its start at -log-level, and a malformed key file stops it (exit 1) without being overwritten', async () => {
    const keyDir = join(dir, 'keys');
    await mkdir(keyDir, { recursive: true, mode: 0o700 });
    const keyFile = join(keyDir, 'wireguard.c2.key');
    await writeFile(keyFile, 'not a key\n', { mode: 0o600 });
    const { code, stdout, stderr } = await clusterwire(['--log-level=debug', '-clusters-config', EXAMPLE, '-wg-key-path', keyDir], { SWG_NODE_NAME: 'node-a' });
    assert.equal(code, 1);
    assert.match(stderr, /wireguard\.c2\.key/);
    assert.equal(await readFile(keyFile, 'utf8'), 'not a key\n');
    const log = JSON.parse(stdout.trim().split('\n')[0] ?? '') as { level: string; node: string; remotes: { device: string }[] };
    assert.equal(log.level, 'info');
    assert.equal(log.node, 'node-a');
    assert.deepEqual(
      log.remotes.map((remote) => remote.device),
      ['wireguard.c2', 'wg-gcp-eu1'],
    );
    const quiet = await clusterwire(['-clusters-config', EXAMPLE, '-wg-key-path', keyDir], { SWG_NODE_NAME: 'node-a', SWG_LOG_LEVEL: 'warn' });
    assert.equal(quiet.code, 1);
    assert.equal(quiet.stdout, '', 'an info line is not logged at level warn');
  });

  it('run -log-level off (semaphore-wireguard\'s spelling): no log line at all; a fatal error still reaches stderr with exit 1', async () => {
    const keyDir = join(dir, 'keys-off');
    await mkdir(keyDir, { recursive: true, mode: 0o700 });
    await writeFile(join(keyDir, 'wireguard.c2.key'), 'not a key\n', { mode: 0o600 });
    for (const [args, env] of [
      [['-log-level', 'off'], {}],
      [[], { SWG_LOG_LEVEL: 'OFF' }],
    ] as const) {
      const { code, stdout, stderr } = await clusterwire([...args, '-clusters-config', EXAMPLE, '-wg-key-path', keyDir], { SWG_NODE_NAME: 'node-a', ...env });
      assert.equal(code, 1, `${args.join(' ')} ${JSON.stringify(env)}: exit 1, not 2: off is a level`);
      assert.equal(stdout, '', 'no log line, not even the start line or the config warnings');
      assert.match(stderr, /wireguard\.c2\.key/);
    }
  });

  it('run with a bad config: exit 1 before anything else', async () => {
    const { code, stdout, stderr } = await clusterwire(['-clusters-config', join(dir, 'absent.json'), '-node-name', 'n']);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /^clusterwire: clusters config .*absent\.json has 1 problem/);
  });
});
