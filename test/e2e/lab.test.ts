/**
 * The lab harness itself: a run that crashed leaves namespaces, processes,
 * a bridge and files behind, and the next run must remove them and work;
 * labs built at the same time must not collide. No daemons: only the lab.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it, type TestContext } from 'node:test';
import { createLab, type Lab } from '../../lab/lab.ts';
import { slotNames } from '../../lab/lab-layout.ts';
import { linkNames } from '../../lab/lab-network.ts';
import { processAlive, readClaims } from '../../lab/lab-slot.ts';
import { createLabHost, listLabHosts } from '../../lab/netns.ts';
import { skipUnlessRoot } from '../support/root.ts';

const LAB = path.resolve(import.meta.dirname, '../../lab/lab.ts');
const SMALL = [
  { name: 'c1', podSubnet: '10.2.0.0/16', nodes: 1 },
  { name: 'c2', podSubnet: '10.4.0.0/16', nodes: 1 },
];

interface CrashedLab {
  slot: number;
  dir: string;
  sleeperPid: number;
}

/** A process that builds a lab, starts a process in one of its hosts, and is then killed with SIGKILL. */
async function crashedLab(t: TestContext): Promise<CrashedLab> {
  const script = `
    import { createLab } from ${JSON.stringify(LAB)};
    const lab = await createLab({ startDaemons: false, clusters: ${JSON.stringify(SMALL)} });
    const sleeper = lab.nodes()[0].host.launch('sleep', ['600'], {});
    console.log(JSON.stringify({ slot: lab.slot, dir: lab.dir, sleeperPid: sleeper.pid }));
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    child.kill('SIGKILL');
  });
  const [line] = await Promise.race([
    (async () => {
      for await (const text of createInterface({ input: child.stdout })) return [text];
      return [undefined];
    })(),
    new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the lab process exited (${code}) before its lab was up`)))),
  ]);
  const crashed = JSON.parse(line ?? '{}') as CrashedLab;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return crashed;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** What of a slot is still on the machine. */
async function remainsOf(slot: number, dir: string) {
  const names = slotNames(slot);
  return {
    hosts: await listLabHosts(names.hostPrefix),
    links: (await linkNames()).filter((name) => name === names.bridge || name.startsWith(`${names.bridge}v`)),
    claimedBy: (await readClaims()).find((claim) => claim.slot === slot)?.pid ?? null,
    dir: await exists(dir),
  };
}

describe('the lab harness', { concurrency: false }, () => {
  it('the next run removes what a killed run left (processes, namespaces, bridge, claim, files) and works', async (t) => {
    if (skipUnlessRoot(t)) return;
    const crashed = await crashedLab(t);
    const left = await remainsOf(crashed.slot, crashed.dir);
    assert.equal(left.hosts.length, 2, 'the killed run left its hosts');
    assert.ok(left.links.length > 0 && left.dir && left.claimedBy !== null, 'and its bridge, claim and directory');
    assert.ok(processAlive(crashed.sleeperPid), 'and a process in a host');

    const lab = await createLab({ startDaemons: false, clusters: SMALL });
    t.after(() => lab.destroy());
    assert.ok(!processAlive(crashed.sleeperPid), 'the process in the old host was killed');
    const after = await remainsOf(crashed.slot, crashed.dir);
    assert.equal(after.dir, false, "the old lab's directory is gone");
    if (lab.slot !== crashed.slot) {
      assert.deepEqual(after, { hosts: [], links: [], claimedBy: null, dir: false });
    } else {
      assert.equal(after.claimedBy, process.pid, 'the slot was taken over');
    }
    const [c1, c2] = lab.nodes();
    assert.ok(c1 && c2);
    // No tunnel without daemons, but the bridge carries packets between hosts.
    assert.deepEqual(await c1.host.run('ping', ['-n', '-q', '-c', '1', '-W', '2', c2.address]).then(() => 'ok'), 'ok');

    await lab.destroy();
    await lab.destroy();
    assert.deepEqual(await remainsOf(lab.slot, lab.dir), { hosts: [], links: [], claimedBy: null, dir: false }, 'destroy removes everything, twice is fine');
  });

  it('labs built at the same time take different slots and tear down independently', async (t) => {
    if (skipUnlessRoot(t)) return;
    const labs: Lab[] = await Promise.all([createLab({ startDaemons: false, clusters: SMALL }), createLab({ startDaemons: false, clusters: SMALL })]);
    for (const lab of labs) t.after(() => lab.destroy());
    const [a, b] = labs as [Lab, Lab];
    assert.notEqual(a.slot, b.slot);
    await a.destroy();
    assert.equal((await listLabHosts(slotNames(b.slot).hostPrefix)).length, 2, "b's hosts survive a's teardown");
    const [b1, b2] = b.nodes();
    assert.ok(b1 && b2);
    await b1.host.run('ping', ['-n', '-q', '-c', '1', '-W', '2', b2.address]);
  });

  it('a host whose directory is held busy from outside is still removed', async (t) => {
    if (skipUnlessRoot(t)) return;
    const host = await createLabHost(`cwbusy${process.pid}`);
    // A process outside the host's namespaces with its working directory in
    // the host's bind mount: `umount` says "target is busy", as it did in CI
    // when a connection through the host path was still closing.
    const holder = spawn('sleep', ['600'], { cwd: host.wireguardSocketDirectory, stdio: 'ignore' });
    t.after(async () => {
      holder.kill('SIGKILL');
      await host.destroy();
    });
    await new Promise((resolve, reject) => holder.once('spawn', resolve).once('error', reject));
    await host.destroy();
    assert.deepEqual(await listLabHosts(host.name), []);
    assert.equal(await exists(path.dirname(host.mountNamespace)), false, 'the host directory is gone');
  });
});
