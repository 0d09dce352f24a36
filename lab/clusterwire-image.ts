/**
 * The clusterwire image built from the repository's Dockerfile with podman,
 * on the stand-in base image (scripts/stand-in-base-image.ts), for tests
 * that run the image as the DaemonSet declares it (lab/containers.md).
 *
 * Cached by content: the tag is a hash of the build context (the
 * .dockerignore allow-list), the Dockerfile and the base image's ID. An
 * unchanged tree is not rebuilt (podman's own cache check alone takes
 * ~40 s here), and two worktrees on one machine never run each other's image.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CommandError, execCommand } from '../src/process/exec.ts';
import { ensureStandInBaseImage } from '../scripts/stand-in-base-image.ts';
import { PODMAN_MACHINE_OPTIONS } from './podman.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
export const LAB_IMAGE_REPOSITORY = 'localhost/clusterwire-lab';
const BUILD_TIMEOUT_MS = 30 * 60_000;

export interface LabImage {
  /** `localhost/clusterwire-lab:<hash of the inputs>`. */
  image: string;
  baseImage: string;
  /** What was built this time: the base, the image, both or neither. */
  built: { base: boolean; image: boolean };
  /** Uncompressed size as podman reports it. */
  sizeBytes: number;
}

/** The `!path` entries of an allow-list .dockerignore (`*` first). */
export function dockerignoreAllowList(text: string): string[] {
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  if (lines[0] !== '*' || lines.slice(1).some((line) => !line.startsWith('!'))) {
    throw new Error('.dockerignore must be an allow-list: `*`, then `!path` lines');
  }
  return lines.slice(1).map((line) => line.slice(1).replace(/\/$/, ''));
}

async function filesUnder(entry: string): Promise<string[]> {
  const full = path.join(REPO_ROOT, entry);
  try {
    const children = await readdir(full, { withFileTypes: true, recursive: true });
    return children.filter((child) => child.isFile()).map((child) => path.relative(REPO_ROOT, path.join(child.parentPath, child.name)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return [entry];
    throw error;
  }
}

async function inputsHash(baseImageId: string): Promise<string> {
  const allowed = dockerignoreAllowList(await readFile(path.join(REPO_ROOT, '.dockerignore'), 'utf8'));
  const files = ['Dockerfile', '.dockerignore', ...(await Promise.all(allowed.map(filesUnder))).flat()].sort();
  const hash = createHash('sha256').update(`base ${baseImageId}\n`);
  for (const file of files) hash.update(`${file}\n`).update(await readFile(path.join(REPO_ROOT, file)));
  return hash.digest('hex');
}

async function imageExists(image: string): Promise<boolean> {
  try {
    await execCommand('podman', ['image', 'exists', image], { timeoutMs: 30_000 });
    return true;
  } catch (error) {
    if (error instanceof CommandError && error.exitCode === 1) return false;
    throw error;
  }
}

async function inspect(image: string, format: string): Promise<string> {
  return (await execCommand('podman', ['image', 'inspect', '--format', format, image], { timeoutMs: 30_000 })).stdout.trim();
}

/** Builds the stand-in base and the image when their inputs changed; returns the image to run. */
export async function ensureClusterwireImage(log: (line: string) => void = () => {}): Promise<LabImage> {
  const base = await ensureStandInBaseImage(log);
  const hash = await inputsHash(await inspect(base.image, '{{.Id}}'));
  const image = `${LAB_IMAGE_REPOSITORY}:${hash.slice(0, 16)}`;
  const cached = await imageExists(image);
  if (!cached) {
    log(`image: building ${image} from Dockerfile on ${base.image}`);
    await execCommand(
      'podman',
      ['build', '--pull=never', ...PODMAN_MACHINE_OPTIONS, '--build-arg', `NODE_IMAGE=${base.image}`, '-t', image, '-f', path.join(REPO_ROOT, 'Dockerfile'), REPO_ROOT],
      { timeoutMs: BUILD_TIMEOUT_MS },
    );
  }
  return { image, baseImage: base.image, built: { base: base.built, image: !cached }, sizeBytes: Number(await inspect(image, '{{.Size}}')) };
}
