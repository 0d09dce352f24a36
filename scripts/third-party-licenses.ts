/**
 * The licence notices of the production dependencies, for the image. The
 * bundle (dist/) carries their code but not their licence texts (esbuild's
 * `legalComments: 'none'`), and the image ships no node_modules, so the
 * notices their licences ask to travel with the code (MIT's "copyright
 * notice and this permission notice", Apache-2.0's NOTICE) go in one file
 * beside it. Every package that package-lock.json installs for production
 * is listed, bundled or not, with its licence files as the package ships
 * them.
 *
 *   node scripts/third-party-licenses.ts > THIRD-PARTY-LICENSES   # after npm ci
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const LICENSE_FILE = /^(licen[cs]e|copying|notice)([.-].*)?$/i;

interface LockPackage {
  version?: string;
  license?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  link?: boolean;
}

export interface PackageNotice {
  /** Its path in node_modules, which names it. */
  location: string;
  name: string;
  version: string;
  license: string;
  files: { name: string; text: string }[];
}

/** The lockfile's production packages: not `dev`, not `devOptional`; sorted by location. */
export function productionPackages(lock: { packages: Record<string, LockPackage> }): [location: string, entry: LockPackage][] {
  return Object.entries(lock.packages)
    .filter(([location, entry]) => location.startsWith('node_modules/') && !entry.dev && !entry.devOptional && !entry.link)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Reads each production package's licence files from the installed tree under `root`. */
export async function collectNotices(root: string): Promise<PackageNotice[]> {
  const lock = JSON.parse(await readFile(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
  const notices: PackageNotice[] = [];
  for (const [location, entry] of productionPackages(lock)) {
    const dir = path.join(root, location);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      // An optional dependency for another platform is in the lockfile but not installed.
      if (entry.optional && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new Error(`production package ${location} is not installed: run npm ci first`, { cause: error });
    }
    const manifest = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string; license?: string };
    const files = await Promise.all(
      names
        .filter((name) => LICENSE_FILE.test(name))
        .sort()
        .map(async (name) => ({ name, text: await readFile(path.join(dir, name), 'utf8') })),
    );
    notices.push({
      location,
      name: manifest.name ?? location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length),
      version: manifest.version ?? entry.version ?? '?',
      license: manifest.license ?? entry.license ?? 'UNKNOWN',
      files,
    });
  }
  return notices;
}

export function formatNotices(notices: readonly PackageNotice[]): string {
  const rule = '-'.repeat(78);
  const sections = notices.map((notice) => {
    const head = `${notice.name}@${notice.version} (${notice.license})`;
    const body = notice.files.length === 0 ? '(the package ships no licence file; its package.json names the licence above)\n' : notice.files.map((file) => `${file.name}:\n\n${file.text.trimEnd()}\n`).join('\n');
    return `${rule}\n${head}\n${rule}\n\n${body}`;
  });
  return [
    'clusterwire bundles code from the packages below (dist/clusterwire.js).',
    'clusterwire itself is under the Apache License 2.0 (LICENSE).',
    '',
    ...sections,
  ].join('\n');
}

if (import.meta.main) {
  process.stdout.write(formatNotices(await collectNotices(REPO_ROOT)));
}
