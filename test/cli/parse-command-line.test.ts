import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommandLine } from '../../src/cli/parse-command-line.ts';
import type { RunOptions } from '../../src/cli/run.ts';
import { UsageError } from '../../src/cli/usage-error.ts';

const REQUIRED_ENV = { SWG_CLUSTERS_CONFIG: '/etc/clusterwire/clusters.json', SWG_NODE_NAME: 'node-a' };

const DEFAULTS: RunOptions = {
  clustersConfigPath: '/etc/clusterwire/clusters.json',
  nodeName: 'node-a',
  wgKeyPath: '/var/lib/semaphore-wireguard',
  listenAddress: { host: '', port: 7773 },
  logLevel: 'info',
  wgBackend: 'auto',
  wgUserspaceBinary: 'wireguard-go',
  wgUserspaceClient: 'uapi',
  reconcileIntervalMs: 30_000,
  watchBackoffCapMs: 30_000,
  readyWatchGraceMs: 60_000,
  peerMetrics: 'full',
};

function runOptions(argv: string[], env: Record<string, string | undefined> = REQUIRED_ENV): RunOptions {
  const parsed = parseCommandLine(argv, env);
  assert.equal(parsed.name, 'run');
  return parsed.options;
}

function usageError(argv: string[], env: Record<string, string | undefined> = REQUIRED_ENV): string {
  try {
    parseCommandLine(argv, env);
  } catch (error) {
    assert.ok(error instanceof UsageError, `expected UsageError, got ${String(error)}`);
    return error.message;
  }
  return assert.fail('expected a UsageError');
}

/** Per flag of docs/configuration.md: its variable, a value as typed, and the option it sets. */
const FLAGS: [flag: string, env: string, text: string, option: Partial<RunOptions>][] = [
  ['clusters-config', 'SWG_CLUSTERS_CONFIG', '/srv/c.json', { clustersConfigPath: '/srv/c.json' }],
  ['node-name', 'SWG_NODE_NAME', 'node-b', { nodeName: 'node-b' }],
  ['wg-key-path', 'SWG_WG_KEY_PATH', '/keys', { wgKeyPath: '/keys' }],
  ['listen-address', 'SWG_LISTEN_ADDRESS', '[::1]:9000', { listenAddress: { host: '::1', port: 9000 } }],
  ['log-level', 'SWG_LOG_LEVEL', 'debug', { logLevel: 'debug' }],
  ['wg-backend', 'SWG_WG_BACKEND', 'userspace', { wgBackend: 'userspace' }],
  ['wg-userspace-binary', 'WG_QUICK_USERSPACE_IMPLEMENTATION', '/usr/bin/boringtun', { wgUserspaceBinary: '/usr/bin/boringtun' }],
  ['wg-userspace-client', 'SWG_WG_USERSPACE_CLIENT', 'wg', { wgUserspaceClient: 'wg' }],
  ['reconcile-interval', 'SWG_RECONCILE_INTERVAL', '1m30s', { reconcileIntervalMs: 90_000 }],
  ['watch-backoff-cap', 'SWG_WATCH_BACKOFF_CAP', '2s', { watchBackoffCapMs: 2_000 }],
  ['ready-watch-grace', 'SWG_READY_WATCH_GRACE', '10s', { readyWatchGraceMs: 10_000 }],
  ['peer-metrics', 'SWG_PEER_METRICS', 'aggregate', { peerMetrics: 'aggregate' }],
];

describe('run: every flag in every spelling, from the environment, and a flag beating its variable', () => {
  it('documented defaults when only the required ones are set', () => {
    assert.deepEqual(runOptions([]), DEFAULTS);
  });

  for (const [flag, env, text, option] of FLAGS) {
    const expected = { ...DEFAULTS, ...option };
    for (const argv of [[`-${flag}`, text], [`-${flag}=${text}`], [`--${flag}`, text], [`--${flag}=${text}`]]) {
      it(argv.join(' '), () => {
        assert.deepEqual(runOptions(argv), expected);
        assert.deepEqual(runOptions(['run', ...argv]), expected, 'with the explicit run command');
      });
    }
    it(`${env}=${text}`, () => {
      assert.deepEqual(runOptions([], { ...REQUIRED_ENV, [env]: text }), expected);
    });
    it(`-${flag} beats ${env}`, () => {
      const other = flag === 'listen-address' ? '127.0.0.1:1' : flag === 'log-level' ? 'trace' : flag === 'wg-backend' ? 'kernel' : flag === 'peer-metrics' ? 'off' : ['reconcile-interval', 'watch-backoff-cap', 'ready-watch-grace'].includes(flag) ? '5s' : '/from/env';
      assert.deepEqual(runOptions([`-${flag}`, text], { ...REQUIRED_ENV, [env]: other }), expected);
    });
  }

  it('reads Go-style corner cases: last occurrence wins, a value may start with "-", -- ends the flags', () => {
    assert.equal(runOptions(['-node-name', 'a', '--node-name=b']).nodeName, 'b');
    assert.equal(runOptions(['-node-name', '-odd-but-legal']).nodeName, '-odd-but-legal');
    assert.equal(runOptions(['-node-name=x=y']).nodeName, 'x=y');
    assert.equal(runOptions(['-wg-key-path', '/k', '--']).wgKeyPath, '/k');
  });

  it('an empty variable counts as unset', () => {
    assert.deepEqual(runOptions([], { ...REQUIRED_ENV, SWG_LOG_LEVEL: '', SWG_LISTEN_ADDRESS: '' }), DEFAULTS);
    assert.equal(usageError([], { ...REQUIRED_ENV, SWG_NODE_NAME: '' }), '-node-name (or SWG_NODE_NAME) is required');
  });

  it('log levels are case-insensitive like Go log-level parsers', () => {
    assert.equal(runOptions(['-log-level', 'WARN']).logLevel, 'warn');
  });

  it("-log-level off, hclog's spelling in semaphore-wireguard configs, is pino's silent", () => {
    const cases: [argv: string[], env: Record<string, string>, level: string][] = [
      [['-log-level', 'off'], REQUIRED_ENV, 'silent'],
      [['--log-level=OFF'], REQUIRED_ENV, 'silent'],
      [[], { ...REQUIRED_ENV, SWG_LOG_LEVEL: 'off' }, 'silent'],
      [['-log-level', 'silent'], REQUIRED_ENV, 'silent'],
      [['-log-level', ' Error '], REQUIRED_ENV, 'error'],
    ];
    for (const [argv, env, level] of cases) assert.equal(runOptions(argv, env).logLevel, level, argv.join(' ') || JSON.stringify(env));
  });

  it('listen addresses in Go host:port forms', () => {
    assert.deepEqual(runOptions(['-listen-address', ':7773']).listenAddress, { host: '', port: 7773 });
    assert.deepEqual(runOptions(['-listen-address', '[::]:7773']).listenAddress, { host: '::', port: 7773 });
    assert.deepEqual(runOptions(['-listen-address', '0.0.0.0:8080']).listenAddress, { host: '0.0.0.0', port: 8080 });
  });
});

describe('usage errors: one line, what is wrong', () => {
  const cases: [argv: string[], env: Record<string, string>, message: string][] = [
    [['-foo'], REQUIRED_ENV, 'flag provided but not defined: -foo'],
    [['--foo=1'], REQUIRED_ENV, 'flag provided but not defined: -foo'],
    [['validate', '-node-name', 'x'], REQUIRED_ENV, 'flag provided but not defined: -node-name'],
    [[], { SWG_CLUSTERS_CONFIG: '/c.json' }, '-node-name (or SWG_NODE_NAME) is required'],
    [['-node-name', 'n'], {}, '-clusters-config (or SWG_CLUSTERS_CONFIG) is required'],
    [['validate'], {}, '-clusters-config (or SWG_CLUSTERS_CONFIG) is required'],
    [['calico-ippools'], {}, '-clusters-config (or SWG_CLUSTERS_CONFIG) is required'],
    [['-node-name'], REQUIRED_ENV, 'flag needs an argument: -node-name'],
    [['-node-name='], REQUIRED_ENV, 'invalid value "" for flag -node-name: must not be empty'],
    [['---node-name', 'x'], REQUIRED_ENV, 'bad flag syntax: ---node-name'],
    [['-=x'], REQUIRED_ENV, 'bad flag syntax: -=x'],
    [
      ['-reconcile-interval', '5 minutes'],
      REQUIRED_ENV,
      `invalid value "5 minutes" for flag -reconcile-interval: not a Go duration: unknown unit ' minutes' (use ns, us, ms, s, m or h); write it like 30s, 1m30s, 1h or 500ms`,
    ],
    [['-reconcile-interval=10ms'], REQUIRED_ENV, 'invalid value "10ms" for flag -reconcile-interval: must be at least 100ms'],
    [[], { ...REQUIRED_ENV, SWG_LOG_LEVEL: 'verbose' }, 'invalid value "verbose" for SWG_LOG_LEVEL (-log-level): must be one of fatal, error, warn, info, debug, trace, silent, off'],
    [['-wg-backend', 'boringtun'], REQUIRED_ENV, 'invalid value "boringtun" for flag -wg-backend: must be one of kernel, userspace, auto'],
    [['-wg-userspace-client', 'socket'], REQUIRED_ENV, 'invalid value "socket" for flag -wg-userspace-client: must be one of uapi, wg'],
    [[], { ...REQUIRED_ENV, SWG_PEER_METRICS: 'some' }, 'invalid value "some" for SWG_PEER_METRICS (-peer-metrics): must be one of full, aggregate, off'],
    [['-listen-address', '7773'], REQUIRED_ENV, 'invalid value "7773" for flag -listen-address: missing port (e.g. :7773 or 127.0.0.1:7773)'],
    [['frobnicate'], REQUIRED_ENV, 'unknown command "frobnicate" (commands: run, validate, calico-ippools, cleanup, status, connect, disconnect, migrate-check, mirror, version; see clusterwire --help)'],
    [
      ['-node-name', 'n', 'run'],
      REQUIRED_ENV,
      `unexpected argument "run": flags start with '-' and the command comes first (clusterwire <command> [flags])`,
    ],
    [['version', 'now'], {}, `unexpected argument "now": flags start with '-' and the command comes first (clusterwire <command> [flags])`],
    [['run', '--', 'extra'], REQUIRED_ENV, `unexpected argument "extra": flags start with '-' and the command comes first (clusterwire <command> [flags])`],
  ];
  for (const [argv, env, message] of cases) {
    it(`${JSON.stringify(argv)} ${JSON.stringify(env)}`, () => {
      const reason = usageError(argv, env);
      assert.equal(reason, message);
      assert.doesNotMatch(reason, /\n/);
    });
  }
});

describe('other commands and help', () => {
  it('validate and calico-ippools take -clusters-config, or SWG_CLUSTERS_CONFIG; validate also -wg-key-path', () => {
    assert.deepEqual(parseCommandLine(['validate', '--clusters-config=/c.json'], {}), {
      name: 'validate',
      options: { clustersConfigPath: '/c.json', wgKeyPath: '/var/lib/semaphore-wireguard' },
    });
    assert.deepEqual(parseCommandLine(['validate', '--clusters-config=/c.json', '-wg-key-path', '/keys'], {}), {
      name: 'validate',
      options: { clustersConfigPath: '/c.json', wgKeyPath: '/keys' },
    });
    assert.deepEqual(parseCommandLine(['calico-ippools', '-clusters-config', '/c.json'], {}), {
      name: 'calico-ippools',
      options: { clustersConfigPath: '/c.json' },
    });
    assert.deepEqual(parseCommandLine(['validate'], { SWG_CLUSTERS_CONFIG: '/env.json', SWG_WG_KEY_PATH: '/env-keys' }), {
      name: 'validate',
      options: { clustersConfigPath: '/env.json', wgKeyPath: '/env-keys' },
    });
  });

  it('version takes no flags', () => {
    assert.deepEqual(parseCommandLine(['version'], {}), { name: 'version', options: {} });
  });

  for (const argv of [['--help'], ['-h'], ['-help'], ['--h']]) {
    it(`${argv.join(' ')} lists the commands and the daemon's flags`, () => {
      const parsed = parseCommandLine(argv, {});
      assert.equal(parsed.name, 'help');
      if (parsed.name !== 'help') return;
      for (const command of ['run', 'validate', 'calico-ippools', 'version']) assert.match(parsed.text, new RegExp(`^  ${command} +\\S`, 'm'));
      for (const [flag, env] of FLAGS) assert.match(parsed.text, new RegExp(`^  -${flag} \\S+\\n .*\\(env ${env};`, 'm'));
    });
  }

  for (const command of ['run', 'validate', 'calico-ippools', 'version']) {
    it(`${command} --help`, () => {
      const parsed = parseCommandLine([command, '--help'], {});
      assert.equal(parsed.name, 'help');
      if (parsed.name === 'help') assert.match(parsed.text, new RegExp(`^Usage: clusterwire ${command}`));
    });
  }

  it('help is given even when required flags are missing', () => {
    const parsed = parseCommandLine(['-node-name', 'x', '-h'], {});
    assert.equal(parsed.name, 'help');
    if (parsed.name === 'help') assert.match(parsed.text, /^Usage: clusterwire run \[flags\]/);
  });
});
