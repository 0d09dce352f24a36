import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linkOwner, ownedLinks, ownerAlias, staleLinks } from '../../src/ip/link-ownership.ts';
import { parseIpLinks, type Link } from '../../src/ip/link-settings.ts';

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

describe('ownership', () => {
  const links: Link[] = parseIpLinks(IP_LINK_JSON).concat([
    { name: 'wg-old', index: 9, kind: 'wireguard', alias: 'clusterwire:old', mtu: 1420, txQueueLength: 1000, up: true, addresses: [] },
    { name: 'wg-x', index: 10, kind: 'wireguard', alias: 'someone else', mtu: 1420, txQueueLength: 1000, up: true, addresses: [] },
  ]);

  it('marks and recognises our links', () => {
    assert.equal(ownerAlias('c2'), 'clusterwire:c2');
    assert.equal(linkOwner({ alias: 'clusterwire:c2' }), 'c2');
    assert.equal(linkOwner({ alias: 'someone else' }), null);
    assert.equal(linkOwner({ alias: null }), null);
  });

  it('lists the links we own', () => {
    assert.deepEqual(ownedLinks(links).map((link) => link.name), ['wg-c2', 'wg-old']);
  });

  // Ours: wg-c2 (remote c2), wg-old (remote old). Not ours: lo, wireguard.c3, wg-x.
  const staleCases: [name: string, configured: { remote: string; device: string }[], stale: string[]][] = [
    ['a remote no longer configured', [{ remote: 'c2', device: 'wg-c2' }], ['wg-old']],
    ['nothing configured (cleanup)', [], ['wg-c2', 'wg-old']],
    ['every pair configured', [{ remote: 'c2', device: 'wg-c2' }, { remote: 'old', device: 'wg-old' }], []],
    // wgDeviceName changed from wg-c2 to wg-c2b: the old link holds c2's UDP port until removed.
    ['a renamed device: the old name goes', [{ remote: 'c2', device: 'wg-c2b' }, { remote: 'old', device: 'wg-old' }], ['wg-c2']],
    // Remote old renamed to c9, its wgDeviceName kept: the link is marked for old, so it is recreated for c9.
    ['a renamed remote that kept its device name', [{ remote: 'c2', device: 'wg-c2' }, { remote: 'c9', device: 'wg-old' }], ['wg-old']],
    ['two remotes swapping device names', [{ remote: 'c2', device: 'wg-old' }, { remote: 'old', device: 'wg-c2' }], ['wg-c2', 'wg-old']],
    ['a configured name held by a link that is not ours is left alone', [{ remote: 'c3', device: 'wg-x' }], ['wg-c2', 'wg-old']],
  ];
  for (const [name, configured, stale] of staleCases) {
    it(`stale links: ${name}`, () => {
      assert.deepEqual(staleLinks(links, configured).map((link) => link.name), stale);
    });
  }
});
