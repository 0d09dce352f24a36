import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handshakeAge, renderDeviceMetrics as renderPieces, type HandshakeAge } from '../../src/server/device-metrics.ts';
import type { ObservedDevice } from '../../src/wireguard/types.ts';
import { parsePrometheusText, type Sample } from '../support/prometheus-text.ts';
import { SEMAPHORE_FAMILIES, semaphoreDeviceSeries, seriesKey } from './semaphore-series.ts';

const NOW = 1_700_000_000;
const renderDeviceMetrics = (...args: Parameters<typeof renderPieces>) => [...renderPieces(...args)].join('');

const device: ObservedDevice = {
  name: 'wireguard.c2',
  publicKey: 'DEVKEY=',
  listenPort: 51821,
  peers: [
    { publicKey: 'PEER1=', endpoint: '198.18.0.2:51821', allowedIPs: ['10.4.1.0/24', 'fd00:4:0:1::/64'], persistentKeepaliveSeconds: 25, lastHandshakeSeconds: NOW - 10, receiveBytes: 1234, transmitBytes: 5678 },
    { publicKey: 'PEER2=', endpoint: null, allowedIPs: ['10.4.2.0/24'], persistentKeepaliveSeconds: 25, lastHandshakeSeconds: 0, receiveBytes: 0, transmitBytes: 0 },
    { publicKey: 'PEER3=', endpoint: '[fd00:18::3]:51821', allowedIPs: [], persistentKeepaliveSeconds: 0, lastHandshakeSeconds: NOW - 400, receiveBytes: 2 ** 40, transmitBytes: 1 },
  ],
};

const keyed = (samples: Sample[]) => samples.map((s) => `${seriesKey(s)} ${s.value}`).sort();
const semaphoreNames = new Set(SEMAPHORE_FAMILIES.map((f) => f.name));

test('full: exactly the series semaphore-wireguard\'s collector emits for the same device', () => {
  const { samples } = parsePrometheusText(renderDeviceMetrics([device], 'full', NOW));
  const expected = semaphoreDeviceSeries({
    Name: device.name,
    PublicKey: device.publicKey ?? '',
    Peers: device.peers.map((p) => ({
      PublicKey: p.publicKey,
      Endpoint: p.endpoint,
      AllowedIPs: p.allowedIPs,
      ReceiveBytes: p.receiveBytes,
      TransmitBytes: p.transmitBytes,
      LastHandshakeUnix: p.lastHandshakeSeconds === 0 ? null : p.lastHandshakeSeconds,
    })),
  });
  assert.deepEqual(keyed(samples.filter((s) => semaphoreNames.has(s.name))), keyed(expected));
});

test('each family is one block: HELP, TYPE, then all its samples', () => {
  const text = renderDeviceMetrics([device, { ...device, name: 'wireguard.c3' }], 'full', NOW);
  const seen = new Set<string>();
  let current = '';
  for (const line of text.trimEnd().split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) {
      current = type[1] ?? '';
      assert.ok(!seen.has(current), `${current} has a second block`);
      seen.add(current);
    } else if (!line.startsWith('#')) {
      assert.equal(line.slice(0, line.indexOf('{')), current, `sample outside its family block: ${line}`);
    }
  }
  assert.equal(seen.size, 7);
});

test('label values with hostile characters are escaped and read back unchanged', () => {
  const hostile = 'a"b\\c\nd}e,f="g" 1\n# HELP x';
  const d: ObservedDevice = {
    name: `wg${hostile}`,
    publicKey: `key${hostile}`,
    listenPort: 1,
    peers: [{ publicKey: `peer${hostile}`, endpoint: `[fe80::1%${hostile}]:1`, allowedIPs: [`10.0.0.0/8${hostile}`], persistentKeepaliveSeconds: 0, lastHandshakeSeconds: 0, receiveBytes: 1, transmitBytes: 2 }],
  };
  const text = renderDeviceMetrics([d], 'full', NOW);
  const { samples } = parsePrometheusText(text);
  assert.equal(text.split('\n').filter((l) => l.startsWith('# HELP x')).length, 0, 'a value cannot start a line');
  const info = samples.find((s) => s.name === 'semaphore_wg_peer_info');
  assert.deepEqual(info?.labels, { device: d.name, public_key: `peer${hostile}`, endpoint: `[fe80::1%${hostile}]:1` });
  assert.equal(samples.find((s) => s.name === 'semaphore_wg_device_info')?.labels.public_key, `key${hostile}`);
  assert.equal(samples.find((s) => s.name === 'semaphore_wg_peer_allowed_ips_info')?.labels.allowed_ips, `10.0.0.0/8${hostile}`);
  assert.equal(samples.filter((s) => s.labels.device === d.name).length, samples.length);
});

test('handshake age buckets: never, under 3 minutes, 3 to 10 minutes, 10 minutes or more', () => {
  const cases: [last: number, age: HandshakeAge][] = [
    [0, 'never'],
    [NOW, 'under_3m'],
    [NOW + 5, 'under_3m'], // a clock a little ahead of ours
    [NOW - 179, 'under_3m'],
    [NOW - 180, '3m_to_10m'],
    [NOW - 599, '3m_to_10m'],
    [NOW - 600, 'over_10m'],
    [1, 'over_10m'],
  ];
  for (const [last, age] of cases) assert.equal(handshakeAge(last, NOW), age, `last handshake ${last}`);
});

test('aggregate: per device, peers by handshake age (every bucket, zeros too), no per-peer series', () => {
  const { samples } = parsePrometheusText(renderDeviceMetrics([device, { ...device, name: 'wireguard.c3', peers: [] }], 'aggregate', NOW));
  assert.deepEqual([...new Set(samples.map((s) => s.name))], ['semaphore_wg_device_info', 'clusterwire_peers_by_handshake_age']);
  const ages = samples.filter((s) => s.name === 'clusterwire_peers_by_handshake_age').map((s) => `${s.labels.device} ${s.labels.age} ${s.value}`);
  assert.deepEqual(ages, [
    'wireguard.c2 never 1', 'wireguard.c2 under_3m 1', 'wireguard.c2 3m_to_10m 1', 'wireguard.c2 over_10m 0',
    'wireguard.c3 never 0', 'wireguard.c3 under_3m 0', 'wireguard.c3 3m_to_10m 0', 'wireguard.c3 over_10m 0',
  ]);
});

test('full also has the handshake-age counts; off has only the device series', () => {
  const full = parsePrometheusText(renderDeviceMetrics([device], 'full', NOW)).samples;
  assert.equal(full.filter((s) => s.name === 'clusterwire_peers_by_handshake_age').length, 4);
  const off = parsePrometheusText(renderDeviceMetrics([device], 'off', NOW));
  assert.deepEqual(off.samples.map((s) => s.name), ['semaphore_wg_device_info']);
  assert.deepEqual([...off.types.keys()], ['semaphore_wg_device_info']);
});
