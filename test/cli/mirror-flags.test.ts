import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MirrorCommandOptions } from '../../src/cli/mirror.ts';
import { parseCommandLine } from '../../src/cli/parse-command-line.ts';
import { UsageError } from '../../src/cli/usage-error.ts';

const DEFAULTS: MirrorCommandOptions = {
  clustersConfigPath: '/etc/clusterwire/clusters.json',
  namespace: 'clusterwire',
  leaseName: 'clusterwire-mirror',
  identity: '',
  election: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
  resyncIntervalMs: 60_000,
  watchBackoffCapMs: 30_000,
  listenAddress: { host: '', port: 7773 },
  logLevel: 'info',
};
const ENV = { SWG_CLUSTERS_CONFIG: '/etc/clusterwire/clusters.json' };

function mirrorOptions(argv: string[], env: Record<string, string> = ENV): MirrorCommandOptions {
  const parsed = parseCommandLine(['mirror', ...argv], env);
  assert.equal(parsed.name, 'mirror');
  return parsed.options;
}

const FLAGS: [flag: string, env: string, text: string, option: Partial<MirrorCommandOptions>][] = [
  ['clusters-config', 'SWG_CLUSTERS_CONFIG', '/srv/c.json', { clustersConfigPath: '/srv/c.json' }],
  ['namespace', 'SWG_NAMESPACE', 'fleet', { namespace: 'fleet' }],
  ['lease-name', 'SWG_LEASE_NAME', 'publisher.c1', { leaseName: 'publisher.c1' }],
  ['identity', 'POD_NAME', 'clusterwire-mirror-7d9f-abcde', { identity: 'clusterwire-mirror-7d9f-abcde' }],
  ['leader-elect-lease-duration', 'SWG_LEADER_ELECT_LEASE_DURATION', '30s', { election: { ...DEFAULTS.election, leaseDurationMs: 30_000 } }],
  ['leader-elect-renew-deadline', 'SWG_LEADER_ELECT_RENEW_DEADLINE', '5s', { election: { ...DEFAULTS.election, renewDeadlineMs: 5_000 } }],
  ['leader-elect-retry-period', 'SWG_LEADER_ELECT_RETRY_PERIOD', '1s', { election: { ...DEFAULTS.election, retryPeriodMs: 1_000 } }],
  ['resync-interval', 'SWG_RESYNC_INTERVAL', '5m', { resyncIntervalMs: 300_000 }],
  ['watch-backoff-cap', 'SWG_WATCH_BACKOFF_CAP', '2s', { watchBackoffCapMs: 2_000 }],
  ['listen-address', 'SWG_LISTEN_ADDRESS', '127.0.0.1:9000', { listenAddress: { host: '127.0.0.1', port: 9000 } }],
  ['log-level', 'SWG_LOG_LEVEL', 'debug', { logLevel: 'debug' }],
];

describe('mirror flags', () => {
  it("defaults: kube-controller-manager's leader election timing, namespace and lease clusterwire(-mirror)", () => {
    assert.deepEqual(mirrorOptions([]), DEFAULTS);
  });

  for (const [flag, env, text, option] of FLAGS) {
    it(`-${flag} and ${env}`, () => {
      assert.deepEqual(mirrorOptions([`-${flag}`, text]), { ...DEFAULTS, ...option });
      assert.deepEqual(mirrorOptions([`--${flag}=${text}`]), { ...DEFAULTS, ...option });
      assert.deepEqual(mirrorOptions([], { ...ENV, [env]: text }), { ...DEFAULTS, ...option });
    });
  }

  const refused: [argv: string[], message: RegExp][] = [
    [['-leader-elect-renew-deadline', '15s'], /lease duration must be longer than the renew deadline/],
    [['-leader-elect-retry-period', '9s'], /renew deadline must be longer than 1.2 retry periods/],
    [['-namespace', 'Fleet'], /namespace name/],
    [['-lease-name', 'a/b'], /object name/],
    [['-resync-interval', '1'], /Go duration/],
    [['-node-name', 'x'], /flag provided but not defined: -node-name/],
  ];
  for (const [argv, message] of refused) {
    it(`refuses ${argv.join(' ')}`, () => {
      assert.throws(() => parseCommandLine(['mirror', ...argv], ENV), (e: unknown) => e instanceof UsageError && message.test(e.message));
    });
  }

  it('mirror --help names every flag with its variable', () => {
    const parsed = parseCommandLine(['mirror', '--help'], {});
    assert.equal(parsed.name, 'help');
    if (parsed.name !== 'help') return;
    assert.match(parsed.text, /^Usage: clusterwire mirror \[flags\]/);
    for (const [flag, env] of FLAGS) assert.match(parsed.text, new RegExp(`^  -${flag} \\S+\\n .*\\(env ${env}[;)]`, 'm'));
  });
});
