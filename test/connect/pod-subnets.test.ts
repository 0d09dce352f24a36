import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarisePodCIDRs } from '../../src/connect/pod-subnets.ts';

test('summarisePodCIDRs: the smallest block per family holding every Node\'s podCIDRs', () => {
  const rows: [string[][], string[], number][] = [
    [[], [], 0],
    [[[], []], [], 0],
    [[['10.4.1.0/24']], ['10.4.1.0/24'], 1],
    [[['10.4.1.0/24'], ['10.4.2.0/24']], ['10.4.0.0/22'], 2],
    [[['10.244.0.0/24'], ['10.244.1.0/24'], ['10.244.255.0/24']], ['10.244.0.0/16'], 3],
    [[['10.4.0.0/24', 'fd04::/64'], ['10.4.1.0/24', 'fd04:0:0:1::/64']], ['10.4.0.0/23', 'fd04::/63'], 2],
    [[['fd04::/64']], ['fd04::/64'], 1],
    [[['10.4.1.0/24'], ['not-a-cidr'], ['10.4.0.0/25']], ['10.4.0.0/23'], 2],
    [[['10.0.0.0/24'], ['192.168.0.0/24']], ['0.0.0.0/0'], 2],
  ];
  for (const [nodes, subnets, count] of rows) assert.deepEqual(summarisePodCIDRs(nodes), { subnets, nodes: count }, JSON.stringify(nodes));
});
