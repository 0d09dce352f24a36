import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { caBundle, describeRemoteKubeconfig, remoteKubeconfigText } from '../../src/connect/remote-kubeconfig.ts';
import { kubeconfigSettings } from '../../src/kube/kubeconfig.ts';
import { makeCA } from '../kube/helpers/certs.ts';

const pem = (n: number) => `-----BEGIN CERTIFICATE-----\nQ0E${n}\n-----END CERTIFICATE-----\n`;

test('caBundle: the kubeconfig CA and the cluster CA, once each; the system store only for the kubeconfig\'s own CA-less URL', () => {
  const rows: [string | null, string | null, boolean, string[]][] = [
    [pem(1), pem(2), false, [pem(1), pem(2)]],
    [pem(1), pem(1), false, [pem(1)]],
    [`${pem(1)}${pem(3)}`, pem(1), false, [pem(1), pem(3)]],
    [pem(1), null, false, [pem(1)]],
    [null, pem(2), false, []],
    [null, pem(2), true, [pem(2)]],
    [null, null, true, []],
    ['not a certificate', pem(2), false, [pem(2)]],
  ];
  for (const [kubeconfigCA, clusterCA, urlGiven, expected] of rows) assert.deepEqual(caBundle(kubeconfigCA, clusterCA, urlGiven), expected, JSON.stringify([kubeconfigCA, clusterCA, urlGiven]));
});

test('the written kubeconfig reads back with the daemon\'s reader: server, inline CA, token file next to it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-remote-kubeconfig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = await makeCA(dir, 'c2-ca');
  const access = { peer: 'c2', user: 'clusterwire-remote-c1', server: 'https://lb.c2.example:6443', tlsServerName: 'kubernetes', caPems: [ca] };
  await writeFile(join(dir, 'c2.kubeconfig'), remoteKubeconfigText(access));
  const settings = kubeconfigSettings(join(dir, 'c2.kubeconfig'));
  assert.equal(settings.server, 'https://lb.c2.example:6443');
  assert.deepEqual(settings.ca, { kind: 'inline', pem: ca });
  assert.deepEqual(settings.token, { kind: 'file', path: join(dir, 'c2.token') });
  assert.equal(settings.tlsServerName, 'kubernetes');
  assert.equal(describeRemoteKubeconfig(access), 'server https://lb.c2.example:6443, 1 CA certificate, tokenFile c2.token');
  assert.equal(remoteKubeconfigText(access), remoteKubeconfigText({ ...access }), 'the same input, the same text (so a second run writes nothing)');
  assert.doesNotMatch(remoteKubeconfigText({ ...access, caPems: [], tlsServerName: null }), /certificate-authority|tls-server-name/);
});
