import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Link } from '../../src/ip/link-settings.ts';
import { baseConfigChange, planDevice, type DevicePlan } from '../../src/wireguard/device-plan.ts';

function link(kind: string | null, alias: string | null): Link {
  return { name: 'wg-c2', index: 7, kind, alias, mtu: 1420, txQueueLength: 1000, up: true, addresses: [] };
}

describe('planDevice', () => {
  const cases: Array<[string, Link | null, boolean, DevicePlan['action'], RegExp?]> = [
    ['no link: create', null, false, 'create'],
    ['our kernel link: adopt', link('wireguard', 'clusterwire:c2'), false, 'adopt'],
    ['an unmarked kernel link (semaphore-wireguard\'s): adopt', link('wireguard', null), false, 'adopt'],
    ['our userspace link whose socket answers: adopt', link('tun', 'clusterwire:c2'), true, 'adopt'],
    ['our tun link without its process: recreate', link('tun', 'clusterwire:c2'), false, 'recreate', /process is gone/],
    ['someone else\'s tun: refuse', link('tun', null), false, 'refuse', /without a WireGuard control socket/],
    ['a link of another remote: refuse', link('wireguard', 'clusterwire:c3'), false, 'refuse', /for remote c3/],
    ['a veth by that name: refuse', link('veth', null), false, 'refuse', /is a veth link, not WireGuard/],
    ['a plain device by that name: refuse', link(null, null), false, 'refuse', /is a plain link/],
  ];
  for (const [name, existing, answers, action, reason] of cases) {
    it(name, () => {
      const plan = planDevice(existing, 'c2', answers);
      assert.equal(plan.action, action);
      if (reason) assert.match('reason' in plan ? plan.reason : '', reason);
    });
  }

  it('adopts with the backend the link shows', () => {
    assert.deepEqual(planDevice(link('wireguard', null), 'c2', false), { action: 'adopt', backend: 'kernel' });
    assert.deepEqual(planDevice(link('tun', null), 'c2', true), { action: 'adopt', backend: 'userspace' });
  });
});

describe('baseConfigChange', () => {
  const PRIVATE = 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=';
  const PUBLIC = 'F+TIJYHDLqEbKG4QNWfvpwgKcRSAoSeWlAvDqxnYAEA=';
  it('writes nothing when key and port are right (rewriting a key expires sessions)', () => {
    assert.deepEqual(baseConfigChange({ publicKey: PUBLIC, listenPort: 51820 }, PRIVATE, PUBLIC, 51820), {
      peers: [],
    });
  });
  it('writes the key and the port where they differ', () => {
    assert.deepEqual(baseConfigChange({ publicKey: null, listenPort: 4000 }, PRIVATE, PUBLIC, 51820), {
      privateKey: PRIVATE,
      listenPort: 51820,
      peers: [],
    });
  });
});
