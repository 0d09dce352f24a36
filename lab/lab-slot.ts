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

/**
 * Takes the first free slot after sweeping stale labs. `describe` fills in
 * the claim once the slot is known.
 */
export async function claimSlot(describe: (slot: number) => Omit<SlotClaim, 'slot' | 'pid' | 'createdAt'>, log: (line: string) => void): Promise<SlotClaim> {
  await sweepStaleLabs(log);
  await mkdir(CLAIMS_DIRECTORY, { recursive: true, mode: 0o755 });
  for (let slot = FIRST_SLOT; slot < FIRST_SLOT + SLOT_COUNT; slot += 1) {
    const claim: SlotClaim = { slot, pid: process.pid, createdAt: new Date().toISOString(), ...describe(slot) };
    let file;
    try {
      file = await open(claimPath(slot), 'wx', 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new Error(`claiming lab slot ${slot} (${claimPath(slot)}) failed`, { cause: error });
    }
    try {
      await file.writeFile(`${JSON.stringify(claim)}\n`);
    } finally {
      await file.close();
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
 */
export async function sweepStaleLabs(log: (line: string) => void): Promise<number[]> {
  const claims = await readClaims();
  const swept: number[] = [];
  for (const claim of claims) {
    if (processAlive(claim.pid)) continue;
    log(`lab: removing the leftovers of lab slot ${claim.slot} (its process ${claim.pid} is gone)`);
    await destroySlot(claim.slot, claim);
    swept.push(claim.slot);
  }
  // Re-read: a lab may have been claimed or released meanwhile; its names are covered by its claim.
  const claimed = new Set((await readClaims()).map((claim) => claim.slot));
  const names = [...(await listLabHosts(LAB_NAME_PREFIX)), ...(await linkNames()).filter((name) => name.startsWith(LAB_NAME_PREFIX))];
  const orphans = new Set(names.map(slotOfName).filter((slot): slot is number => slot !== null && !claimed.has(slot)));
  for (const slot of orphans) {
    log(`lab: removing lab slot ${slot}'s namespaces and bridge, which no claim covers`);
    await destroySlot(slot, null);
    swept.push(slot);
  }
  return swept;
}

/**
 * Tears down every lab on the machine (`npm run demo -- --destroy`): a
 * live owner is asked to stop with SIGTERM, which makes it tear its lab
 * down; what remains after it is removed here.
 */
export async function destroyAllLabs(log: (line: string) => void, graceMs = 15_000): Promise<number[]> {
  const slots: number[] = [];
  for (const claim of await readClaims()) {
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
    if (claim.pid === process.pid || !processAlive(claim.pid)) continue;
    throw new Error(`lab slot ${claim.slot}'s process ${claim.pid} did not stop within ${graceMs} ms; kill it, then run this again`);
  }
  return [...new Set([...slots, ...swept])];
}
