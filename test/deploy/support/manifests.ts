import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CommandError, execCommand } from '../../../src/process/exec.ts';
import { REPO_ROOT } from './repo.ts';

/** A Kubernetes object as YAML gives it: only the type fields are known. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** Every document of a YAML stream; a syntax error or a document that is not an object with apiVersion and kind throws, naming `source`. */
export function parseManifests(text: string, source: string): Manifest[] {
  return parseAllDocuments(text).flatMap((document, index) => {
    if (document.errors.length > 0) {
      throw new Error(`${source}: document ${index + 1} does not parse: ${document.errors.map((e) => e.message).join('; ')}`);
    }
    const value: unknown = document.toJS();
    if (value === null) return []; // an empty document, e.g. after a trailing ---
    if (!isManifest(value)) throw new Error(`${source}: document ${index + 1} is not an object with apiVersion and kind`);
    return [value];
  });
}

function isManifest(value: unknown): value is Manifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { apiVersion, kind } = value as Record<string, unknown>;
  return typeof apiVersion === 'string' && typeof kind === 'string';
}

export function describeManifest(m: Manifest): string {
  return `${m.kind} ${m.metadata?.name ?? '(no name)'}`;
}

/** Files under `dir`, recursively, whose name passes `wanted`; sorted, so test output is stable. */
export async function findFiles(dir: string, wanted: (name: string) => boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && wanted(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

export const isYamlFile = (name: string) => name.endsWith('.yaml') || name.endsWith('.yml');

export async function readManifests(file: string): Promise<Manifest[]> {
  return parseManifests(await readFile(file, 'utf8'), relative(REPO_ROOT, file));
}

/** The directories under `dir` holding a kustomization, with its kind: Kustomization renders alone, a Component only inside one. */
export async function findKustomizations(dir: string): Promise<{ dir: string; kind: string }[]> {
  const files = await findFiles(dir, (name) => name === 'kustomization.yaml');
  return Promise.all(
    files.map(async (file) => {
      const [manifest] = await readManifests(file);
      if (manifest === undefined) throw new Error(`${relative(REPO_ROOT, file)} is empty`);
      return { dir: join(file, '..'), kind: manifest.kind };
    }),
  );
}

/** False only when there is no kubectl to run; a kubectl that fails otherwise is an error. */
export async function hasKubectl(): Promise<boolean> {
  try {
    await execCommand('kubectl', ['version', '--client'], { timeoutMs: 20_000 });
    return true;
  } catch (error) {
    if (error instanceof CommandError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return false;
    throw new Error('kubectl is installed but `kubectl version --client` failed', { cause: error });
  }
}

/** `kubectl kustomize dir`, parsed. */
export async function renderKustomization(dir: string): Promise<Manifest[]> {
  const { stdout } = await execCommand('kubectl', ['kustomize', dir], { timeoutMs: 60_000 });
  return parseManifests(stdout, `kubectl kustomize ${relative(REPO_ROOT, dir) || dir}`);
}

/** The one object of that kind (and name prefix: generated names carry a hash suffix); throws when there is not exactly one. */
export function findOne(manifests: readonly Manifest[], kind: string, namePrefix = ''): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (m.metadata?.name ?? '').startsWith(namePrefix));
  if (found.length !== 1) throw new Error(`expected one ${kind}${namePrefix ? ` named ${namePrefix}*` : ''}, found ${found.length}`);
  return found[0] as Manifest;
}
