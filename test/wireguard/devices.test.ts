import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { FakeLinks } from '../../src/ip/fake-links.ts';
import { systemClock } from '../../src/clock/clock.ts';
import { ADOPTED, DeviceState } from '../../src/wireguard/device-state.ts';
import { WireGuardDevices, type DeviceSpec, type WireGuardBackend } from '../../src/wireguard/devices.ts';
import { FakeWireGuardClient } from '../../src/wireguard/fake-client.ts';
import { generatePrivateKey, keyToHex, publicKeyOf } from '../../src/wireguard/keys.ts';
import type { WireGuardClient } from '../../src/wireguard/types.ts';
import { UapiClient } from '../../src/wireguard/uapi-client.ts';
import type { Launcher } from '../../src/wireguard/userspace-process.ts';
import { memoryLogger } from '../support/memory-logger.ts';

const FAKE_BINARY = path.join(import.meta.dirname, '..', 'support', 'fake-wireguard-go.ts');
const PEER = 'XoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=';

function spec(overrides: Partial<DeviceSpec> = {}): DeviceSpec {
  return { name: 'wg-c2', remote: 'c2', mtu: 1380, listenPort: 51821, privateKey: PRIVATE, ...overrides };
}
const PRIVATE = generatePrivateKey();

/** Kernel-backend world in memory: links and WireGuard kept in step as the kernel does. */
function kernelWorld(backend: WireGuardBackend = 'kernel', kernelWireGuard = true) {
  const wg = new FakeWireGuardClient();
  const links = new FakeLinks({ kernelWireGuard, onAdded: (name) => wg.addDevice(name), onRemoved: (name) => wg.deleteDevice(name) });
  const { logger, lines } = memoryLogger();
  const devices = new WireGuardDevices({
    backend,
    links,
    kernelClient: wg,
    userspace: { binary: 'wireguard-go', socketDirectory: '/nonexistent', launch: () => assert.fail('no userspace expected') },
    logger,
    clock: systemClock,
  });
  return { wg, links, devices, lines };
}

describe('WireGuardDevices (kernel backend, in memory)', () => {
  it('creates the link with its settings, key and port', async () => {
    const { links, devices } = kernelWorld();
    const device = await devices.ensure(spec(), new DeviceState(PRIVATE));
    assert.equal(device.created, true);
    assert.equal(device.backend, 'kernel');
    assert.equal(device.publicKey, publicKeyOf(PRIVATE));
    assert.deepEqual(await links.get('wg-c2'), {
      name: 'wg-c2', index: device.index, kind: 'wireguard', alias: 'clusterwire:c2', mtu: 1380, txQueueLength: 1000, up: true, addresses: [],
    });
    const observed = await device.client.device('wg-c2');
    assert.equal(observed.publicKey, publicKeyOf(PRIVATE));
    assert.equal(observed.listenPort, 51821);
  });

  it('adopts its own link on the next call: same index, nothing rewritten', async () => {
    const { wg, devices } = kernelWorld();
    const first = await devices.ensure(spec(), new DeviceState(PRIVATE));
    const second = await devices.ensure(spec(), new DeviceState(PRIVATE));
    assert.equal(second.created, false);
    assert.equal(second.index, first.index);
    assert.equal(wg.changes.length, 1, 'the key is written once: rewriting it would expire sessions');
  });

  it('a key write that fails leaves the state unknown: the next pass reads the device again', async () => {
    const { wg, links, devices } = kernelWorld();
    links.addLink('wg-c2', 'wireguard');
    await wg.configure('wg-c2', { privateKey: generatePrivateKey(), listenPort: 51821, peers: [{ publicKey: PEER, replaceAllowedIPs: ['10.4.1.0/24'] }] });
    const state = new DeviceState(PRIVATE);
    wg.failNextConfigure(new Error('device busy'));
    await assert.rejects(devices.ensure(spec(), state), /device busy/);
    assert.equal(state.peers, null, 'what the device holds is not known after a failed write');
    await devices.ensure(spec(), state);
    assert.deepEqual([...(state.peers ?? new Map()).keys()], [PEER]);
  });

  it('adopts an unmarked WireGuard link (semaphore-wireguard\'s), marks it, keeps its peers and fixes its key', async () => {
    const { wg, links, devices } = kernelWorld();
    const existing = links.addLink('wg-c2', 'wireguard');
    await wg.configure('wg-c2', { privateKey: generatePrivateKey(), listenPort: 51821, peers: [{ publicKey: PEER, replaceAllowedIPs: ['10.4.1.0/24'] }] });
    const device = await devices.ensure(spec(), new DeviceState(PRIVATE));
    assert.equal(device.created, false);
    assert.equal(device.index, existing.index);
    assert.equal((await links.get('wg-c2'))!.alias, 'clusterwire:c2');
    const observed = await wg.device('wg-c2');
    assert.equal(observed.publicKey, publicKeyOf(PRIVATE));
    assert.deepEqual(observed.peers.map((peer) => peer.publicKey), [PEER]);
    assert.deepEqual(wg.changes.at(-1)!.change, { privateKey: PRIVATE, peers: [] });
  });

  it('on every later call: one read of the link and one of the device, nothing written when nothing differs', async () => {
    const { wg, links, devices } = kernelWorld();
    await devices.ensure(spec(), new DeviceState(PRIVATE));
    const [applied, reads, changes] = [links.applied.length, wg.reads, wg.changes.length];
    await devices.ensure(spec(), new DeviceState(PRIVATE));
    await devices.ensure(spec(), new DeviceState(PRIVATE));
    assert.equal(links.applied.length, applied, 'no ip -batch for a link as it should be');
    assert.equal(wg.reads - reads, 2, 'one device read per call');
    assert.equal(wg.changes.length, changes);
  });

  it('writes only the link settings that were changed behind its back', async () => {
    const { links, devices } = kernelWorld();
    await devices.ensure(spec(), new DeviceState(PRIVATE));
    links.alter('wg-c2', { mtu: 1500, addresses: ['10.9.9.9'] });
    await devices.ensure(spec(), new DeviceState(PRIVATE));
    assert.deepEqual(links.applied.at(-1), { name: 'wg-c2', change: { mtu: 1380, flushAddresses: true, up: false } });
    assert.deepEqual(await links.get('wg-c2'), { name: 'wg-c2', index: 2, kind: 'wireguard', alias: 'clusterwire:c2', mtu: 1380, txQueueLength: 1000, up: true, addresses: [] });
  });

  it('leaves what it read in the state; a device it did not create, on first sight, keeps the endpoints of its live sessions', async () => {
    const { wg, links, devices } = kernelWorld();
    links.addLink('wg-c2', 'wireguard', 'clusterwire:c2');
    await wg.configure('wg-c2', { privateKey: PRIVATE, listenPort: 51821, peers: [{ publicKey: PEER, endpoint: '203.0.113.7:4000', replaceAllowedIPs: ['10.4.1.0/24'] }] });
    wg.handshake('wg-c2', PEER, Math.floor(Date.now() / 1000) - 30);
    const state = new DeviceState(PRIVATE);
    await devices.ensure(spec(), state);
    assert.deepEqual([...(state.peers?.keys() ?? [])], [PEER]);
    assert.deepEqual(state.appliedEndpoints, new Map([[PEER, ADOPTED]]));
    const later = new DeviceState(PRIVATE);
    await devices.ensure(spec(), later);
    assert.deepEqual(later.appliedEndpoints, new Map(), 'only the first read after a start adopts');
  });

  it('recreates a link deleted behind its back, with a new index', async () => {
    const { links, devices } = kernelWorld();
    const first = await devices.ensure(spec(), new DeviceState(PRIVATE));
    await links.remove('wg-c2');
    const again = await devices.ensure(spec(), new DeviceState(PRIVATE));
    assert.equal(again.created, true);
    assert.notEqual(again.index, first.index);
  });

  it('refuses a link that belongs to another remote or is not WireGuard', async () => {
    const { links, devices } = kernelWorld();
    links.addLink('wg-c2', 'wireguard', 'clusterwire:c9');
    links.addLink('wg-c3', 'veth');
    await assert.rejects(devices.ensure(spec(), new DeviceState(PRIVATE)), /cannot use link wg-c2 for remote c2: .*for remote c9/);
    await assert.rejects(devices.ensure(spec({ name: 'wg-c3', remote: 'c3' }), new DeviceState(PRIVATE)), /wg-c3 exists and is a veth link/);
  });

  it('fails clearly with the kernel backend when the kernel has no WireGuard', async () => {
    const { devices } = kernelWorld('kernel', false);
    await assert.rejects(devices.ensure(spec(), new DeviceState(PRIVATE)), (error: Error) => {
      assert.match(error.message, /creating WireGuard link wg-c2 \(kernel backend\) failed/);
      assert.match((error.cause as Error).message, /Unknown device type/);
      return true;
    });
  });

  it('removes stale links it owns and nothing else', async () => {
    const { links, devices, lines } = kernelWorld();
    await devices.ensure(spec(), new DeviceState(PRIVATE));
    await devices.ensure(spec({ name: 'wg-old', remote: 'old', listenPort: 51822 }), new DeviceState(PRIVATE));
    links.addLink('wg-x', 'wireguard', 'not ours');
    assert.deepEqual(await devices.removeOwnedLinks([{ remote: 'c2', device: 'wg-c2' }]), ['wg-old']);
    assert.deepEqual((await links.list()).map((link) => link.name).sort(), ['wg-c2', 'wg-x']);
    assert.ok(lines().some((line) => line.msg === 'removed WireGuard links we own'));
    assert.deepEqual(await devices.removeOwnedLinks([]), ['wg-c2']);
  });

  it('a renamed device: the link under the old name is removed, so the new one can take the port', async () => {
    const { links, devices } = kernelWorld();
    await devices.ensure(spec(), new DeviceState(PRIVATE));
    assert.deepEqual(await devices.removeOwnedLinks([{ remote: 'c2', device: 'wg-c2b' }]), ['wg-c2']);
    assert.deepEqual((await links.list()).map((link) => link.name), []);
  });

  it('never logs the private key', async () => {
    const { devices, lines } = kernelWorld();
    await devices.ensure(spec(), new DeviceState(PRIVATE));
    assert.ok(!JSON.stringify(lines()).includes(PRIVATE));
  });
});

/** A userspace world: the fake wireguard-go binary, with FakeLinks showing its tun link while it runs. */
async function userspaceWorld(t: TestContext, client?: (socketDirectory: string) => WireGuardClient) {
  const directory = await mkdtemp(path.join(tmpdir(), 'cw-devices-'));
  const wg = new FakeWireGuardClient();
  const links = new FakeLinks({ kernelWireGuard: false });
  const pids: number[] = [];
  const launch: Launcher = (_file, args, env, output) => {
    const child = spawn(process.execPath, [FAKE_BINARY, ...args], {
      env: { ...process.env, ...env, FAKE_WG_SOCKET_DIR: directory },
      stdio: ['ignore', output ?? 'pipe', output ?? 'pipe'],
    });
    const name = args.at(-1)!;
    links.addLink(name, 'tun');
    pids.push(child.pid!);
    child.once('exit', () => void links.remove(name));
    return child;
  };
  const restarts: string[] = [];
  const { logger, lines } = memoryLogger();
  const devices = new WireGuardDevices({
    backend: 'auto',
    links,
    kernelClient: wg,
    userspace: { binary: 'wireguard-go', socketDirectory: directory, client: client?.(directory), launch },
    logger,
    // Real time, no restart delay: the test does not wait a backoff out.
    clock: { ...systemClock, sleep: (_ms, signal) => systemClock.sleep(Math.min(_ms, 20), signal) },
    onUserspaceRestart: (device) => restarts.push(device),
  });
  // One hook, in this order: node:test runs hooks first-registered first and
  // skips the rest after one throws; a directory removed under a live
  // process fails (ENOTEMPTY) and would leave that process supervised.
  t.after(async () => {
    await devices.stop();
    await rm(directory, { recursive: true, force: true });
  });
  const requests = async () => {
    try {
      return await readFile(path.join(directory, 'wg-c2.requests'), 'utf8');
    } catch {
      return '';
    }
  };
  const connections = async () => (await readFile(path.join(directory, 'wg-c2.connections'), 'utf8').catch(() => '')).split('\n').length - 1;
  return { links, devices, pids, restarts, requests, connections, lines };
}

describe('WireGuardDevices (userspace fallback, fake wireguard-go)', () => {
  it('falls back to userspace, configures over UAPI, and restores key and peers from the device state after a crash', async (t) => {
    const { links, devices, pids, restarts, requests, lines } = await userspaceWorld(t);
    const state = new DeviceState(PRIVATE);
    const device = await devices.ensure(spec(), state);
    assert.equal(device.backend, 'userspace');
    assert.equal(device.created, true);
    assert.equal((await links.get('wg-c2'))!.alias, 'clusterwire:c2');
    assert.ok(lines().some((line) => line.msg === 'the kernel has no WireGuard: using the userspace implementation'));
    assert.match(await requests(), new RegExp(`set=1\nprivate_key=${keyToHex(PRIVATE)}\nlisten_port=51821\n\n`));

    // As the peering does: a change the device accepted goes into the state, the one copy the restore reads.
    const change = { peers: [{ publicKey: PEER, endpoint: '198.18.0.2:51820', replaceAllowedIPs: ['10.4.1.0/24'], persistentKeepaliveSeconds: 25 }] };
    await device.client.configure('wg-c2', change);
    state.applied(change);
    assert.equal(devices.userspacePid('wg-c2'), pids[0]);
    process.kill(pids[0]!, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (restarts.length === 0 && Date.now() < deadline) await delay(10);
    assert.deepEqual(restarts, ['wg-c2']);
    assert.equal(pids.length, 2);
    assert.equal((await links.get('wg-c2'))!.alias, 'clusterwire:c2', 'link settings restored on the new link');
    const restore = (await requests()).split('set=1\n').at(-1)!;
    assert.equal(
      restore,
      `private_key=${keyToHex(PRIVATE)}\nlisten_port=51821\npublic_key=${keyToHex(PEER)}\nendpoint=198.18.0.2:51820\n` +
        'persistent_keepalive_interval=25\nreplace_allowed_ips=true\nallowed_ip=10.4.1.0/24\n\n',
    );
  });

  it('adopts its running userspace device on the next call without restarting it', async (t) => {
    const { devices, pids } = await userspaceWorld(t);
    const first = await devices.ensure(spec(), new DeviceState(PRIVATE));
    const second = await devices.ensure(spec(), new DeviceState(PRIVATE));
    assert.equal(second.created, false);
    assert.equal(second.index, first.index);
    assert.equal(pids.length, 1);
  });

  it('probes the socket of a link it reads, not of the link it kept from the last pass: the read proves it answers', async (t) => {
    const { devices, connections } = await userspaceWorld(t);
    // A probe's connection is logged by the fake after the prober has moved on: count once the log is still.
    const settled = async () => {
      let last = -1;
      for (let count = await connections(); count !== last; count = await connections()) {
        last = count;
        await delay(100);
      }
      return last;
    };
    const state = new DeviceState(PRIVATE);
    await devices.ensure(spec(), state);
    // Created: its settings were just written, so the first pass after reads the link again.
    await devices.ensure(spec(), state, false);
    const start = await settled();
    await devices.ensure(spec(), state, false);
    const kept = (await settled()) - start;
    await devices.ensure(spec(), state, true);
    const read = (await settled()) - start - kept;
    // The fake answers get=1 with no key, so every ensure also writes the key: the read and the write.
    assert.equal(kept, 2, 'link kept: no probe');
    assert.equal(read - kept, 1, 'link read: one connection more, the probe');
  });

  it('reads and configures its devices, restore included, through the client it is given (how -wg-userspace-client wg works)', async (t) => {
    const calls: string[] = [];
    const recording = (socketDirectory: string): WireGuardClient => {
      const uapi = new UapiClient(socketDirectory);
      return {
        device: (name) => {
          calls.push(`device ${name}`);
          return uapi.device(name);
        },
        read: (name) => {
          calls.push(`read ${name}`);
          return uapi.read(name);
        },
        configure: (name, change) => {
          calls.push(`configure ${name} ${change.peers.length} peers${change.privateKey === undefined ? '' : ', key'}`);
          return uapi.configure(name, change);
        },
      };
    };
    const { devices, pids, restarts } = await userspaceWorld(t, recording);
    const state = new DeviceState(PRIVATE);
    const device = await devices.ensure(spec(), state);
    const change = { peers: [{ publicKey: PEER, endpoint: '198.18.0.2:51820', replaceAllowedIPs: ['10.4.1.0/24'] }] };
    await device.client.configure('wg-c2', change);
    state.applied(change);
    process.kill(pids[0]!, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (restarts.length === 0 && Date.now() < deadline) await delay(10);
    assert.deepEqual(restarts, ['wg-c2']);
    assert.deepEqual(calls, ['read wg-c2', 'configure wg-c2 0 peers, key', 'configure wg-c2 1 peers', 'configure wg-c2 1 peers, key']);
  });

  it('remove() stops the process it runs', async (t) => {
    const { devices, pids, links } = await userspaceWorld(t);
    await devices.ensure(spec(), new DeviceState(PRIVATE));
    assert.equal(await devices.remove('wg-c2'), true);
    assert.throws(() => process.kill(pids[0]!, 0), /ESRCH/);
    assert.equal(await links.get('wg-c2'), null);
  });
});
