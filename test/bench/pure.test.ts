/** The bench's pure parts: statistics, parsers of /proc, Prometheus and UAPI text, arguments, naming. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_OPTIONS, parseBenchArgs } from '../../bench/args.ts';
import { benchClustersConfig, DEVICE, ENDPOINT_ANNOTATION, PUBLIC_KEY_ANNOTATION, remoteNodeObject, remoteNodeSpec } from '../../bench/clusters.ts';
import { parseLogLine } from '../../bench/daemon-process.ts';
import { counterScript } from '../../bench/exec-counter.ts';
import { pickLabOctet, usedLabOctets } from '../../bench/network.ts';
import { cpuSeconds, parseRssBytes, parseSchedstatSeconds } from '../../bench/proc.ts';
import { parseSamples, sumOf, valueOf } from '../../bench/prom-text.ts';
import { seededRandom } from '../../bench/random.ts';
import { planChange } from '../../bench/scenarios/propagation.ts';
import { percentile, ratios, summarize } from '../../bench/stats.ts';
import { countPeers, hasPeer, peerEndpoint } from '../../bench/uapi-text.ts';
import { parseClustersConfig } from '../../src/config/parse.ts';
import { projectNode } from '../../src/kube/node-projection.ts';
import { desiredPeers } from '../../src/peering/desired-peers.ts';
import { generatePrivateKey, keyToHex, publicKeyOf } from '../../src/wireguard/keys.ts';
import { peeringInput } from '../support/peering-input.ts';

describe('stats', () => {
  const cases = [
    { values: [3], median: 3, min: 3, max: 3 },
    { values: [5, 1, 3], median: 3, min: 1, max: 5 },
    { values: [4, 1, 3, 2], median: 2.5, min: 1, max: 4 },
  ];
  for (const c of cases) {
    it(`summarizes ${JSON.stringify(c.values)}`, () => {
      assert.deepEqual(summarize(c.values), { median: c.median, min: c.min, max: c.max, values: c.values });
    });
  }
  it('refuses to summarize nothing', () => assert.throws(() => summarize([]), /no values/));

  it('takes nearest-rank percentiles: always a measured value', () => {
    const values = Array.from({ length: 200 }, (_, i) => 200 - i); // 200..1, unsorted on purpose
    assert.equal(percentile(values, 50), 100);
    assert.equal(percentile(values, 99), 198);
    assert.equal(percentile(values, 100), 200);
    assert.equal(percentile([7, 9], 50), 7);
    assert.throws(() => percentile(values, 0), /\(0, 100\]/);
  });

  it('divides run by run', () => {
    assert.deepEqual(ratios([2, 9], [1, 3]), [2, 3]);
    assert.throws(() => ratios([1], [1, 2]), /1 values to 2/);
  });
});

describe('/proc parsing', () => {
  it('reads a thread\'s run time from schedstat, in seconds', () => {
    assert.equal(parseSchedstatSeconds('1234567890 5000 42\n'), 1.23456789);
    assert.throws(() => parseSchedstatSeconds(''), /run time/);
  });
  it('sums the run time of every thread of a live process, in nanoseconds, not 10 ms ticks', async () => {
    const before = await cpuSeconds(process.pid);
    const started = process.cpuUsage();
    for (let spin = performance.now(); performance.now() - spin < 30; );
    const used = process.cpuUsage(started);
    const measured = (await cpuSeconds(process.pid)) - before;
    assert.ok(measured >= (used.user + used.system) / 1e6 - 0.005, `${measured} s measured for ${(used.user + used.system) / 1e6} s used`);
    assert.notEqual(Math.round(measured * 1e6) % 10_000, 0, 'finer than a 10 ms tick');
  });
  it('reads VmRSS in bytes', () => {
    assert.equal(parseRssBytes('Name:\tnode\nVmHWM:\t  999 kB\nVmRSS:\t  102400 kB\nRssAnon:\t 1 kB\n'), 100 * 1024 * 1024);
    assert.throws(() => parseRssBytes('Name:\tzombie\n'), /VmRSS/);
  });
});

describe('Prometheus text', () => {
  const text = [
    '# HELP semaphore_wg_sync_peers_total Peer syncs.',
    '# TYPE semaphore_wg_sync_peers_total counter',
    'semaphore_wg_sync_peers_total{device="wireguard.c2",success="true"} 7',
    'semaphore_wg_sync_peers_total{device="wireguard.c2",success="false"} 2',
    'nodejs_heap_size_used_bytes 23456789',
    'semaphore_wg_peer_info{device="d",public_key="k=",endpoint="[fd00::1]:51820"} 1',
    'x_with_escape{a="say \\"hi\\""} 1.5e3',
    '',
  ].join('\n');
  const samples = parseSamples(text);

  it('sums by name and label subset', () => {
    assert.equal(sumOf(samples, 'semaphore_wg_sync_peers_total'), 9);
    assert.equal(sumOf(samples, 'semaphore_wg_sync_peers_total', { success: 'true' }), 7);
    assert.equal(sumOf(samples, 'never_incremented_total'), 0);
  });
  it('reads labels with colons, brackets and escaped quotes', () => {
    assert.equal(samples.find((s) => s.name === 'semaphore_wg_peer_info')?.labels.endpoint, '[fd00::1]:51820');
    assert.deepEqual(samples.find((s) => s.name === 'x_with_escape'), { name: 'x_with_escape', labels: { a: 'say "hi"' }, value: 1500 });
  });
  it('valueOf throws for a metric that is not there', () => {
    assert.equal(valueOf(samples, 'nodejs_heap_size_used_bytes'), 23456789);
    assert.throws(() => valueOf(samples, 'nodejs_heap_size_usd_bytes'), /not exported/);
  });
  it('rejects a line that is not a sample', () => assert.throws(() => parseSamples('what is this\n'), /not a Prometheus sample/));
});

describe('UAPI get text', () => {
  const k1 = keyToHex(publicKeyOf(generatePrivateKey()));
  const k2 = keyToHex(publicKeyOf(generatePrivateKey()));
  const text = [
    'private_key=' + '0'.repeat(64),
    'listen_port=51820',
    `public_key=${k1}`,
    'endpoint=198.19.0.1:51820',
    'allowed_ip=10.128.0.0/24',
    `public_key=${k2}`,
    'allowed_ip=10.128.1.0/24',
    'errno=0',
    '',
    '',
  ].join('\n');

  it('counts peers (the private key line is not one)', () => {
    assert.equal(countPeers(text), 2);
    assert.equal(countPeers('private_key=00\nlisten_port=1\nerrno=0\n\n'), 0);
  });
  it('finds a peer and its endpoint without reading into the next peer', () => {
    assert.equal(hasPeer(text, k1), true);
    assert.equal(peerEndpoint(text, k1), '198.19.0.1:51820');
    assert.equal(peerEndpoint(text, k2), null);
    assert.equal(peerEndpoint(text, 'ab'.repeat(32)), undefined);
    assert.equal(hasPeer(text, k1.slice(0, 60)), false, 'a key prefix is not a peer');
  });
});

describe('bench arguments', () => {
  it('defaults to the issue: 1,000/5,000/10,000 nodes, 5 runs, 60 s churn, 200 changes', () => {
    assert.deepEqual(parseBenchArgs([]), DEFAULT_OPTIONS);
    assert.deepEqual(DEFAULT_OPTIONS.nodes, [1000, 5000, 10000]);
  });
  it('reads both spellings and lists', () => {
    const options = parseBenchArgs(['--nodes', '1000', '--runs=3', '--churn-seconds', '5', '--changes=20', '--settle-seconds', '1', '--out', '/tmp/x']);
    assert.deepEqual(options, { nodes: [1000], runs: 3, churnSeconds: 5, changes: 20, settleSeconds: 1, outDir: '/tmp/x' });
    assert.deepEqual(parseBenchArgs(['--nodes=1_000,5000']).nodes, [1000, 5000]);
  });
  const bad: [string[], RegExp][] = [
    [['--runs', '0'], /--runs needs a positive integer/],
    [['--runs'], /--runs needs a positive integer/],
    [['--nodes', '1000,abc'], /--nodes needs a positive integer/],
    [['--nodes', '1000,1000'], /twice/],
    [['--node', '5'], /unknown option "--node"/],
    [['--out='], /--out needs a directory/],
  ];
  for (const [argv, error] of bad) it(`rejects ${argv.join(' ')}`, () => assert.throws(() => parseBenchArgs(argv), error));
});

describe('bench network naming', () => {
  it('finds the lab /24s in use from ip -j address', () => {
    const json = JSON.stringify([
      { ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.0.2.2' }, { family: 'inet6', local: 'fd00::2' }] },
      { ifname: 'br', addr_info: [{ family: 'inet', local: '198.18.70.1' }] },
      { ifname: 'lo' },
    ]);
    assert.deepEqual([...usedLabOctets(json)], [70]);
  });
  it('picks a free octet, starting from the pid', () => {
    assert.equal(pickLabOctet(new Set(), 6), 70);
    assert.equal(pickLabOctet(new Set([70, 71]), 6), 72);
    const all = new Set(Array.from({ length: 190 }, (_, i) => 64 + i));
    assert.throws(() => pickLabOctet(all, 1), /no free/);
  });
  it('writes wrappers that count and exec the real program, refusing unquotable paths', () => {
    assert.equal(counterScript('/usr/bin/wg', '/tmp/b/counts/wg'), `#!/bin/sh\nprintf x >> '/tmp/b/counts/wg'\nexec '/usr/bin/wg' "$@"\n`);
    assert.throws(() => counterScript("/tmp/it's/wg", '/tmp/c'), /single-quoted/);
  });
});

describe('bench clusters', () => {
  it('writes a clusters config the daemon accepts, with the default device name', () => {
    const result = parseClustersConfig(benchClustersConfig('/tmp/local.kubeconfig', '/tmp/remote.kubeconfig'));
    assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
    assert.equal(result.config.remotes[0]?.deviceName, DEVICE);
  });
  it('makes remote nodes that are valid peers, distinct and inside the remote subnet', () => {
    const specs = [0, 1, 9999].map((i) => remoteNodeSpec(i, publicKeyOf(generatePrivateKey())));
    assert.deepEqual(specs.map((s) => s.podCIDR), ['10.128.0.0/24', '10.128.1.0/24', '10.167.15.0/24']);
    const nodes = specs.map((spec) => projectNode(remoteNodeObject(spec), 'c1', 'wireguard.semaphore.uw.io'));
    const decision = desiredPeers(peeringInput({ podSubnets: ['10.128.0.0/9'], nodes: nodes.filter((n) => n !== null) }));
    assert.deepEqual(decision.skipped, []);
    assert.deepEqual(decision.peers.map((p) => p.endpoint), specs.map((s) => s.endpoint));
    assert.ok(JSON.stringify(remoteNodeObject(specs[0]!)).length > 10_000, 'a realistic Node is ~15 KB');
  });
});

describe('propagation changes', () => {
  const node = remoteNodeSpec(3, publicKeyOf(generatePrivateKey()));
  const device = (peers: { key: string; endpoint: string }[]) =>
    ['private_key=00', 'listen_port=51820', ...peers.flatMap((p) => [`public_key=${keyToHex(p.key)}`, `endpoint=${p.endpoint}`]), 'errno=0', '', ''].join('\n');

  it('even changes move the endpoint to a new port; seen only once the device has it', () => {
    const change = planChange(node, 0, generatePrivateKey);
    assert.equal(change.kind, 'endpoint');
    const endpoint = change.annotations[ENDPOINT_ANNOTATION];
    assert.ok(endpoint && endpoint !== node.endpoint && endpoint.startsWith(`${node.internalIP}:`));
    assert.equal(change.updated.endpoint, endpoint);
    assert.equal(change.seen(device([{ key: node.publicKey, endpoint: node.endpoint }])), false);
    assert.equal(change.seen(device([{ key: node.publicKey, endpoint }])), true);
  });
  it('never writes the endpoint a node already has, whatever its port', () => {
    for (const port of [20000, 51820, 59999]) {
      for (const index of [0, 2, 39998, 79998]) {
        const at = { ...node, endpoint: `${node.internalIP}:${port}` };
        assert.notEqual(planChange(at, index, generatePrivateKey).annotations[ENDPOINT_ANNOTATION], at.endpoint);
      }
    }
  });
  it('odd changes rotate the key; seen when the new peer is there and the old one gone', () => {
    const change = planChange(node, 1, generatePrivateKey);
    assert.equal(change.kind, 'key');
    const key = change.annotations[PUBLIC_KEY_ANNOTATION] as string;
    assert.notEqual(key, node.publicKey);
    assert.equal(change.seen(device([{ key: node.publicKey, endpoint: node.endpoint }, { key, endpoint: node.endpoint }])), false);
    assert.equal(change.seen(device([{ key, endpoint: node.endpoint }])), true);
  });
  it('picks the same nodes in every session for a seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const first = Array.from({ length: 5 }, () => a());
    assert.deepEqual(first, Array.from({ length: 5 }, () => b()));
    assert.ok(first.every((x) => x >= 0 && x < 1));
    assert.notDeepEqual(first, Array.from({ length: 5 }, seededRandom(43)));
  });
});

describe('daemon log lines', () => {
  it('reads pino lines with ISO or epoch times and skips anything else', () => {
    assert.deepEqual(parseLogLine('{"level":"info","time":"2025-01-06T08:00:00.123Z","name":"clusterwire","msg":"applied peer changes","added":1}'), {
      time: Date.parse('2025-01-06T08:00:00.123Z'),
      level: 'info',
      msg: 'applied peer changes',
      fields: { level: 'info', time: '2025-01-06T08:00:00.123Z', name: 'clusterwire', msg: 'applied peer changes', added: 1 },
    });
    assert.equal(parseLogLine('{"level":30,"time":1736150400123,"msg":"x"}')?.time, 1736150400123);
    for (const line of ['not json', '[]', '{"msg":"no time"}', '{"time":"yesterday","msg":"x"}']) assert.equal(parseLogLine(line), null, line);
  });
});
