import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tokenSource } from '../../src/kube/token-source.ts';

test('a token file is re-read when rewritten in place or swapped like a projected volume', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-token-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // The kubelet's layout: token -> ..data/token, ..data -> ..<timestamp>.
  await mkdir(join(dir, '..v1'));
  await writeFile(join(dir, '..v1', 'token'), 'first\n');
  await symlink('..v1', join(dir, '..data'));
  await symlink('..data/token', join(dir, 'token'));
  const source = tokenSource({ kind: 'file', path: join(dir, 'token') });

  assert.equal(await source.current(), 'first');

  await mkdir(join(dir, '..v2'));
  await writeFile(join(dir, '..v2', 'token'), 'second');
  await symlink('..v2', join(dir, '..data.tmp'));
  await rename(join(dir, '..data.tmp'), join(dir, '..data'));
  assert.equal(await source.current(), 'second');

  await writeFile(join(dir, '..v2', 'token'), 'third-longer');
  assert.equal(await source.current(), 'third-longer');
});

test('reload reads the file even when stat shows no change', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-token-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'token');
  // Same size, same inode, mtime forced to the same whole second: only a reload can see the change.
  const fixed = 1_700_000_000;
  await writeFile(path, 'aaaa');
  await utimes(path, fixed, fixed);
  const source = tokenSource({ kind: 'file', path });
  assert.equal(await source.current(), 'aaaa');
  await writeFile(path, 'bbbb');
  await utimes(path, fixed, fixed);
  assert.equal(await source.current(), 'aaaa');
  assert.equal(await source.reload(), 'bbbb');
  assert.equal(await source.current(), 'bbbb');
});

test('token file errors name the file; empty is an error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-token-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'token');
  await assert.rejects(tokenSource({ kind: 'file', path }).current(), (err: Error) => err.message.includes(path));
  await writeFile(path, ' \n');
  await assert.rejects(tokenSource({ kind: 'file', path }).current(), /is empty/);
});

test('static and absent tokens', async () => {
  assert.equal(await tokenSource({ kind: 'static', token: 't' }).current(), 't');
  assert.equal(await tokenSource({ kind: 'static', token: 't' }).reload(), 't');
  assert.equal(await tokenSource({ kind: 'none' }).current(), null);
});
