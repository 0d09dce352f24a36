import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LeaderElector, timingProblem } from '../../src/election/leader-elector.ts';
import { leaseRecordOf, leaseVerdict, microTime, nextRecord, releasedRecord, type LeaseRecord } from '../../src/election/lease-record.ts';
import { FakeLease, FakeLeaseLock } from '../support/fake-lease-lock.ts';
import { ManualClock } from '../support/manual-clock.ts';
import { memoryLogger } from '../support/memory-logger.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const record = (holderIdentity: string, leaseTransitions = 0, leaseDurationSeconds = 15): LeaseRecord => ({
  holderIdentity,
  leaseDurationSeconds,
  acquireTime: microTime(T0),
  renewTime: microTime(T0),
  leaseTransitions,
});

describe('lease records', () => {
  test('leaseVerdict: our own lease is renewed, a released one taken, another holder waited out by our clock', async (t) => {
    const cases: { name: string; record: LeaseRecord; observedAt: number; now: number; want: string }[] = [
      { name: 'ours', record: record('a'), observedAt: 0, now: 99_000, want: 'renew' },
      { name: 'released', record: record(''), observedAt: 0, now: 0, want: 'take' },
      { name: "another's, seen changing 14.9 s ago", record: record('b'), observedAt: 100, now: 15_000, want: 'held' },
      { name: "another's, unchanged for 15 s", record: record('b'), observedAt: 0, now: 15_000, want: 'take' },
      { name: "another's with its own duration", record: record('b', 0, 60), observedAt: 0, now: 59_999, want: 'held' },
      { name: 'no duration', record: record('b', 0, 0), observedAt: 0, now: 0, want: 'take' },
    ];
    for (const c of cases) await t.test(c.name, () => assert.equal(leaseVerdict(c.record, 'a', c.observedAt, c.now), c.want));
  });

  test('nextRecord keeps the acquire time when renewing and counts take-overs', () => {
    const renewed = nextRecord(record('a', 3), 'a', 15, T0 + 2500);
    assert.deepEqual(renewed, { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: microTime(T0), renewTime: '2026-01-01T00:00:02.500000Z', leaseTransitions: 3 });
    assert.deepEqual(nextRecord(record('b', 3), 'a', 15, T0), { ...record('a', 4), acquireTime: microTime(T0) });
    assert.deepEqual(nextRecord(null, 'a', 15, T0), record('a', 0));
    assert.deepEqual(releasedRecord(record('a', 4), T0), { ...record('', 4), leaseDurationSeconds: 1 });
  });

  test('leaseRecordOf reads a Lease, and tolerates missing fields', () => {
    assert.deepEqual(leaseRecordOf({ spec: { ...record('a', 2) } }), record('a', 2));
    assert.deepEqual(leaseRecordOf({ metadata: { name: 'x' } }), { holderIdentity: '', leaseDurationSeconds: 0, acquireTime: null, renewTime: null, leaseTransitions: 0 });
  });

  test("timingProblem applies client-go's checks", () => {
    assert.equal(timingProblem({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }), null);
    assert.match(timingProblem({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }) ?? '', /longer than the renew deadline/);
    assert.match(timingProblem({ leaseDurationMs: 15_000, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 }) ?? '', /1.2 retry periods/);
    assert.match(timingProblem({ leaseDurationMs: 900, renewDeadlineMs: 500, retryPeriodMs: 100 }) ?? '', /at least 1s/);
  });
});

/** Two candidates on one fake lease, with kube-controller-manager's timing, on a manual clock. */
function candidates() {
  const clock = new ManualClock(T0);
  const lease = new FakeLease();
  const make = (identity: string) => {
    const lock = new FakeLeaseLock(lease);
    const events: string[] = [];
    const { logger, lines } = memoryLogger();
    const elector = new LeaderElector({
      lock,
      identity,
      clock,
      logger,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      random: () => 0.5,
      onStartedLeading: () => events.push(`started ${clock.now() - T0}`),
      onStoppedLeading: () => events.push(`stopped ${clock.now() - T0}`),
    });
    return { elector, lock, events, lines };
  };
  /** Moves the clock in 100 ms steps, letting the electors' promises settle at each. */
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100);
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { clock, lease, make, run };
}

describe('leader election on a fake lease', () => {
  test('one of two candidates leads, and renews every retry period', async (t) => {
    const { lease, make, run } = candidates();
    const a = make('a');
    const b = make('b');
    a.elector.start();
    await run(100);
    b.elector.start();
    t.after(() => Promise.all([a.elector.stop(), b.elector.stop()]));
    await run(20_000);
    assert.deepEqual([a.elector.isLeader(), b.elector.isLeader()], [true, false]);
    assert.deepEqual(a.events, ['started 100']);
    assert.deepEqual(b.events, []);
    assert.equal(lease.record?.holderIdentity, 'a');
    assert.equal(b.elector.status().holder, 'a');
    const renewals = lease.writes.filter((w) => w.holderIdentity === 'a').length;
    t.diagnostic(`${renewals} writes by the leader in 20 s`);
    assert.ok(renewals >= 9 && renewals <= 11, `a renewal every 2 s: ${renewals}`);
    assert.ok(lease.writes.every((w) => w.acquireTime === microTime(T0) && w.leaseTransitions === 0), 'renewals keep the acquire time and count');
  });

  test('a leader that cannot reach the lease steps down within the renew deadline, before the standby takes over', async () => {
    const { lease, make, run } = candidates();
    const a = make('a');
    const b = make('b');
    a.elector.start();
    b.elector.start();
    await run(5_000);
    a.lock.failing = true;
    const cutAt = 5_000;
    await run(20_000);
    const stopped = Number(a.events.find((e) => e.startsWith('stopped'))?.split(' ')[1]);
    const started = Number(b.events.find((e) => e.startsWith('started'))?.split(' ')[1]);
    assert.ok(stopped - cutAt <= 12_100, `the leader stepped down ${stopped - cutAt} ms after losing the apiserver`);
    assert.ok(started > stopped, `the standby started (${started}) after the leader stopped (${stopped})`);
    assert.ok(started - cutAt <= 15_000 + 4_400 + 2_000, `the standby took over ${started - cutAt} ms after the cut: within the lease duration and a retry`);
    assert.equal(lease.record?.holderIdentity, 'b');
    assert.equal(lease.record?.leaseTransitions, 1);
    a.lock.failing = false;
    await run(10_000);
    assert.deepEqual([a.elector.isLeader(), b.elector.isLeader()], [false, true], 'the old leader, back, does not take the lease back');
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });

  test('stop releases the lease: the standby takes over within a retry period', async () => {
    const { lease, make, run } = candidates();
    const a = make('a');
    const b = make('b');
    a.elector.start();
    b.elector.start();
    await run(5_000);
    const stop = a.elector.stop();
    await run(100);
    await stop;
    assert.equal(lease.record?.holderIdentity, '');
    assert.deepEqual(a.events, ['started 100', 'stopped 5100']);
    await run(4_500);
    assert.ok(b.elector.isLeader(), 'b leads within 1 to 2.2 retry periods');
    assert.equal(lease.record?.holderIdentity, 'b');
    assert.equal(lease.record?.leaseTransitions, 1);
    await b.elector.stop();
  });

  test('stop when the lease moved past our version (a renewal cut short by stop that still reached the apiserver): read it and release it', async () => {
    const { lease, make, run } = candidates();
    const a = make('a');
    a.elector.start();
    await run(3_000);
    lease.overwrite({ ...(lease.record as LeaseRecord) });
    const stop = a.elector.stop();
    await run(100);
    await stop;
    assert.equal(lease.record?.holderIdentity, '', 'released on the fresh version');
    assert.deepEqual(a.events, ['started 100', 'stopped 3100']);
  });

  test('a 409 on renew (the lease written by someone else, still ours): read it, renew on the fresh version, keep leading', async () => {
    const { lease, make, run } = candidates();
    const a = make('a');
    a.elector.start();
    await run(3_000);
    lease.overwrite({ ...(lease.record as LeaseRecord) });
    const writes = lease.writes.length;
    await run(5_000);
    assert.ok(a.elector.isLeader());
    assert.deepEqual(a.events, ['started 100']);
    assert.ok(lease.writes.length > writes, 'renewals go on');
    await a.elector.stop();
  });

  test('the leader steps down as soon as it reads another holder', async () => {
    const { lease, make, run } = candidates();
    const a = make('a');
    a.elector.start();
    await run(3_000);
    lease.overwrite(record('intruder', 1));
    await run(2_500);
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.events.length, 2);
    const stoppedAt = Number(a.events[1]?.split(' ')[1]);
    assert.ok(stoppedAt <= 5_500, `stepped down at ${stoppedAt}`);
    assert.ok(a.lines().some((l) => l.msg === 'stopped leading' && String(l.why).includes('intruder')));
    await a.elector.stop();
    assert.equal(lease.record?.holderIdentity, 'intruder', 'a non-leader releases nothing');
  });
});
