import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseListenAddress } from '../../src/cli/listen-address.ts';

describe('parseListenAddress: Go host:port', () => {
  const valid: [text: string, host: string, port: number][] = [
    [':7773', '', 7773],
    ['0.0.0.0:7773', '0.0.0.0', 7773],
    ['127.0.0.1:0', '127.0.0.1', 0],
    ['localhost:65535', 'localhost', 65535],
    ['[::]:7773', '::', 7773],
    ['[::1]:7773', '::1', 7773],
    ['[fe80::1%eth0]:7773', 'fe80::1%eth0', 7773],
  ];
  for (const [text, host, port] of valid) {
    it(`${text} → host '${host}', port ${port}`, () => {
      assert.deepEqual(parseListenAddress(text), { ok: true, value: { host, port } });
    });
  }

  const invalid: [text: string, reason: RegExp][] = [
    ['7773', /^missing port/],
    ['', /^missing port/],
    ['::7773', /^too many colons; write an IPv6 address in brackets/],
    ['::1:7773', /^too many colons/],
    ['[::1]7773', /^missing port after the IPv6 address/],
    ['[::1:7773', /^missing '\]'/],
    [':http', /^port 'http' is not a number from 0 to 65535$/],
    [':65536', /^port '65536' is not a number/],
    [':', /^port '' is not a number/],
    [':-1', /^port '-1' is not a number/],
  ];
  for (const [text, reason] of invalid) {
    it(JSON.stringify(text), () => {
      const parsed = parseListenAddress(text);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.reason, reason);
    });
  }
});
