import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEndpoint, type Endpoint } from '../../src/peering/endpoint.ts';

/** The endpoint policy: what a remote node may advertise, with the exact reason of each refusal. */
const cases: { text: string; want: Endpoint | string }[] = [
  // Accepted.
  { text: '198.18.0.2:51820', want: { host: '198.18.0.2', port: 51820, kind: 'ipv4' } },
  { text: '[fd00::2]:51820', want: { host: 'fd00::2', port: 51820, kind: 'ipv6' } },
  { text: '[FD00:0:0::2]:1', want: { host: 'fd00::2', port: 1, kind: 'ipv6' } },
  { text: '[::ffff:198.18.0.2]:51820', want: { host: '::ffff:c612:2', port: 51820, kind: 'ipv6' } },
  { text: 'node-1.c2.example:65535', want: { host: 'node-1.c2.example', port: 65535, kind: 'hostname' } },
  { text: '169.254.0.1:51820', want: { host: '169.254.0.1', port: 51820, kind: 'ipv4' } },
  { text: '223.255.255.255:51820', want: { host: '223.255.255.255', port: 51820, kind: 'ipv4' } },
  { text: '240.0.0.1:51820', want: { host: '240.0.0.1', port: 51820, kind: 'ipv4' } },
  { text: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}:51820`, want: { host: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, port: 51820, kind: 'hostname' } },
  // Zones.
  { text: '[fe80::1%eth0]:51820', want: "'fe80::1%eth0' has an IPv6 zone (%): it names an interface of the remote node, not of this one" },
  { text: '[fe80::1%1]:51820', want: "'fe80::1%1' has an IPv6 zone (%): it names an interface of the remote node, not of this one" },
  // Loopback.
  { text: '127.0.0.1:51820', want: '127.0.0.1 is a loopback address' },
  { text: '127.255.0.9:51820', want: '127.255.0.9 is a loopback address' },
  { text: '[::1]:51820', want: '::1 is the loopback address' },
  { text: '[::ffff:127.0.0.1]:51820', want: '::ffff:7f00:1 is a loopback address (IPv4-mapped)' },
  { text: '[::ffff:7f00:1]:51820', want: '::ffff:7f00:1 is a loopback address (IPv4-mapped)' },
  // Unspecified.
  { text: '0.0.0.0:51820', want: "0.0.0.0 is in 0.0.0.0/8 (unspecified, 'this network')" },
  { text: '0.1.2.3:51820', want: "0.1.2.3 is in 0.0.0.0/8 (unspecified, 'this network')" },
  { text: '[::]:51820', want: ':: is the unspecified address' },
  { text: '[::ffff:0.0.0.0]:51820', want: "::ffff:0:0 is in 0.0.0.0/8 (unspecified, 'this network') (IPv4-mapped)" },
  // Multicast.
  { text: '224.0.0.1:51820', want: '224.0.0.1 is a multicast address' },
  { text: '239.255.255.255:51820', want: '239.255.255.255 is a multicast address' },
  { text: '[ff02::1]:51820', want: 'ff02::1 is a multicast address' },
  { text: '[::ffff:224.0.0.5]:51820', want: '::ffff:e000:5 is a multicast address (IPv4-mapped)' },
  // Broadcast.
  { text: '255.255.255.255:51820', want: '255.255.255.255 is the broadcast address' },
  { text: '[::ffff:255.255.255.255]:51820', want: '::ffff:ffff:ffff is the broadcast address (IPv4-mapped)' },
  // Ports.
  { text: '198.18.0.2:0', want: 'port 0 cannot be sent to' },
  { text: '198.18.0.2:00000', want: 'port 0 cannot be sent to' },
  { text: '[fd00::2]:0', want: 'port 0 cannot be sent to' },
  { text: '198.18.0.2:65536', want: "port '65536' is not a number from 1 to 65535" },
  { text: '198.18.0.2:123456', want: "port '123456' is not a number from 1 to 65535" },
  { text: '198.18.0.2:', want: "port '' is not a number from 1 to 65535" },
  { text: '198.18.0.2:-1', want: "port '-1' is not a number from 1 to 65535" },
  { text: '198.18.0.2:5e4', want: "port '5e4' is not a number from 1 to 65535" },
  // Syntax.
  { text: '198.18.0.2', want: "'198.18.0.2' is not host:port (IPv6 as [addr]:port)" },
  { text: 'fd00::2:51820', want: "'fd00::2:51820' is not host:port (IPv6 as [addr]:port)" },
  { text: '[198.18.0.2]:51820', want: "'198.18.0.2' is not an IPv6 address" },
  { text: '[fd00::zz]:51820', want: "'fd00::zz' is not an IPv6 address" },
  { text: '198.18.0.300:51820', want: "'198.18.0.300' is not an IPv4 address" },
  { text: '198.018.0.2:51820', want: "'198.018.0.2' is not an IPv4 address" },
  { text: 'bad_host!:51820', want: "'bad_host!' is neither an IP address nor a hostname" },
  { text: ':51820', want: "'' is neither an IP address nor a hostname" },
  { text: 'a\u0000b:51820', want: "'a\\u0000b' is neither an IP address nor a hostname" },
  // Length: 262 characters, whatever they are.
  { text: `${'a'.repeat(256)}:51820`, want: '262 characters, more than 261' },
  { text: `[${'0:'.repeat(600)}1]:51820`, want: '1209 characters, more than 261' },
];

for (const c of cases) {
  test(`endpoint policy: ${c.text.length > 60 ? `${c.text.slice(0, 60)}… (${c.text.length} characters)` : JSON.stringify(c.text)}`, () => {
    const got = parseEndpoint(c.text);
    if (typeof c.want === 'string') assert.deepEqual(got, { ok: false, reason: c.want });
    else assert.deepEqual(got, { ok: true, endpoint: c.want });
  });
}

test('endpoint policy: a refused value is echoed in at most 128 characters', () => {
  const got = parseEndpoint(`${'x'.repeat(200)}!:51820`);
  assert.equal(got.ok, false);
  if (got.ok) return;
  const echoed = /^'(.*)' is neither/.exec(got.reason)?.[1] ?? '';
  assert.equal(echoed.length, 128);
  assert.ok(echoed.endsWith('…'));
});
