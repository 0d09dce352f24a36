import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { WgToolClient } from '../../src/wireguard/wg-tool-client.ts';
import { failure } from '../support/scripted-runner.ts';
import type { Runner } from '../../src/process/exec.ts';
import { ChangeRejectedError } from '../../src/wireguard/types.ts';

const PRIVATE = 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=';
const PUBLIC = 'F+TIJYHDLqEbKG4QNWfvpwgKcRSAoSeWlAvDqxnYAEA=';
const A = 'XoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=';

async function temporaryDirectory(t: TestContext): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), 'cw-wgtool-'));
  t.after(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

describe('WgToolClient', () => {
  it('reads a device with wg show <dev> dump', async () => {
    const calls: string[][] = [];
    const run: Runner = (file, args) => {
      calls.push([file, ...args]);
      return Promise.resolve({ stdout: `${PRIVATE}\t${PUBLIC}\t51820\toff\n`, stderr: '' });
    };
    const device = await new WgToolClient(run).device('wg-c2');
    assert.deepEqual(calls, [['wg', 'show', 'wg-c2', 'dump']]);
    assert.equal(device.publicKey, PUBLIC);
  });

  it('hands the private key over in a private file that is gone afterwards', async (t) => {
    const directory = await temporaryDirectory(t);
    const seen: Array<{ args: readonly string[]; content: string; fileMode: number; directoryMode: number }> = [];
    const run: Runner = async (_file, args) => {
      const input = args[args.indexOf('private-key') + 1]!;
      seen.push({
        args,
        content: await readFile(input, 'utf8'),
        fileMode: (await stat(input)).mode & 0o777,
        directoryMode: (await stat(path.dirname(input))).mode & 0o777,
      });
      return { stdout: '', stderr: '' };
    };
    await new WgToolClient(run, { temporaryDirectory: directory }).configure('wg-c2', { privateKey: PRIVATE, listenPort: 51820, peers: [] });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.content, `${PRIVATE}\n`);
    assert.equal(seen[0]!.fileMode, 0o600);
    assert.equal(seen[0]!.directoryMode, 0o700);
    assert.ok(!seen[0]!.args.includes(PRIVATE));
    assert.deepEqual(await readdir(directory), []);
  });

  it('makes no file for a change without key or bulk config', async (t) => {
    const directory = await temporaryDirectory(t);
    const calls: Array<readonly string[]> = [];
    const run: Runner = (_file, args) => {
      calls.push(args);
      return Promise.resolve({ stdout: '', stderr: '' });
    };
    await new WgToolClient(run, { temporaryDirectory: directory }).configure('wg-c2', { peers: [{ publicKey: A, remove: true }] });
    assert.deepEqual(calls, [['set', 'wg-c2', 'peer', A, 'remove']]);
    assert.deepEqual(await readdir(directory), []);
  });

  it('wraps a failure with the device and cleans up', async (t) => {
    const directory = await temporaryDirectory(t);
    const run: Runner = (file, args) => Promise.reject(failure(file, args, 1, 'Unable to modify interface: No such device\n'));
    await assert.rejects(
      new WgToolClient(run, { temporaryDirectory: directory }).configure('wg-c2', { privateKey: PRIVATE, peers: [] }),
      (error: Error) => {
        assert.match(error.message, /configuring WireGuard device wg-c2 with wg set \(0 peer changes\) failed/);
        assert.match((error.cause as Error).message, /No such device/);
        assert.ok(error instanceof ChangeRejectedError, 'wg exited with a status: it refused the change');
        assert.ok(!error.message.includes(PRIVATE) && !(error.cause as Error).message.includes(PRIVATE));
        return true;
      },
    );
    assert.deepEqual(await readdir(directory), []);
  });

  it('a wg that did not finish (timed out, killed) is not a refusal: the device state is unknown', async (t) => {
    const directory = await temporaryDirectory(t);
    const run: Runner = (file, args) => Promise.reject(failure(file, args, null, 'timed out after 60000 ms'));
    await assert.rejects(new WgToolClient(run, { temporaryDirectory: directory }).configure('wg-c2', { peers: [{ publicKey: A, remove: true }] }), (error: Error) => {
      assert.ok(!(error instanceof ChangeRejectedError));
      return true;
    });
  });
});
