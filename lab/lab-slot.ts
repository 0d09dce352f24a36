/**
 * Which lab owns which slot of 198.18.64.0/18, so that labs of concurrent
 * test files and a kept demo coexist, and so that what a crashed run left
 * behind (namespaces, processes in them, bridge, temp directory) is found
 * and removed by the next run.
 *
 * A claim is a file `/run/clusterwire-labs/<slot>.json` created with O_EXCL
 * (atomic) before anything of the lab exists and removed after everything
 * of it is gone. A claim whose process is dead is stale.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { FIRST_SLOT, LAB_NAME_PREFIX, SLOT_COUNT, slotNames, slotOfName } from './lab-layout.ts';
import { deleteSlotLinks, linkNames, subnetRouted } from './lab-network.ts';
import { destroyLabHost, listLabHosts } from './netns.ts';

const CLAIMS_DIRECTORY = '/run/clusterwire-labs';

export interface SlotClaim {
  slot: number;
  /** What the lab is for (LabOptions.name): `demo --destroy` only stops the demo's. */
  name: string;
  /** The process that owns the lab: while it lives, the lab is not stale. */
  pid: number;
  /** The lab's directory (configs, keys, logs, apiserver files). */
  dir: string;
  /** True when the lab made `dir` and removes it on teardown. */
  ownsDir: boolean;
  createdAt: string;
}

function claimPath(slot: number): string {
  return path.join(CLAIMS_DIRECTORY, `${slot}.json`);
}

/** Takes the first free slot after sweeping stale labs. */
export async function claimSlot(owner: Pick<SlotClaim, 'name' | 'dir' | 'ownsDir'>, log: (line: string) => void): Promise<SlotClaim> {
  await sweepStaleLabs(log);
  for (let slot = FIRST_SLOT; slot < FIRST_SLOT + SLOT_COUNT; slot += 1) {
    const claim: SlotClaim = { slot, pid: process.pid, createdAt: new Date().toISOString(), ...owner };
    try {
      await writeClaim(claim);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new Error(`claiming lab slot ${slot} (${claimPath(slot)}) failed`, { cause: error });
    }
    if (await subnetRouted(slotNames(slot).subnet)) {
      // Someone else's network on this machine: leave it alone.
      await releaseSlot(slot);
      continue;
    }
    return claim;
  }
  throw new Error(`no free lab slot: ${SLOT_COUNT} labs are running or their claims in ${CLAIMS_DIRECTORY} are held by live processes`);
}

/** Creates the claim file; fails with EEXIST when the slot is taken. */
async function writeClaim(claim: SlotClaim): Promise<void> {
  await mkdir(CLAIMS_DIRECTORY, { recursive: true, mode: 0o755 });
  const file = await open(claimPath(claim.slot), 'wx', 0o644);
  try {
    await file.writeFile(`${JSON.stringify(claim)}\n`);
  } finally {
    await file.close();
  }
}

export async function releaseSlot(slot: number): Promise<void> {
  await rm(claimPath(slot), { force: true });
}

export async function readClaims(): Promise<SlotClaim[]> {
  let entries: string[];
  try {
    entries = await readdir(CLAIMS_DIRECTORY);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const claims: SlotClaim[] = [];
  for (const entry of entries.filter((name) => /^\d+\.json$/.test(name))) {
    const file = path.join(CLAIMS_DIRECTORY, entry);
    try {
      claims.push(JSON.parse(await readFile(file, 'utf8')) as SlotClaim);
    } catch (error) {
      // A claim being written right now reads empty: its owner is alive.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) continue;
      throw new Error(`reading lab claim ${file} failed`, { cause: error });
    }
  }
  return claims;
}

/** True while `pid` runs; a zombie (dead, not yet reaped by whoever inherited it) is dead. */
export function processAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new Error(`reading the state of process ${pid} failed`, { cause: error });
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/**
 * Removes everything of a lab slot: its hosts (and every process in them),
 * its bridge and veths, its directory when the lab made it, then its claim.
 */
export async function destroySlot(slot: number, claim: SlotClaim | null): Promise<void> {
  const names = slotNames(slot);
  const failures: unknown[] = [];
  for (const host of await listLabHosts(names.hostPrefix)) {
    await destroyLabHost(host).catch((error: unknown) => failures.push(error));
  }
  await deleteSlotLinks(names).catch((error: unknown) => failures.push(error));
  if (claim?.ownsDir) await rm(claim.dir, { recursive: true, force: true }).catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw new AggregateError(failures, `removing lab slot ${slot} failed; its claim ${claimPath(slot)} is kept`);
  await releaseSlot(slot);
}

/**
 * Removes labs whose owner died (a crash, a kill -9, a closed terminal) and
 * lab namespaces or bridges that no claim covers. Returns the slots swept.
 * Safe against other labs starting or sweeping at the same time: a stale
 * slot is swept under its sweep lock, and only while its claim is still the
 * stale one; an unclaimed slot is claimed before it is swept.
 */
export async function sweepStaleLabs(log: (line: string) => void): Promise<number[]> {
  const swept: number[] = [];
  for (const claim of await readClaims()) {
    if (!processAlive(claim.pid)) {
      if (await sweepStaleClaim(claim, log)) swept.push(claim.slot);
    }
  }
  // Names first, claims second: a lab claims its slot before it makes any name,
  // so a name whose slot is unclaimed afterwards is a leftover.
  const names = [...(await listLabHosts(LAB_NAME_PREFIX)), ...(await linkNames()).filter((name) => name.startsWith(LAB_NAME_PREFIX))];
  const claimed = new Set((await readClaims()).map((claim) => claim.slot));
  const orphans = new Set(names.map(slotOfName).filter((slot): slot is number => slot !== null && !claimed.has(slot)));
  for (const slot of orphans) {
    if (await sweepUnclaimedSlot(slot, log)) swept.push(slot);
  }
  return swept;
}

async function sweepStaleClaim(stale: SlotClaim, log: (line: string) => void): Promise<boolean> {
  const unlock = await takeSweepLock(stale.slot);
  if (!unlock) return false;
  try {
    const current = (await readClaims()).find((claim) => claim.slot === stale.slot);
    // Swept by someone else meanwhile, and perhaps claimed again since.
    if (current?.pid !== stale.pid || current.createdAt !== stale.createdAt) return false;
    log(`lab: removing the leftovers of lab slot ${stale.slot} (${stale.name}; its process ${stale.pid} is gone)`);
    await destroySlot(stale.slot, stale);
    return true;
  } finally {
    await unlock();
  }
}

async function sweepUnclaimedSlot(slot: number, log: (line: string) => void): Promise<boolean> {
  try {
    await writeClaim({ slot, name: 'sweeper', pid: process.pid, dir: '', ownsDir: false, createdAt: new Date().toISOString() });
  } catch (error) {
    // Claimed since it was listed: its owner's names now.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  log(`lab: removing lab slot ${slot}'s namespaces and links, which no claim covers`);
  await destroySlot(slot, null);
  return true;
}

/**
 * Makes `<slot>.sweep` (O_EXCL) so that only one process sweeps a stale
 * slot; returns its release, or null when a live process holds it. A lock
 * left by a dead sweeper is broken.
 */
async function takeSweepLock(slot: number): Promise<(() => Promise<void>) | null> {
  const lock = path.join(CLAIMS_DIRECTORY, `${slot}.sweep`);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const file = await open(lock, 'wx', 0o644);
      try {
        await file.writeFile(`${process.pid}\n`);
      } finally {
        await file.close();
      }
      return () => rm(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`taking the sweep lock ${lock} failed`, { cause: error });
    }
    const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) return null;
    await rm(lock, { force: true });
  }
  return null;
}

/**
 * Tears down the live labs `wanted` picks and every stale one (`npm run
 * demo -- --destroy`): a live owner is asked to stop with SIGTERM, which
 * makes it tear its lab down; what remains after it is removed here.
 */
export async function destroyLabs(wanted: (claim: SlotClaim) => boolean, log: (line: string) => void, graceMs = 15_000): Promise<number[]> {
  const slots: number[] = [];
  for (const claim of await readClaims()) {
    if (!wanted(claim) && processAlive(claim.pid)) continue;
    if (claim.pid !== process.pid && processAlive(claim.pid)) {
      log(`lab: asking process ${claim.pid} to tear down lab slot ${claim.slot}`);
      process.kill(claim.pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (processAlive(claim.pid) && Date.now() < deadline) await delay(100);
    }
    slots.push(claim.slot);
  }
  const swept = await sweepStaleLabs(log);
  for (const claim of await readClaims()) {
    if (!wanted(claim) || claim.pid === process.pid || !processAlive(claim.pid)) continue;
    throw new Error(`lab slot ${claim.slot}'s process ${claim.pid} did not stop within ${graceMs} ms; kill it, then run this again`);
  }
  return [...new Set([...slots, ...swept])];
}
