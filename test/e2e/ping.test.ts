import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePingOutput, pingArguments } from '../../lab/ping.ts';

const summary = (sent: number, received: number, rtt?: string) =>
  `PING 10.4.1.10 (10.4.1.10) from 10.2.1.10 : 56(84) bytes of data.\n\n--- 10.4.1.10 ping statistics ---\n` +
  `${sent} packets transmitted, ${received} received, ${100 - (100 * received) / sent}% packet loss, time 201ms\n` +
  (rtt ? `rtt min/avg/max/mdev = ${rtt} ms\n` : '');

describe('ping', () => {
  it('pings from the pod address, quietly, with a count and a reply timeout', () => {
    assert.deepEqual(pingArguments('10.2.1.10', '10.4.1.10', { count: 3, timeoutSeconds: 1 }), [
      '-n', '-q', '-c', '3', '-i', '0.2', '-W', '1', '-I', '10.2.1.10', '10.4.1.10',
    ]);
  });

  it('pings an IPv6 pod address with ping -6', () => {
    assert.deepEqual(pingArguments('fd02:0:0:1::10', 'fd04:0:0:1::10'), [
      '-6', '-n', '-q', '-c', '1', '-i', '0.2', '-W', '2', '-I', 'fd02:0:0:1::10', 'fd04:0:0:1::10',
    ]);
  });

  it('reads the summary: ok only when every packet came back, average RTT when any did', () => {
    const cases: Array<[string, { ok: boolean; rttMs: number | null }]> = [
      [summary(1, 1, '0.595/0.595/0.595/0.000'), { ok: true, rttMs: 0.595 }],
      [summary(3, 2, '0.4/1.25/2.1/0.3'), { ok: false, rttMs: 1.25 }],
      [summary(2, 0), { ok: false, rttMs: null }],
      ['1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms\n', { ok: false, rttMs: null }],
      ['', { ok: false, rttMs: null }],
    ];
    for (const [text, expected] of cases) assert.deepEqual(parsePingOutput(text), expected, text);
  });
});
