import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Clock, Cancel } from '../clock/clock.ts';
import type { Logger } from '../log.ts';

/**
 * Netlink's link and route notifications, through one long-lived
 * `ip -o monitor link route`: the reconcile tick reads a device's link and
 * routes only when something may have changed them (docs/how-it-works.md,
 * "Drift"), instead of three `ip` processes per tick (each a fork of the
 * daemon: ~25 ms of its CPU at 5,000 peers).
 */
export interface LinkRouteEvents {
  /** Calls `onChange` for each event that may concern the device or one of its subnets. Returns the stop function. */
  watch(device: string, subnets: readonly string[], onChange: () => void): () => void;
  /**
   * Which run of the monitor is listening now, or null when none is: an
   * absence of events proves nothing changed only within one run that was
   * listening all along (a restart may have lost some).
   */
  epoch(): number | null;
}

/**
 * Whether a line of `ip -o monitor link route` may concern `device` or one
 * of `subnets`: a link line names the device (`5: wg-c2: <...>`, `Deleted
 * 5: wg-c2@NONE: ...`), a route line its device (`... dev wg-c2 ...`) or
 * its destination, which names the subnet when someone moves it onto
 * another device. Lines of other devices and destinations, a busy node's
 * pod routes, concern nobody.
 */
export function concernsDevice(line: string, device: string, subnets: readonly string[]): boolean {
  if (line.includes(` dev ${device} `) || line.endsWith(` dev ${device}`)) return true;
  if (line.includes(`: ${device}:`) || line.includes(`: ${device}@`)) return true;
  return subnets.some((subnet) => line.startsWith(`${subnet} `) || line.includes(` ${subnet} `));
}

/** Starts `ip -o monitor link route` with its output piped. */
export type MonitorLauncher = () => ChildProcess;

/** The real one: an argument array, no shell; it lives as long as the daemon. */
export const ipMonitorLauncher: MonitorLauncher = () => spawn('ip', ['-o', 'monitor', 'link', 'route'], { stdio: ['ignore', 'pipe', 'pipe'] });

export interface IpMonitorOptions {
  launch: MonitorLauncher;
  clock: Clock;
  logger: Logger;
  /** Counts a monitor that exited or complained: events may have been lost. */
  onFailure: () => void;
  /** Before a run counts as listening: `ip` subscribes to netlink a moment after it starts. */
  settleMs?: number;
  restartDelayMs?: number;
}

/**
 * What `ip monitor` prints for a link whose peer is in a namespace it
 * cannot name (a veth into a pod): a line about that link, not lost events.
 */
const BENIGN_STDERR = /^Error: Peer netns reference is invalid\.$/;

const SETTLE_MS = 200;
const RESTART_DELAY_MS = 5_000;

interface Watcher {
  device: string;
  subnets: readonly string[];
  onChange: () => void;
}

/**
 * `LinkRouteEvents` through a supervised `ip` child: restarted after a
 * delay when it exits; anything on its stderr (ENOBUFS: the kernel dropped
 * notifications) ends the run's epoch, so the next tick reads everything
 * (a pass now would make a pass per restart on a node where it keeps failing).
 */
export class IpMonitor implements LinkRouteEvents {
  readonly #o: IpMonitorOptions;
  readonly #watchers = new Set<Watcher>();
  #child: ChildProcess | null = null;
  #runs = 0;
  #listening: number | null = null;
  #timer: Cancel | null = null;
  #stopped = false;
  #failing = false;

  constructor(options: IpMonitorOptions) {
    this.#o = options;
  }

  start(): void {
    this.#stopped = false;
    this.#spawn();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.();
    this.#listening = null;
    this.#child?.kill('SIGTERM');
    this.#child = null;
  }

  watch(device: string, subnets: readonly string[], onChange: () => void): () => void {
    const watcher = { device, subnets, onChange };
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  epoch(): number | null {
    return this.#listening;
  }

  #spawn(): void {
    if (this.#stopped) return;
    const run = ++this.#runs;
    let child: ChildProcess;
    try {
      child = this.#o.launch();
    } catch (error) {
      this.#lost(run, error instanceof Error ? error.message : String(error));
      return;
    }
    this.#child = child;
    child.on('error', (error) => this.#lost(run, error.message));
    child.on('exit', (code, signal) => this.#lost(run, `exited (${signal ?? code})`));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (!BENIGN_STDERR.test(line)) this.#lost(run, line);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => this.#event(line));
    this.#timer = this.#o.clock.schedule(() => {
      if (this.#child !== child) return;
      this.#listening = run;
      if (this.#failing) this.#o.logger.info({ run }, 'ip monitor listening again');
      this.#failing = false;
    }, this.#o.settleMs ?? SETTLE_MS);
  }

  #event(line: string): void {
    for (const watcher of this.#watchers) if (concernsDevice(line, watcher.device, watcher.subnets)) watcher.onChange();
  }

  /** The run may have missed events: no epoch until a new run listens, so every tick reads links and routes meanwhile. */
  #lost(run: number, why: string): void {
    if (this.#stopped || run !== this.#runs) return;
    if (!this.#failing) this.#o.logger.warn({ why }, 'ip monitor lost link and route events: reading links and routes every tick until it listens again');
    this.#failing = true;
    this.#o.onFailure();
    this.#listening = null;
    const child = this.#child;
    this.#child = null;
    this.#runs++;
    child?.kill('SIGTERM');
    this.#timer?.();
    this.#timer = this.#o.clock.schedule(() => this.#spawn(), this.#o.restartDelayMs ?? RESTART_DELAY_MS);
  }
}
