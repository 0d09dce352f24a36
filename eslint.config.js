import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'bin/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits is an error nobody sees.
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test tracks the promises of test()/describe() itself.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // The decision files: which nodes are peers, what to change on a device
    // or a link, the routes, the endpoint policy, CIDRs, key text, link
    // ownership, backoff. They are functions and data structures over plain
    // data, tested with tables and property tests, so they must never do I/O
    // themselves nor import a module that does: no files, sockets, processes
    // or DNS, and none of the real clients and runners. The shell around them
    // (remote-peering.ts, devices.ts, daemon.ts) does the I/O. Type-only
    // imports are allowed: they vanish at run time.
    files: [
      'src/clock/backoff.ts',
      'src/net/*.ts',
      'src/ip/link-ownership.ts',
      'src/ip/link-settings.ts',
      'src/ip/route-plan.ts',
      'src/peering/claimed-cidrs.ts',
      'src/peering/decide-in-order.ts',
      'src/peering/desired-peers.ts',
      'src/peering/endpoint.ts',
      'src/peering/node-check.ts',
      'src/peering/peer-decisions.ts',
      'src/peering/peer-plan.ts',
      'src/peering/readiness.ts',
      'src/peering/rejected-peers.ts',
      'src/peering/remote-status.ts',
      'src/peering/skip-log.ts',
      'src/peering/skip-reasons.ts',
      'src/wireguard/configure-finding-rejected.ts',
      'src/wireguard/configured-device.ts',
      'src/wireguard/device-plan.ts',
      'src/wireguard/device-state.ts',
      'src/wireguard/keys.ts',
      'src/wireguard/types.ts',
      'src/wireguard/uapi-protocol.ts',
      'src/wireguard/wg-commands.ts',
      'src/wireguard/wg-dump.ts',
    ],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(node:)?(fs|net|child_process|dns)(/.*)?$',
              message: 'A decision file does no I/O: take the data as an argument and let the shell read or write it.',
            },
            {
              regex: '(^|/)(exec|links|routes|key-file|uapi-client|wg-tool-client|userspace-process|devices|dns-lookup|remote-peering|client)\\.ts$',
              allowTypeImports: true,
              message: 'A decision file does not call the modules that do I/O (runners, clients, the key file): take their results as arguments.',
            },
          ],
        },
      ],
    },
  },
  {
    // Plain-JS entry points run on Node: its globals are defined.
    files: ['bin/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
