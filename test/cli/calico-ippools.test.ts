import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { calicoIPPoolsYaml } from '../../src/cli/calico-ippools.ts';
import type { ClustersConfig, RemoteCluster } from '../../src/config/types.ts';

function remote(name: string, podSubnets: string[], listenPort: number): RemoteCluster {
  return {
    name,
    access: { kind: 'kubeconfig', path: `/k/${name}` },
    podSubnets,
    mtu: 1420,
    listenPort,
    deviceName: `wireguard.${name}`,
    persistentKeepaliveSeconds: 25,
    reconcileIntervalMs: null,
    maxNodes: 20_000,
    source: { kind: 'nodes' },
    slicesNamespace: 'clusterwire',
  };
}

function pools(remotes: RemoteCluster[]): unknown[] {
  const config: ClustersConfig = { local: { name: 'c1', kubeConfigPath: null }, annotationDomain: 'wireguard.semaphore.uw.io', remotes };
  const documents = parseAllDocuments(calicoIPPoolsYaml(config, '/etc/clusters.json'));
  assert.ok(Array.isArray(documents), 'one YAML stream');
  for (const document of documents) assert.deepEqual(document.errors, []);
  return documents.map((document) => document.toJS() as unknown);
}

const disabledPool = (name: string, cidr: string) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr, ...(cidr.includes(':') ? {} : { ipipMode: 'CrossSubnet' }), natOutgoing: false, disabled: true },
});

it("one disabled pool per remote subnet, named as in semaphore-wireguard's README for a single subnet", () => {
  assert.deepEqual(pools([remote('c2', ['10.4.0.0/16'], 51821)]), [disabledPool('c2-pods', '10.4.0.0/16')]);
});

it('dual stack: the IPv4 pool keeps its name, the IPv6 one gets -ipv6 and no IP-in-IP', () => {
  assert.deepEqual(pools([remote('c2', ['10.4.0.0/16', 'fd10:4::/56'], 51821), remote('c3', ['10.5.0.0/16'], 51822)]), [
    disabledPool('c2-pods', '10.4.0.0/16'),
    disabledPool('c2-pods-ipv6', 'fd10:4::/56'),
    disabledPool('c3-pods', '10.5.0.0/16'),
  ]);
});

it('several subnets of one family are numbered from the second', () => {
  assert.deepEqual(pools([remote('c2', ['10.4.0.0/16', 'fd10:4::/56', '10.6.0.0/16', 'fd10:6::/56', '10.7.0.0/16'], 51821)]), [
    disabledPool('c2-pods', '10.4.0.0/16'),
    disabledPool('c2-pods-ipv6', 'fd10:4::/56'),
    disabledPool('c2-pods-2', '10.6.0.0/16'),
    disabledPool('c2-pods-ipv6-2', 'fd10:6::/56'),
    disabledPool('c2-pods-3', '10.7.0.0/16'),
  ]);
});
