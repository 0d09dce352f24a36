/**
 * "As many local daemons as the machine holds": decided from the memory
 * the machine has available once the first daemon runs, against what that
 * daemon's host (the daemon and its wireguard-go) takes, with a margin;
 * then lowered to the daemons running if, on the way there, the machine
 * cannot keep up with one more (its CPU: a cold start times out).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execCommand } from '../src/process/exec.ts';
import type { LocalsStep } from './fleet-scale-args.ts';
import { errorText } from './error-text.ts';
import { rssBytes } from './proc.ts';

const GIB = 1024 ** 3;
/** Kept free for the machine and the other sessions on it, whichever is larger. */
export const RESERVE_MIN_BYTES = 2 * GIB;
export const RESERVE_SHARE = 0.1;
/**
 * A host measured after cold start grows under churn and handshakes
 * (the daemon ~+10 % after churn in the bench's runs, wireguard-go with
 * its per-peer handshake state): each further daemon is counted at 1.5x.
 */
export const GROWTH = 1.5;

export interface Capacity {
  /** MemAvailable when the decision was made, with `running` daemons up. */
  availableBytes: number;
  totalBytes: number;
  /** One host as measured: the daemon and its wireguard-go (RSS). */
  perDaemonBytes: number;
  reserveBytes: number;
  running: number;
  /** What the memory allows: running + (available − reserve) ÷ (per daemon × GROWTH). */
  byMemory: number;
  cap: number;
  /** min(byMemory, cap), at least 1; limited by cpu, the daemons that were running when the next one could not start. */
  locals: number;
  /** What decided `locals`: the memory, --max-locals, or the CPU (a cold start on the way to min(byMemory, cap) timed out). */
  limitedBy: 'memory' | 'cap' | 'cpu';
  /** limitedBy cpu: why that cold start failed, the error and its causes. */
  cpuError: string | null;
}

export function decideCapacity(measured: { availableBytes: number; totalBytes: number; perDaemonBytes: number; running: number; cap: number }): Capacity {
  const { availableBytes, totalBytes, perDaemonBytes, running, cap } = measured;
  if (!(perDaemonBytes > 0)) throw new Error(`a daemon's host takes ${perDaemonBytes} bytes: nothing to decide from`);
  const reserveBytes = Math.max(RESERVE_MIN_BYTES, RESERVE_SHARE * totalBytes);
  const byMemory = running + Math.floor(Math.max(0, availableBytes - reserveBytes) / (perDaemonBytes * GROWTH));
  return {
    availableBytes,
    totalBytes,
    perDaemonBytes,
    reserveBytes,
    running,
    byMemory,
    cap,
    locals: Math.max(1, Math.min(byMemory, cap)),
    limitedBy: byMemory < cap ? 'memory' : 'cap',
    cpuError: null,
  };
}

/**
 * Whether an error says that something timed out (a cold start's wait for
 * the peers, a read of the device, the daemon's readiness, a command):
 * the machine did not keep up. The messages are the bench's own
 * (device-probe.ts, daemon-process.ts) and execCommand's, at any depth of
 * causes.
 */
export function timedOut(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (/\bwithin \d+ ms\b|\btimed out after \d+ ms\b/.test(current.message)) return true;
  }
  return false;
}

/**
 * A daemon's cold start failed with `running` daemons up. While the
 * capacity is being decided and the daemons are stepping up towards it
 * (not towards a count asked for), a timeout is the machine's limit: the
 * capacity becomes the daemons running, limited by cpu. Anything else is
 * an error: null.
 */
export function limitOnColdStartFailure(capacity: Capacity, step: { deciding: boolean; towardCapacity: boolean; running: number }, error: unknown): Capacity | null {
  if (!step.deciding || !step.towardCapacity || !timedOut(error)) return null;
  return { ...capacity, locals: step.running, limitedBy: 'cpu', cpuError: errorText(error) };
}

export interface LocalsTarget {
  locals: number;
  /**
   * The capacity rather than a count asked for: from `max`, or from a
   * count above the capacity, measured in its place. Only on the way to
   * such a target may a failed cold start lower the capacity.
   */
  towardCapacity: boolean;
}

/**
 * The numbers of daemons to measure, increasing: `max` becomes the
 * capacity, counts above it are dropped (the capacity is measured in
 * their place).
 */
export function resolveLocals(steps: readonly LocalsStep[], capacity: number): LocalsTarget[] {
  const asked = new Set(steps.filter((step) => step !== 'max' && step <= capacity));
  const counts = [...new Set(steps.map((step) => (step === 'max' ? capacity : Math.min(step, capacity))))].sort((a, b) => a - b);
  return counts.map((locals) => ({ locals, towardCapacity: !asked.has(locals) }));
}

export function parseMemInfo(text: string): { availableBytes: number; totalBytes: number } {
  const kB = (key: string) => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    if (!match) throw new Error(`/proc/meminfo has no ${key} line`);
    return Number(match[1]) * 1024;
  };
  return { availableBytes: kB('MemAvailable'), totalBytes: kB('MemTotal') };
}

export async function readMemInfo(): Promise<{ availableBytes: number; totalBytes: number }> {
  return parseMemInfo(await readFile('/proc/meminfo', 'utf8'));
}

/** The pids of every process in network namespace `name` (the daemon, its wireguard-go). */
export async function hostPids(name: string): Promise<number[]> {
  const { stdout } = await execCommand('ip', ['netns', 'pids', name]);
  return stdout.split('\n').filter((line) => line.trim() !== '').map(Number);
}

/**
 * `read(pid)`, or null when the process exited since it was listed (the
 * daemon's short-lived `ip` and `wg` children come and go).
 */
export async function readIfRunning<T>(pid: number, read: (pid: number) => Promise<T>): Promise<T | null> {
  try {
    return await read(pid);
  } catch (error) {
    if (existsSync(`/proc/${pid}`)) throw error;
    return null;
  }
}

/** RSS of every process in the host. */
export async function hostRssBytes(name: string): Promise<number> {
  let total = 0;
  for (const pid of await hostPids(name)) total += (await readIfRunning(pid, rssBytes)) ?? 0;
  return total;
}
