import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClustersConfigError, formatIssue } from '../../src/config/issue.ts';
import { loadClustersConfig } from '../../src/config/load.ts';
import { parseClustersConfig, parseClustersConfigText } from '../../src/config/parse.ts';
import type { ClustersConfig } from '../../src/config/types.ts';
import { configWarnings } from '../../src/config/warnings.ts';

type Json = Record<string, unknown>;

/** A valid config with one remote of each access kind; cases break one thing in it. */
function validConfig(): { local: Json; remotes: Json[] } & Json {
  return {
    local: { name: 'c1' },
    remotes: [
      {
        name: 'c2',
        remoteAPIURL: 'https://lb.c2.example:6443',
        remoteCAURL: 'https://ca.c2.example/ca.crt',
        remoteSATokenPath: '/etc/clusterwire/tokens/c2/token',
        podSubnet: '10.4.0.0/16',
        wgListenPort: 51821,
      },
      { name: 'c3', kubeConfigPath: '/etc/clusterwire/c3.kubeconfig', podSubnets: ['10.5.0.0/16', 'fd10:5::/56'], wgListenPort: 51822 },
    ],
  };
}

function problems(json: unknown): string[] {
  const result = parseClustersConfig(json);
  return result.ok ? [] : result.issues.map(formatIssue);
}

/** `base` with remote `index` changed and the `remove` keys deleted from it. */
function withRemote(index: number, change: Json, remove: string[] = [], base = validConfig()): ReturnType<typeof validConfig> {
  const config = structuredClone(base);
  const remote = { ...config.remotes[index], ...change };
  for (const key of remove) delete remote[key];
  config.remotes[index] = remote;
  return config;
}

const IFNAMSIZ = 'Linux allows 15 (IFNAMSIZ is 16 including the terminating NUL)';
const TOKEN_ACCESS = 'token access needs remoteAPIURL, remoteCAURL and remoteSATokenPath (or set kubeConfigPath instead)';
const OVERLAP = 'routes to remote pod subnets must not overlap';

const SPECIAL_SPACE = 'a remote pod subnet must be outside loopback, link-local and multicast space';

/** Pod subnets whose route would take the node's own traffic (docs/configuration.md, "Pod subnets"). */
function podSubnetRefusals(): [string, unknown, string[]][] {
  const cases: [subnet: string, message: string][] = [
    ['0.0.0.0/0', "'0.0.0.0/0' is every IPv4 address: its route would replace the default route of every node"],
    ['::/0', "'::/0' is every IPv6 address: its route would replace the default route of every node"],
    ['0.0.0.0/1', "'0.0.0.0/1' is too wide: a remote pod subnet must be /8 or longer (IPv4), or its route takes traffic that is not the remote's pods into the tunnel"],
    ['10.0.0.0/7', "'10.0.0.0/7' is too wide: a remote pod subnet must be /8 or longer (IPv4), or its route takes traffic that is not the remote's pods into the tunnel"],
    ['fd00::/15', "'fd00::/15' is too wide: a remote pod subnet must be /16 or longer (IPv6), or its route takes traffic that is not the remote's pods into the tunnel"],
    ['2000::/3', "'2000::/3' is too wide: a remote pod subnet must be /16 or longer (IPv6), or its route takes traffic that is not the remote's pods into the tunnel"],
    ['127.0.0.0/8', `'127.0.0.0/8' overlaps loopback space (127.0.0.0/8): ${SPECIAL_SPACE}`],
    ['127.1.0.0/16', `'127.1.0.0/16' overlaps loopback space (127.0.0.0/8): ${SPECIAL_SPACE}`],
    ['::1/128', `'::1/128' overlaps loopback space (::1/128): ${SPECIAL_SPACE}`],
    ['::/16', `'::/16' overlaps loopback space (::1/128): ${SPECIAL_SPACE}`],
    ['169.254.0.0/16', `'169.254.0.0/16' overlaps link-local space (169.254.0.0/16): ${SPECIAL_SPACE}`],
    ['169.254.169.0/24', `'169.254.169.0/24' overlaps link-local space (169.254.0.0/16): ${SPECIAL_SPACE}`],
    ['169.0.0.0/8', `'169.0.0.0/8' overlaps link-local space (169.254.0.0/16): ${SPECIAL_SPACE}`],
    ['fe80::/64', `'fe80::/64' overlaps link-local space (fe80::/10): ${SPECIAL_SPACE}`],
    ['224.0.0.0/8', `'224.0.0.0/8' overlaps multicast space (224.0.0.0/4): ${SPECIAL_SPACE}`],
    ['239.1.0.0/16', `'239.1.0.0/16' overlaps multicast space (224.0.0.0/4): ${SPECIAL_SPACE}`],
    ['ff02::/16', `'ff02::/16' overlaps multicast space (ff00::/8): ${SPECIAL_SPACE}`],
  ];
  return [
    ...cases.map(([subnet, message]): [string, unknown, string[]] => [`podSubnet ${subnet}`, withRemote(0, { podSubnet: subnet }), [`remotes[0].podSubnet: ${message}`]]),
    [
      'a refused subnet in podSubnets',
      withRemote(1, { podSubnets: ['10.5.0.0/16', '::/0'] }),
      ["remotes[1].podSubnets[1]: '::/0' is every IPv6 address: its route would replace the default route of every node"],
    ],
  ];
}

const NOT_A_FINGERPRINT = "is not a SHA-256 fingerprint: write 64 hex digits, optionally in colon-separated pairs, as `openssl x509 -noout -fingerprint -sha256` prints them after '='";

function caPinRefusals(): [string, unknown, string[]][] {
  const pairs = Array.from({ length: 32 }, () => 'AB').join(':');
  return [
    ['a fingerprint one byte short', withRemote(0, { remoteCASHA256: 'ab'.repeat(31) }), [`remotes[0].remoteCASHA256: '${'ab'.repeat(31)}' ${NOT_A_FINGERPRINT}`]],
    ['a fingerprint with the openssl prefix', withRemote(0, { remoteCASHA256: `sha256 Fingerprint=${pairs}` }), [`remotes[0].remoteCASHA256: 'sha256 Fingerprint=${pairs}' ${NOT_A_FINGERPRINT}`]],
    ['a fingerprint with a non-hex digit', withRemote(0, { remoteCASHA256: `${'ab'.repeat(31)}xg` }), [`remotes[0].remoteCASHA256: '${'ab'.repeat(31)}xg' ${NOT_A_FINGERPRINT}`]],
    ['a fingerprint with stray colons', withRemote(0, { remoteCASHA256: `a:b${'ab'.repeat(31)}` }), [`remotes[0].remoteCASHA256: 'a:b${'ab'.repeat(31)}' ${NOT_A_FINGERPRINT}`]],
    [
      'a CA pin on a remote reached by kubeconfig',
      withRemote(1, { remoteCASHA256: pairs }),
      ['remotes[1].remoteCASHA256: pins the CA fetched from remoteCAURL, but this remote uses kubeConfigPath, whose CA comes from the kubeconfig: remove remoteCASHA256, or use remoteCAURL instead of kubeConfigPath'],
    ],
  ];
}

const badConfigs: [name: string, json: unknown, expected: string[]][] = [
  [
    'a cluster name that makes a 16-byte interface name',
    withRemote(0, { name: 'abcdef' }),
    [`remotes[0].name: 'abcdef' makes interface name 'wireguard.abcdef' (16 bytes); ${IFNAMSIZ} — use a name of at most 5 characters or set wgDeviceName`],
  ],
  ['a 16-byte wgDeviceName', withRemote(0, { wgDeviceName: 'wireguard-c2-eu1' }), [`remotes[0].wgDeviceName: 'wireguard-c2-eu1' is 16 bytes; ${IFNAMSIZ}`]],
  ['a wgDeviceName counted in bytes, not characters', withRemote(0, { wgDeviceName: 'wg-ünïcödé-abc' }), [`remotes[0].wgDeviceName: 'wg-ünïcödé-abc' is 18 bytes; ${IFNAMSIZ}`]],
  ...(
    [
      ['wg/c2', "'/'"],
      ['wg c2', "' '"],
      ['wg:c2', "':'"],
      ['wg\tc2', "'\\t'"],
      // ip -batch reads '#' as a comment: `address flush dev eth0#x` flushes eth0.
      ['eth0#x', "'#'"],
      ['wg;c2$(x)', "';', '$', '(', ')'"],
      ['wg@c2', "'@'"],
      ['wg-ü', "'ü'"],
    ] as const
  ).map(([name, found]): [string, unknown, string[]] => [
    `wgDeviceName ${JSON.stringify(name)}`,
    withRemote(0, { wgDeviceName: name }),
    [`remotes[0].wgDeviceName: '${name}' contains ${found}: an interface name may only have letters, digits, '_', '.' and '-'`],
  ]),
  ['wgDeviceName "-wg"', withRemote(0, { wgDeviceName: '-wg' }), ["remotes[0].wgDeviceName: '-wg' starts with '-', which ip would read as an option"]],
  ['wgDeviceName ".."', withRemote(0, { wgDeviceName: '..' }), [`remotes[0].wgDeviceName: '..' is not allowed as an interface name`]],
  ...podSubnetRefusals(),
  ...caPinRefusals(),
  [
    'two remotes with the same wgDeviceName',
    withRemote(1, { wgDeviceName: 'wg0' }, [], withRemote(0, { wgDeviceName: 'wg0' })),
    [`remotes[1].wgDeviceName: interface name 'wg0' is already used by remotes[0]`],
  ],
  [
    "a wgDeviceName equal to another remote's default interface name",
    withRemote(0, { wgDeviceName: 'wireguard.c3' }),
    [`remotes[1].name: interface name 'wireguard.c3' is already used by remotes[0]`],
  ],
  [
    'pod subnets overlapping across remotes',
    withRemote(1, { podSubnets: ['10.4.128.0/17'] }),
    [`remotes[1].podSubnets[0]: 10.4.128.0/17 overlaps 10.4.0.0/16 (remotes[0].podSubnet); ${OVERLAP}`],
  ],
  [
    'the same pod subnet in two remotes',
    withRemote(1, { podSubnet: '10.4.0.0/16' }),
    [`remotes[1].podSubnet: 10.4.0.0/16 overlaps 10.4.0.0/16 (remotes[0].podSubnet); ${OVERLAP}`],
  ],
  [
    'IPv6 pod subnets overlapping across remotes',
    withRemote(0, { podSubnets: ['fd10::/16'] }),
    [`remotes[1].podSubnets[1]: fd10:5::/56 overlaps fd10::/16 (remotes[0].podSubnets[0]); ${OVERLAP}`],
  ],
  [
    'pod subnets overlapping within one remote',
    withRemote(0, { podSubnets: ['10.4.1.0/24'] }),
    [`remotes[0].podSubnets[0]: 10.4.1.0/24 overlaps 10.4.0.0/16 (remotes[0].podSubnet); ${OVERLAP}`],
  ],
  ['duplicate listen ports', withRemote(1, { wgListenPort: 51821 }), ['remotes[1].wgListenPort: 51821 is already used by remotes[0]']],
  [
    'two remotes without wgListenPort (both default to 51820)',
    withRemote(1, {}, ['wgListenPort'], withRemote(0, {}, ['wgListenPort'])),
    ['remotes[1].wgListenPort: 51820 is already used by remotes[0] (51820 is the default when wgListenPort is omitted; each remote needs its own port)'],
  ],
  ['a remote named like the local cluster', withRemote(1, { name: 'c1' }), ["remotes[1].name: 'c1' is the local cluster's name (local.name); a remote must be another cluster"]],
  ['two remotes with the same name', withRemote(1, { name: 'c2' }), ["remotes[1].name: 'c2' is already used by remotes[0]"]],
  [
    'no credentials at all',
    withRemote(0, {}, ['remoteAPIURL', 'remoteCAURL', 'remoteSATokenPath']),
    ['remotes[0]: no API access for the remote cluster: set kubeConfigPath, or all of remoteAPIURL, remoteCAURL and remoteSATokenPath'],
  ],
  ['only remoteAPIURL', withRemote(0, {}, ['remoteCAURL', 'remoteSATokenPath']), [`remotes[0]: remoteCAURL and remoteSATokenPath are missing: ${TOKEN_ACCESS}`]],
  ['no remoteSATokenPath', withRemote(0, { remoteSATokenPath: '' }), [`remotes[0]: remoteSATokenPath is missing: ${TOKEN_ACCESS}`]],
  [
    'an empty kubeConfigPath is unset, not a kubeconfig',
    withRemote(1, { kubeConfigPath: '' }),
    ['remotes[1]: no API access for the remote cluster: set kubeConfigPath, or all of remoteAPIURL, remoteCAURL and remoteSATokenPath'],
  ],
  ['a misspelt key', withRemote(0, { podSubnett: '10.9.0.0/16' }), ['remotes[0].podSubnett: unknown key; did you mean podSubnet?']],
  ['a key in the wrong case', withRemote(0, { remoteApiUrl: 'https://x' }), ['remotes[0].remoteApiUrl: unknown key; did you mean remoteAPIURL?']],
  ['a misspelt key in local', { ...validConfig(), local: { name: 'c1', kubeconfigPath: '' } }, ['local.kubeconfigPath: unknown key; did you mean kubeConfigPath?']],
  ['a top-level key one letter off', { ...validConfig(), remote: [] }, ['remote: unknown key; did you mean remotes?']],
  [
    'an unknown top-level key far from any known one',
    { ...validConfig(), annotations: 'x' },
    ['annotations: unknown key; did you mean annotationDomain? (known keys: local, annotationDomain, remotes)'],
  ],
  ['a malformed CIDR', withRemote(0, { podSubnet: '10.4.0/16' }), ["remotes[0].podSubnet: '10.4.0/16' is not a valid CIDR: '10.4.0' is not an IPv4 or IPv6 address"]],
  [
    'a CIDR with host bits set',
    withRemote(0, { podSubnet: '10.4.0.1/16' }),
    ["remotes[0].podSubnet: '10.4.0.1/16' is not a valid CIDR: host bits must be zero (did you mean 10.4.0.0/16?)"],
  ],
  ['a CIDR without prefix length', withRemote(1, { podSubnets: ['10.5.0.0', 'fd10:5::/56'] }), ["remotes[1].podSubnets[0]: '10.5.0.0' is not a valid CIDR: missing the prefix length (e.g. /16)"]],
  [
    'an IPv6 prefix longer than 128',
    withRemote(1, { podSubnets: ['10.5.0.0/16', 'fd10:5::/129'] }),
    ["remotes[1].podSubnets[1]: 'fd10:5::/129' is not a valid CIDR: prefix length '129' is not a number from 0 to 128 (IPv6)"],
  ],
  ['no pod subnet', withRemote(0, {}, ['podSubnet']), ["remotes[0]: podSubnet or podSubnets is required: the remote cluster's pod CIDRs"]],
  ['podSubnets not a list', withRemote(1, { podSubnets: '10.5.0.0/16' }), ["remotes[1].podSubnets: expected a list, got string '10.5.0.0/16'"]],
  ['MTU 1279', withRemote(0, { wgDeviceMTU: 1279 }), ['remotes[0].wgDeviceMTU: 1279 is out of range: the MTU must be 1280-9000']],
  ['MTU 9001', withRemote(0, { wgDeviceMTU: 9001 }), ['remotes[0].wgDeviceMTU: 9001 is out of range: the MTU must be 1280-9000']],
  ['MTU 1380.5', withRemote(0, { wgDeviceMTU: 1380.5 }), ['remotes[0].wgDeviceMTU: 1380.5 is not a whole number (the MTU must be 1280-9000)']],
  ['MTU as a string', withRemote(0, { wgDeviceMTU: '1380' }), ["remotes[0].wgDeviceMTU: expected a number, got string '1380'"]],
  ['listen port 0', withRemote(0, { wgListenPort: 0 }), ['remotes[0].wgListenPort: 0 is out of range: a listen port must be 1-65535']],
  ['listen port 65536', withRemote(0, { wgListenPort: 65536 }), ['remotes[0].wgListenPort: 65536 is out of range: a listen port must be 1-65535']],
  [
    'keepalive "5 minutes"',
    withRemote(0, { persistentKeepalive: '5 minutes' }),
    ["remotes[0].persistentKeepalive: '5 minutes' is not a Go duration: unknown unit ' minutes' (use ns, us, ms, s, m or h); write it like 30s, 1m30s, 1h or 500ms"],
  ],
  ['keepalive beyond 16 bits', withRemote(0, { persistentKeepalive: '18h13m' }), ["remotes[0].persistentKeepalive: '18h13m' is out of range: keepalive must be 0-65535 s"]],
  [
    'keepalive not in whole seconds',
    withRemote(0, { persistentKeepalive: '1.5s' }),
    ["remotes[0].persistentKeepalive: '1.5s' is not a whole number of seconds (WireGuard keepalive has 1 s resolution)"],
  ],
  ['maxNodes 0', withRemote(0, { maxNodes: 0 }), ['remotes[0].maxNodes: 0 is out of range: maxNodes must be 1-100000']],
  ['maxNodes over 100,000', withRemote(0, { maxNodes: 100_001 }), ['remotes[0].maxNodes: 100001 is out of range: maxNodes must be 1-100000']],
  ['maxNodes not whole', withRemote(0, { maxNodes: 2.5 }), ['remotes[0].maxNodes: 2.5 is not a whole number (maxNodes must be 1-100000)']],
  ['an unknown source', withRemote(0, { source: 'endpoints' }), ["remotes[0].source: 'endpoints' is not a source: use 'nodes', 'slices' or 'mirror'"]],
  ['source not a string', withRemote(0, { source: 1 }), ['remotes[0].source: expected a string, got number 1']],
  ['slicesNamespace not a DNS label', withRemote(0, { source: 'slices', slicesNamespace: 'Kube_System' }), ["remotes[0].slicesNamespace: 'Kube_System' is not a valid namespace: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit"]],
  ['slicesNamespace without source slices', withRemote(0, { slicesNamespace: 'fleet' }), ["remotes[0].slicesNamespace: is only read with source 'slices' or 'mirror': remove it, or set source"]],
  ['mirrorNamespace with source slices', withRemote(0, { source: 'slices', mirrorNamespace: 'fleet' }), ["remotes[0].mirrorNamespace: is only read with source 'mirror': remove it, or set source to 'mirror'"]],
  ['mirrorNamespace without a source', withRemote(0, { mirrorNamespace: 'fleet' }), ["remotes[0].mirrorNamespace: is only read with source 'mirror': remove it, or set source to 'mirror'"]],
  ['mirrorNamespace not a DNS label', withRemote(0, { source: 'mirror', mirrorNamespace: '-x' }), ["remotes[0].mirrorNamespace: '-x' is not a valid namespace: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit"]],
  [
    'source mirror with half of token access: what is given must still be whole (clusterwire mirror reads it)',
    withRemote(0, { source: 'mirror' }, ['remoteCAURL', 'remoteSATokenPath']),
    [`remotes[0]: remoteCAURL and remoteSATokenPath are missing: ${TOKEN_ACCESS}`],
  ],
  ['keepalive as a boolean', withRemote(0, { persistentKeepalive: true }), ["remotes[0].persistentKeepalive: expected a duration like '30s' or a number of nanoseconds, got true"]],
  ['a negative resyncPeriod', withRemote(0, { resyncPeriod: '-1s' }), ["remotes[0].resyncPeriod: '-1s' is negative"]],
  ['a resyncPeriod of fractional nanoseconds', withRemote(0, { resyncPeriod: 1.5 }), ['remotes[0].resyncPeriod: 1.5 is not a whole number of nanoseconds']],
  ['a resyncPeriod that would spin', withRemote(0, { resyncPeriod: '10ms' }), ["remotes[0].resyncPeriod: '10ms' is too short: use 0s (off) or at least 100ms"]],
  ['a resyncPeriod without unit', withRemote(0, { resyncPeriod: '30' }), ["remotes[0].resyncPeriod: '30' is not a Go duration: missing unit after '30'; write it like 30s, 1m30s, 1h or 500ms"]],
  ['no local name', { ...validConfig(), local: {} }, ['local.name: required (a string)']],
  ['no local section', { remotes: validConfig().remotes }, ['local: required (an object)']],
  ['no remotes', { ...validConfig(), remotes: [] }, ['remotes: at least one remote cluster is required']],
  ['no remotes key', { local: { name: 'c1' } }, ['remotes: required (a list)']],
  [
    'an uppercase cluster name',
    withRemote(0, { name: 'C2' }),
    ["remotes[0].name: 'C2' is not a valid cluster name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (it becomes part of annotation keys like C2.<domain>/pubKey)"],
  ],
  [
    'a local name with a dot',
    { ...validConfig(), local: { name: 'c1.prod' } },
    ["local.name: 'c1.prod' is not a valid cluster name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (it becomes part of annotation keys like c1.prod.<domain>/pubKey)"],
  ],
  ['a plain http API URL', withRemote(0, { remoteAPIURL: 'http://lb.c2.example:6443' }), ["remotes[0].remoteAPIURL: 'http://lb.c2.example:6443' must be https: the service account token is sent to it"]],
  ['an API URL without scheme', withRemote(0, { remoteAPIURL: 'lb.c2.example:6443' }), ["remotes[0].remoteAPIURL: 'lb.c2.example:6443' is not a valid URL"]],
  ['an ftp CA URL', withRemote(0, { remoteCAURL: 'ftp://ca.c2.example/ca.crt' }), ["remotes[0].remoteCAURL: 'ftp://ca.c2.example/ca.crt' must be https or http: the CA is fetched from it"]],
  [
    'an annotation domain with uppercase',
    { ...validConfig(), annotationDomain: 'WireGuard.example.com' },
    ["annotationDomain: 'WireGuard.example.com' is not a valid annotation domain: use a DNS name of lowercase labels separated by dots, like wireguard.semaphore.uw.io"],
  ],
  [
    'an annotation domain too long for the annotation key prefix',
    { ...validConfig(), annotationDomain: Array.from({ length: 4 }, () => 'a'.repeat(62)).join('.') },
    [
      `local.name: annotation key prefix 'c1.${Array.from({ length: 4 }, () => 'a'.repeat(62)).join('.')}' is 254 characters; Kubernetes allows 253`,
      `remotes[0].name: annotation key prefix 'c2.${Array.from({ length: 4 }, () => 'a'.repeat(62)).join('.')}' is 254 characters; Kubernetes allows 253`,
      `remotes[1].name: annotation key prefix 'c3.${Array.from({ length: 4 }, () => 'a'.repeat(62)).join('.')}' is 254 characters; Kubernetes allows 253`,
    ],
  ],
  ['a remote that is not an object', { ...validConfig(), remotes: [validConfig().remotes[0], 'c3'] }, ["remotes[1]: expected an object, got string 'c3'"]],
  ['a top level that is not an object', [validConfig()], ['expected an object, got a list']],
];

describe('bad clusters configs: each names the JSON path, the value and the rule', () => {
  assert.ok(badConfigs.length >= 30, `at least 30 cases (${badConfigs.length})`);
  for (const [name, json, expected] of badConfigs) {
    it(name, () => {
      assert.deepEqual(problems(json), expected);
    });
  }
});

it('reports every problem of a config at once, field problems and rules between remotes alike', () => {
  const json = {
    local: { name: 'c1', kubeConfigPath: '', extra: true },
    annotationDomain: 'wireguard.semaphore.uw.io',
    remotes: [
      { name: 'c1', kubeConfigPath: '/k', podSubnet: '10.4.0.0/16', wgDeviceMTU: 1279, wgListenPort: 51821 },
      { name: 'abcdef', remoteAPIURL: 'http://lb', podSubnets: ['10.4.0.0/17', '10.9.0.1/16'], wgListenPort: 51821, persistentKeepalive: '5 minutes' },
      { name: 'c4', kubeConfigPath: '/k4', podSubnett: '10.10.0.0/16' },
    ],
  };
  assert.deepEqual(problems(json), [
    'local.extra: unknown key; did you mean name? (known keys: name, kubeConfigPath)',
    'remotes[0].wgDeviceMTU: 1279 is out of range: the MTU must be 1280-9000',
    "remotes[0].name: 'c1' is the local cluster's name (local.name); a remote must be another cluster",
    "remotes[1].remoteAPIURL: 'http://lb' must be https: the service account token is sent to it",
    "remotes[1].podSubnets[1]: '10.9.0.1/16' is not a valid CIDR: host bits must be zero (did you mean 10.9.0.0/16?)",
    "remotes[1].persistentKeepalive: '5 minutes' is not a Go duration: unknown unit ' minutes' (use ns, us, ms, s, m or h); write it like 30s, 1m30s, 1h or 500ms",
    `remotes[1]: remoteCAURL and remoteSATokenPath are missing: ${TOKEN_ACCESS}`,
    `remotes[1].name: 'abcdef' makes interface name 'wireguard.abcdef' (16 bytes); ${IFNAMSIZ} — use a name of at most 5 characters or set wgDeviceName`,
    'remotes[1].wgListenPort: 51821 is already used by remotes[0]',
    "remotes[2].podSubnett: unknown key; did you mean podSubnet?",
    "remotes[2]: podSubnet or podSubnets is required: the remote cluster's pod CIDRs",
  ]);
});

it('a broken podSubnets list is reported, and the valid podSubnet beside it is still checked for overlaps', () => {
  assert.deepEqual(problems(withRemote(1, { podSubnet: '10.4.0.0/24', podSubnets: ['bad'] })), [
    "remotes[1].podSubnets[0]: 'bad' is not a valid CIDR: missing the prefix length (e.g. /16)",
    `remotes[1].podSubnet: 10.4.0.0/24 overlaps 10.4.0.0/16 (remotes[0].podSubnet); ${OVERLAP}`,
  ]);
});

describe("semaphore-wireguard's README examples", () => {
  // Verbatim from semaphore-wireguard's README.
  const c1 = {
    local: { name: 'c1' },
    remotes: [
      {
        name: 'c2',
        remoteAPIURL: 'https://lb.c2.k8s.uw.systems',
        remoteCAURL: 'https://kube-ca-cert.c2.uw.systems',
        remoteSATokenPath: '/etc/semaphore-wireguard/tokens/c2/token',
        podSubnet: '10.4.0.0/16',
        wgDeviceMTU: 1380,
        wgListenPort: 51821,
      },
    ],
  };
  const c2 = {
    local: { name: 'c2' },
    remotes: [
      {
        name: 'c1',
        remoteAPIURL: 'https://lb.c1.k8s.uw.systems',
        remoteCAURL: 'https://kube-ca-cert.c1.uw.systems',
        remoteSATokenPath: '/etc/semaphore-wireguard/tokens/c1/token',
        podSubnet: '10.2.0.0/16',
        wgDeviceMTU: 1380,
        wgListenPort: 51821,
      },
    ],
  };

  function expectedFor(local: string, remote: string, subnet: string, mtu: number, listenPort: number): ClustersConfig {
    return {
      local: { name: local, kubeConfigPath: null },
      annotationDomain: 'wireguard.semaphore.uw.io',
      remotes: [
        {
          name: remote,
          access: {
            kind: 'token',
            apiURL: `https://lb.${remote}.k8s.uw.systems`,
            caURL: `https://kube-ca-cert.${remote}.uw.systems`,
            tokenPath: `/etc/semaphore-wireguard/tokens/${remote}/token`,
          },
          podSubnets: [subnet],
          mtu,
          listenPort,
          deviceName: `wireguard.${remote}`,
          persistentKeepaliveSeconds: 25,
          reconcileIntervalMs: null,
          maxNodes: 20_000,
          source: { kind: 'nodes' },
          slicesNamespace: 'clusterwire',
        },
      ],
    };
  }

  it('cluster c1 config', () => {
    assert.deepEqual(parseClustersConfig(c1), { ok: true, config: expectedFor('c1', 'c2', '10.4.0.0/16', 1380, 51821) });
  });

  it('cluster c2 config', () => {
    assert.deepEqual(parseClustersConfig(c2), { ok: true, config: expectedFor('c2', 'c1', '10.2.0.0/16', 1380, 51821) });
  });

  it("without wgDeviceMTU and wgListenPort: semaphore's defaults 1420 and 51820", () => {
    const withoutDefaults: Json = { ...c1.remotes[0] };
    delete withoutDefaults.wgDeviceMTU;
    delete withoutDefaults.wgListenPort;
    assert.deepEqual(parseClustersConfig({ ...c1, remotes: [withoutDefaults] }), {
      ok: true,
      config: expectedFor('c1', 'c2', '10.4.0.0/16', 1420, 51820),
    });
  });
});

describe('extensions and value forms', () => {
  it("The documented example: podSubnet and podSubnets merged, the empty kubeConfigPath ignored, extensions applied", () => {
    const result = parseClustersConfig({
      local: { name: 'c1', kubeConfigPath: '' },
      annotationDomain: 'wireguard.semaphore.uw.io',
      remotes: [
        {
          name: 'c2',
          remoteAPIURL: 'https://lb.c2.example:6443',
          remoteCAURL: 'https://ca.c2.example/ca.crt',
          remoteSATokenPath: '/etc/clusterwire/tokens/c2/token',
          kubeConfigPath: '',
          podSubnet: '10.4.0.0/16',
          podSubnets: ['10.4.0.0/16', 'fd00:4::/56'],
          wgDeviceMTU: 1380,
          wgListenPort: 51821,
          resyncPeriod: '0s',
          wgDeviceName: 'wg-c2',
          persistentKeepalive: '25s',
        },
      ],
    });
    assert.deepEqual(result, {
      ok: true,
      config: {
        local: { name: 'c1', kubeConfigPath: null },
        annotationDomain: 'wireguard.semaphore.uw.io',
        remotes: [
          {
            name: 'c2',
            access: { kind: 'token', apiURL: 'https://lb.c2.example:6443', caURL: 'https://ca.c2.example/ca.crt', tokenPath: '/etc/clusterwire/tokens/c2/token' },
            podSubnets: ['10.4.0.0/16', 'fd00:4::/56'],
            mtu: 1380,
            listenPort: 51821,
            deviceName: 'wg-c2',
            persistentKeepaliveSeconds: 25,
            reconcileIntervalMs: null,
            maxNodes: 20_000,
            source: { kind: 'nodes' },
            slicesNamespace: 'clusterwire',
          },
        ],
      },
    });
  });

  const remoteWith = (change: Json) => {
    const result = parseClustersConfig(withRemote(1, change));
    assert.ok(result.ok, result.ok ? '' : result.issues.map(formatIssue).join('\n'));
    return result.config.remotes[1];
  };

  it('durations as Go strings or as nanoseconds (Go JSON), 0 turning resync and keepalive off', () => {
    assert.equal(remoteWith({ resyncPeriod: '1m30s' })?.reconcileIntervalMs, 90_000);
    assert.equal(remoteWith({ resyncPeriod: 90_000_000_000 })?.reconcileIntervalMs, 90_000);
    assert.equal(remoteWith({ resyncPeriod: '1.5h' })?.reconcileIntervalMs, 5_400_000);
    assert.equal(remoteWith({ resyncPeriod: 0 })?.reconcileIntervalMs, null);
    assert.equal(remoteWith({ persistentKeepalive: '0s' })?.persistentKeepaliveSeconds, 0);
    assert.equal(remoteWith({ persistentKeepalive: 15_000_000_000 })?.persistentKeepaliveSeconds, 15);
    assert.equal(remoteWith({ persistentKeepalive: '1m' })?.persistentKeepaliveSeconds, 60);
  });

  it("source: the remote's Nodes unless set; slices in clusterwire unless slicesNamespace says otherwise", () => {
    assert.deepEqual(remoteWith({})?.source, { kind: 'nodes' });
    assert.deepEqual(remoteWith({ source: 'nodes' })?.source, { kind: 'nodes' });
    assert.deepEqual(remoteWith({ source: 'slices' })?.source, { kind: 'slices', namespace: 'clusterwire' });
    assert.deepEqual(remoteWith({ source: 'slices', slicesNamespace: 'fleet' })?.source, { kind: 'slices', namespace: 'fleet' });
  });

  it('source mirror: no remote access needed; mirrored slices in clusterwire unless mirrorNamespace says otherwise; slicesNamespace kept for the mirror', () => {
    const bare = remoteWith({ source: 'mirror', kubeConfigPath: '' });
    assert.deepEqual([bare?.access, bare?.source, bare?.slicesNamespace], [null, { kind: 'mirror', namespace: 'clusterwire' }, 'clusterwire']);
    const placed = remoteWith({ source: 'mirror', mirrorNamespace: 'fleet', slicesNamespace: 'published' });
    assert.deepEqual([placed?.access, placed?.source, placed?.slicesNamespace], [{ kind: 'kubeconfig', path: '/etc/clusterwire/c3.kubeconfig' }, { kind: 'mirror', namespace: 'fleet' }, 'published']);
    assert.equal(remoteWith({ source: 'slices', slicesNamespace: 'published' })?.slicesNamespace, 'published');
    assert.deepEqual(problems(withRemote(1, { source: 'nodes' }, ['kubeConfigPath'])), ['remotes[1]: no API access for the remote cluster: set kubeConfigPath, or all of remoteAPIURL, remoteCAURL and remoteSATokenPath'], 'other sources still need access');
  });

  it('maxNodes: 20,000 unless set', () => {
    assert.equal(remoteWith({})?.maxNodes, 20_000);
    assert.equal(remoteWith({ maxNodes: 3 })?.maxNodes, 3);
  });

  it('a local kubeconfig, a custom annotation domain, canonical subnets and kubeconfig access', () => {
    const result = parseClustersConfig({ ...withRemote(1, { podSubnets: ['FD10:0005::/56'] }), local: { name: 'c1', kubeConfigPath: '/etc/kube/local' }, annotationDomain: 'wg.example.com' });
    assert.ok(result.ok);
    assert.deepEqual(result.config.local, { name: 'c1', kubeConfigPath: '/etc/kube/local' });
    assert.equal(result.config.annotationDomain, 'wg.example.com');
    assert.deepEqual(result.config.remotes[1]?.podSubnets, ['fd10:5::/56']);
    assert.deepEqual(result.config.remotes[1]?.access, { kind: 'kubeconfig', path: '/etc/clusterwire/c3.kubeconfig' });
  });

  it('kubeConfigPath wins when token fields are also set', () => {
    assert.deepEqual(remoteWith({ remoteAPIURL: 'https://lb.c3.example' })?.access, { kind: 'kubeconfig', path: '/etc/clusterwire/c3.kubeconfig' });
  });

  it('remoteCASHA256 in either form openssl or sha256sum writes, kept as openssl prints it', () => {
    const pairs = 'B1:2F:00:9A:C3:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:0E';
    for (const written of [pairs, pairs.toLowerCase(), pairs.replaceAll(':', ''), pairs.replaceAll(':', '').toLowerCase()]) {
      const result = parseClustersConfig(withRemote(0, { remoteCASHA256: written }));
      assert.ok(result.ok, result.ok ? '' : result.issues.map(formatIssue).join('\n'));
      assert.deepEqual(result.config.remotes[0]?.access, {
        kind: 'token',
        apiURL: 'https://lb.c2.example:6443',
        caURL: 'https://ca.c2.example/ca.crt',
        tokenPath: '/etc/clusterwire/tokens/c2/token',
        caSHA256: pairs,
      });
    }
  });

  it('device names of letters, digits, _ . and -, and narrow or ordinary pod subnets, are accepted', () => {
    assert.equal(remoteWith({ wgDeviceName: 'wg_C2.eu-1' })?.deviceName, 'wg_C2.eu-1');
    assert.deepEqual(remoteWith({ podSubnets: ['11.0.0.0/8', 'fd11::/16'] })?.podSubnets, ['11.0.0.0/8', 'fd11::/16']);
    assert.deepEqual(remoteWith({ podSubnets: ['100.64.0.0/10', '2001:db8::/32', '10.5.1.7/32'] })?.podSubnets, ['100.64.0.0/10', '2001:db8::/32', '10.5.1.7/32']);
  });

  it('a long cluster name is fine with its own wgDeviceName', () => {
    assert.equal(remoteWith({ name: 'gcp-europe-west1', wgDeviceName: 'wg-gcp-ew1' })?.deviceName, 'wg-gcp-ew1');
  });
});

describe('warnings about a valid config', () => {
  const warnings = (json: unknown) => {
    const result = parseClustersConfig(json);
    assert.ok(result.ok, result.ok ? '' : result.issues.map(formatIssue).join('\n'));
    return configWarnings(result.config).map(formatIssue);
  };
  const pin = 'B1:2F:00:9A:C3:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:0E';

  it('a plain-http remoteCAURL without a pin: accepted, with a warning naming the risk', () => {
    assert.deepEqual(warnings(withRemote(0, { remoteCAURL: 'http://kube-ca-cert.c2.example' })), [
      "remotes[0].remoteCAURL: 'http://kube-ca-cert.c2.example' is plain http and remoteCASHA256 is not set: anyone on the path can replace the CA and then read the token sent to remoteAPIURL; use https, or pin the CA with remoteCASHA256",
    ]);
  });

  it('remote access with source mirror: accepted (clusterwire mirror may read the same file), with a warning that the daemon does not read it', () => {
    const daemonOnly = "is not read by the daemon with source 'mirror' (the local clusterwire mirror reads the remote): keep the remote's credentials in the mirror's config and Secret only, and out of the daemon's";
    assert.deepEqual(warnings(withRemote(1, { source: 'mirror' })), [`remotes[1].kubeConfigPath: ${daemonOnly}`]);
    assert.deepEqual(warnings(withRemote(0, { source: 'mirror' })), [`remotes[0].remoteSATokenPath: ${daemonOnly}`]);
    assert.deepEqual(warnings(withRemote(1, { source: 'mirror' }, ['kubeConfigPath'])), [], 'none without access');
  });

  it('none for https, for a pinned http CA, or for kubeconfig access', () => {
    assert.deepEqual(warnings(validConfig()), []);
    assert.deepEqual(warnings(withRemote(0, { remoteCAURL: 'http://kube-ca-cert.c2.example', remoteCASHA256: pin })), []);
    assert.deepEqual(warnings(withRemote(1, { remoteCAURL: 'http://kube-ca-cert.c3.example' })), []);
  });
});

describe('loadClustersConfig', () => {
  it('reads and parses the file', async () => {
    const config = await loadClustersConfig('/etc/clusters.json', () => Promise.resolve(JSON.stringify(validConfig())));
    assert.deepEqual(
      config.remotes.map((remote) => remote.deviceName),
      ['wireguard.c2', 'wireguard.c3'],
    );
  });

  it('bad JSON syntax is one clear problem with its position', async () => {
    const error = await loadClustersConfig('/etc/clusters.json', () => Promise.resolve('{\n  "local": {"name": "c1"}\n  "remotes": []\n}')).then(
      () => assert.fail('expected ClustersConfigError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ClustersConfigError);
    assert.equal(error.issues.length, 1);
    assert.match(error.message, /^clusters config \/etc\/clusters\.json has 1 problem:\n {2}not valid JSON: .*line 3 column 3/);
  });

  it('an empty file is not valid JSON', () => {
    assert.deepEqual(problems(undefined), ['required (an object)']);
    const result = parseClustersConfigText('');
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : formatIssue(result.issues[0] ?? { path: '', message: '' }), /^not valid JSON: Unexpected end of JSON input$/);
  });

  it('an unreadable file names the file and the cause', async () => {
    const cause = Object.assign(new Error("ENOENT: no such file or directory, open '/nope.json'"), { code: 'ENOENT' });
    await assert.rejects(
      loadClustersConfig('/nope.json', () => Promise.reject(cause)),
      (error: unknown) =>
        error instanceof ClustersConfigError &&
        error.cause === cause &&
        error.message === "clusters config /nope.json has 1 problem:\n  cannot read the file: ENOENT: no such file or directory, open '/nope.json'",
    );
  });

  it('lists every problem in the error message', async () => {
    const json = JSON.stringify(withRemote(1, { name: 'c1', wgListenPort: 51821 }));
    await assert.rejects(loadClustersConfig('c.json', () => Promise.resolve(json)), {
      name: 'ClustersConfigError',
      message:
        "clusters config c.json has 2 problems:\n  remotes[1].name: 'c1' is the local cluster's name (local.name); a remote must be another cluster\n  remotes[1].wgListenPort: 51821 is already used by remotes[0]",
    });
  });
});
