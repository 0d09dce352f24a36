import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { caSource } from '../../src/kube/ca-source.ts';
import { makeCA } from './helpers/certs.ts';

test('CA sources', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-ca-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [ca1, ca2] = await Promise.all([makeCA(dir, 'one'), makeCA(dir, 'two')]);

  await t.test('URL: fetched once, shared by concurrent callers, fetched again only on reload', async () => {
    const served = [ca1, ca2];
    const fetched: string[] = [];
    const source = caSource({ kind: 'url', url: 'http://ca.example/ca.crt' }, (url) => {
      fetched.push(url);
      return Promise.resolve(served[fetched.length - 1] ?? ca2);
    });
    assert.deepEqual(await Promise.all([source.current(), source.current()]), [ca1, ca1]);
    assert.equal(await source.current(), ca1);
    assert.equal(fetched.length, 1);
    assert.equal(await source.reload(), ca2);
    assert.equal(await source.current(), ca2);
    assert.deepEqual(fetched, ['http://ca.example/ca.crt', 'http://ca.example/ca.crt']);
  });

  await t.test('URL: a failed or bogus fetch is an error that does not stick', async () => {
    let answer: () => Promise<string> = () => Promise.reject(new Error('connection refused'));
    const source = caSource({ kind: 'url', url: 'http://ca.example/ca.crt' }, () => answer());
    await assert.rejects(source.current(), /connection refused/);
    answer = () => Promise.resolve('<html>oops</html>');
    await assert.rejects(source.current(), /CA from http:\/\/ca.example\/ca.crt is not a PEM certificate/);
    answer = () => Promise.resolve('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await assert.rejects(source.current(), /is not a valid certificate/);
    answer = () => Promise.resolve(ca1);
    assert.equal(await source.current(), ca1);
  });

  await t.test('file: read on first use and re-read on reload', async () => {
    const path = join(dir, 'bundle.crt');
    await writeFile(path, ca1);
    const source = caSource({ kind: 'file', path });
    assert.equal(await source.current(), ca1);
    await writeFile(path, ca2);
    assert.equal(await source.current(), ca1);
    assert.equal(await source.reload(), ca2);
  });

  await t.test('inline: checked at once, never changes', async () => {
    const source = caSource({ kind: 'inline', pem: ca1 });
    assert.equal(await source.reload(), ca1);
    assert.throws(() => caSource({ kind: 'inline', pem: 'nope' }), /inline certificate-authority-data is not a PEM/);
  });

  await t.test('system: null', async () => {
    assert.equal(await caSource({ kind: 'system' }).current(), null);
  });
});
