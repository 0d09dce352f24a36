/**
 * The image as shipped: built from `Dockerfile` with podman on the local
 * stand-in of its base (lab/clusterwire-image.ts, cached by a hash of its
 * inputs; lab/containers.md), then looked at and run. It holds the bundle,
 * Node, the tools and the licences, and no node_modules or source maps;
 * `version`, `validate` and `run --help` work in it as the DaemonSet runs
 * it (read-only root, every capability dropped, no network).
 * test/e2e/pod-as-shipped.test.ts runs the daemon itself from it.
 */
import assert from 'node:assert/strict';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import packageJson from '../../package.json' with { type: 'json' };
import { ensureClusterwireImage, type LabImage } from '../../lab/clusterwire-image.ts';
import { PODMAN_MACHINE_OPTIONS } from '../../lab/podman.ts';
import { CommandError, execCommand } from '../../src/process/exec.ts';
import { REPO_ROOT } from '../deploy/support/repo.ts';

/** A fresh machine debootstraps the base and builds the image: minutes. */
const BUILD_TIMEOUT_MS = 30 * 60_000;
const PODMAN_TIMEOUT_MS = 60_000;
/** Lets pod-as-shipped's clean-up find containers of killed runs. */
const LAB_LABEL = 'io.clusterwire.lab';

async function podmanProblem(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root for podman';
  try {
    await execCommand('podman', ['--version']);
    return null;
  } catch (error) {
    if (error instanceof CommandError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return 'podman is not installed';
    throw error;
  }
}

interface Tree {
  /** Every path, relative to the root, with `/` first. */
  paths: string[];
  bytesUnder(prefix: string): number;
}

/** Every entry of the image's root file system (symlinks not followed). */
async function walk(root: string): Promise<Tree> {
  const sizes = new Map<string, number>();
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    const full = path.join(entry.parentPath, entry.name);
    sizes.set(`/${path.relative(root, full)}`, entry.isFile() ? (await lstat(full)).size : 0);
  }
  return {
    paths: [...sizes.keys()],
    bytesUnder: (prefix) => [...sizes].filter(([p]) => p === prefix || p.startsWith(`${prefix}/`)).reduce((sum, [, size]) => sum + size, 0),
  };
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

describe('the image built from Dockerfile', { concurrency: false, timeout: BUILD_TIMEOUT_MS + 5 * 60_000 }, () => {
  let skip: string | null = null;
  let image: LabImage;
  let tree: Tree;
  let runs = 0;

  before(
    async (t) => {
      skip = await podmanProblem();
      if (skip !== null) {
        if (process.env.CI === 'true') throw new Error(`${skip}, and CI=true requires the image test to run (.ci/run installs podman)`);
        return;
      }
      const started = performance.now();
      image = await ensureClusterwireImage((line) => t.diagnostic(line));
      t.diagnostic(`${image.image}: ${image.built.image ? 'built' : 'cached'} (base ${image.built.base ? 'built' : 'cached'}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      const { stdout } = await execCommand('podman', ['image', 'mount', image.image], { timeoutMs: PODMAN_TIMEOUT_MS });
      try {
        tree = await walk(stdout.trim());
      } finally {
        await execCommand('podman', ['image', 'unmount', image.image], { timeoutMs: PODMAN_TIMEOUT_MS });
      }
    },
    { timeout: BUILD_TIMEOUT_MS },
  );

  after(async () => {
    // `--rm` removes each container; this catches one a failed run left.
    if (skip === null) await execCommand('podman', ['rm', '--force', '--ignore', '--filter', `label=${LAB_LABEL}-image-test=${process.pid}`], { timeoutMs: PODMAN_TIMEOUT_MS });
  });

  /** The image's entrypoint with `args`, as the DaemonSet confines it, plus no network at all. */
  async function run(args: string[], volumes: string[] = []): Promise<{ stdout: string; stderr: string }> {
    const name = `clusterwire-image-test-${process.pid}-${++runs}`;
    return execCommand(
      'podman',
      [
        'run', '--rm', '--name', name, '--label', LAB_LABEL, '--label', `${LAB_LABEL}-image-test=${process.pid}`, '--pull=never', ...PODMAN_MACHINE_OPTIONS,
        '--read-only', '--read-only-tmpfs=false', '--cap-drop', 'ALL', '--network', 'none', '--security-opt', 'no-new-privileges',
        ...volumes.flatMap((v) => ['-v', v]),
        image.image, ...args,
      ],
      { timeoutMs: PODMAN_TIMEOUT_MS },
    );
  }

  test('holds no node_modules and no source maps; holds the bundle, the launcher, Node, wg, ip, wireguard-go and the licences', (t) => {
    if (skip !== null) return t.skip(skip);
    const modules = tree.paths.filter((p) => path.basename(p) === 'node_modules');
    assert.deepEqual(modules, [], 'no node_modules directory anywhere');
    assert.deepEqual(tree.paths.filter((p) => p.endsWith('.map') && p.startsWith('/app/')), [], 'no source map');
    for (const file of ['/app/bin/clusterwire.js', '/app/dist/clusterwire.js', '/app/package.json', '/app/LICENSE', '/app/THIRD-PARTY-LICENSES', '/usr/local/bin/node', '/usr/bin/wg', '/usr/bin/wireguard-go']) {
      assert.ok(tree.paths.includes(file), `${file} is in the image`);
    }
    assert.ok(tree.paths.includes('/usr/sbin/ip') || tree.paths.includes('/usr/bin/ip') || tree.paths.includes('/bin/ip'), 'ip is in the image');
    for (const gone of ['/usr/local/bin/npm', '/usr/local/bin/npx', '/usr/local/bin/corepack']) assert.ok(!tree.paths.includes(gone), `${gone} is removed`);
    t.diagnostic(
      `image ${mb(image.sizeBytes)} (podman's size): /app ${mb(tree.bytesUnder('/app'))} (dist ${mb(tree.bytesUnder('/app/dist'))}, licences ${mb(tree.bytesUnder('/app/THIRD-PARTY-LICENSES') + tree.bytesUnder('/app/LICENSE'))}), node ${mb(tree.bytesUnder('/usr/local/bin/node'))}, /usr ${mb(tree.bytesUnder('/usr'))}`,
    );
  });

  test('version', async (t) => {
    if (skip !== null) return t.skip(skip);
    assert.equal((await run(['version'])).stdout, `clusterwire ${packageJson.version}\n`);
  });

  test('run --help', async (t) => {
    if (skip !== null) return t.skip(skip);
    const { stdout } = await run(['run', '--help']);
    assert.match(stdout, /^Usage: clusterwire run \[flags\]/);
    assert.match(stdout, /-log-level level/);
  });

  test('validate: the example config is valid, a broken one exits 1 naming the field', async (t) => {
    if (skip !== null) return t.skip(skip);
    const example = `${path.join(REPO_ROOT, 'config.example.json')}:/etc/clusterwire/clusters.json:ro`;
    const { stdout } = await run(['validate', '-clusters-config', '/etc/clusterwire/clusters.json'], [example]);
    assert.match(stdout, /clusters config \/etc\/clusterwire\/clusters\.json is valid/);
    await assert.rejects(run(['validate', '-clusters-config', '/app/package.json']), (error: unknown) => {
      assert.ok(error instanceof CommandError);
      assert.equal(error.exitCode, 1);
      assert.match(error.stderr, /local/);
      return true;
    });
  });
});
