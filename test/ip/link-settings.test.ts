import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linkChangeBatch, parseIpLinks, planLinkSettings, type Link, type LinkChange, type LinkSettings } from '../../src/ip/link-settings.ts';

// Captured from `ip -d -j address show` (iproute2 6.1), reduced: lo with its address, a wireguard-go tun, a kernel WireGuard link.
const IP_LINK_JSON = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, txqlen: 1000, operstate: 'UNKNOWN', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }, { family: 'inet6', local: '::1', prefixlen: 128 }] },
  {
    ifindex: 2,
    ifname: 'wg-c2',
    flags: ['POINTOPOINT', 'MULTICAST', 'NOARP', 'UP', 'LOWER_UP'],
    mtu: 1380,
    txqlen: 1000,
    ifalias: 'clusterwire:c2',
    linkinfo: { info_kind: 'tun', info_data: { type: 'tun', pi: true, persist: false } },
  },
  {
    ifindex: 5,
    ifname: 'wireguard.c3',
    flags: ['POINTOPOINT', 'NOARP'],
    mtu: 1420,
    txqlen: 500,
    linkinfo: { info_kind: 'wireguard' },
  },
]);

describe('parseIpLinks', () => {
  it('keeps what we use of each link, addresses included', () => {
    assert.deepEqual(parseIpLinks(IP_LINK_JSON), [
      { name: 'lo', index: 1, kind: null, alias: null, mtu: 65536, txQueueLength: 1000, up: true, addresses: ['127.0.0.1', '::1'] },
      { name: 'wg-c2', index: 2, kind: 'tun', alias: 'clusterwire:c2', mtu: 1380, txQueueLength: 1000, up: true, addresses: [] },
      { name: 'wireguard.c3', index: 5, kind: 'wireguard', alias: null, mtu: 1420, txQueueLength: 500, up: false, addresses: [] },
    ]);
  });

  it('rejects what is not a list', () => {
    assert.throws(() => parseIpLinks('{}'), /JSON array/);
  });
});

describe('planLinkSettings: only what differs is written', () => {
  const settings: LinkSettings = { alias: 'clusterwire:c2', mtu: 1380, txQueueLength: 1000 };
  const ready: Link = { name: 'wg-c2', index: 2, kind: 'wireguard', alias: 'clusterwire:c2', mtu: 1380, txQueueLength: 1000, up: true, addresses: [] };
  const cases: [name: string, link: Partial<Link>, change: LinkChange | null][] = [
    ['a link as it should be: nothing', {}, null],
    ['a new kernel link: everything', { alias: null, mtu: 1420, txQueueLength: 500, up: false }, { alias: 'clusterwire:c2', mtu: 1380, txQueueLength: 1000, flushAddresses: false, up: true }],
    ['an MTU changed in the config', { mtu: 1420 }, { mtu: 1380, flushAddresses: false, up: false }],
    ['semaphore-wireguard\'s link: unmarked', { alias: null }, { alias: 'clusterwire:c2', flushAddresses: false, up: false }],
    ['a link set down by hand', { up: false }, { flushAddresses: false, up: true }],
    ['an address added by hand: flushed', { addresses: ['10.9.9.9'] }, { flushAddresses: true, up: false }],
    ['the kernel\'s IPv6 link-local address alone: kept', { addresses: ['fe80::8c3a:1ff:fe2b:3c4d', 'FEBF::1'] }, null],
    ['an IPv6 address added by hand beside it: flushed, both', { addresses: ['fe80::1', 'fd00:9::1'] }, { flushAddresses: true, up: false }],
    ['not link-local: fec0:: and fe00::', { addresses: ['fec0::1'] }, { flushAddresses: true, up: false }],
    ['a queue length changed by hand', { txQueueLength: 500 }, { txQueueLength: 1000, flushAddresses: false, up: false }],
  ];
  for (const [name, link, change] of cases) {
    it(name, () => assert.deepEqual(planLinkSettings({ ...ready, ...link }, settings), change));
  }
});

describe('linkChangeBatch', () => {
  it('a whole change: alias, MTU, queue length, flush, up', () => {
    assert.equal(
      linkChangeBatch('wg-c2', { alias: 'clusterwire:c2', mtu: 1380, txQueueLength: 1000, flushAddresses: true, up: true }),
      'link set dev wg-c2 alias clusterwire:c2 mtu 1380 txqueuelen 1000\naddress flush dev wg-c2\nlink set dev wg-c2 up\n',
    );
  });

  it('a part of one: only its lines', () => {
    assert.equal(linkChangeBatch('wg-c2', { flushAddresses: true, up: false }), 'address flush dev wg-c2\n');
    assert.equal(linkChangeBatch('wg-c2', { mtu: 1400, flushAddresses: false, up: false }), 'link set dev wg-c2 mtu 1400\n');
  });

  // Defence in depth behind the config: `#` starts a comment in ip -batch, so `address flush dev eth0#x` flushes eth0.
  for (const name of ['eth0#x', 'wg c2', 'wg\nlink del eth0', '-wg', '', 'wg/c2', 'wireguard.c2-toolong']) {
    it(`refuses the link name ${JSON.stringify(name)}`, () => {
      assert.throws(() => linkChangeBatch(name, { flushAddresses: true, up: true }), /refusing to write an ip batch for link name/);
    });
  }

  it('refuses an alias that is not plain', () => {
    assert.throws(() => linkChangeBatch('wg-c2', { alias: 'clusterwire:c2 #x', flushAddresses: false, up: false }), /refusing to write an ip batch with alias/);
  });
});
