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
      podCIDR: '10.2.1.0/24',
      podIP: '10.2.1.10',
    });
    const added = planNode(127, { name: 'c2', podSubnet: '10.4.0.0/16', nodes: 2 }, 3, 253);
    assert.deepEqual(
      [added.name, added.hostName, added.bridgePort, added.address, added.podCIDR, added.podIP],
      ['c2-n3', 'cwlab127-c2-n3', 'cwlab127v253', '198.18.127.254', '10.4.3.0/24', '10.4.3.10'],
    );
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
    assert.deepEqual(clusterSpecProblems([c1, { name: 'c2', podSubnet: '10.4.0.0/8', nodes: 252 }]), [
      "cluster c2: podSubnet 10.4.0.0/8 overlaps cluster c1's",
      '254 nodes in all: a lab holds at most 253',
    ]);
  });
});
