/**
 * The replicas of one lab cluster's `clusterwire mirror`, as the fleet
 * Deployment runs them (deploy/fleet): processes in the machine's
 * namespace sharing one clusters config and electing their leader through
 * the Lease `clusterwire-mirror` in the namespace `clusterwire`. Tests kill
 * one, stop them all, start them again, and ask the Lease who leads.
 */
import path from 'node:path';
import type { Emulator } from './emulator/emulator.ts';
import { LabMirror } from './lab-mirror.ts';

export const MIRROR_NAMESPACE = 'clusterwire';
export const MIRROR_LEASE = 'clusterwire-mirror';

/** The replicas' identities (their Lease holder names), as a Deployment's pods have one each. */
export function mirrorIdentities(cluster: string, replicas: number): string[] {
  if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`mirror replicas must be a positive integer, not ${replicas}`);
  return Array.from({ length: replicas }, (_, i) => `${cluster}-mirror-${i + 1}`);
}

/** The Lease's holder, or null when no replica holds it (never taken, or released). */
export function leaseHolder(lease: object | undefined): string | null {
  const holder = (lease as { spec?: { holderIdentity?: string } } | undefined)?.spec?.holderIdentity;
  return holder === undefined || holder === '' ? null : holder;
}

export interface LabMirrorsSettings {
  cluster: string;
  replicas: number;
  /** The mirror's clusters config: the daemon's, with access to every remote. */
  configPath: string;
  /** Where each replica's log goes, as `<identity>.log`. */
  logDir: string;
  /** The cluster's apiserver: where the Lease is read. */
  emulator: Emulator;
  /** Appended to every replica's command line, e.g. shorter leader election timings. */
  extraFlags: readonly string[];
  log: (line: string) => void;
}

export class LabMirrors {
  readonly cluster: string;
  readonly identities: readonly string[];
  readonly configPath: string;
  readonly #settings: LabMirrorsSettings;
  readonly #replicas = new Map<string, LabMirror>();

  constructor(settings: LabMirrorsSettings) {
    this.cluster = settings.cluster;
    this.identities = mirrorIdentities(settings.cluster, settings.replicas);
    this.configPath = settings.configPath;
    this.#settings = settings;
  }

  logPath(identity: string): string {
    this.#known(identity);
    return path.join(this.#settings.logDir, `${identity}.log`);
  }

  /** Starts `identity` (default: every replica not running); resolves once each listens. */
  async start(identity?: string): Promise<void> {
    const wanted = identity === undefined ? this.identities.filter((id) => this.replica(id) === undefined) : [this.#known(identity)];
    await Promise.all(
      wanted.map(async (id) => {
        if (this.replica(id) !== undefined) throw new Error(`mirror ${id} is already running`);
        const mirror = await LabMirror.start({ configPath: this.configPath, identity: id, logPath: this.logPath(id), extraFlags: this.#settings.extraFlags });
        this.#replicas.set(id, mirror);
        this.#settings.log(`lab: started clusterwire mirror ${id} of ${this.cluster} (pid ${mirror.pid}), ${mirror.url}`);
      }),
    );
  }

  /** Stops `identity` with `signal` (SIGTERM releases the lease; SIGKILL leaves it to expire); returns the exit code. */
  async stop(identity: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const mirror = this.#replicas.get(this.#known(identity));
    if (mirror === undefined) throw new Error(`mirror ${identity} was never started`);
    return mirror.stop(signal);
  }

  /** Stops every running replica at once. */
  async stopAll(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await Promise.all(this.running().map((mirror) => mirror.stop(signal)));
  }

  /** The running replica `identity`, or undefined. */
  replica(identity: string): LabMirror | undefined {
    const mirror = this.#replicas.get(this.#known(identity));
    return mirror?.pid === undefined ? undefined : mirror;
  }

  running(): LabMirror[] {
    return this.identities.flatMap((id) => this.replica(id) ?? []);
  }

  /** Who holds the Lease now. A replica killed with -9 holds it until a standby takes it over. */
  leaseHolder(): string | null {
    return leaseHolder(this.#settings.emulator.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: MIRROR_NAMESPACE, name: MIRROR_LEASE }));
  }

  /** The running replica that holds the Lease, or undefined (none yet, or the holder is down). */
  leader(): LabMirror | undefined {
    const holder = this.leaseHolder();
    return holder === null || !this.identities.includes(holder) ? undefined : this.replica(holder);
  }

  #known(identity: string): string {
    if (!this.identities.includes(identity)) throw new Error(`${identity} is not a mirror replica of ${this.cluster}: ${this.identities.join(', ')}`);
    return identity;
  }
}
