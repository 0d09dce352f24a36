import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import packageJson from '../../package.json' with { type: 'json' };
import { NODE_FLAGS } from '../../bench/daemon-process.ts';
import { CommandError, execCommand } from '../../src/process/exec.ts';
import { execForm, parseDockerfile, runCommands, type Stage } from './support/dockerfile.ts';
import { EXAMPLES_DIR, REPO_ROOT } from './support/repo.ts';

/**
 * No Docker engine here: this checks what the Dockerfile says, then runs its
 * production steps in a clean directory: the production dependencies
 * installed from the lock file, and the bundle started from there.
 */

const stages = parseDockerfile(await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const final = stages.at(-1) as Stage;

const instructionsOf = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const stageNamed = (name: string) => stages.find((s) => s.name === name);

/** The `npm ...` commands a stage runs, as argument lists. */
const npmCommands = (stage: Stage | undefined) =>
  (stage === undefined ? [] : instructionsOf(stage, 'RUN'))
    .flatMap(runCommands)
    .filter(([program]) => program === 'npm');

/** Where a `COPY --from=<stage>` of the final stage comes from, by destination. */
function copiesOf(stage: Stage): { from: string | null; sources: string[]; destination: string }[] {
  return instructionsOf(stage, 'COPY').map(({ args }) => {
    const words = args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length) ?? null;
    const paths = words.filter((w) => !w.startsWith('--'));
    return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' };
  });
}

describe('Dockerfile', () => {
  test('every stage is Node 24 on Debian bookworm', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    for (const stage of stages) assert.equal(stage.base, 'node:24-bookworm-slim');
  });

  test('the build stage installs everything, then bundles', () => {
    const build = stageNamed('build');
    assert.deepEqual(
      npmCommands(build).map((words) => words.slice(0, 2).join(' ')),
      ['npm ci', 'npm run'],
    );
    assert.deepEqual(npmCommands(build)[1], ['npm', 'run', 'build']);
  });

  test('the final stage ships production dependencies, dist, bin and package.json only', () => {
    const production = stageNamed('production-dependencies');
    const [install] = npmCommands(production);
    assert.ok(install?.includes('--omit=dev'), 'production dependencies only');
    const copies = copiesOf(final).map(({ from, sources }) => `${from ?? 'context'}:${sources.join(',')}`).sort();
    assert.deepEqual(copies, ['build:/src/bin/', 'build:/src/dist/', 'context:package.json', 'production-dependencies:/app/node_modules/']);
  });

  test('the final stage installs wg, ip and wireguard-go without recommends and runs the daemon', () => {
    const installs = instructionsOf(final, 'RUN')
      .flatMap(runCommands)
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

describe('the production install runs the bundle', () => {
  const dir = { path: '' };

  before(async () => {
    if (!existsSync(join(REPO_ROOT, 'dist', 'clusterwire.js'))) {
      await execCommand('npm', ['--prefix', REPO_ROOT, 'run', 'build'], { timeoutMs: 120_000 });
    }
    dir.path = await mkdtemp(join(tmpdir(), `clusterwire-image-${process.pid}-`));
    await Promise.all([
      cp(join(REPO_ROOT, 'package.json'), join(dir.path, 'package.json')),
      cp(join(REPO_ROOT, 'package-lock.json'), join(dir.path, 'package-lock.json')),
      cp(join(REPO_ROOT, 'dist'), join(dir.path, 'dist'), { recursive: true }),
      cp(join(REPO_ROOT, 'bin'), join(dir.path, 'bin'), { recursive: true }),
    ]);
  });

  after(async () => {
    if (dir.path !== '') await rm(dir.path, { recursive: true, force: true });
  });

  test('npm ci as the Dockerfile runs it installs no development dependency', async (t) => {
    const [install] = npmCommands(stageNamed('production-dependencies'));
    assert.ok(install, 'the Dockerfile has a production npm ci');
    const started = performance.now();
    // --prefix stands in for the stage's WORKDIR.
    await execCommand('npm', [...install.slice(1), '--prefix', dir.path], { timeoutMs: 300_000 });
    t.diagnostic(`${install.join(' ')}: ${Math.round(performance.now() - started)} ms`);
    assert.ok(existsSync(join(dir.path, 'node_modules', 'fastify')), 'production dependencies are installed');
    // client-node is a second real client of the emulator in the tests; the daemon never imports it.
    for (const devOnly of ['esbuild', 'typescript', 'eslint', 'kubernetes-models', 'node', '@kubernetes/client-node']) {
      assert.ok(!existsSync(join(dir.path, 'node_modules', devOnly)), `${devOnly} is a development dependency`);
    }
  });

  const clusterwire = (...args: string[]) => execCommand(process.execPath, [join(dir.path, 'bin', 'clusterwire.js'), ...args], { timeoutMs: 30_000 });

  test('clusterwire version', async () => {
    const { stdout } = await clusterwire('version');
    assert.equal(stdout, `clusterwire ${packageJson.version}\n`);
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
