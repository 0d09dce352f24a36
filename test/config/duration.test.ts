import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGoDuration, parseGoDuration } from '../../src/config/duration.ts';

const S = 1_000_000_000n;

describe('parseGoDuration: what Go time.ParseDuration accepts', () => {
  const cases: [input: string, nanoseconds: bigint][] = [
    ['0', 0n],
    ['-0', 0n],
    ['0s', 0n],
    ['30s', 30n * S],
    ['1m30s', 90n * S],
    ['1h', 3600n * S],
    ['500ms', 500_000_000n],
    ['1.5h', 5400n * S],
    ['.5s', 500_000_000n],
    ['1.s', S],
    ['2h45m', 9900n * S],
    ['100ns', 100n],
    ['1us', 1000n],
    ['1\u00b5s', 1000n],
    ['1\u03bcs', 1000n],
    ['-1s', -S],
    ['+5s', 5n * S],
    ['1h1m1s1ms1us1ns', 3661n * S + 1_001_001n],
    ['0.000000001s', 1n],
    ['2562047h47m16.854775807s', (1n << 63n) - 1n],
  ];
  for (const [input, nanoseconds] of cases) {
    it(`${input} = ${nanoseconds} ns`, () => {
      assert.deepEqual(parseGoDuration(input), { ok: true, nanoseconds });
    });
  }
});

describe('parseGoDuration: what Go rejects, with a reason', () => {
  const cases: [input: string, reason: RegExp][] = [
    ['', /^empty duration; write it like 30s, 1m30s, 1h or 500ms$/],
    ['5 minutes', /^unknown unit ' minutes' \(use ns, us, ms, s, m or h\); write it like 30s/],
    ['5', /^missing unit after '5'/],
    ['1m30', /^missing unit after '30'/],
    ['1.5', /^missing unit after '1\.5'/],
    ['1d', /^unknown unit 'd'/],
    ['30S', /^unknown unit 'S'/],
    ['s', /^expected a number/],
    ['.s', /^expected a number/],
    ['-', /^empty duration/],
    ['1h-5m', /^unknown unit 'h-'/],
    ['9223372036854775808ns', /^out of range/],
    ['2562048h', /^out of range/],
  ];
  for (const [input, reason] of cases) {
    it(JSON.stringify(input), () => {
      const parsed = parseGoDuration(input);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.reason, reason);
    });
  }
});

describe('formatGoDuration: Go Duration.String, and it parses back', () => {
  const cases: [nanoseconds: bigint, text: string][] = [
    [0n, '0s'],
    [1n, '1ns'],
    [999n, '999ns'],
    [1_500n, '1.5\u00b5s'],
    [1_500_000n, '1.5ms'],
    [500_000_000n, '500ms'],
    [S, '1s'],
    [1_500_000_000n, '1.5s'],
    [90n * S, '1m30s'],
    [3600n * S, '1h0m0s'],
    [5400n * S, '1h30m0s'],
    [3661n * S + 500_000_000n, '1h1m1.5s'],
    [-90n * S, '-1m30s'],
  ];
  for (const [nanoseconds, text] of cases) {
    it(`${nanoseconds} ns → ${text}`, () => {
      assert.equal(formatGoDuration(nanoseconds), text);
      assert.deepEqual(parseGoDuration(text), { ok: true, nanoseconds });
    });
  }
});
