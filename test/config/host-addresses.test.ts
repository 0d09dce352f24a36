import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { podSubnetsHoldingHostAddresses } from '../../src/config/host-addresses.ts';
import { formatIssue } from '../../src/config/issue.ts';
import { parseClustersConfig } from '../../src/config/parse.ts';
import type { ClustersConfig } from '../../src/config/types.ts';
import type { HostAddress } from '../../src/ip/addresses.ts';

function config(...podSubnets: string[][]): ClustersConfig {
  const result = parseClustersConfig({
    local: { name: 'c1' },
    remotes: podSubnets.map((subnets, i) => ({ name: `c${i + 2}`, kubeConfigPath: '/k', podSubnets: subnets, wgListenPort: 51821 + i })),
  });
  assert.ok(result.ok, JSON.stringify(result));
  return result.config;
}

const NODE: HostAddress[] = [
  { device: 'lo', address: '127.0.0.1' },
  { device: 'lo', address: '::1' },
  { device: 'eth0', address: '10.4.0.5' },
  { device: 'eth0', address: 'fd00:4::5' },
  { device: 'eth0', address: 'fe80::1' },
  { device: 'cni0', address: '10.2.3.1' },
];

const cut = (subnet: string, address: string, device: string, remote: string) =>
  `pod subnet ${subnet} contains ${address}, this node's address on ${device}: routing the subnet into the tunnel would cut the node off that network (is it this cluster's node or pod network rather than ${remote}'s pods?)`;

describe("remote pod subnets that hold one of the node's addresses", () => {
  const cases: [name: string, podSubnets: string[][], expected: string[]][] = [
    ['none: the remote subnets are elsewhere', [['10.8.0.0/16', 'fd00:8::/56']], []],
    ['the node network as a remote pod subnet', [['10.4.0.0/16']], [`remotes[0]: ${cut('10.4.0.0/16', '10.4.0.5', 'eth0', 'c2')}`]],
    ['a wide subnet holding the node and its local pods', [['10.0.0.0/8']], [`remotes[0]: ${cut('10.0.0.0/8', '10.4.0.5', 'eth0', 'c2')}`, `remotes[0]: ${cut('10.0.0.0/8', '10.2.3.1', 'cni0', 'c2')}`]],
    ['a single address', [['10.2.3.1/32']], [`remotes[0]: ${cut('10.2.3.1/32', '10.2.3.1', 'cni0', 'c2')}`]],
    ['the neighbour address is fine', [['10.2.3.2/32']], []],
    ['IPv6, on the second remote', [['10.8.0.0/16'], ['fd00:4::/64']], [`remotes[1]: ${cut('fd00:4::/64', 'fd00:4::5', 'eth0', 'c3')}`]],
    ['families do not mix: an IPv6 subnet never holds an IPv4 address', [['::ffff:0:0/96']], []],
  ];
  for (const [name, podSubnets, expected] of cases) {
    it(name, () => assert.deepEqual(podSubnetsHoldingHostAddresses(config(...podSubnets), NODE).map(formatIssue), expected));
  }
});
