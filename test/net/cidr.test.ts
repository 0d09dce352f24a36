import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalCidr, cidrContains, cidrsOverlap, enclosingCidr, formatCidr, lastAddress, parseCidr, type Cidr } from '../../src/net/cidr.ts';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(`test fixture ${text} does not parse: ${parsed.reason}`);
  return parsed.cidr;
}

describe('parseCidr + formatCidr: valid blocks and their canonical form', () => {
  const cases: [input: string, canonical: string, family: 4 | 6][] = [
    ['10.4.0.0/16', '10.4.0.0/16', 4],
    ['0.0.0.0/0', '0.0.0.0/0', 4],
    ['255.255.255.255/32', '255.255.255.255/32', 4],
    ['10.0.0.0/8', '10.0.0.0/8', 4],
    ['172.16.0.0/12', '172.16.0.0/12', 4],
    ['fd10:4::/56', 'fd10:4::/56', 6],
    ['FD10:0004:0000::/56', 'fd10:4::/56', 6],
    ['0:0:0:0:0:0:0:0/0', '::/0', 6],
    ['::/0', '::/0', 6],
    ['::1/128', '::1/128', 6],
    ['2001:db8::/32', '2001:db8::/32', 6],
    // RFC 5952: the first of equally long zero runs is compressed...
    ['2001:db8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128', 6],
    // ...the longest run wins...
    ['2001:0:0:1:0:0:0:1/128', '2001:0:0:1::1/128', 6],
    // ...and a single zero group is not compressed.
    ['1:2:3:4:5:6:7:0/128', '1:2:3:4:5:6:7:0/128', 6],
    ['1:0:3:4:5:6:7:8/128', '1:0:3:4:5:6:7:8/128', 6],
    ['1:2:3:4:5:6:7::/128', '1:2:3:4:5:6:7:0/128', 6],
    ['::2:3:4:5:6:7:8/128', '0:2:3:4:5:6:7:8/128', 6],
    ['::ffff:10.1.2.0/120', '::ffff:a01:200/120', 6],
    ['fe80::/10', 'fe80::/10', 6],
  ];
  for (const [input, canonical, family] of cases) {
    it(`${input} → ${canonical}`, () => {
      const parsed = cidr(input);
      assert.equal(parsed.family, family);
      assert.equal(formatCidr(parsed), canonical);
      assert.deepEqual(cidr(canonical), parsed, 'the canonical form parses to the same block');
    });
  }
});

describe('parseCidr: invalid input and the reason given', () => {
  const cases: [input: string, reason: RegExp][] = [
    ['10.4.0.0', /^missing the prefix length \(e\.g\. \/16\)$/],
    ['', /^missing the prefix length/],
    ['10.4.0.0/16/1', /^more than one '\/'$/],
    ['10.4.0.1/16', /^host bits must be zero \(did you mean 10\.4\.0\.0\/16\?\)$/],
    ['10.4.255.255/15', /^host bits must be zero \(did you mean 10\.4\.0\.0\/15\?\)$/],
    ['fd10:4::1/56', /^host bits must be zero \(did you mean fd10:4::\/56\?\)$/],
    ['10.4.0.0/33', /^prefix length '33' is not a number from 0 to 32 \(IPv4\)$/],
    ['fd10:4::/129', /^prefix length '129' is not a number from 0 to 128 \(IPv6\)$/],
    ['10.4.0.0/', /^prefix length '' is not a number/],
    ['10.4.0.0/016', /^prefix length '016' is not a number/],
    ['10.4.0.0/-1', /^prefix length '-1' is not a number/],
    ['10.4.0.0/ 16', /^prefix length ' 16' is not a number/],
    ['10.4.0/16', /^'10\.4\.0' is not an IPv4 or IPv6 address$/],
    ['10.4.0.256/32', /^'10\.4\.0\.256' is not an IPv4 or IPv6 address$/],
    ['010.4.0.0/16', /is not an IPv4 or IPv6 address/],
    ['10.4.0.0 /16', /is not an IPv4 or IPv6 address/],
    ['/8', /^'' is not an IPv4 or IPv6 address$/],
    ['pods/16', /is not an IPv4 or IPv6 address/],
    ['fd10::1::/64', /^'fd10::1::' is not a valid IPv6 address$/],
    ['1:2:3:4:5:6:7:8:9/128', /is not a valid IPv6 address/],
    ['1:2:3:4:5:6:7/128', /is not a valid IPv6 address/],
    ['::1:2:3:4:5:6:7:8/128', /is not a valid IPv6 address/],
    ['12345::/16', /is not a valid IPv6 address/],
    ['g::/16', /is not a valid IPv6 address/],
    [':1:2:3:4:5:6:7/128', /is not a valid IPv6 address/],
    ['1.2.3.4::/64', /is not a valid IPv6 address/],
    ['::ffff:1.2.3/120', /is not a valid IPv6 address/],
    ['fe80::1%eth0/128', /zone indexes \(%name\) are not allowed/],
  ];
  for (const [input, reason] of cases) {
    it(JSON.stringify(input), () => {
      const parsed = parseCidr(input);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.reason, reason);
    });
  }
});

describe('cidrContains and cidrsOverlap', () => {
  const cases: [outer: string, inner: string, contains: boolean, overlap: boolean][] = [
    ['10.0.0.0/8', '10.4.0.0/16', true, true],
    ['10.4.0.0/16', '10.0.0.0/8', false, true],
    ['10.4.0.0/16', '10.4.0.0/16', true, true],
    ['10.4.0.0/16', '10.5.0.0/16', false, false],
    ['10.4.0.0/16', '10.4.255.0/24', true, true],
    ['10.4.0.0/15', '10.5.0.0/16', true, true],
    ['10.4.0.0/16', '10.3.255.255/32', false, false],
    ['0.0.0.0/0', '192.168.1.0/24', true, true],
    ['fd10:4::/56', 'fd10:4:0:ff::/64', true, true],
    ['fd10:4::/56', 'fd10:4:0:100::/64', false, false],
    ['::/0', 'fd10:4::/56', true, true],
    // Families never mix, not even 0/0 with ::/0 or an IPv4-mapped block.
    ['0.0.0.0/0', '::/0', false, false],
    ['::/0', '10.0.0.0/8', false, false],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8', false, false],
  ];
  for (const [outer, inner, contains, overlap] of cases) {
    it(`${outer} ⊇ ${inner}: ${contains}; overlap: ${overlap}`, () => {
      assert.equal(cidrContains(cidr(outer), cidr(inner)), contains);
      assert.equal(cidrsOverlap(cidr(outer), cidr(inner)), overlap);
      assert.equal(cidrsOverlap(cidr(inner), cidr(outer)), overlap, 'overlap is symmetric');
    });
  }
});

it('formats IPv6 exactly as the WHATWG URL serializer does (an independent RFC 5952 implementation)', () => {
  // Deterministic pseudo-random addresses biased towards zero groups, where compression rules matter.
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let n = 0; n < 2000; n++) {
    const groups = Array.from({ length: 8 }, () => (next() % 3 === 0 ? (next() % 65536).toString(16) : '0'));
    const expected = new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
    assert.equal(formatCidr(cidr(`${groups.join(':')}/128`)), `${expected}/128`, groups.join(':'));
  }
});

describe('canonicalCidr: one spelling for text from annotations, config, wg and ip', () => {
  const cases: Array<[string, string]> = [
    ['10.4.0.0/16', '10.4.0.0/16'],
    ['10.4.0.1', '10.4.0.1/32'],
    ['fd00::1', 'fd00::1/128'],
    ['FD00:4::/56', 'fd00:4::/56'],
    ['fd00:4:0::/64', 'fd00:4::/64'],
    ['fd00:0:0:0:0:0:0:1/128', 'fd00::1/128'],
    ['fd00:0:0:1:0:0:0:0/64', 'fd00:0:0:1::/64'],
    ['::/0', '::/0'],
    // Not a CIDR: kept as it is, so it equals nothing else.
    ['10.4.1.7/24', '10.4.1.7/24'],
    ['default', 'default/32'],
  ];
  for (const [input, output] of cases) {
    it(`${input} → ${output}`, () => assert.equal(canonicalCidr(input), output));
  }
});

describe('lastAddress and enclosingCidr', () => {
  it('the range of a block and the block of a shorter prefix that holds it', () => {
    assert.equal(lastAddress(cidr('10.4.1.0/24')), cidr('10.4.1.255/32').address);
    assert.equal(lastAddress(cidr('10.4.1.7/32')), cidr('10.4.1.7/32').address);
    assert.equal(lastAddress(cidr('fd00:4::/56')), cidr('fd00:4:0:ff:ffff:ffff:ffff:ffff/128').address);
    assert.equal(formatCidr(enclosingCidr(cidr('10.4.1.128/25'), 16)), '10.4.0.0/16');
    assert.equal(formatCidr(enclosingCidr(cidr('10.4.1.128/25'), 25)), '10.4.1.128/25');
    assert.equal(formatCidr(enclosingCidr(cidr('fd00:4:0:1::/64'), 0)), '::/0');
  });
});
