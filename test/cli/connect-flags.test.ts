import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommandLine } from '../../src/cli/parse-command-line.ts';
import { UsageError } from '../../src/cli/usage-error.ts';

function connectOptions(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseCommandLine(['connect', ...argv], env);
  assert.equal(parsed.name, 'connect');
  return parsed.options;
}

function usage(argv: string[]): string {
  try {
    parseCommandLine(argv, {});
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error.message;
  }
  return assert.fail('expected a UsageError');
}

test('connect: both sides from kubectl-style flags; KUBECONFIG when -kubeconfig is not given; the second side shares it by default', () => {
  assert.deepEqual(connectOptions(['--to-context', 'c2'], { KUBECONFIG: '/a:/b' }), {
    sides: [
      { kubeconfig: '/a:/b', context: null, name: null, podSubnets: null, apiURL: null },
      { kubeconfig: '/a:/b', context: 'c2', name: null, podSubnets: null, apiURL: null },
    ],
    dryRun: false,
  });
  assert.deepEqual(
    connectOptions([
      '--kubeconfig=/k1', '--context', 'gke_p_z_one', '--name', 'c1', '--to-kubeconfig', '/k2', '--to-context=eks', '--to-name', 'c2',
      '--pod-subnets', '10.2.0.0/16, fd02::/56', '--to-pod-subnets', '10.4.0.0/16', '--api-url', 'https://lb.c1.example:6443/', '--to-api-url', 'https://10.0.0.4:6443', '--dry-run',
    ], { KUBECONFIG: '/ignored' }),
    {
      sides: [
        { kubeconfig: '/k1', context: 'gke_p_z_one', name: 'c1', podSubnets: ['10.2.0.0/16', 'fd02::/56'], apiURL: 'https://lb.c1.example:6443' },
        { kubeconfig: '/k2', context: 'eks', name: 'c2', podSubnets: ['10.4.0.0/16'], apiURL: 'https://10.0.0.4:6443' },
      ],
      dryRun: true,
    },
  );
  assert.equal(connectOptions(['--to-context', 'c2']).sides[0].kubeconfig, '~/.kube/config');
});

test('-dry-run is a Go boolean flag: alone it is true; only -dry-run=value takes a value', () => {
  assert.equal(connectOptions(['-dry-run', '--to-context', 'c2']).dryRun, true);
  assert.equal(connectOptions(['--to-context', 'c2', '--dry-run=false']).dryRun, false);
  assert.equal(connectOptions(['--to-context', 'c2', '-dry-run=T']).dryRun, true);
  assert.match(usage(['connect', '--to-context', 'c2', '--dry-run=maybe']), /invalid value "maybe" for flag -dry-run: must be true or false/);
});

test('connect and disconnect refuse what they cannot use, in one line', () => {
  assert.equal(usage(['connect', '--context', 'c1']), '-to-context is required');
  assert.match(usage(['connect', '--to-context', 'c2', '--pod-subnets', '10.2.0.0/16,10.3.0.1/16']), /"10\.3\.0\.1\/16" is not a CIDR: host bits must be zero/);
  assert.match(usage(['connect', '--to-context', 'c2', '--to-api-url', 'http://lb:6443']), /must be an https URL/);
  assert.equal(usage(['disconnect', '--to-context', 'c2', '--pod-subnets', '10.2.0.0/16']), 'flag provided but not defined: -pod-subnets');
  const disconnect = parseCommandLine(['disconnect', '--context', 'c1', '--to-context', 'c2'], {});
  assert.equal(disconnect.name, 'disconnect');
});

test('migrate-check: the daemon\'s flags and variables, and -host-root', () => {
  const parsed = parseCommandLine(['migrate-check', '-host-root', '/host'], { SWG_CLUSTERS_CONFIG: '/c.json', SWG_NODE_NAME: 'n1' });
  assert.equal(parsed.name, 'migrate-check');
  assert.deepEqual(parsed.options, { clustersConfigPath: '/c.json', nodeName: 'n1', wgKeyPath: '/var/lib/semaphore-wireguard', hostRoot: '/host' });
  assert.match(usage(['migrate-check', '-clusters-config', '/c', '-node-name', 'n', '-host-root', 'host']), /must be an absolute path/);
});
