import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entrySubnets, freeListenPort, withoutRemote, withRemote } from '../../src/connect/clusters-config-edit.ts';
import { ClustersConfigError } from '../../src/config/issue.ts';

const c2 = { name: 'c2', kubeConfigPath: '/etc/clusterwire/tokens/c2.kubeconfig', podSubnets: ['10.4.0.0/16'] };
const existing = {
  local: { name: 'c1', kubeConfigPath: '' },
  annotationDomain: 'example.org',
  remotes: [
    { name: 'c3', remoteAPIURL: 'https://c3.example', remoteCAURL: 'http://ca.c3.example', remoteSATokenPath: '/t/c3', podSubnet: '10.8.0.0/16', resyncPeriod: '5m' },
    { name: 'c2', remoteAPIURL: 'https://old.example', remoteCAURL: 'http://ca.old', remoteSATokenPath: '/t/c2', podSubnet: '10.4.0.0/16', wgDeviceMTU: 1380, wgListenPort: 51830 },
  ],
};
const text = (doc: unknown) => `${JSON.stringify(doc, null, 2)}\n`;

test('withRemote on no config: a new one with in-cluster access and the remote on the default port', () => {
  const edit = withRemote(null, 'c1', c2, 'cm');
  assert.equal(edit.changed, true);
  assert.deepEqual(JSON.parse(edit.text), { local: { name: 'c1' }, remotes: [{ ...c2, wgListenPort: 51820 }] });
  assert.equal(edit.config?.remotes[0]?.access?.kind, 'kubeconfig');
  const withDomain = withRemote(null, 'c1', c2, 'cm', 'wireguard.example.org');
  assert.deepEqual(JSON.parse(withDomain.text), { local: { name: 'c1' }, annotationDomain: 'wireguard.example.org', remotes: [{ ...c2, wgListenPort: 51820 }] });
  assert.equal((JSON.parse(withRemote(text(existing), 'c1', c2, 'cm', 'other.example').text) as typeof existing).annotationDomain, 'example.org', 'an existing config keeps its own');
});

test('withRemote keeps every other entry and key, replaces token access, keeps MTU and port', () => {
  const edit = withRemote(text(existing), 'c1', c2, 'cm');
  const doc = JSON.parse(edit.text) as typeof existing;
  assert.deepEqual(doc.local, existing.local);
  assert.equal(doc.annotationDomain, 'example.org');
  assert.deepEqual(doc.remotes[0], existing.remotes[0], 'the other remote, untouched');
  assert.deepEqual(doc.remotes[1], { name: 'c2', wgDeviceMTU: 1380, wgListenPort: 51830, kubeConfigPath: c2.kubeConfigPath, podSubnet: '10.4.0.0/16' });
  assert.equal(edit.changed, true);
});

test('withRemote changes nothing, byte for byte, when the entry is already as wanted', () => {
  const once = withRemote(text(existing), 'c1', c2, 'cm').text;
  const formatted = once.replace(/\n\s*/g, ' '); // another layout of the same JSON
  const again = withRemote(formatted, 'c1', c2, 'cm');
  assert.equal(again.changed, false);
  assert.equal(again.text, formatted);
});

test('withRemote pod subnets: given ones replace podSubnet; null keeps the entry\'s own', () => {
  const given = JSON.parse(withRemote(text(existing), 'c1', { ...c2, podSubnets: ['10.4.0.0/16', 'fd04::/56'] }, 'cm').text) as typeof existing;
  assert.deepEqual(given.remotes[1], { name: 'c2', wgDeviceMTU: 1380, wgListenPort: 51830, kubeConfigPath: c2.kubeConfigPath, podSubnets: ['10.4.0.0/16', 'fd04::/56'] });
  const kept = JSON.parse(withRemote(text(existing), 'c1', { ...c2, podSubnets: null }, 'cm').text) as typeof existing;
  assert.equal((kept.remotes[1] as { podSubnet?: string }).podSubnet, '10.4.0.0/16');
  assert.throws(() => withRemote(null, 'c1', { ...c2, podSubnets: null }, 'cm'), /podSubnet or podSubnets is required/);
});

test('withRemote validates the result with the daemon\'s parser, naming the source and JSON path', () => {
  assert.throws(
    () => withRemote(text(existing), 'c1', { ...c2, podSubnets: ['10.8.0.0/20'] }, "c1's ConfigMap"),
    (err: Error) => err instanceof ClustersConfigError && /clusters config c1's ConfigMap has 1 problem/.test(err.message) && /remotes\[1\]\.podSubnets\[0\]: 10\.8\.0\.0\/20 overlaps 10\.8\.0\.0\/16/.test(err.message),
  );
  assert.throws(() => withRemote(text({ ...existing, local: { name: 'c1', typo: 1 } }), 'c1', c2, 'cm'), /local\.typo/);
  assert.throws(() => withRemote('{ not json', 'c1', c2, 'cm'), /not valid JSON/);
  assert.throws(() => withRemote('[]', 'c1', c2, 'cm'), /is not a JSON object/);
});

test('freeListenPort: the lowest from 51820 that no other remote uses (a missing port is 51820)', () => {
  const rows: [unknown[], number][] = [
    [[], 51820],
    [[{ name: 'a' }], 51821],
    [[{ wgListenPort: 51820 }, { wgListenPort: 51821 }, { wgListenPort: 51823 }], 51822],
    [[{ wgListenPort: 40000 }], 51820],
  ];
  for (const [others, port] of rows) assert.equal(freeListenPort(others), port, JSON.stringify(others));
  const edit = withRemote(text({ local: { name: 'c1' }, remotes: [{ name: 'c3', kubeConfigPath: '/k', podSubnet: '10.8.0.0/16' }] }), 'c1', c2, 'cm');
  assert.equal(edit.config?.remotes[1]?.listenPort, 51821);
});

test('withoutRemote removes one entry; the last one may go (the config then has no remote)', () => {
  const one = withoutRemote(text(existing), 'c2', 'cm');
  assert.deepEqual((JSON.parse(one.text) as typeof existing).remotes, [existing.remotes[0]]);
  assert.equal(one.config?.remotes.length, 1);
  const last = withoutRemote(text({ local: { name: 'c1' }, remotes: [{ ...c2, wgListenPort: 51820 }] }), 'c2', 'cm');
  assert.deepEqual(JSON.parse(last.text), { local: { name: 'c1' }, remotes: [] });
  assert.equal(last.config, null);
  assert.equal(withoutRemote(text(existing), 'c9', 'cm').changed, false);
  assert.throws(() => withoutRemote(text({ local: {}, remotes: [c2] }), 'c2', 'cm'), /local\.name/);
});

test('entrySubnets: podSubnet and podSubnets together', () => {
  assert.deepEqual(entrySubnets(null), []);
  assert.deepEqual(entrySubnets({ podSubnet: '10.4.0.0/16', podSubnets: ['10.4.0.0/16', 'fd04::/56'] }), ['10.4.0.0/16', 'fd04::/56']);
  assert.deepEqual(entrySubnets({ podSubnet: '' }), []);
});
