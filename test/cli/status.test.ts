import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { parseCommandLine } from '../../src/cli/parse-command-line.ts';
import { statusCommand, statusURL, type StatusOptions } from '../../src/cli/status.ts';
import { formatStatusPeers, formatStatusSummary, handshakeSummary, SUMMARY_SKIPPED_SHOWN } from '../../src/cli/status-table.ts';
import { UsageError } from '../../src/cli/usage-error.ts';
import type { SkippedNode } from '../../src/peering/remote-status.ts';
import { buildHttpServer } from '../../src/server/http-server.ts';
import type { DeviceReading } from '../../src/server/device-snapshot.ts';
import { buildStatusReport, type RemoteReport, type ReportedPeer, type StatusReport } from '../../src/server/status-report.ts';
import { remoteStatus } from '../peering/status-fixtures.ts';

const now = Date.UTC(2026, 0, 1);
const nowSeconds = now / 1000;

function peer(node: string | null, publicKey: string, handshakeAgoSeconds: number | null, extra: Partial<ReportedPeer> = {}): ReportedPeer {
  return {
    node,
    publicKey,
    endpoint: '198.18.0.3:51821',
    allowedIPs: ['10.4.1.0/24'],
    persistentKeepaliveSeconds: 25,
    lastHandshakeSeconds: handshakeAgoSeconds === null ? 0 : nowSeconds - handshakeAgoSeconds,
    receiveBytes: 2048,
    transmitBytes: 10,
    ...extra,
  };
}

/** A remote as /status reports it (buildStatusReport): the loop's status, whose peers name their nodes, and the device. */
function remote(overrides: Parameters<typeof remoteStatus>[0], devicePeers: ReportedPeer[] | null, deviceError = 'no such device'): RemoteReport {
  const peerNodes = new Map((devicePeers ?? []).flatMap((p) => (p.node === null ? [] : [[p.publicKey, p.node] as const])));
  const status = remoteStatus({ ...overrides, peerNodes });
  const reading: DeviceReading =
    devicePeers === null ? { ok: false, error: deviceError } : { ok: true, device: { name: status.device, publicKey: status.publicKey, listenPort: status.listenPort, peers: devicePeers.map(({ node: _node, ...observed }) => observed) } };
  const [built] = buildStatusReport([status], { readAt: now, devices: new Map([[status.device, reading]]) }, now).remotes;
  assert.ok(built);
  assert.deepEqual(built.devicePeers, devicePeers, 'the fixture is what buildStatusReport makes');
  return built;
}

const report = (...remotes: RemoteReport[]): StatusReport => ({ generatedAt: new Date(now).toISOString(), devicesReadAt: new Date(now - 500).toISOString(), remotes });

const skipped: SkippedNode[] = [
  { node: 'n9', reason: 'bad-public-key', peered: false, detail: 'pubKey annotation is not a base64 WireGuard key of 32 bytes' },
  { node: 'n7', reason: 'pod-cidr-outside-subnets', peered: true, detail: 'pod CIDR 10.9.0.0/24 is not inside the declared pod subnets 10.4.0.0/16; peered with 10.4.7.0/24' },
];

const twoRemotes = report(
  remote({ lastSyncAt: now - 3000, peers: { desired: 3, applied: 3 }, skipped, watch: { lastEventAt: now - 1000 } }, [
    peer('n2', 'KEY2=', 12, { endpoint: null, allowedIPs: ['10.4.2.0/24', 'fd00:4:0:2::/64'], receiveBytes: 3 * 1024 * 1024, transmitBytes: 1536 }),
    peer(null, 'HAND=', null, { allowedIPs: [] }),
    peer('n1', 'KEY1=', 400),
  ]),
  remote({ remote: 'c3', device: 'wireguard.c3', deviceReady: false, lastSyncAt: null, peers: { desired: 0, applied: 0 }, watch: { state: 'disconnected', synced: false, lastError: 'connect ECONNREFUSED', lastEventAt: null } }, null),
);

describe('clusterwire status: the summary (the default)', () => {
  test('per remote: device, key, watch, last sync, counts, peers by handshake age, skipped nodes by reason', () => {
    assert.equal(
      formatStatusSummary(twoRemotes, now),
      [
        'remote c2  device wireguard.c2  port 51820  up',
        '  public key  pub',
        "  source      the remote's Nodes",
        '  watch       connected; last event 1s ago',
        '  last sync   3s ago',
        '  peers       3 applied / 3 desired; 1 node(s) skipped, 1 partly',
        '  handshakes  1 under 3m, 1 3m to 10m, 1 never (3 peers on the device)',
        '  skipped     bad-public-key 1, pod-cidr-outside-subnets 1',
        '    n9: bad-public-key: pubKey annotation is not a base64 WireGuard key of 32 bytes',
        '    n7: partly skipped, pod-cidr-outside-subnets: pod CIDR 10.9.0.0/24 is not inside the declared pod subnets 10.4.0.0/16; peered with 10.4.7.0/24',
        '',
        'remote c3  device wireguard.c3  port 51820  NOT INITIALISED',
        '  public key  pub',
        "  source      the remote's Nodes",
        '  watch       disconnected (connect ECONNREFUSED), not listed yet; last event never',
        '  last sync   never',
        '  peers       0 applied / 0 desired; 0 node(s) skipped',
        '  device      cannot be read: no such device',
        '',
      ].join('\n'),
    );
  });

  test('5,000 peers and 5,000 skipped nodes: still a few lines', () => {
    const peers = Array.from({ length: 5000 }, (_, i) => peer(`n${i}`, `KEY${i}=`, i < 4990 ? 30 : i < 4995 ? 700 : null));
    const many = Array.from({ length: 5000 }, (_, i): SkippedNode => ({ node: `x${i}`, reason: i % 5 === 0 ? 'no-pod-cidr' : 'missing-annotation', peered: false, detail: 'd' }));
    const text = formatStatusSummary(report(remote({ peers: { desired: 5000, applied: 5000 }, skipped: many }, peers)), now);
    const lines = text.trimEnd().split('\n');
    assert.ok(lines.length <= 8 + SUMMARY_SKIPPED_SHOWN + 1, `${lines.length} lines:\n${text}`);
    assert.ok(lines.includes('  handshakes  4990 under 3m, 5 over 10m, 5 never (5000 peers on the device)'));
    assert.ok(lines.includes('  skipped     missing-annotation 4000, no-pod-cidr 1000'), 'reasons by count, largest first');
    assert.equal(lines.at(-1), `    ... ${5000 - SUMMARY_SKIPPED_SHOWN} more: clusterwire status --peers lists them all`);
  });

  test("each remote's source: the remote's Nodes, or PeerSlices with the publisher's lease", () => {
    const slices = { kind: 'slices', namespace: 'clusterwire', slices: 2, ignoredEntries: 0, publisher: { holder: 'mirror-a', renewedAt: now - 4000, readAt: now - 1000, lastError: null } } as const;
    const report: StatusReport = { generatedAt: new Date(now).toISOString(), devicesReadAt: new Date(now).toISOString(), remotes: [remote({}, []), remote({ remote: 'c3', device: 'wireguard.c3', source: slices }, [])] };
    const text = formatStatusSummary(report, now);
    assert.match(text, /remote c2 .*\n(?:.*\n)*? {2}source {6}the remote's Nodes\n/);
    assert.match(text, /remote c3 .*\n(?:.*\n)*? {2}source {6}PeerSlices in clusterwire \(2 slices\); publisher mirror-a, renewed 4s ago\n/);
  });

  test('no remotes', () => {
    assert.equal(formatStatusSummary(report(), now), 'no remote clusters configured\n');
  });
});

describe('clusterwire status --peers: the table', () => {
  test('every peer by node name (keys no node shows last), then every skipped node', () => {
    assert.equal(
      formatStatusPeers(report(...twoRemotes.remotes.slice(0, 1)), now),
      [
        'remote c2  device wireguard.c2  port 51820  up',
        '  public key  pub',
        "  source      the remote's Nodes",
        '  watch       connected; last event 1s ago',
        '  last sync   3s ago',
        '  peers       3 applied / 3 desired; 1 node(s) skipped, 1 partly',
        '  handshakes  1 under 3m, 1 3m to 10m, 1 never (3 peers on the device)',
        '  NODE  PUBLIC KEY  ENDPOINT          ALLOWED IPS                  HANDSHAKE  RX       TX',
        '  n1    KEY1=       198.18.0.3:51821  10.4.1.0/24                  7m ago     2.0 KiB  10 B',
        '  n2    KEY2=       (none)            10.4.2.0/24,fd00:4:0:2::/64  12s ago    3.0 MiB  1.5 KiB',
        '  -     HAND=       198.18.0.3:51821  (none)                       never      2.0 KiB  10 B',
        '  skipped     bad-public-key 1, pod-cidr-outside-subnets 1',
        '    n9: bad-public-key: pubKey annotation is not a base64 WireGuard key of 32 bytes',
        '    n7: partly skipped, pod-cidr-outside-subnets: pod CIDR 10.9.0.0/24 is not inside the declared pod subnets 10.4.0.0/16; peered with 10.4.7.0/24',
        '',
      ].join('\n'),
    );
  });

  test('all 5,000 peers and all skipped nodes are listed', () => {
    const peers = Array.from({ length: 5000 }, (_, i) => peer(`n${String(i).padStart(4, '0')}`, `KEY${i}=`, 30));
    const many = Array.from({ length: 20 }, (_, i): SkippedNode => ({ node: `x${i}`, reason: 'missing-annotation', peered: false, detail: 'd' }));
    const lines = formatStatusPeers(report(remote({ skipped: many }, peers)), now).trimEnd().split('\n');
    assert.equal(lines.filter((line) => /^ {2}n\d{4} /.test(line)).length, 5000);
    assert.equal(lines.filter((line) => /^ {4}x\d+: /.test(line)).length, 20);
    assert.match(lines.find((line) => line.startsWith('  n')) ?? '', /^ {2}n0000 /, 'sorted by node');
  });

  test('a peer from a daemon that does not name nodes yet (no node field) shows -', () => {
    const older = remote({}, [peer('n1', 'OLD=', 5)]);
    delete (older.devicePeers?.[0] as Partial<ReportedPeer>).node;
    const lines = formatStatusPeers(report(older), now).split('\n');
    assert.ok(lines.some((line) => /^ {2}- +OLD= /.test(line)));
  });
});

test('handshakeSummary: the buckets of clusterwire_peers_by_handshake_age, working tunnels first', () => {
  const cases: [ages: (number | null)[], text: string][] = [
    [[], 'no peers on the device'],
    [[0], '1 under 3m (1 peer on the device)'],
    [[179, 180, 599, 600, null], '1 under 3m, 2 3m to 10m, 1 over 10m, 1 never (5 peers on the device)'],
    [[null, null], '2 never (2 peers on the device)'],
  ];
  for (const [ages, text] of cases) assert.equal(handshakeSummary(ages.map((age, i) => peer(`n${i}`, `K${i}=`, age)), now), text, JSON.stringify(ages));
});

describe('status flags', () => {
  const options = (argv: string[]): StatusOptions => {
    const parsed = parseCommandLine(['status', ...argv], {});
    assert.equal(parsed.name, 'status');
    return parsed.options;
  };
  test('-peers is a Go boolean, -o takes text or json', () => {
    assert.deepEqual(options([]), { listenAddress: { host: '', port: 7773 }, peers: false, output: 'text' });
    assert.equal(options(['--peers']).peers, true);
    assert.equal(options(['-peers=false']).peers, false);
    assert.equal(options(['-o', 'json']).output, 'json');
    assert.equal(options(['--o=json']).output, 'json');
    assert.throws(() => options(['-o', 'yaml']), (error: unknown) => error instanceof UsageError && error.message === 'invalid value "yaml" for flag -o: must be one of text, json');
  });
});

test('statusURL asks loopback when the daemon listens everywhere', () => {
  assert.equal(statusURL({ host: '', port: 7773 }), 'http://127.0.0.1:7773/status');
  assert.equal(statusURL({ host: '::', port: 7773 }), 'http://[::1]:7773/status');
  assert.equal(statusURL({ host: '198.18.0.2', port: 80 }), 'http://198.18.0.2:80/status');
});

test('clusterwire status against a live /status: summary, -peers with node names, -o json as served; exit 1 when nothing listens', async (t) => {
  const observed = { publicKey: 'PEER1=', endpoint: '198.18.0.3:51821', allowedIPs: ['10.4.1.0/24'], persistentKeepaliveSeconds: 25, lastHandshakeSeconds: Math.floor(Date.now() / 1000) - 12, receiveBytes: 2048, transmitBytes: 10 };
  const app = buildHttpServer(
    { statuses: () => [remoteStatus({ peerNodes: new Map([['PEER1=', 'c2-node-1']]) })], readDevice: () => Promise.resolve({ name: 'wireguard.c2', publicKey: 'pub', listenPort: 51820, peers: [observed] }) },
    new Registry(),
  );
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const listenAddress = { host: '127.0.0.1', port: (app.server.address() as AddressInfo).port };
  const run = async (peers: boolean, output: 'text' | 'json') => {
    const out = new PassThrough();
    const err = new PassThrough();
    const code = await statusCommand.execute({ listenAddress, peers, output }, { stdout: out, stderr: err });
    return { code, stdout: String(out.read() ?? ''), stderr: String(err.read() ?? '') };
  };

  const summary = await run(false, 'text');
  assert.equal(summary.code, 0);
  assert.match(summary.stdout, /^ {2}handshakes {2}1 under 3m \(1 peer on the device\)$/m);
  assert.doesNotMatch(summary.stdout, /PEER1=/, 'the summary has no peer lines');

  const table = await run(true, 'text');
  assert.match(table.stdout, /^ {2}c2-node-1 +PEER1= +198\.18\.0\.3:51821 +10\.4\.1\.0\/24 +1\d?s ago/m);

  const json = await run(true, 'json');
  const body = JSON.parse(json.stdout) as StatusReport;
  assert.equal(body.remotes[0]?.devicePeers?.[0]?.node, 'c2-node-1');
  assert.equal(body.remotes[0]?.devicePeers?.[0]?.publicKey, 'PEER1=');

  await app.close();
  const down = await run(false, 'text');
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot read http:\/\/127.0.0.1:\d+\/status/);
});
