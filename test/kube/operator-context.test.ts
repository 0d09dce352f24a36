import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execPluginOf, parseExecCredential } from '../../src/kube/exec-credential.ts';
import { operatorContext } from '../../src/kube/operator-context.ts';

const config = (name: string, server: string, user: object) =>
  JSON.stringify({
    clusters: [{ name, cluster: { server } }],
    users: [{ name: `${name}-user`, user }],
    contexts: [{ name, context: { cluster: name, user: `${name}-user` } }],
    'current-context': name,
  });

test('operatorContext reads KUBECONFIG-style lists: missing files skipped, the first current-context, none at all an error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-operator-context-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [one, two] = [join(dir, 'one'), join(dir, 'two')];
  await writeFile(one, config('c1', 'https://c1.example', { tokenFile: 'c1.token' }));
  await writeFile(two, config('c2', 'https://c2.example', { token: 't2' }));
  const { selected, settings } = await operatorContext([join(dir, 'missing'), one, two], 'c2');
  assert.equal(selected.context, 'c2');
  assert.equal(settings.server, 'https://c2.example');
  assert.deepEqual(settings.token, { kind: 'static', token: 't2' });
  const current = await operatorContext([one, two], null);
  assert.equal(current.selected.context, 'c1');
  assert.deepEqual(current.settings.token, { kind: 'file', path: join(dir, 'c1.token') });
  await assert.rejects(operatorContext([join(dir, 'missing')], null), /no kubeconfig found: .*missing does not exist/);
  await writeFile(join(dir, 'basic'), config('b', 'https://b.example', { username: 'a', password: 'p' }));
  await assert.rejects(operatorContext([join(dir, 'basic')], null), /user b-user: basic authentication is not supported/);
});

test('operatorContext runs an exec credential plugin once, as kubectl would, with its env and KUBERNETES_EXEC_INFO', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-exec-plugin-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const plugin = join(dir, 'plugin.mjs');
  // Echoes what it was given into the token, so the test sees args, env and exec info.
  await writeFile(
    plugin,
    `#!${process.execPath}
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
if (process.argv[2] === 'fail') { process.stderr.write('not logged in\\n'); process.exit(1); }
const token = [process.argv[2], process.env.PLUGIN_REGION, info.kind, info.spec.interactive].join('|');
process.stdout.write(JSON.stringify({ apiVersion: info.apiVersion, kind: 'ExecCredential', status: { token } }));
`,
  );
  await chmod(plugin, 0o755);
  const exec = (args: string[]) => ({ apiVersion: 'client.authentication.k8s.io/v1beta1', command: plugin, args, env: [{ name: 'PLUGIN_REGION', value: 'eu-west-1' }], installHint: 'install it' });
  await writeFile(join(dir, 'eks'), config('eks', 'https://eks.example', { exec: exec(['get-token']) }));
  const { settings } = await operatorContext([join(dir, 'eks')], null);
  assert.deepEqual(settings.token, { kind: 'static', token: 'get-token|eu-west-1|ExecCredential|false' });

  await writeFile(join(dir, 'failing'), config('f', 'https://f.example', { exec: exec(['fail']) }));
  await assert.rejects(operatorContext([join(dir, 'failing')], null), /context f of kubeconfig .*failing: exec plugin .*plugin\.mjs failed: not logged in/);
  await writeFile(join(dir, 'absent'), config('a', 'https://a.example', { exec: { ...exec([]), command: join(dir, 'no-such-plugin') } }));
  await assert.rejects(operatorContext([join(dir, 'absent')], null), /no-such-plugin failed: install it/);
});

test('execPluginOf and parseExecCredential check what they are given', () => {
  assert.throws(() => execPluginOf({ apiVersion: 'client.authentication.k8s.io/v1' }, 'u'), /user u: exec has no command/);
  assert.throws(() => execPluginOf({ command: 'x', apiVersion: 'v1' }, 'u'), /is not client\.authentication\.k8s\.io/);
  const plugin = execPluginOf({ command: 'aws', apiVersion: 'client.authentication.k8s.io/v1', args: ['eks', 'get-token'], env: [{ name: 'A', value: 'b' }, { name: 'N' }] }, 'u');
  assert.deepEqual(plugin, { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', args: ['eks', 'get-token'], env: { A: 'b' }, installHint: null });
  const rows: [string, unknown][] = [
    ['{"kind":"ExecCredential","status":{"token":"t"}}', { token: 't' }],
    ['{"kind":"ExecCredential","status":{"clientCertificateData":"C","clientKeyData":"K"}}', { certPem: 'C', keyPem: 'K' }],
  ];
  for (const [stdout, expected] of rows) assert.deepEqual(parseExecCredential(stdout, plugin), expected);
  assert.throws(() => parseExecCredential('nope', plugin), /printed no JSON ExecCredential/);
  assert.throws(() => parseExecCredential('{"kind":"ExecCredential","status":{}}', plugin), /neither a token nor a client certificate/);
});
