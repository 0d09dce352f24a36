import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { everyRemoteFrom, labClustersConfig, labNeedsSlices, sourcesProblems, type ClusterAccessFiles } from '../../lab/lab-config.ts';
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

describe('lab clusters config: sources', () => {
  it('a remote read through the mirror has no access and source mirror; slices keep the access; nodes is the default, unwritten', () => {
    const json = labClustersConfig('c2', clusters, { c1: 'mirror', c3: 'slices' });
    assert.deepEqual(json.remotes, [
      { name: 'c1', podSubnet: '10.2.0.0/16', wgListenPort: 51820, source: 'mirror' },
      { name: 'c3', kubeConfigPath: '/tmp/lab/c3/apiserver/kubeconfig', podSubnet: '10.6.0.0/16', wgListenPort: 51822, source: 'slices' },
    ]);
    const tokens = labClustersConfig('c1', clusters, { c2: 'slices', c3: 'nodes' });
    assert.deepEqual(
      tokens.remotes.map((r) => [r.name, r.source, r.remoteSATokenPath]),
      [
        ['c2', 'slices', '/tmp/lab/c2/apiserver/token'],
        ['c3', undefined, '/tmp/lab/c3/apiserver/token'],
      ],
    );
    const parsed = parseClustersConfig(tokens);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(parsed.config.remotes.map((r) => r.source.kind), ['slices', 'nodes']);
  });

  it('the mirror’s config (no sources) reaches every remote itself', () => {
    const json = labClustersConfig('c2', clusters);
    assert.deepEqual(json.remotes.map((r) => [r.name, r.kubeConfigPath, r.source]), [
      ['c1', '/tmp/lab/c1/apiserver/kubeconfig', undefined],
      ['c3', '/tmp/lab/c3/apiserver/kubeconfig', undefined],
    ]);
  });

  it('refuses sources for a cluster that is not a remote', () => {
    assert.throws(() => labClustersConfig('c1', clusters, { c1: 'nodes' }), /sources of c1 name c1, not a remote of the lab/);
    assert.throws(() => labClustersConfig('c1', clusters, { c9: 'mirror' }), /sources of c1 name c9/);
  });

  it('everyRemoteFrom: each cluster reads every other from one source', () => {
    assert.deepEqual(everyRemoteFrom(['c1', 'c2', 'c3'], 'mirror'), {
      c1: { c2: 'mirror', c3: 'mirror' },
      c2: { c1: 'mirror', c3: 'mirror' },
      c3: { c1: 'mirror', c2: 'mirror' },
    });
  });

  it('sourcesProblems: unknown clusters, a cluster reading itself, a mirror source without mirrors', () => {
    const names = ['c1', 'c2'];
    assert.deepEqual(sourcesProblems(names, everyRemoteFrom(names, 'mirror'), 2), []);
    assert.deepEqual(sourcesProblems(names, { c1: { c2: 'slices' } }, 0), []);
    assert.deepEqual(sourcesProblems(names, { c9: { c1: 'nodes' }, c1: { c1: 'nodes', c2: 'mirror' } }, 0), [
      'sources name cluster c9, which the lab does not have',
      'sources of c1 name c1, not one of its remotes',
      'c1 reads c2 from its mirror, but the lab runs none: set mirrorReplicas',
    ]);
  });

  it('labNeedsSlices: the CRD goes in when mirrors run or a daemon reads slices', () => {
    assert.equal(labNeedsSlices(0, {}), false);
    assert.equal(labNeedsSlices(0, { c1: { c2: 'nodes' } }), false);
    assert.equal(labNeedsSlices(0, { c1: { c2: 'slices' } }), true);
    assert.equal(labNeedsSlices(2, {}), true);
  });
});
