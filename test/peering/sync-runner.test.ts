import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyncRunner } from '../../src/peering/sync-runner.ts';
import { ManualClock } from '../support/manual-clock.ts';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

test('a burst of requests during a pass folds into one more pass', async () => {
  const clock = new ManualClock();
  let passes = 0;
  let coalesced = 0;
  const first = gate();
  const runner = new SyncRunner({
    clock,
    run: async () => {
      passes++;
      if (passes === 1) await first.opened;
    },
    onError: () => assert.fail('no error expected'),
    onCoalesced: () => coalesced++,
  });
  runner.request();
  await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 100; i++) runner.request();
  first.open();
  await runner.idle();
  assert.equal(passes, 2);
  assert.equal(coalesced, 99);
});

test('a request waiting behind a pass counts as "queue full" every 5 s it waits, as semaphore-wireguard counts it', async () => {
  const clock = new ManualClock();
  let passes = 0;
  let queueFull = 0;
  let coalesced = 0;
  const slow = gate();
  const runner = new SyncRunner({
    clock,
    run: async () => {
      passes++;
      if (passes === 1) await slow.opened;
    },
    onError: () => assert.fail('no error expected'),
    onCoalesced: () => coalesced++,
    onQueueFull: () => queueFull++,
  });
  runner.request();
  await new Promise((r) => setImmediate(r));
  clock.advance(60_000);
  assert.equal(queueFull, 0, 'a long pass alone is not a full queue');

  runner.request();
  runner.request();
  clock.advance(4_999);
  assert.equal(queueFull, 0);
  clock.advance(1);
  assert.equal(queueFull, 1);
  clock.advance(10_000);
  assert.equal(queueFull, 3);
  slow.open();
  await runner.idle();
  clock.advance(60_000);
  assert.deepEqual({ passes, queueFull, coalesced }, { passes: 2, queueFull: 3, coalesced: 1 });
  assert.deepEqual(clock.pending, [], 'no wait is counted once the request is served');
});

test('requests in the same tick start a single pass', async () => {
  let passes = 0;
  const runner = new SyncRunner({ clock: new ManualClock(), run: () => Promise.resolve(void passes++), onError: () => assert.fail() });
  runner.request();
  runner.request();
  runner.request();
  await runner.idle();
  assert.equal(passes, 1);
});

test('a failing pass is retried with capped, jittered exponential backoff, then resets', async () => {
  const clock = new ManualClock();
  let failuresLeft = 4;
  let passes = 0;
  const delays: number[] = [];
  const runner = new SyncRunner({
    clock,
    retry: { baseMs: 100, capMs: 300 },
    // The top of the jitter range (backoff.ts): delays at their ceilings.
    random: () => 0.999_999,
    run: () => {
      passes++;
      return failuresLeft-- > 0 ? Promise.reject(new Error('wg failed')) : Promise.resolve();
    },
    onError: (error, delay) => {
      assert.match(String(error), /wg failed/);
      delays.push(delay);
    },
  });
  runner.request();
  await runner.idle();
  for (let i = 0; i < 4; i++) {
    clock.advance(delays.at(-1) ?? 0);
    await runner.idle();
  }
  assert.deepEqual(delays, [100, 200, 300, 300]);
  assert.equal(passes, 5);
  assert.deepEqual(clock.pending, []);
});

test('stop waits for the pass in flight and cancels retries', async () => {
  const clock = new ManualClock();
  const runner = new SyncRunner({ clock, run: () => Promise.reject(new Error('x')), onError: () => undefined });
  runner.request();
  await runner.idle();
  assert.equal(clock.pending.length, 1);
  await runner.stop();
  assert.equal(clock.pending.length, 0);
  runner.request();
  await runner.idle();
  assert.equal(clock.pending.length, 0);
});
