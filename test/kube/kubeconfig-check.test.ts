import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { runCli } from '../../src/cli/cli.ts';
import { parseClustersConfig } from '../../src/config/parse.ts';
import type { ClustersConfig } from '../../src/config/types.ts';
import { checkReferencedFiles, type ReadText } from '../../src/kube/kubeconfig-check.ts';

const kubeconfig = (user: object, cluster: object = {}) =>
  JSON.stringify({
    clusters: [{ name: 'c', cluster: { server: 'https://api.example:6443', ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'c',
  });

function configWith(...remotes: object[]): ClustersConfig {
  const result = parseClustersConfig({
    local: { name: 'c1', kubeConfigPath: '/k/local' },
    remotes: remotes.map((access, i) => ({ name: `r${i}`, podSubnet: `10.${i}.0.0/16`, wgListenPort: 51820 + i, ...access })),
  });
  assert.ok(result.ok, JSON.stringify(result));
  return result.config;
}

/** A fake filesystem: path → text; anything else is ENOENT. */
const files =
  (entries: Record<string, string>): ReadText =>
  (path) =>
    path in entries ? { text: entries[path] ?? '' } : { error: 'ENOENT' };

test('checkReferencedFiles: refused settings are errors at their JSON path; unreadable files are warnings', () => {
  const config = configWith(
    { kubeConfigPath: '/k/exec' },
    { kubeConfigPath: '/k/many' },
    { kubeConfigPath: '/k/fine' },
    { kubeConfigPath: '/k/missing' },
    { remoteAPIURL: 'https://a.example', remoteCAURL: 'https://a.example/ca', remoteSATokenPath: '/t/missing' },
    { kubeConfigPath: '/k/not-yaml' },
  );
  const findings = checkReferencedFiles(
    config,
    files({
      '/k/local': kubeconfig({ token: 't' }),
      '/k/exec': kubeconfig({ exec: { command: 'aws' } }),
      '/k/many': kubeconfig({ 'auth-provider': { name: 'oidc' }, username: 'a', password: 'b', as: 'admin', 'as-groups': ['g'] }, { 'insecure-skip-tls-verify': true, 'proxy-url': 'http://p' }),
      '/k/fine': kubeconfig({ tokenFile: 'fine.token', 'client-certificate': '/pki/c.crt', 'client-key': '/pki/c.key' }, { 'certificate-authority': 'ca.crt' }),
      '/k/fine.token': 'tok',
      '/pki/c.crt': 'x',
      '/k/not-yaml': 'clusters: [',
    }),
  );
  const [notYaml, ...refused] = [...findings.errors].reverse();
  assert.equal(notYaml?.path, 'remotes[5].kubeConfigPath');
  assert.match(notYaml.message, /^kubeconfig \/k\/not-yaml: \S/);
  assert.deepEqual(refused.reverse().map((issue) => `${issue.path}: ${issue.message}`), [
    'remotes[0].kubeConfigPath: kubeconfig /k/exec: user u: exec credential plugins are not supported (use a token, tokenFile or client certificate)',
    'remotes[1].kubeConfigPath: kubeconfig /k/many: insecure-skip-tls-verify is set: clusterwire never disables TLS verification',
    'remotes[1].kubeConfigPath: kubeconfig /k/many: proxy-url is not supported',
    'remotes[1].kubeConfigPath: kubeconfig /k/many: user u: auth-provider oidc is not supported (use a token, tokenFile or client certificate)',
    'remotes[1].kubeConfigPath: kubeconfig /k/many: user u: basic authentication is not supported',
    'remotes[1].kubeConfigPath: kubeconfig /k/many: user u: impersonation (as, as-groups) is not supported',
  ]);
  assert.deepEqual(
    findings.warnings.map((warning) => warning.replace(/ cannot be read here \(ENOENT\), so it is not checked: the daemon reads it at start; run validate where the daemon runs to check it$/, ' …')),
    [
      'remotes[2].kubeConfigPath: certificate-authority /k/ca.crt of kubeconfig /k/fine …',
      'remotes[2].kubeConfigPath: client-key /pki/c.key of kubeconfig /k/fine …',
      'remotes[3].kubeConfigPath: kubeconfig /k/missing …',
      'remotes[4].remoteSATokenPath: token file /t/missing …',
    ],
  );
});

test('validate names a refused kubeconfig up front: exit 1 with its JSON path', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-validate-kubeconfig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'gke.kubeconfig'), kubeconfig({ exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'gke-gcloud-auth-plugin' } }));
  const path = join(dir, 'clusters.json');
  await writeFile(path, JSON.stringify({ local: { name: 'c1' }, remotes: [{ name: 'c2', kubeConfigPath: join(dir, 'gke.kubeconfig'), podSubnet: '10.4.0.0/16' }] }));
  const stderr = new PassThrough();
  const err: Buffer[] = [];
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await runCli(['validate', '-clusters-config', path], {}, { stdout: new PassThrough(), stderr });
  assert.equal(code, 1);
  assert.match(Buffer.concat(err).toString(), /has 1 problem:\n {2}remotes\[0\]\.kubeConfigPath: kubeconfig .*gke\.kubeconfig: user u: exec credential plugins are not supported/);
});
