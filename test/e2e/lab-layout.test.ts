import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterSpecProblems, DEFAULT_CLUSTERS, FIRST_SLOT, planNode, slotNames, slotOfName, SLOT_COUNT } from '../../lab/lab-layout.ts';

const c1 = { name: 'c1', podSubnet: '10.2.0.0/16', nodes: 2 };

describe('lab layout', () => {
  it('names and addresses a node from its slot, cluster ordinal and host number', () => {
    assert.deepEqual(planNode(64, c1, 1, 1), {
      name: 'c1-n1',
      cluster: 'c1',
      hostName: 'cwlab64-c1-n1',
      bridgePort: 'cwlab64v1',
      address: '198.18.64.2',
      address6: null,
      internalIPs: ['198.18.64.2'],
      podCIDR: '10.2.1.0/24',
      podIP: '10.2.1.10',
      podCIDR6: null,
      podIP6: null,
      podCIDRs: ['10.2.1.0/24'],
    });
    const added = planNode(127, { name: 'c2', podSubnet: '10.4.0.0/16', nodes: 2 }, 3, 253);
    assert.deepEqual(
      [added.name, added.hostName, added.bridgePort, added.address, added.podCIDR, added.podIP],
      ['c2-n3', 'cwlab127-c2-n3', 'cwlab127v253', '198.18.127.254', '10.4.3.0/24', '10.4.3.10'],
    );
  });

  it('gives a dual-stack node an IPv6 address and pod CIDR, its primary family first', () => {
    const v4First = planNode(64, { ...c1, podSubnet6: 'fd02::/56' }, 1, 1);
    assert.deepEqual(
      [v4First.address6, v4First.internalIPs, v4First.podCIDR6, v4First.podIP6, v4First.podCIDRs],
      ['2001:2:0:64::2', ['198.18.64.2', '2001:2:0:64::2'], 'fd02:0:0:1::/64', 'fd02:0:0:1::10', ['10.2.1.0/24', 'fd02:0:0:1::/64']],
    );
    const v6First = planNode(127, { name: 'c2', podSubnet: '10.4.0.0/16', podSubnet6: 'fd04:0:0:100::/56', primaryFamily: 6, nodes: 2 }, 255, 253);
    assert.deepEqual(
      [v6First.internalIPs, v6First.podCIDRs, v6First.podIP6],
      [['2001:2:0:127::254', '198.18.127.254'], ['fd04:0:0:1ff::/64', '10.4.255.0/24'], 'fd04:0:0:1ff::10'],
    );
    assert.throws(() => planNode(64, { ...c1, podSubnet6: 'fd02::/63' }, 2, 1), /no \/64 number 2 in fd02::\/63/);
  });

  it('keeps every interface name within 15 bytes', () => {
    const last = planNode(FIRST_SLOT + SLOT_COUNT - 1, { name: 'abcde', podSubnet: '10.0.0.0/8', nodes: 1 }, 65_535, 253);
    assert.ok(Buffer.byteLength(last.bridgePort) <= 15, last.bridgePort);
    assert.ok(Buffer.byteLength(slotNames(FIRST_SLOT + SLOT_COUNT - 1).bridge) <= 15);
  });

  it('refuses slots outside the lab range and hosts past the subnet', () => {
    assert.throws(() => slotNames(FIRST_SLOT - 1), /outside/);
    assert.throws(() => slotNames(FIRST_SLOT + SLOT_COUNT), /outside/);
    assert.throws(() => planNode(64, c1, 1, 254), /no more addresses/);
    assert.throws(() => planNode(64, c1, 256, 1), /no \/24 number 256/);
  });

  it('tells which slot a name of the machine belongs to', () => {
    const cases: Array<[string, number | null]> = [
      ['cwlab64', 64],
      ['cwlab64-c1-n1', 64],
      ['cwlab100v12', 100],
      ['cwlab64x', null],
      ['cwlab63', null],
      ['cwlab128-c1-n1', null],
      ['cw12345a', null],
      ['eth0', null],
    ];
    for (const [name, slot] of cases) assert.equal(slotOfName(name), slot, name);
  });

  it('accepts the default clusters and lists every problem of bad ones', () => {
    assert.deepEqual(clusterSpecProblems(DEFAULT_CLUSTERS), []);
    const problems = clusterSpecProblems([
      { name: 'c1', podSubnet: '10.2.0.0/16', nodes: 0 },
      { name: 'c1', podSubnet: '10.2.128.0/17', nodes: 1 },
      { name: 'toolong', podSubnet: '10.9.0.0/24', nodes: 1 },
      { name: 'C3', podSubnet: 'nope', nodes: 1 },
    ]);
    assert.deepEqual(problems, [
      'cluster c1: nodes must be a positive integer, got 0',
      'cluster c1 is given twice',
      "cluster c1: podSubnet 10.2.128.0/17 overlaps cluster c1's",
      'cluster toolong: at most 5 characters, so that its device name fits',
      'cluster toolong: podSubnet 10.9.0.0/24 must be /23 or larger (one /24 per node)',
      problems.find((p) => p.startsWith('cluster "C3"')),
      'cluster C3: podSubnet "nope" is not an IPv4 CIDR',
    ]);
    assert.match(problems[5] ?? '', /not a valid cluster name/);
    assert.deepEqual(clusterSpecProblems([c1]), ['a lab needs at least 2 clusters, got 1']);
    assert.deepEqual(
      clusterSpecProblems([
        { ...c1, podSubnet6: 'fd02::/56', primaryFamily: 6 },
        { name: 'c2', podSubnet: '10.4.0.0/16', nodes: 1 },
        { name: 'c3', podSubnet: '10.6.0.0/16', podSubnet6: 'fd02:0:0:80::/57', nodes: 1 },
        { name: 'c4', podSubnet: '10.8.0.0/16', podSubnet6: 'fd00::/48', nodes: 1 },
        { name: 'c5', podSubnet: '10.10.0.0/16', podSubnet6: '10.11.0.0/16', nodes: 1, primaryFamily: 6 },
        { name: 'c6', podSubnet: '10.12.0.0/16', podSubnet6: 'fd06::/64', nodes: 1 },
      ]),
      [
        'cluster c1 advertises IPv6 endpoints, which cluster c2 cannot reach without podSubnet6',
        "cluster c3: podSubnet6 fd02:0:0:80::/57 overlaps cluster c1's",
        "cluster c4: podSubnet6 fd00::/48 overlaps the machine's own network fd00::/64",
        'cluster c5 advertises IPv6 endpoints, which cluster c2 cannot reach without podSubnet6',
        'cluster c5: podSubnet6 "10.11.0.0/16" is not an IPv6 CIDR',
        'cluster c6: podSubnet6 fd06::/64 must be /63 or larger (one /64 per node)',
      ],
    );
    assert.deepEqual(clusterSpecProblems([{ ...c1, primaryFamily: 6 }, { name: 'c2', podSubnet: '10.4.0.0/16', podSubnet6: 'fd04::/56', nodes: 1 }]), [
      'cluster c1: primaryFamily 6 needs podSubnet6 (its nodes have no IPv6 address otherwise)',
    ]);
    assert.deepEqual(clusterSpecProblems([c1, { name: 'c2', podSubnet: '10.4.0.0/8', nodes: 252 }]), [
      "cluster c2: podSubnet 10.4.0.0/8 overlaps cluster c1's",
      '254 nodes in all: a lab holds at most 253',
    ]);
  });
});
