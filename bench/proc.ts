import { readFile } from 'node:fs/promises';

/**
 * A process's CPU time and memory as the kernel accounts them, read from
 * /proc so nothing runs inside the process being measured.
 */

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on every Linux this runs on). */
const USER_HZ = 100;

/** utime + stime of /proc/<pid>/stat in seconds: the process's own threads, not its children. */
export function parseCpuSeconds(statText: string): number {
  // The command name (field 2) may contain spaces and parentheses: fields are counted after its last ')'.
  const close = statText.lastIndexOf(')');
  if (close < 0) throw new Error('/proc stat text has no command name');
  const fields = statText.slice(close + 2).trim().split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new Error(`/proc stat text has no utime/stime: ${statText.slice(0, 80)}`);
  return (utime + stime) / USER_HZ;
}

/** VmRSS of /proc/<pid>/status, in bytes. */
export function parseRssBytes(statusText: string): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(statusText);
  if (!match) throw new Error('/proc status text has no VmRSS line');
  return Number(match[1]) * 1024;
}

export async function cpuSeconds(pid: number): Promise<number> {
  try {
    return parseCpuSeconds(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch (error) {
    throw new Error(`reading the CPU time of pid ${pid} failed`, { cause: error });
  }
}

export async function rssBytes(pid: number): Promise<number> {
  try {
    return parseRssBytes(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch (error) {
    throw new Error(`reading the RSS of pid ${pid} failed`, { cause: error });
  }
}
