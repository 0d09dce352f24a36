/**
 * Emulated hosts for tests, the multi-cluster lab, the demo and benchmarks:
 * a network namespace plus a persistent mount namespace in which
 * /run/wireguard is a private directory, because wireguard-go's control
 * sockets live there and would otherwise be shared by every namespace.
 *
 * Layout of one host `NAME` (all removed by `destroy`):
 *   /run/netns/NAME                      the network namespace (`ip netns`)
 *   /run/clusterwire-lab/NAME/           a private bind mount holding:
 *     mnt                                the mount namespace, bound to a file
 *     wireguard/                         its /run/wireguard, visible from outside
 *
 * Needs root. Commands run inside with `nsenter`, never through a shell.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execCommand, type Runner } from '../src/process/exec.ts';
import type { Launcher } from '../src/wireguard/userspace-process.ts';
import { attemptAll } from './attempt-all.ts';

const LAB_ROOT = '/run/clusterwire-lab';
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$/;

export interface LabHost {
  readonly name: string;
  /** The file holding its mount namespace: `nsenter --net=/run/netns/NAME --mount=<this>` enters the host. */
  readonly mountNamespace: string;
  /** Host path of this namespace's /run/wireguard: UAPI sockets are reachable from outside through it. */
  readonly wireguardSocketDirectory: string;
  /** Runs a command inside the host's network and mount namespaces. */
  readonly run: Runner;
  /** Starts a long-running program inside (its pid is the program's: nsenter execs it). */
  readonly launch: Launcher;
  /** Kills every process inside, then removes the namespaces and their directory. */
  destroy(): Promise<void>;
}

/** Creates an emulated host with `lo` up. Names must be unique on the machine (include process.pid). */
export async function createLabHost(name: string): Promise<LabHost> {
  if (!NAME_PATTERN.test(name)) throw new Error(`lab host name ${JSON.stringify(name)} must match ${NAME_PATTERN}`);
  const directory = path.join(LAB_ROOT, name);
  const mountNamespace = path.join(directory, 'mnt');
  const wireguardDirectory = path.join(directory, 'wireguard');
  const netnsPath = `/run/netns/${name}`;

  const host: LabHost = {
    name,
    mountNamespace,
    wireguardSocketDirectory: wireguardDirectory,
    run: (file, args, options) =>
      execCommand('nsenter', [`--net=${netnsPath}`, `--mount=${mountNamespace}`, '--', file, ...args], options),
    launch: (file, args, env, output) =>
      spawn('nsenter', [`--net=${netnsPath}`, `--mount=${mountNamespace}`, '--', file, ...args], {
        env: { ...process.env, ...env },
        stdio: ['ignore', output ?? 'pipe', output ?? 'pipe'],
      }),
    destroy: () => destroyLabHost(name),
  };

  try {
    await execCommand('ip', ['netns', 'add', name]);
    await mkdir(wireguardDirectory, { recursive: true, mode: 0o700 });
    // An nsfs file can only be bound inside a mount with private propagation.
    await execCommand('mount', ['--bind', directory, directory]);
    await execCommand('mount', ['--make-private', directory]);
    await writeFile(mountNamespace, '');
    await mkdir('/run/wireguard', { recursive: true });
    await execCommand('unshare', [
      `--mount=${mountNamespace}`,
      '--propagation',
      'private',
      'mount',
      '--bind',
      wireguardDirectory,
      '/run/wireguard',
    ]);
    await host.run('ip', ['link', 'set', 'dev', 'lo', 'up']);
  } catch (error) {
    await destroyLabHost(name).catch((cleanupError: unknown) => {
      console.error(`lab: cleaning up half-made host ${name} failed`, cleanupError);
    });
    throw new Error(`creating lab host ${name} failed`, { cause: error });
  }
  return host;
}

/**
 * Removes a lab host whatever state it is in (also one left by a crashed
 * run). Every step is attempted; failures are reported together.
 */
export async function destroyLabHost(name: string): Promise<void> {
  const directory = path.join(LAB_ROOT, name);
  await attemptAll(`destroying lab host ${name}`, [
    () => killProcessesIn(name),
    () => unmountIfMounted(path.join(directory, 'mnt')),
    () => unmountIfMounted(directory),
    () => rm(directory, { recursive: true, force: true }),
    async () => {
      if (await namespaceExists(name)) await execCommand('ip', ['netns', 'delete', name]);
    },
  ]);
}

/** A veth pair between two hosts with an address on each end, both up. */
export interface VethLink {
  /** Interface name on each side (≤ 15 bytes). */
  nameA: string;
  nameB: string;
  /** CIDR addresses, e.g. 198.18.0.1/24. */
  addressA: string;
  addressB: string;
}

export async function connectLabHosts(a: LabHost, b: LabHost, link: VethLink): Promise<void> {
  // Made from the machine's namespace: inside a host's private mount
  // namespace, /run/netns does not show hosts created after it.
  await execCommand('ip', ['link', 'add', link.nameA, 'netns', a.name, 'type', 'veth', 'peer', 'name', link.nameB, 'netns', b.name]);
  await a.run('ip', ['address', 'add', link.addressA, 'dev', link.nameA]);
  await b.run('ip', ['address', 'add', link.addressB, 'dev', link.nameB]);
  await a.run('ip', ['link', 'set', 'dev', link.nameA, 'up']);
  await b.run('ip', ['link', 'set', 'dev', link.nameB, 'up']);
}

/** Lab hosts on this machine whose name starts with `prefix`: to find leftovers. */
export async function listLabHosts(prefix = ''): Promise<string[]> {
  const { stdout } = await execCommand('ip', ['-j', 'netns', 'list']);
  const entries = (stdout.trim() === '' ? [] : JSON.parse(stdout)) as Array<{ name: string }>;
  return entries.map((entry) => entry.name).filter((entry) => entry.startsWith(prefix));
}

async function namespaceExists(name: string): Promise<boolean> {
  return (await listLabHosts(name)).includes(name);
}

async function killProcessesIn(name: string): Promise<void> {
  if (!(await namespaceExists(name))) return;
  for (let round = 0; round < 50; round += 1) {
    const { stdout } = await execCommand('ip', ['netns', 'pids', name]);
    const pids = stdout.split('\n').filter((line) => /^\d+$/.test(line)).map(Number);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
    await delay(20);
  }
  throw new Error(`processes in lab host ${name} would not die`);
}

/**
 * Unmounts `target` if it is a mount point. A mount can stay busy for a
 * moment after the processes inside died (a UAPI connection the test made
 * through the host path still closing, a namespace still being torn down):
 * retried for a second, then detached lazily (`umount -l`), which frees the
 * path at once and lets the kernel drop the mount when its last user goes.
 * Without it one busy mount keeps the lab's slot claimed for every later run.
 */
async function unmountIfMounted(target: string): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt += 1) {
    if (!(await isMountPoint(target))) return;
    try {
      await execCommand('umount', [target]);
      return;
    } catch (error) {
      if (!String((error as Error).message).includes('busy')) throw error;
    }
    await delay(100);
  }
  if (await isMountPoint(target)) await execCommand('umount', ['--lazy', target]);
}

async function isMountPoint(target: string): Promise<boolean> {
  const { stdout } = await execCommand('findmnt', ['-n', '-o', 'TARGET', '--mountpoint', target]).catch(() => ({
    stdout: '',
  }));
  return stdout.trim() !== '';
}
