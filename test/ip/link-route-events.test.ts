import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { createLabHost } from '../../lab/netns.ts';
import { systemClock } from '../../src/clock/clock.ts';
import { concernsDevice, IpMonitor } from '../../src/ip/link-route-events.ts';
import { ManualClock } from '../support/manual-clock.ts';
import { skipUnlessRoot } from '../support/root.ts';

const SUBNETS = ['10.4.0.0/16', 'fd00:4::/56'];

describe('concernsDevice', () => {
  // Lines as `ip -o monitor link route` prints them (captured in a namespace).
  const cases: [line: string, concerns: boolean][] = [
    ['5: wg-c2: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420 qdisc noqueue state UNKNOWN group default \\    link/none ', true],
    ['Deleted 5: wg-c2: <POINTOPOINT,NOARP> mtu 1420 qdisc noop state DOWN group default \\    link/none ', true],
    ['3: wg-c2@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN group default \\    link/ether 2e:31:38:b7:89:9a brd ff:ff:ff:ff:ff:ff', true],
    ['10.4.0.0/16 dev wg-c2 scope link ', true],
    ['Deleted 10.4.0.0/16 dev wg-c2 scope link ', true],
    ['Deleted fd00:4::/56 dev wg-c2 metric 1024 pref medium', true],
    ['10.4.0.0/16 dev eth0 scope link ', true],
    ['Deleted fe80::/64 dev wg-c2 proto kernel metric 256 pref medium', true],
    ['6: wg-c22: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420 qdisc noqueue state UNKNOWN', false],
    ['10.9.0.0/24 dev wg-c22 scope link ', false],
    ['110.4.0.0/16 dev eth0 scope link ', false],
    ['10.2.7.3 dev cali1234 scope link ', false],
    ['Deleted 10.2.7.3 dev cali1234 scope link ', false],
    ['multicast ff00::/8 dev cali1234 table local proto kernel metric 256 pref medium', false],
  ];
  for (const [line, concerns] of cases) {
    it(`${concerns ? 'concerns' : 'not'}: ${line.slice(0, 60)}`, () => assert.equal(concernsDevice(line, 'wg-c2', SUBNETS), concerns));
  }
});

/** A child process as IpMonitor sees one: its output streams, kill(), and exit. */
function fakeChild() {
  const child = Object.assign(new EventEmitter(), {
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    killed: false,
    kill() {
      child.killed = true;
      return true;
    },
  });
  return child;
}

const settle = () => delay(10);

describe('IpMonitor', () => {
  it('listens after it settles, tells the watchers concerned, and on an error or an exit loses its epoch, tells every watcher and starts again later', async () => {
    const clock = new ManualClock();
    const children: ReturnType<typeof fakeChild>[] = [];
    let failures = 0;
    const monitor = new IpMonitor({
      launch: () => {
        const child = fakeChild();
        children.push(child);
        return child as unknown as ChildProcess;
      },
      clock,
      logger: pino({ level: 'silent' }),
      onFailure: () => failures++,
      settleMs: 200,
      restartDelayMs: 5_000,
    });
    const told: string[] = [];
    monitor.watch('wg-c2', SUBNETS, () => told.push('c2'));
    const stopC3 = monitor.watch('wg-c3', ['10.5.0.0/16'], () => told.push('c3'));
    monitor.start();
    assert.equal(monitor.epoch(), null, 'not listening before it settles');
    clock.advance(200);
    const first = monitor.epoch();
    assert.notEqual(first, null);

    children[0]!.stdout.write('Deleted 10.4.0.0/16 dev wg-c2 scope link \n10.2.7.3 dev cali1 scope link \n10.5.0.0/16 dev eth0 \n');
    await settle();
    assert.deepEqual(told, ['c2', 'c3']);
    stopC3();

    children[0]!.stderr.write('Error: Peer netns reference is invalid.\n');
    await settle();
    assert.deepEqual([monitor.epoch(), failures], [first, 0], 'a veth peer it cannot name loses nothing');
    children[0]!.stderr.write('netlink receive error No buffer space available (105)\n');
    await settle();
    assert.deepEqual([monitor.epoch(), failures, told, children[0]!.killed], [null, 1, ['c2', 'c3'], true], 'events may be lost: no epoch (the next tick reads)');
    children[0]!.emit('exit', null, 'SIGTERM');
    await settle();
    assert.equal(failures, 1, 'the exit of the run it ended counts nothing more');
    clock.advance(5_000);
    assert.equal(children.length, 2, 'started again after the delay');
    clock.advance(200);
    const second = monitor.epoch();
    assert.ok(second !== null && second !== first, 'a new run, a new epoch');

    children[1]!.emit('exit', 1, null);
    await settle();
    assert.deepEqual([monitor.epoch(), failures], [null, 2]);
    monitor.stop();
    clock.advance(10_000);
    assert.equal(children.length, 2, 'stopped: no restart');
  });

  it('reports what the kernel does in a namespace: a route deleted through the device, a route moved off it, the link deleted', async (t) => {
    if (skipUnlessRoot(t)) return;
    const host = await createLabHost(`cwmon${process.pid}`);
    let monitor: IpMonitor | null = null;
    // One hook, the monitor first: the namespace going away ends its ip, which it would count as lost events.
    t.after(async () => {
      monitor?.stop();
      await host.destroy();
    });
    await host.run('ip', ['link', 'add', 'wg-c2', 'type', 'veth', 'peer', 'name', 'other']);
    await host.run('ip', ['link', 'set', 'dev', 'wg-c2', 'up']);
    await host.run('ip', ['link', 'set', 'dev', 'other', 'up']);
    await host.run('ip', ['route', 'replace', '10.4.0.0/16', 'dev', 'wg-c2', 'scope', 'link']);
    let failures = 0;
    monitor = new IpMonitor({
      launch: () => host.launch('ip', ['-o', 'monitor', 'link', 'route'], {}),
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      onFailure: () => failures++,
    });
    let told = 0;
    monitor.watch('wg-c2', ['10.4.0.0/16'], () => told++);
    monitor.start();
    const until = async (what: string, condition: () => boolean) => {
      const deadline = Date.now() + 5_000;
      while (!condition()) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
        await delay(20);
      }
    };
    await until('the monitor to listen', () => monitor?.epoch() != null);
    await host.run('ip', ['route', 'add', '10.9.0.0/24', 'dev', 'other']);
    await delay(200);
    assert.equal(told, 0, 'a route of another device and subnet concerns nobody');
    await host.run('ip', ['route', 'replace', '10.4.0.0/16', 'dev', 'other']);
    await until('the moved route', () => told >= 1);
    await host.run('ip', ['route', 'replace', '10.4.0.0/16', 'dev', 'wg-c2', 'scope', 'link']);
    const before = told;
    await host.run('ip', ['route', 'delete', '10.4.0.0/16', 'dev', 'wg-c2']);
    await until('the deleted route', () => told > before + 1);
    const beforeLink = told;
    await host.run('ip', ['link', 'delete', 'wg-c2']);
    await until('the deleted link', () => told > beforeLink);
    assert.equal(failures, 0);
  });
});
