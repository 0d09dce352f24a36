import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEVICE_SNAPSHOT_TTL_MS, deviceSnapshots } from '../../src/server/device-snapshot.ts';
import type { ObservedDevice } from '../../src/wireguard/types.ts';

/** Devices whose reads are counted and finish only when the test says so. */
function countingDevices(names: string[]) {
  const state = {
    now: 10_000,
    reads: [] as string[],
    missing: new Set<string>(),
    waiting: [] as (() => void)[],
    finishReads() {
      for (const finish of state.waiting.splice(0)) finish();
    },
  };
  const read = (name: string) =>
    new Promise<ObservedDevice>((resolve, reject) => {
      state.reads.push(name);
      state.waiting.push(() => (state.missing.has(name) ? reject(new Error(`${name}: no such device`)) : resolve({ name, publicKey: 'K=', listenPort: 1, peers: [] })));
    });
  const snapshot = deviceSnapshots({ devices: () => names, read, now: () => state.now });
  return { state, snapshot };
}

test('concurrent requests share one read of each device (single flight)', async () => {
  const { state, snapshot } = countingDevices(['wg.a', 'wg.b']);
  const requests = Array.from({ length: 50 }, () => snapshot());
  await Promise.resolve();
  state.finishReads();
  const snapshots = await Promise.all(requests);
  assert.deepEqual(state.reads, ['wg.a', 'wg.b']);
  assert.ok(snapshots.every((s) => s === snapshots[0]), 'every request got the same snapshot');
  assert.equal(snapshots[0]?.readAt, 10_000);
});

test('requests within the TTL read nothing; the first after it reads once', async () => {
  const { state, snapshot } = countingDevices(['wg.a']);
  const first = snapshot();
  state.finishReads();
  await first;
  for (const dt of [0, 1, 500, DEVICE_SNAPSHOT_TTL_MS - 1]) {
    state.now = 10_000 + dt;
    assert.equal(await snapshot(), await first, `at +${dt} ms`);
  }
  assert.equal(state.reads.length, 1);

  state.now = 10_000 + DEVICE_SNAPSHOT_TTL_MS;
  const again = [snapshot(), snapshot(), snapshot()];
  state.finishReads();
  const [next] = await Promise.all(again);
  assert.equal(state.reads.length, 2);
  assert.equal(next?.readAt, 10_000 + DEVICE_SNAPSHOT_TTL_MS);
});

test('a device that cannot be read is reported as such; the others are read', async () => {
  const { state, snapshot } = countingDevices(['wg.a', 'wg.b']);
  state.missing.add('wg.a');
  const pending = snapshot();
  await Promise.resolve();
  state.finishReads();
  const { devices } = await pending;
  assert.deepEqual(devices.get('wg.a'), { ok: false, error: 'wg.a: no such device' });
  assert.equal(devices.get('wg.b')?.ok, true);
});
