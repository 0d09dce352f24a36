import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Emulator } from '../../lab/emulator/emulator.ts';
import { systemClock } from '../../src/clock/clock.ts';
import { KubeLeaseLock, type LeaseLock } from '../../src/election/lease-lock.ts';
import { DEFAULT_LEASE_DURATION_MS, DEFAULT_RENEW_DEADLINE_MS, DEFAULT_RETRY_PERIOD_MS, LeaderElector, type ElectionTiming } from '../../src/election/leader-elector.ts';
import { startTestEmulator } from '../emulator/helpers.ts';
import { clientFor } from '../kube/helpers/emulator.ts';
import { memoryLogger } from '../support/memory-logger.ts';

const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'clusterwire', name: 'clusterwire-mirror' };
const DEFAULTS: ElectionTiming = { leaseDurationMs: DEFAULT_LEASE_DURATION_MS, renewDeadlineMs: DEFAULT_RENEW_DEADLINE_MS, retryPeriodMs: DEFAULT_RETRY_PERIOD_MS };
const FAST: ElectionTiming = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 400 };

interface Spec {
  holderIdentity: string;
  leaseDurationSeconds: number;
  leaseTransitions: number;
  acquireTime: string;
  renewTime: string;
}

/** A lock that stops answering when `killed`, as a candidate whose process died looks to the apiserver. */
class KillableLock implements LeaseLock {
  readonly description: string;
  readonly #lock: LeaseLock;
  killed = false;
  constructor(lock: LeaseLock) {
    this.#lock = lock;
    this.description = lock.description;
  }
  get(signal?: AbortSignal) {
    return this.killed ? Promise.reject(new Error('killed')) : this.#lock.get(signal);
  }
  create(...args: Parameters<LeaseLock['create']>) {
    return this.killed ? Promise.reject(new Error('killed')) : this.#lock.create(...args);
  }
  update(...args: Parameters<LeaseLock['update']>) {
    return this.killed ? Promise.reject(new Error('killed')) : this.#lock.update(...args);
  }
}

function candidate(t: TestContext, emulator: Emulator, identity: string, timing: ElectionTiming) {
  const { client } = clientFor(t, { kind: 'kubeconfig', path: emulator.kubeconfigPath }, 'c1');
  const lock = new KillableLock(new KubeLeaseLock(client, 'clusterwire', 'clusterwire-mirror'));
  const leading: { started: number[]; stopped: number[] } = { started: [], stopped: [] };
  const elector = new LeaderElector({
    lock,
    identity,
    clock: systemClock,
    logger: memoryLogger().logger,
    ...timing,
    onStartedLeading: () => leading.started.push(Date.now()),
    onStoppedLeading: () => leading.stopped.push(Date.now()),
  });
  t.after(() => elector.stop());
  return { elector, lock, leading };
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await delay(50);
  }
  return Date.now() - start;
}

function spec(emulator: Emulator): Spec {
  return (emulator.get(LEASE) as { spec: Spec }).spec;
}

describe('leader election against the emulated apiserver', () => {
  test('two candidates, one leader; stopped, it releases and the other leads within a retry period', async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'clusterwire' } });
    const a = candidate(t, emulator, 'mirror-a', FAST);
    const b = candidate(t, emulator, 'mirror-b', FAST);
    a.elector.start();
    await until('a leads', () => a.elector.isLeader(), 5_000);
    b.elector.start();
    await delay(2_000);
    assert.deepEqual([a.elector.isLeader(), b.elector.isLeader()], [true, false]);
    assert.deepEqual({ holder: spec(emulator).holderIdentity, duration: spec(emulator).leaseDurationSeconds, transitions: spec(emulator).leaseTransitions }, { holder: 'mirror-a', duration: 3, transitions: 0 });
    assert.match(spec(emulator).renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    await a.elector.stop();
    assert.equal(spec(emulator).holderIdentity, '', 'released');
    const took = await until('b leads', () => b.elector.isLeader(), 3_000);
    t.diagnostic(`b led ${took} ms after a released the lease (retry period ${FAST.retryPeriodMs} ms)`);
    assert.ok(took <= FAST.retryPeriodMs * 2.2 + 500);
    assert.equal(spec(emulator).holderIdentity, 'mirror-b');
    assert.equal(spec(emulator).leaseTransitions, 1);
  });

  test("a 409 on renew: someone else's write to the lease does not end the leadership", async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'clusterwire' } });
    const a = candidate(t, emulator, 'mirror-a', FAST);
    a.elector.start();
    await until('a leads', () => a.elector.isLeader(), 5_000);
    const mark = emulator.requestLog(0).at(-1)?.seq ?? 0;
    emulator.patch(LEASE, { metadata: { labels: { touched: 'by-kubectl' } } });
    await delay(2_000);
    const leaseRequests = emulator.requestLog(mark).filter((r) => r.resource === 'leases').map((r) => `${r.verb} ${r.code}`);
    t.diagnostic(`lease requests after the foreign write: ${leaseRequests.join(', ')}`);
    assert.deepEqual(leaseRequests.slice(0, 3), ['patch 409', 'get 200', 'patch 200'], 'conflict, read, renew on the fresh version');
    assert.ok(a.elector.isLeader());
    assert.deepEqual(a.leading.stopped, []);
    assert.equal((emulator.get(LEASE) as { metadata: { labels: Record<string, string> } }).metadata.labels.touched, 'by-kubectl', 'the renewal kept the label');
  });

  test("kube-controller-manager's timing: a killed leader is replaced within the lease duration", async (t) => {
    const emulator = await startTestEmulator(t);
    emulator.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'clusterwire' } });
    const a = candidate(t, emulator, 'mirror-a', DEFAULTS);
    const b = candidate(t, emulator, 'mirror-b', DEFAULTS);
    a.elector.start();
    await until('a leads', () => a.elector.isLeader(), 5_000);
    b.elector.start();
    await delay(3_000);
    assert.equal(b.elector.isLeader(), false);
    const lastRenew = Date.parse(spec(emulator).renewTime);
    a.lock.killed = true;
    await until('b leads', () => b.elector.isLeader(), DEFAULT_LEASE_DURATION_MS + 2.2 * DEFAULT_RETRY_PERIOD_MS + 3_000);
    const after = Date.now() - lastRenew;
    t.diagnostic(`b led ${after} ms after a's last renewal (lease duration ${DEFAULT_LEASE_DURATION_MS} ms, retry ${DEFAULT_RETRY_PERIOD_MS} ms, jittered up to 2.2x)`);
    assert.ok(after >= DEFAULT_LEASE_DURATION_MS - DEFAULT_RETRY_PERIOD_MS, 'not before the lease could have expired');
    assert.equal(a.leading.stopped.length, 1, 'the killed leader stepped down');
    assert.ok((a.leading.stopped[0] as number) - lastRenew <= DEFAULT_RETRY_PERIOD_MS + DEFAULT_RENEW_DEADLINE_MS + 500, 'it stepped down at its renew deadline, before b could take over');
    assert.equal(spec(emulator).holderIdentity, 'mirror-b');
    assert.equal(spec(emulator).leaseTransitions, 1);
  });
});
