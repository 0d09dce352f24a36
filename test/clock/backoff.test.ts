import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, DEFAULT_BACKOFF } from '../../src/clock/backoff.ts';

test('backoffDelay doubles from the base up to the cap, jittered down by at most half', () => {
  const policy = { baseMs: 100, capMs: 1000 };
  const ceilings = [100, 200, 400, 800, 1000, 1000, 1000];
  ceilings.forEach((ceiling, attempt) => {
    assert.equal(backoffDelay(attempt, policy, 0), ceiling / 2, `attempt ${attempt}, random 0`);
    assert.equal(backoffDelay(attempt, policy, 0.5), ceiling * 0.75, `attempt ${attempt}, random 0.5`);
    assert.ok(backoffDelay(attempt, policy, 0.999999) <= ceiling, `attempt ${attempt}, random ~1`);
  });
});

test('backoffDelay never exceeds the cap, even after very many attempts', () => {
  for (const attempt of [30, 60, 1000, 1e9]) {
    const d = backoffDelay(attempt, DEFAULT_BACKOFF, 0.999999);
    assert.ok(Number.isFinite(d) && d <= DEFAULT_BACKOFF.capMs && d >= DEFAULT_BACKOFF.capMs / 2, `attempt ${attempt}: ${d}`);
  }
});
