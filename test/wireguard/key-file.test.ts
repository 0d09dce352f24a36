import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { execCommand } from '../../src/process/exec.ts';
import { isTemporaryKeyFileName, loadOrCreateDeviceKey, prepareKeyDirectory } from '../../src/wireguard/key-file.ts';
import { publicKeyOf } from '../../src/wireguard/keys.ts';

async function temporaryDirectory(t: TestContext): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), 'cw-keys-'));
  t.after(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

describe('loadOrCreateDeviceKey', () => {
  it('creates the directory 0700 and the key file 0600 in wg genkey format, then loads it again', async (t) => {
    const base = await temporaryDirectory(t);
    const directory = path.join(base, 'var', 'lib', 'semaphore-wireguard');
    const first = await loadOrCreateDeviceKey(directory, 'wireguard.c2');
    assert.equal(first.created, true);
    assert.equal(first.path, path.join(directory, 'wireguard.c2.key'));
    assert.equal((await stat(directory)).mode & 0o777, 0o700);
    assert.equal((await stat(first.path)).mode & 0o777, 0o600);
    assert.equal(await readFile(first.path, 'utf8'), `${first.privateKey}\n`);
    assert.equal(first.publicKey, publicKeyOf(first.privateKey));

    const second = await loadOrCreateDeviceKey(directory, 'wireguard.c2');
    assert.deepEqual(second, { ...first, created: false });
  });

  it('loads a key written by `wg genkey`', async (t) => {
    const directory = await temporaryDirectory(t);
    const { stdout } = await execCommand('wg', ['genkey']);
    await writeFile(path.join(directory, 'wg-c3.key'), stdout, { mode: 0o600 });
    const key = await loadOrCreateDeviceKey(directory, 'wg-c3');
    assert.equal(key.privateKey, stdout.trim());
    assert.equal(key.created, false);
    const { stdout: pub } = await execCommand('wg', ['pubkey'], { input: stdout });
    assert.equal(key.publicKey, pub.trim());
  });

  for (const [name, content] of [
    ['empty', ''],
    ['truncated', 'YP7i4dmm0RvMkEEqDXWIhBo\n'],
    ['two keys', 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=\nXoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=\n'],
    ['a config file', '[Interface]\nPrivateKey = YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=\n'],
  ]) {
    it(`fails on a malformed (${name}) key file, naming it, and leaves it untouched`, async (t) => {
      const directory = await temporaryDirectory(t);
      const file = path.join(directory, 'wg-c2.key');
      await writeFile(file, content!, { mode: 0o600 });
      await assert.rejects(loadOrCreateDeviceKey(directory, 'wg-c2'), (error: Error) => {
        assert.match(error.message, new RegExp(`${file.replaceAll('.', '\\.')} is malformed`));
        return true;
      });
      assert.equal(await readFile(file, 'utf8'), content);
    });
  }

  it('reports an unreadable key path with the path', async (t) => {
    const directory = await temporaryDirectory(t);
    await mkdir(path.join(directory, 'wg-c2.key'));
    await assert.rejects(loadOrCreateDeviceKey(directory, 'wg-c2'), /reading WireGuard key file .*wg-c2\.key failed/);
  });

  it('gives concurrent callers the same key and leaves no temporary file', async (t) => {
    const directory = await temporaryDirectory(t);
    const keys = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateDeviceKey(directory, 'wg-c4')));
    assert.equal(new Set(keys.map((key) => key.privateKey)).size, 1);
    assert.equal(keys.filter((key) => key.created).length, 1);
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(await readdir(directory), ['wg-c4.key']);
  });
});

describe('prepareKeyDirectory', () => {
  const KEY = 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=\n';

  it('creates a missing directory 0700', async (t) => {
    const directory = path.join(await temporaryDirectory(t), 'var', 'lib', 'semaphore-wireguard');
    assert.deepEqual(await prepareKeyDirectory(directory), { created: true, previousMode: null, removedTemporaryFiles: [] });
    assert.equal((await stat(directory)).mode & 0o777, 0o700);
  });

  it('sets an existing directory (a hostPath made 0755) to 0700 and reports the mode it had', async (t) => {
    const directory = path.join(await temporaryDirectory(t), 'keys');
    await mkdir(directory);
    await chmod(directory, 0o755);
    await writeFile(path.join(directory, 'wg-c2.key'), KEY, { mode: 0o600 });
    assert.deepEqual(await prepareKeyDirectory(directory), { created: false, previousMode: 0o755, removedTemporaryFiles: [] });
    assert.equal((await stat(directory)).mode & 0o777, 0o700);
    assert.deepEqual(await prepareKeyDirectory(directory), { created: false, previousMode: null, removedTemporaryFiles: [] });
    assert.equal(await readFile(path.join(directory, 'wg-c2.key'), 'utf8'), KEY);
  });

  it('follows a symlinked key directory to the real one', async (t) => {
    const base = await temporaryDirectory(t);
    await mkdir(path.join(base, 'real'), { mode: 0o750 });
    await symlink(path.join(base, 'real'), path.join(base, 'keys'));
    assert.equal((await prepareKeyDirectory(path.join(base, 'keys'))).previousMode, 0o750);
    assert.equal((await stat(path.join(base, 'real'))).mode & 0o777, 0o700);
  });

  it('removes the temporary key files a kill -9 during key creation left, and nothing else', async (t) => {
    const directory = await temporaryDirectory(t);
    const leftovers = ['wg-c2.key.4711-0a1b2c3d.tmp', 'wireguard.c3.key.1-ffffffff.tmp'];
    const kept = ['wg-c2.key', 'notes.tmp', 'wg-c2.key.tmp', 'wg-c2.key.4711-0a1b2c3d.tmp.bak', 'wg-c2.key.4711-0A1B2C3D.tmp', 'other.4711-0a1b2c3d.tmp'];
    for (const name of [...leftovers, ...kept]) await writeFile(path.join(directory, name), KEY, { mode: 0o600 });
    // A directory with the pattern's name is not a file we wrote.
    await mkdir(path.join(directory, 'wg-c9.key.1-00000000.tmp'));
    const report = await prepareKeyDirectory(directory);
    assert.deepEqual(report.removedTemporaryFiles.sort(), leftovers.sort());
    assert.deepEqual((await readdir(directory)).sort(), [...kept, 'wg-c9.key.1-00000000.tmp'].sort());
  });

  it('refuses a key path that is a file', async (t) => {
    const file = path.join(await temporaryDirectory(t), 'keys');
    await writeFile(file, '');
    await assert.rejects(prepareKeyDirectory(file), (error: Error) => {
      assert.equal(error.message, `preparing the WireGuard key directory ${file} failed`);
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'EEXIST');
      return true;
    });
  });

  const names: [name: string, ours: boolean][] = [
    ['wg-c2.key.4711-0a1b2c3d.tmp', true],
    ['wireguard.c2.key.1-00000000.tmp', true],
    ['wg-c2.key', false],
    ['wg-c2.key.tmp', false],
    ['wg-c2.key.x-0a1b2c3d.tmp', false],
    ['wg-c2.key.4711-0a1b2c3.tmp', false],
    ['wg-c2.key.4711-0a1b2c3d.tmp~', false],
    ['.key.1-00000000.tmp', false],
  ];
  for (const [name, ours] of names) {
    it(`${name}: ${ours ? 'ours' : 'not ours'}`, () => assert.equal(isTemporaryKeyFileName(name), ours));
  }
});
