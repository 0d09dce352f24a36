import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpAddresses, readHostAddresses } from '../../src/ip/addresses.ts';
import { failure, scriptedRunner } from '../support/scripted-runner.ts';

// Shaped as `ip -j address show` prints it (iproute2 6.1): lo, eth0 dual stack, a link without addresses.
const IP_ADDRESS_JSON = JSON.stringify([
  {
    ifindex: 1,
    ifname: 'lo',
    addr_info: [
      { family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host', label: 'lo' },
      { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' },
    ],
  },
  {
    ifindex: 2,
    ifname: 'eth0',
    addr_info: [
      { family: 'inet', local: '10.4.0.5', prefixlen: 16, broadcast: '10.4.255.255', scope: 'global', label: 'eth0' },
      { family: 'inet6', local: 'fd00::5', prefixlen: 64, scope: 'global' },
      { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
    ],
  },
  { ifindex: 3, ifname: 'wireguard.c2', addr_info: [] },
  { ifindex: 4, ifname: 'dummy0' },
]);

describe('host addresses', () => {
  it('parses every address with its interface', () => {
    assert.deepEqual(parseIpAddresses(IP_ADDRESS_JSON), [
      { device: 'lo', address: '127.0.0.1' },
      { device: 'lo', address: '::1' },
      { device: 'eth0', address: '10.4.0.5' },
      { device: 'eth0', address: 'fd00::5' },
      { device: 'eth0', address: 'fe80::1' },
    ]);
  });

  it('reads them with ip -j address show', async () => {
    const { run, calls } = scriptedRunner(() => IP_ADDRESS_JSON);
    assert.equal((await readHostAddresses(run)).length, 5);
    assert.deepEqual(calls.map((call) => [call.file, ...call.args]), [['ip', '-j', 'address', 'show']]);
  });

  it('a failing ip is an error that says what was being read', async () => {
    const { run } = scriptedRunner((file, args) => {
      throw failure(file, args, 1, 'Cannot open netlink socket');
    });
    await assert.rejects(readHostAddresses(run), (error: Error) => {
      assert.equal(error.message, "reading this node's addresses (ip -j address show) failed");
      assert.match((error.cause as Error).message, /Cannot open netlink socket/);
      return true;
    });
  });
});
