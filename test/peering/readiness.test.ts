import { test } from 'node:test';
import assert from 'node:assert/strict';
import { health, PASS_DEADLINE_MS, readiness, WATCH_GRACE_MS } from '../../src/peering/readiness.ts';
import { remoteStatus } from './status-fixtures.ts';

const now = 1_000_000;

const cases = [
  { name: 'synced and connected', status: remoteStatus(), ready: true },
  { name: 'device not initialised', status: remoteStatus({ deviceReady: false }), ready: false, reason: /device wireguard.c2 is not initialised/ },
  { name: 'never listed', status: remoteStatus({ watch: { synced: false, lastError: 'connect ECONNREFUSED' } }), ready: false, reason: /no first list.*ECONNREFUSED/ },
  { name: 'listed but never applied', status: remoteStatus({ lastSyncAt: null, lastSyncError: 'wg failed' }), ready: false, reason: /not applied.*wg failed/ },
  { name: 'disconnected within grace', status: remoteStatus({ watch: { state: 'disconnected', disconnectedAt: now - WATCH_GRACE_MS + 1 } }), ready: true },
  { name: 'disconnected past grace', status: remoteStatus({ watch: { state: 'disconnected', disconnectedAt: now - WATCH_GRACE_MS - 1, lastError: 'HTTP 503' } }), ready: false, reason: /watch disconnected for 60s: HTTP 503/ },
  { name: 'reconnecting after grace', status: remoteStatus({ watch: { state: 'starting', disconnectedAt: now - 2 * WATCH_GRACE_MS } }), ready: false, reason: /watch disconnected for 120s/ },
];

/** Source mirror, with the mirror judged `state` since `notFreshSince` by this node's clock. */
function onMirror(state: 'fresh' | 'stale' | 'down' | 'unknown', notFreshSince: number | null) {
  const reason = state === 'fresh' ? null : 'the mirror Lease is released: no replica leads';
  const mirror = { state, reason, holder: null, remote: null, notFreshSince, readAt: now, lastError: null };
  return remoteStatus({ source: { kind: 'mirror', namespace: 'clusterwire', slices: 1, ignoredEntries: 0, mirror } });
}

cases.push(
  { name: 'source mirror, fresh', status: onMirror('fresh', null), ready: true },
  { name: 'source mirror, down within grace', status: onMirror('down', now - WATCH_GRACE_MS), ready: true },
  { name: 'source mirror, down past grace: peers kept, not ready', status: onMirror('down', now - WATCH_GRACE_MS - 1_000), ready: false, reason: /the mirror is down for 61s \(peers kept as they are\): the mirror Lease is released/ },
  { name: 'source mirror, stale past grace', status: onMirror('stale', now - 2 * WATCH_GRACE_MS), ready: false, reason: /the mirror is stale for 120s/ },
);

for (const c of cases) {
  test(`readiness: ${c.name}`, () => {
    const verdict = readiness([c.status], now);
    assert.equal(verdict.ok, c.ready);
    if (c.reason) assert.match(verdict.reasons['c2'] ?? '', c.reason);
    else assert.deepEqual(verdict.reasons, {});
  });
}

test('readiness: one bad remote makes the whole daemon not ready, naming only it', () => {
  const verdict = readiness([remoteStatus({ remote: 'c2' }), remoteStatus({ remote: 'c3', watch: { synced: false } })], now);
  assert.equal(verdict.ok, false);
  assert.deepEqual(Object.keys(verdict.reasons), ['c3']);
});

test('health only looks at devices and stuck passes, not at watches', () => {
  assert.equal(health([remoteStatus({ watch: { synced: false, state: 'disconnected' } })], now).ok, true);
  assert.equal(health([remoteStatus(), remoteStatus({ remote: 'c3', deviceReady: false })], now).ok, false);
});

test('a pass past its deadline fails health and readiness, naming the remote; a running pass within it does not', () => {
  const within = remoteStatus({ passStartedAt: now - PASS_DEADLINE_MS });
  const past = remoteStatus({ remote: 'c3', passStartedAt: now - PASS_DEADLINE_MS - 1_000 });
  const reason = 'a pass has been running for 181s, past its deadline of 180s: a command or the device is not answering';
  assert.deepEqual(health([within, past], now), { ok: false, reasons: { c3: reason } });
  assert.deepEqual(readiness([within, past], now), { ok: false, reasons: { c3: reason } });
  assert.equal(health([remoteStatus({ passStartedAt: now - 5_000 })], now, 4_000).ok, false, 'the deadline can be given');
});

test('readiness: the grace for a disconnected watch can be set (-ready-watch-grace)', () => {
  const status = remoteStatus({ watch: { state: 'disconnected', disconnectedAt: now - 5_000 } });
  assert.equal(readiness([status], now, 10_000).ok, true);
  assert.equal(readiness([status], now, 2_000).ok, false);
});
