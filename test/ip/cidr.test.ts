import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalCidr } from '../../src/ip/cidr.ts';

describe('canonicalCidr', () => {
  const cases: Array<[string, string]> = [
    ['10.4.0.0/16', '10.4.0.0/16'],
    ['10.4.0.1', '10.4.0.1/32'],
    ['fd00::1', 'fd00::1/128'],
    ['FD00:4::/56', 'fd00:4::/56'],
    ['fd00:4:0::/64', 'fd00:4::/64'],
    ['fd00:0:0:0:0:0:0:1/128', 'fd00::1/128'],
    ['fd00:0:0:1:0:0:0:0/64', 'fd00:0:0:1::/64'],
    ['::/0', '::/0'],
  ];
  for (const [input, output] of cases) {
    it(`${input} → ${output}`, () => assert.equal(canonicalCidr(input), output));
  }
});
