/**
 * A container run by podman as the kubelet would run a pod's container
 * (lab/podman-pod.ts gives the options), with what the kubelet prepares
 * first: hostPath directories and the modes of mounted files.
 * Removal is by name and idempotent (`podman rm -f`).
 */
import { chmod, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execCommand } from '../src/process/exec.ts';
import type { PodmanContainer } from './podman-pod.ts';
import { PODMAN_MACHINE_OPTIONS } from './podman.ts';

const PODMAN_TIMEOUT_MS = 60_000;
/** On every container run here, so that the exited leftovers of killed runs can be found. */
const LAB_LABEL = 'io.clusterwire.lab';

export interface PodContainer {
  readonly name: string;
  /** What it wrote to stdout and stderr so far. */
  logs(): Promise<string>;
  /** `podman inspect` of the running container, one Go template. */
  inspect(format: string): Promise<string>;
  /** SIGTERM, then SIGKILL after the stop timeout (terminationGracePeriodSeconds); returns the exit code. */
  stop(): Promise<number>;
  /** Gone, running or not; idempotent. */
  remove(): Promise<void>;
}

/** Starts `container` detached as `name` from `image`, with `args` after the image. */
export async function runPodContainer(name: string, image: string, container: PodmanContainer, args: readonly string[]): Promise<PodContainer> {
  for (const directory of container.directoriesToCreate) await mkdir(directory, { recursive: true, mode: 0o755 });
  for (const { directory, mode } of container.fileModes) {
    for (const file of await readdir(directory)) await chmod(path.join(directory, file), mode);
  }
  const podman = (podmanArgs: string[]) => execCommand('podman', podmanArgs, { timeoutMs: PODMAN_TIMEOUT_MS });
  const handle: PodContainer = {
    name,
    logs: async () => {
      const { stdout, stderr } = await podman(['logs', name]);
      return stdout + stderr;
    },
    inspect: async (format) => (await podman(['container', 'inspect', '--format', format, name])).stdout.trim(),
    stop: async () => {
      await podman(['stop', name]);
      return Number(await handle.inspect('{{.State.ExitCode}}'));
    },
    remove: async () => {
      await podman(['rm', '--force', '--ignore', '--time', '0', name]);
    },
  };
  // A container of this name can only be a leftover of a run that was killed.
  await handle.remove();
  try {
    await podman(['run', '--detach', '--name', name, '--label', LAB_LABEL, '--pull=never', ...PODMAN_MACHINE_OPTIONS, ...container.options, image, ...args]);
  } catch (error) {
    // A failed `run` may leave a created container behind.
    await handle.remove().catch((cleanupError: unknown) => {
      throw new AggregateError([error, cleanupError], `starting container ${name} failed, and so did removing it`);
    });
    throw new Error(`starting container ${name} failed`, { cause: error });
  }
  return handle;
}

/**
 * Removes lab containers that exited and were never removed: those of runs
 * that were killed (the lab's own clean-up kills their processes, not the
 * containers). Running ones belong to runs in progress and are left alone.
 */
export async function removeExitedLabContainers(): Promise<string[]> {
  const { stdout } = await execCommand('podman', ['ps', '--all', '--filter', `label=${LAB_LABEL}`, '--filter', 'status=exited', '--format', '{{.Names}}'], { timeoutMs: PODMAN_TIMEOUT_MS });
  const names = stdout.split('\n').filter((name) => name !== '');
  for (const name of names) await execCommand('podman', ['rm', '--force', '--ignore', name], { timeoutMs: PODMAN_TIMEOUT_MS });
  return names;
}
