import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import packageJson from '../../package.json' with { type: 'json' };
import { collectNotices, formatNotices, productionPackages } from '../../scripts/third-party-licenses.ts';
import { NODE_FLAGS } from '../../bench/daemon-process.ts';
import { CommandError, execCommand } from '../../src/process/exec.ts';
import { execForm, parseDockerfile, runCommands, type Stage } from './support/dockerfile.ts';
import { EXAMPLES_DIR, REPO_ROOT } from './support/repo.ts';

/**
 * What the Dockerfile says, and the bundle run the way the image runs it:
 * from a directory with no node_modules. test/e2e/image.test.ts builds the
 * image itself with podman and runs it.
 */

const stages = parseDockerfile(await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const final = stages.at(-1) as Stage;

const instructionsOf = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const stageNamed = (name: string) => stages.find((s) => s.name === name);

/** The commands a stage runs, as argument lists. */
const commandsOf = (stage: Stage | undefined) => (stage === undefined ? [] : instructionsOf(stage, 'RUN')).flatMap(runCommands);
const npmCommands = (stage: Stage | undefined) => commandsOf(stage).filter(([program]) => program === 'npm');

/** Where each COPY of a stage comes from. */
function copiesOf(stage: Stage): { from: string | null; sources: string[]; destination: string }[] {
  return instructionsOf(stage, 'COPY').map(({ args }) => {
    const words = args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length) ?? null;
    const paths = words.filter((w) => !w.startsWith('--'));
    return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' };
  });
}

describe('Dockerfile', () => {
  test('every stage is Node 24 on Debian bookworm; two stages: build, and the image', () => {
    assert.deepEqual(
      stages.map((s) => s.name),
      ['build', null],
    );
    for (const stage of stages) assert.equal(stage.base, 'node:24-bookworm-slim');
  });

  test('the build stage installs from the lockfile without install scripts (the node package would download Node), then bundles', () => {
    const build = stageNamed('build');
    const npm = npmCommands(build);
    assert.deepEqual(
      npm.map((words) => words.slice(0, 2).join(' ')),
      ['npm ci', 'npm run'],
    );
    assert.ok(npm[0]?.includes('--ignore-scripts'), 'npm ci --ignore-scripts');
    assert.deepEqual(npm[1], ['npm', 'run', 'build']);
    assert.ok(packageJson.devDependencies.node, 'the node devDependency is the reason (its preinstall fetches a binary)');
  });

  test('source maps are deleted before the image takes dist/, and the licence notices are made', () => {
    const commands = commandsOf(stageNamed('build')).map((words) => words.join(' '));
    assert.ok(commands.includes("find dist -name '*.map' -delete"), commands.join('\n'));
    assert.ok(commands.includes('node scripts/third-party-licenses.ts > THIRD-PARTY-LICENSES'), commands.join('\n'));
  });

  test('the image gets the bundle, the launcher, package.json (type: module) and the licences: no node_modules', () => {
    const copies = copiesOf(final).flatMap(({ from, sources }) => sources.map((source) => `${from ?? 'context'}:${source}`)).sort();
    assert.deepEqual(copies, ['build:/src/THIRD-PARTY-LICENSES', 'build:/src/bin/', 'build:/src/dist/', 'context:LICENSE', 'context:package.json']);
    assert.equal(packageJson.type, 'module', 'package.json makes dist/*.js ES modules');
    const removed = commandsOf(final).filter(([program]) => program === 'rm').flat();
    assert.ok(removed.includes('/usr/local/lib/node_modules'), "the base image's npm and corepack go");
  });

  test('the image installs wg, ip and wireguard-go without recommends and runs the daemon', () => {
    const installs = commandsOf(final)
      .filter((words) => words[0] === 'DEBIAN_FRONTEND=noninteractive' || words[0] === 'apt-get')
      .filter((words) => words.includes('install'));
    assert.equal(installs.length, 1);
    const [install = []] = installs;
    assert.ok(install.includes('--no-install-recommends'));
    for (const pkg of ['wireguard-tools', 'iproute2', 'wireguard-go']) assert.ok(install.includes(pkg), pkg);
    const [entrypoint] = instructionsOf(final, 'ENTRYPOINT');
    const [cmd] = instructionsOf(final, 'CMD');
    assert.ok(entrypoint && cmd);
    assert.deepEqual(execForm(entrypoint), ['node', ...NODE_FLAGS, '/app/bin/clusterwire.js'], 'the flags the bench runs the daemon with');
    assert.deepEqual(execForm(cmd), ['run']);
    assert.deepEqual(instructionsOf(final, 'HEALTHCHECK'), [], 'Kubernetes probes, not a Docker health check');
  });

  test('the image is labelled Apache-2.0 as package.json says, and LICENSE is its full text', async () => {
    const [label] = instructionsOf(final, 'LABEL');
    assert.match(label?.args ?? '', /org\.opencontainers\.image\.licenses="Apache-2\.0"/);
    assert.equal(packageJson.license, 'Apache-2.0');
    const license = await readFile(join(REPO_ROOT, 'LICENSE'), 'utf8');
    assert.match(license, /^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
    assert.match(license, /END OF TERMS AND CONDITIONS/);
    assert.match(license, /APPENDIX: How to apply the Apache License to your work\./);
    assert.equal(license.length, 11358, 'the text as the ASF publishes it (LICENSE-2.0.txt)');
  });

  test('.dockerignore lets in every file the Dockerfile copies from the context', async () => {
    const allowed = (await readFile(join(REPO_ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .filter((line) => line.startsWith('!'))
      .map((line) => line.slice(1).replace(/\/$/, ''));
    const copied = stages.flatMap((stage) => copiesOf(stage).filter((c) => c.from === null).flatMap((c) => c.sources.map((s) => s.replace(/\/$/, ''))));
    assert.ok(copied.length > 0);
    for (const source of copied) assert.ok(allowed.includes(source), `${source} is not in the .dockerignore allow-list`);
  });
});

describe('third-party licence notices', () => {
  test('every production package of the lockfile, with its licence files; no development package', async () => {
    const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Parameters<typeof productionPackages>[0];
    const notices = await collectNotices(REPO_ROOT);
    const locations = notices.map((n) => n.location);
    assert.deepEqual(locations, productionPackages(lock).map(([location]) => location));
    for (const name of Object.keys(packageJson.dependencies)) assert.ok(locations.includes(`node_modules/${name}`), `${name} is listed`);
    for (const name of ['esbuild', 'typescript', 'eslint', 'kubernetes-models', 'node', '@kubernetes/client-node']) assert.ok(!locations.includes(`node_modules/${name}`), `${name} is a development dependency`);
    const withoutFile = notices.filter((n) => n.files.length === 0).map((n) => n.name);
    assert.ok(withoutFile.length <= 3, `packages without a licence file: ${withoutFile.join(', ')}`);
    const text = formatNotices(notices);
    const pino = notices.find((n) => n.name === 'pino');
    assert.ok(pino && pino.files.length > 0 && text.includes(pino.files[0]?.text.trim() ?? '(none)'), "pino's licence text is in the file");
    assert.match(text, /^fastify@\S+ \(MIT\)$/m);
  });
});

describe('the bundle runs with no node_modules, as in the image', () => {
  const dir = { path: '' };

  before(async () => {
    if (!existsSync(join(REPO_ROOT, 'dist', 'clusterwire.js'))) {
      await execCommand('npm', ['--prefix', REPO_ROOT, 'run', 'build'], { timeoutMs: 120_000 });
    }
    // What the image's /app holds, maps left out as the Dockerfile leaves them.
    dir.path = await mkdtemp(join(tmpdir(), `clusterwire-image-${process.pid}-`));
    await cp(join(REPO_ROOT, 'package.json'), join(dir.path, 'package.json'));
    await cp(join(REPO_ROOT, 'bin'), join(dir.path, 'bin'), { recursive: true });
    await cp(join(REPO_ROOT, 'dist'), join(dir.path, 'dist'), { recursive: true, filter: (source) => !source.endsWith('.map') });
  });

  after(async () => {
    if (dir.path !== '') await rm(dir.path, { recursive: true, force: true });
  });

  const clusterwire = (...args: string[]) => execCommand(process.execPath, [join(dir.path, 'bin', 'clusterwire.js'), ...args], { timeoutMs: 30_000 });

  test('no node_modules anywhere up the tree (so nothing can resolve a package)', async () => {
    assert.ok(!(await readdir(dir.path)).includes('node_modules'));
    for (let d = dir.path; d !== '/'; d = join(d, '..')) assert.ok(!existsSync(join(d, 'node_modules')), `${d}/node_modules exists`);
  });

  test('clusterwire version', async () => {
    const { stdout } = await clusterwire('version');
    assert.equal(stdout, `clusterwire ${packageJson.version}\n`);
  });

  test('clusterwire run --help', async () => {
    const { stdout } = await clusterwire('run', '--help');
    assert.match(stdout, /^Usage: clusterwire run \[flags\]/);
    assert.match(stdout, /-clusters-config path/);
  });

  test('clusterwire validate accepts the example configs and rejects a broken one', async () => {
    for (const config of [join(REPO_ROOT, 'config.example.json'), join(EXAMPLES_DIR, 'c1', 'clusters.json')].filter((f) => existsSync(f))) {
      const { stdout } = await clusterwire('validate', '-clusters-config', config);
      assert.match(stdout, /is valid/);
    }
    const broken = join(dir.path, 'broken.json');
    await writeFile(broken, JSON.stringify({ local: { name: 'c1' }, remotes: [{ name: 'c2', podSubnet: '10.4.0.0/16', kubeConfigPath: '/k', wgListenPort: 70000 }] }));
    await assert.rejects(clusterwire('validate', '-clusters-config', broken), (error: unknown) => {
      assert.ok(error instanceof CommandError);
      assert.equal(error.exitCode, 1);
      assert.match(error.stderr, /remotes\[0\]\.wgListenPort/);
      return true;
    });
  });
});
