import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labClustersConfig, type ClusterAccessFiles } from '../../lab/lab-config.ts';
import { parseClustersConfig } from '../../src/config/parse.ts';

function access(name: string, podSubnet: string): ClusterAccessFiles {
  return {
    name,
    podSubnet,
    apiURL: `https://198.18.64.1:${name === 'c1' ? 6443 : 6444}`,
    caURL: `http://198.18.64.1:${name === 'c1' ? 8080 : 8081}/ca.crt`,
    tokenPath: `/tmp/lab/${name}/apiserver/token`,
    kubeconfigPath: `/tmp/lab/${name}/apiserver/kubeconfig`,
  };
}

const clusters = [access('c1', '10.2.0.0/16'), access('c2', '10.4.0.0/16'), access('c3', '10.6.0.0/16')];

describe('lab clusters config', () => {
  it('the first cluster reaches its remotes with token + CA URL, and is valid for the daemon', () => {
    const json = labClustersConfig('c1', clusters.slice(0, 2));
    assert.deepEqual(json, {
      local: { name: 'c1', kubeConfigPath: '/tmp/lab/c1/apiserver/kubeconfig' },
      remotes: [
        {
          name: 'c2',
          remoteAPIURL: 'https://198.18.64.1:6444',
          remoteCAURL: 'http://198.18.64.1:8081/ca.crt',
          remoteSATokenPath: '/tmp/lab/c2/apiserver/token',
          podSubnet: '10.4.0.0/16',
          wgListenPort: 51821,
        },
      ],
    });
    const parsed = parseClustersConfig(json);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(parsed.config.remotes[0]?.access, {
      kind: 'token',
      apiURL: 'https://198.18.64.1:6444',
      caURL: 'http://198.18.64.1:8081/ca.crt',
      tokenPath: '/tmp/lab/c2/apiserver/token',
    });
    assert.equal(parsed.config.remotes[0]?.deviceName, 'wireguard.c2');
  });

  it('the other clusters reach theirs with kubeconfigs, one listen port per remote', () => {
    const json = labClustersConfig('c2', clusters);
    const parsed = parseClustersConfig(json);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(
      parsed.config.remotes.map((r) => [r.name, r.access, r.listenPort, r.podSubnets]),
      [
        ['c1', { kind: 'kubeconfig', path: '/tmp/lab/c1/apiserver/kubeconfig' }, 51820, ['10.2.0.0/16']],
        ['c3', { kind: 'kubeconfig', path: '/tmp/lab/c3/apiserver/kubeconfig' }, 51822, ['10.6.0.0/16']],
      ],
    );
    assert.equal(parsed.config.local.kubeConfigPath, '/tmp/lab/c2/apiserver/kubeconfig');
  });

  it('gives a dual-stack remote podSubnets with both families, which the daemon takes', () => {
    const dual = [{ ...access('c1', '10.2.0.0/16'), podSubnet6: 'fd02::/56' }, { ...access('c2', '10.4.0.0/16'), podSubnet6: 'fd04::/56' }];
    const json = labClustersConfig('c1', dual);
    assert.deepEqual(json.remotes[0]?.podSubnets, ['10.4.0.0/16', 'fd04::/56']);
    assert.equal(json.remotes[0]?.podSubnet, undefined);
    const parsed = parseClustersConfig(json);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(parsed.config.remotes[0]?.podSubnets, ['10.4.0.0/16', 'fd04::/56']);
  });

  it('refuses a cluster the lab does not have', () => {
    assert.throws(() => labClustersConfig('c9', clusters), /cluster c9 is not one of the lab's/);
  });
});
