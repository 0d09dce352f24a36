/**
 * The README's first command (Try it) must work on a fresh Debian image as
 * written. Always checked: it refreshes apt's lists before installing (a
 * fresh image has none, or stale ones), and it installs every Debian
 * package the lab's preflight (lab/preflight.ts) names and every package
 * .ci/run installs for the lab; the ones .ci/run installs only for tests
 * are named next to `npm test`.
 *
 * With CLUSTERWIRE_TEST_README_APT=1 (root, podman): its apt part runs in a
 * fresh container of the stand-in Debian base (scripts/stand-in-base-image.ts,
 * empty apt lists as the official images have), then every preflight tool
 * is looked for in it; and the command without `apt-get update` is shown to
 * fail there. It downloads ~100 MB of packages (a few minutes), so it is
 * not part of the default run.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ensureStandInBaseImage } from '../../scripts/stand-in-base-image.ts';
import { REQUIRED_TOOLS } from '../../lab/preflight.ts';
import { PODMAN_MACHINE_OPTIONS } from '../../lab/podman.ts';
import { CommandError, execCommand } from '../../src/process/exec.ts';
import { REPO_ROOT } from './support/repo.ts';

const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
const ciRun = await readFile(join(REPO_ROOT, '.ci', 'run'), 'utf8');

const trySection = readme.slice(readme.indexOf('## Try it'), readme.indexOf('\n## ', readme.indexOf('## Try it') + 1));
const firstCommand = /```sh\n(.*)\n/.exec(trySection)?.[1] ?? '';
const steps = firstCommand.split('&&').map((step) => step.trim());
const aptPart = steps.filter((step) => step.startsWith('apt-get ')).join(' && ');
const installed = (steps.find((step) => step.startsWith('apt-get install')) ?? '').split(/\s+/).slice(2).filter((word) => !word.startsWith('-'));

/** The packages `.ci/run` installs (`need_pkgs+=(pkg)`). */
const ciPackages = [...ciRun.matchAll(/need_pkgs\+=\(([\w.-]+)\)/g)].map((m) => m[1] ?? '');

describe("README's first command", () => {
  test('refreshes the package lists before installing, then installs, builds the lab and runs the demo', () => {
    assert.ok(firstCommand.length > 0, 'found the first command');
    assert.deepEqual(steps.map((step) => step.split(/\s+/).slice(0, 2).join(' ')), ['apt-get update', 'apt-get install', 'npm install', 'npm run']);
    assert.ok(installed.includes('npm'), 'a fresh Debian image has no npm');
  });

  test("installs every Debian package the lab's preflight names", () => {
    for (const tool of REQUIRED_TOOLS) assert.ok(installed.includes(tool.debianPackage), `${tool.debianPackage} (for ${tool.command}) is not in: ${installed.join(' ')}`);
  });

  test(".ci/run's packages: each is installed by the command or named next to npm test", () => {
    assert.ok(ciPackages.length >= 8, `${ciPackages.length} packages in .ci/run`);
    for (const pkg of ciPackages.filter((p) => !installed.includes(p))) {
      assert.match(trySection, new RegExp(`\`[^\`]*\\b${pkg}\\b[^\`]*\``), `${pkg} (installed by .ci/run) is not named in the README's Try it`);
    }
  });
});

const RUN_IN_CONTAINER = process.env.CLUSTERWIRE_TEST_README_APT === '1';

describe("README's apt part in a fresh Debian container", { skip: RUN_IN_CONTAINER ? false : 'set CLUSTERWIRE_TEST_README_APT=1 to run it (root, podman; downloads packages, minutes)', timeout: 30 * 60_000 }, () => {
  const inFreshContainer = async (script: string) => {
    const { image } = await ensureStandInBaseImage();
    return execCommand('podman', ['run', '--rm', '--pull=never', ...PODMAN_MACHINE_OPTIONS, image, 'sh', '-c', script], { timeoutMs: 20 * 60_000 });
  };

  test('without apt-get update, the install finds no package', async (t) => {
    const install = steps.find((step) => step.startsWith('apt-get install')) ?? '';
    await assert.rejects(inFreshContainer(install), (error: unknown) => {
      assert.ok(error instanceof CommandError);
      assert.match(error.stderr, /Unable to locate package/);
      return true;
    });
    t.diagnostic(`as the README had it (${install.slice(0, 40)}...): fails on a fresh image`);
  });

  test("as written, it installs every tool the lab's preflight looks for", async (t) => {
    const started = performance.now();
    const check = REQUIRED_TOOLS.map((tool) => `command -v ${tool.command} >/dev/null || { echo "missing ${tool.command}"; exit 1; }`).join('; ');
    await inFreshContainer(`${aptPart} >/dev/null && ${check} && npm --version`);
    t.diagnostic(`${aptPart}: ${((performance.now() - started) / 1000).toFixed(0)} s in a fresh container`);
  });
});
