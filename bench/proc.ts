import { readdir, readFile } from 'node:fs/promises';

/**
 * A process's CPU time and memory as the kernel accounts them, read from
 * /proc so nothing runs inside the process being measured.
 */

/** VmRSS of /proc/<pid>/status, in bytes. */
export function parseRssBytes(statusText: string): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(statusText);
  if (!match) throw new Error('/proc status text has no VmRSS line');
  return Number(match[1]) * 1024;
}

/** The time one thread ran, in seconds: the first field of /proc/<pid>/task/<tid>/schedstat, in nanoseconds. */
export function parseSchedstatSeconds(schedstatText: string): number {
  const match = /^(\d+) /.exec(schedstatText);
  if (!match) throw new Error(`schedstat text has no run time: ${schedstatText.slice(0, 80)}`);
  return Number(match[1]) / 1e9;
}

/**
 * The CPU time of every thread of the process, in seconds, from each
 * thread's schedstat (nanoseconds). /proc/<pid>/stat counts 10 ms ticks:
 * an idle daemon spends ~10 ms every 30 s, so one tick more or less moved
 * a 60 s window's figure by 0.6 s per hour, half of what was measured.
 * A thread that exits takes its time with it: Node's threads live as long
 * as the process, and Go keeps the threads it made (wireguard-go).
 */
export async function cpuSeconds(pid: number): Promise<number> {
  try {
    const threads = await readdir(`/proc/${pid}/task`);
    const seconds = await Promise.all(threads.map((tid) => threadSeconds(pid, tid)));
    return seconds.reduce((sum, s) => sum + s, 0);
  } catch (error) {
    throw new Error(`reading the CPU time of pid ${pid} failed`, { cause: error });
  }
}

/** A thread that ended since the task directory was listed (Go's come and go) ran for the process already: 0 more. */
async function threadSeconds(pid: number, tid: string): Promise<number> {
  try {
    return parseSchedstatSeconds(await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return 0;
    throw error;
  }
}

export async function rssBytes(pid: number): Promise<number> {
  try {
    return parseRssBytes(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch (error) {
    throw new Error(`reading the RSS of pid ${pid} failed`, { cause: error });
  }
}
