import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  IpLinks,
  isKernelWireGuardMissing,
  linkOwner,
  linkSetupBatch,
  ownedLinks,
  ownerAlias,
  parseIpLinks,
  staleLinks,
  type Link,
} from '../../src/ip/links.ts';
import { CommandError } from '../../src/process/exec.ts';
import { failure, scriptedRunner } from '../support/scripted-runner.ts';

// Captured from `ip -d -j link show` (iproute2 6.1): a wireguard-go tun, a kernel WireGuard link, lo.
const IP_LINK_JSON = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, txqlen: 1000, operstate: 'UNKNOWN' },
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
  it('keeps what we use of each link', () => {
    assert.deepEqual(parseIpLinks(IP_LINK_JSON), [
      { name: 'lo', index: 1, kind: null, alias: null, mtu: 65536, txQueueLength: 1000, up: true },
      { name: 'wg-c2', index: 2, kind: 'tun', alias: 'clusterwire:c2', mtu: 1380, txQueueLength: 1000, up: true },
      { name: 'wireguard.c3', index: 5, kind: 'wireguard', alias: null, mtu: 1420, txQueueLength: 500, up: false },
    ]);
  });

  it('rejects what is not a list', () => {
    assert.throws(() => parseIpLinks('{}'), /JSON array/);
  });
});

describe('ownership', () => {
  const links: Link[] = parseIpLinks(IP_LINK_JSON).concat([
    { name: 'wg-old', index: 9, kind: 'wireguard', alias: 'clusterwire:old', mtu: 1420, txQueueLength: 1000, up: true },
    { name: 'wg-x', index: 10, kind: 'wireguard', alias: 'someone else', mtu: 1420, txQueueLength: 1000, up: true },
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

describe('linkSetupBatch', () => {
  it('sets alias, MTU, queue length, flushes addresses and brings the link up', () => {
    assert.equal(
      linkSetupBatch('wg-c2', { alias: 'clusterwire:c2', mtu: 1380, txQueueLength: 1000 }),
      'link set dev wg-c2 alias clusterwire:c2 mtu 1380 txqueuelen 1000\naddress flush dev wg-c2\nlink set dev wg-c2 up\n',
    );
  });

  // Defence in depth behind the config: `#` starts a comment in ip -batch, so `address flush dev eth0#x` flushes eth0.
  for (const name of ['eth0#x', 'wg c2', 'wg\nlink del eth0', '-wg', '', 'wg/c2', 'wireguard.c2-toolong']) {
    it(`refuses the link name ${JSON.stringify(name)}`, () => {
      assert.throws(() => linkSetupBatch(name, { alias: 'clusterwire:c2', mtu: 1380, txQueueLength: 1000 }), /refusing to write an ip batch for link name/);
    });
  }

  it('refuses an alias that is not plain', () => {
    assert.throws(() => linkSetupBatch('wg-c2', { alias: 'clusterwire:c2 #x', mtu: 1380, txQueueLength: 1000 }), /refusing to write an ip batch with alias/);
  });

  it('IpLinks.configure runs no ip command for an unsafe name', async () => {
    const { run, calls } = scriptedRunner(() => '');
    await assert.rejects(new IpLinks(run).configure('eth0#x', { alias: 'clusterwire:c2', mtu: 1380, txQueueLength: 1000 }), /setting up link eth0#x/);
    assert.equal(calls.length, 0);
  });
});

describe('isKernelWireGuardMissing', () => {
  it('recognises the kernel saying it has no WireGuard, and nothing else', () => {
    assert.equal(isKernelWireGuardMissing(new CommandError('ip link add', 2, 'Error: Unknown device type.\n')), true);
    assert.equal(isKernelWireGuardMissing(new CommandError('ip link add', 2, 'RTNETLINK answers: Operation not supported\n')), true);
    assert.equal(isKernelWireGuardMissing(new CommandError('ip link add', 2, 'RTNETLINK answers: File exists\n')), false);
    assert.equal(isKernelWireGuardMissing(new CommandError('ip link add', 2, 'RTNETLINK answers: Operation not permitted\n')), false);
    assert.equal(isKernelWireGuardMissing(new Error('Unknown device type')), false);
  });
});

describe('IpLinks', () => {
  it('lists and gets links with ip -d -j', async () => {
    const { run, calls } = scriptedRunner((file, args) => {
      if (args.includes('nope')) throw failure(file, args, 1, 'Device "nope" does not exist.\n');
      return args.includes('dev') ? JSON.stringify([(JSON.parse(IP_LINK_JSON) as unknown[])[1]]) : IP_LINK_JSON;
    });
    const links = new IpLinks(run);
    assert.equal((await links.list()).length, 3);
    assert.equal((await links.get('wg-c2'))?.index, 2);
    assert.equal(await links.get('nope'), null);
    assert.deepEqual(
      calls.map((call) => [call.file, ...call.args].join(' ')),
      ['ip -d -j link show', 'ip -d -j link show dev wg-c2', 'ip -d -j link show dev nope'],
    );
  });

  it('wraps other failures with the link name', async () => {
    const { run } = scriptedRunner((file, args) => {
      throw failure(file, args, 255, 'Cannot open netlink socket: Permission denied\n');
    });
    await assert.rejects(new IpLinks(run).get('wg-c2'), (error: Error) => {
      assert.match(error.message, /reading link wg-c2 failed/);
      assert.ok(error.cause instanceof CommandError);
      return true;
    });
  });

  it('adds a WireGuard link, leaving the command error for the backend decision', async () => {
    const { run, calls } = scriptedRunner((file, args) => {
      throw failure(file, args, 2, 'Error: Unknown device type.\n');
    });
    await assert.rejects(new IpLinks(run).addWireGuard('wg-c2'), (error) => isKernelWireGuardMissing(error));
    assert.deepEqual(calls[0]!.args, ['link', 'add', 'wg-c2', 'type', 'wireguard']);
  });

  it('configures through one ip -batch on stdin', async () => {
    const { run, calls } = scriptedRunner(() => '');
    await new IpLinks(run).configure('wg-c2', { alias: 'clusterwire:c2', mtu: 1400, txQueueLength: 1000 });
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.args, ['-batch', '-']);
    assert.match(calls[0]!.options!.input!, /^link set dev wg-c2 alias clusterwire:c2 mtu 1400 txqueuelen 1000\n/);
  });

  it('removes a link, and reports a missing one as not removed', async () => {
    const { run } = scriptedRunner((file, args) => {
      if (args.includes('gone')) throw failure(file, args, 1, 'Cannot find device "gone"\n');
      return '';
    });
    const links = new IpLinks(run);
    assert.equal(await links.remove('wg-c2'), true);
    assert.equal(await links.remove('gone'), false);
  });
});
