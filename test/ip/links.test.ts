import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IpLinks, isKernelWireGuardMissing } from '../../src/ip/links.ts';
import { CommandError } from '../../src/process/exec.ts';
import { failure, scriptedRunner } from '../support/scripted-runner.ts';

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
  it('lists and gets links with ip -d -j address show (settings and addresses in one call)', async () => {
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
      ['ip -d -j address show', 'ip -d -j address show dev wg-c2', 'ip -d -j address show dev nope'],
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

  it('applies a change through one ip -batch on stdin', async () => {
    const { run, calls } = scriptedRunner(() => '');
    await new IpLinks(run).apply('wg-c2', { mtu: 1400, flushAddresses: false, up: true });
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.args, ['-batch', '-']);
    assert.equal(calls[0]!.options!.input!, 'link set dev wg-c2 mtu 1400\nlink set dev wg-c2 up\n');
  });

  it('runs no ip command for an unsafe name', async () => {
    const { run, calls } = scriptedRunner(() => '');
    await assert.rejects(new IpLinks(run).apply('eth0#x', { alias: 'clusterwire:c2', flushAddresses: true, up: true }), /setting up link eth0#x \(alias clusterwire:c2, flush addresses, up\) failed/);
    assert.equal(calls.length, 0);
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
