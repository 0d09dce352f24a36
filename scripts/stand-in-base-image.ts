/**
 * Builds a local stand-in for the Dockerfile's base image
 * (`node:24-bookworm-slim`) on a machine with podman but no registry, so that
 * the real Dockerfile can be built with
 * `--build-arg NODE_IMAGE=<stand-in> --pull=never` (lab/containers.md):
 *
 * - Debian bookworm, `debootstrap --variant=minbase`, from the mirror this
 *   machine's apt uses, with this machine's Debian apt sources;
 *   apt and dpkg set up as the official slim images are (no package caches,
 *   no documentation);
 * - Node from the `node` devDependency (the same Node 24 the tests run on)
 *   as /usr/local/bin/node, and this machine's npm in /usr/local/lib, where
 *   the official image has them (the Dockerfile's build stages run npm);
 * - this machine's CA bundle, trusted by Node and npm through
 *   NODE_EXTRA_CA_CERTS and npm_config_cafile: downloads here go through a
 *   TLS proxy. That is a fact of this machine, which is why it lives here
 *   and never in the shipped Dockerfile.
 *
 * Idempotent and cached: the image carries a hash of its inputs (this file,
 * the Node binary, npm's version, the CA bundle, the mirror and sources) and
 * is rebuilt only when they change. Needs root (debootstrap).
 *
 *   node scripts/stand-in-base-image.ts        # prints the image name
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CommandError, execCommand } from '../src/process/exec.ts';

export const STAND_IN_IMAGE = 'localhost/clusterwire-stand-in/node:24-bookworm-slim';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const NODE_BINARY = path.join(REPO_ROOT, 'node_modules', 'node', 'bin', 'node');
const INPUTS_LABEL = 'io.clusterwire.stand-in.inputs';
const SUITE = 'bookworm';
const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const MACHINE_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
/** Outside /etc/ssl/certs, which ca-certificates would regenerate if a build installed it. */
const STAND_IN_CA_BUNDLE = '/etc/clusterwire-stand-in/ca-certificates.crt';
const DEBIAN_SOURCES = '/etc/apt/sources.list.d/debian.sources';
const SOURCES_LIST = '/etc/apt/sources.list';
/**
 * What the official Debian slim images (debuerreotype) add to a minbase
 * root: apt keeps no package caches or translations, dpkg installs no
 * documentation. Without them the Dockerfile's apt layer is ~90 MB larger.
 */
const SLIM_IMAGE_CONFIG: Record<string, string> = {
  'etc/apt/apt.conf.d/docker-clean': [
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
    'Dir::Cache::pkgcache "";',
    'Dir::Cache::srcpkgcache "";',
  ].join('\n'),
  'etc/apt/apt.conf.d/docker-no-languages': 'Acquire::Languages "none";',
  'etc/apt/apt.conf.d/docker-gzip-indexes': 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";',
  'etc/apt/apt.conf.d/docker-autoremove-suggests': 'Apt::AutoRemove::SuggestsImportant "false";',
  'etc/dpkg/dpkg.cfg.d/docker': [
    'path-exclude /usr/share/doc/*',
    'path-include /usr/share/doc/*/copyright',
    'path-exclude /usr/share/man/*',
    'path-exclude /usr/share/groff/*',
    'path-exclude /usr/share/info/*',
    'path-exclude /usr/share/lintian/*',
    'path-exclude /usr/share/linda/*',
    'path-exclude /usr/share/locale/*',
    'path-include /usr/share/locale/locale.alias',
  ].join('\n'),
};
const PATH_VARIABLE = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The Debian mirror in apt's sources (deb822 `URIs:` or a one-line `deb`
 * entry) that serves `suite` itself, not its -security or -updates suites.
 */
export function debianMirror(sourcesTexts: readonly string[], suite: string): string | null {
  for (const text of sourcesTexts) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      const [uri] = field('URIs');
      if (uri !== undefined && field('Types').includes('deb') && field('Suites').includes(suite)) return uri;
    }
    for (const line of text.split('\n')) {
      const words = line.replace(/\[[^\]]*\]/, '').trim().split(/\s+/);
      if (words[0] === 'deb' && words[1] !== undefined && words[2] === suite) return words[1];
    }
  }
  return null;
}

interface Inputs {
  mirror: string;
  debianSources: string | null;
  npmDirectory: string;
  caBundle: string | null;
  hash: string;
}

async function readIfExists(file: string): Promise<string | null> {
  return existsSync(file) ? readFile(file, 'utf8') : null;
}

async function fileHash(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

async function gatherInputs(): Promise<Inputs> {
  if (!existsSync(NODE_BINARY)) throw new Error(`${NODE_BINARY} is missing: run npm ci first (the node devDependency ships it)`);
  const { stdout: nodeVersion } = await execCommand(NODE_BINARY, ['--version']);
  if (!nodeVersion.startsWith('v24.')) throw new Error(`${NODE_BINARY} is ${nodeVersion.trim()}, not Node 24`);
  const npmDirectory = path.join((await execCommand('npm', ['root', '-g'])).stdout.trim(), 'npm');
  const npmVersion = (JSON.parse(await readFile(path.join(npmDirectory, 'package.json'), 'utf8')) as { version: string }).version;
  const debianSources = await readIfExists(DEBIAN_SOURCES);
  const sourcesList = await readIfExists(SOURCES_LIST);
  const mirror = debianMirror([debianSources ?? '', sourcesList ?? ''], SUITE) ?? DEFAULT_MIRROR;
  const caBundle = await readIfExists(MACHINE_CA_BUNDLE);
  const hash = createHash('sha256')
    .update(
      JSON.stringify({
        script: await readFile(import.meta.filename, 'utf8'),
        node: await fileHash(NODE_BINARY),
        npmVersion,
        caBundle,
        mirror,
        debianSources,
      }),
    )
    .digest('hex');
  return { mirror, debianSources, npmDirectory, caBundle, hash };
}

/** The inputs hash of the stand-in image present, or null when there is none. */
async function presentHash(): Promise<string | null> {
  try {
    const { stdout } = await execCommand('podman', ['image', 'inspect', '--format', `{{index .Labels "${INPUTS_LABEL}"}}`, STAND_IN_IMAGE], { timeoutMs: 30_000 });
    return stdout.trim();
  } catch (error) {
    if (error instanceof CommandError && error.exitCode !== null) return null;
    throw error;
  }
}

export interface StandInResult {
  image: string;
  /** False when an image with the same inputs was already there. */
  built: boolean;
}

/** Makes sure the stand-in exists and matches its inputs; builds it otherwise. */
export async function ensureStandInBaseImage(log: (line: string) => void = () => {}): Promise<StandInResult> {
  const inputs = await gatherInputs();
  if ((await presentHash()) === inputs.hash) return { image: STAND_IN_IMAGE, built: false };
  log(`stand-in: building ${STAND_IN_IMAGE} from ${inputs.mirror}`);
  const work = await mkdtemp(path.join('/var/tmp', 'clusterwire-stand-in-'));
  try {
    const root = path.join(work, 'root');
    await execCommand('debootstrap', ['--variant=minbase', SUITE, root, inputs.mirror], { timeoutMs: 15 * 60_000 });
    await installNodeAndNpm(root, inputs.npmDirectory);
    await slim(root);
    if (inputs.debianSources !== null) {
      // The official image's apt sources are the same deb822 file (main, -updates, -security).
      await writeFile(path.join(root, DEBIAN_SOURCES), inputs.debianSources);
      await rm(path.join(root, SOURCES_LIST), { force: true });
    }
    const changes = [`CMD ["node"]`, `ENV ${PATH_VARIABLE}`, `LABEL ${INPUTS_LABEL}=${inputs.hash}`];
    if (inputs.caBundle !== null) {
      await mkdir(path.dirname(path.join(root, STAND_IN_CA_BUNDLE)), { recursive: true });
      await writeFile(path.join(root, STAND_IN_CA_BUNDLE), inputs.caBundle);
      changes.push(`ENV NODE_EXTRA_CA_CERTS=${STAND_IN_CA_BUNDLE}`, `ENV npm_config_cafile=${STAND_IN_CA_BUNDLE}`);
    }
    // The official slim image ships without package lists or downloaded packages.
    await rm(path.join(root, 'var', 'lib', 'apt', 'lists'), { recursive: true, force: true });
    await mkdir(path.join(root, 'var', 'lib', 'apt', 'lists', 'partial'), { recursive: true });
    await rm(path.join(root, 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
    await mkdir(path.join(root, 'var', 'cache', 'apt', 'archives', 'partial'), { recursive: true });
    const tarball = path.join(work, 'root.tar');
    await execCommand('tar', ['--numeric-owner', '-C', root, '-cf', tarball, '.'], { timeoutMs: 5 * 60_000 });
    await execCommand('podman', ['import', ...changes.flatMap((change) => ['--change', change]), tarball, STAND_IN_IMAGE], { timeoutMs: 5 * 60_000 });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { image: STAND_IN_IMAGE, built: true };
}

/** The slim images' configuration, and what it would have kept out of the packages debootstrap installed. */
async function slim(root: string): Promise<void> {
  for (const [file, text] of Object.entries(SLIM_IMAGE_CONFIG)) await writeFile(path.join(root, file), `${text}\n`);
  for (const dir of ['man', 'groff', 'info', 'lintian', 'linda']) await rm(path.join(root, 'usr', 'share', dir), { recursive: true, force: true });
  const docs = path.join(root, 'usr', 'share', 'doc');
  for (const entry of await readdir(docs, { withFileTypes: true })) {
    const dir = path.join(docs, entry.name);
    if (!entry.isDirectory()) await rm(dir, { force: true });
    else for (const file of await readdir(dir)) if (file !== 'copyright') await rm(path.join(dir, file), { recursive: true, force: true });
  }
  const locales = path.join(root, 'usr', 'share', 'locale');
  for (const entry of await readdir(locales)) if (entry !== 'locale.alias') await rm(path.join(locales, entry), { recursive: true, force: true });
}

async function installNodeAndNpm(root: string, npmDirectory: string): Promise<void> {
  const bin = path.join(root, 'usr', 'local', 'bin');
  const modules = path.join(root, 'usr', 'local', 'lib', 'node_modules');
  await mkdir(bin, { recursive: true });
  await mkdir(modules, { recursive: true });
  await copyFile(NODE_BINARY, path.join(bin, 'node'));
  await chmod(path.join(bin, 'node'), 0o755);
  await cp(npmDirectory, path.join(modules, 'npm'), { recursive: true, verbatimSymlinks: true });
  await symlink('../lib/node_modules/npm/bin/npm-cli.js', path.join(bin, 'npm'));
  await symlink('../lib/node_modules/npm/bin/npx-cli.js', path.join(bin, 'npx'));
}

if (import.meta.main) {
  const started = performance.now();
  const result = await ensureStandInBaseImage((line) => console.error(line));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(`stand-in: ${result.built ? 'built' : 'up to date'} in ${seconds} s`);
  console.log(result.image);
}
