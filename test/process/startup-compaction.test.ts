import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMPACTION_DELAY_MS, StartupCompaction } from '../../src/process/startup-compaction.ts';
import { ManualClock } from '../support/manual-clock.ts';

describe('StartupCompaction', () => {
  it('collects once, a moment after the last remote first applied its peers, never again', () => {
    const clock = new ManualClock();
    let collections = 0;
    const compaction = new StartupCompaction(['c2', 'c3'], () => collections++, clock);
    compaction.applied('c2');
    compaction.applied('c2');
    clock.advance(10 * COMPACTION_DELAY_MS);
    assert.equal(collections, 0, 'c3 has not applied yet');
    compaction.applied('c3');
    clock.advance(COMPACTION_DELAY_MS - 1);
    assert.equal(collections, 0, 'not inside the pass that applied');
    clock.advance(1);
    assert.equal(collections, 1);
    compaction.applied('c3');
    compaction.applied('c2');
    clock.advance(10 * COMPACTION_DELAY_MS);
    assert.equal(collections, 1, 'later passes do not collect');
  });

  it('does nothing without a collector, and nothing after stop', () => {
    const clock = new ManualClock();
    new StartupCompaction(['c2'], null, clock).applied('c2');
    let collections = 0;
    const stopped = new StartupCompaction(['c2'], () => collections++, clock);
    stopped.applied('c2');
    stopped.stop();
    clock.advance(10 * COMPACTION_DELAY_MS);
    assert.equal(collections, 0);
  });
});
