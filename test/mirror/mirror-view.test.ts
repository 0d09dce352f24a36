import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ElectionStatus } from '../../src/election/leader-elector.ts';
import type { PublisherStatus } from '../../src/fleet/slice-publisher.ts';
import { mirrorHealth, mirrorReadiness } from '../../src/mirror/mirror-view.ts';

const election = (leading: boolean, leadingSince: number | null = null): ElectionStatus => ({
  identity: 'a',
  lease: 'clusterwire/clusterwire-mirror',
  leading,
  holder: leading ? 'a' : 'b',
  leadingSince,
  observedAt: 0,
  lastError: null,
});
const publisher = (over: Partial<PublisherStatus> = {}): PublisherStatus => ({
  peer: 'c2',
  leading: false,
  nodes: { state: 'connected', synced: true, connectedAt: 0, disconnectedAt: null, lastEventAt: 0, lastError: null },
  slices: null,
  entries: null,
  due: null,
  skipped: { 'missing-annotation': 0, 'bad-public-key': 0, 'value-too-long': 0, 'too-many-pod-cidrs': 0 },
  skippedNodes: [],
  lastPublishAt: null,
  lastError: null,
  passStartedAt: null,
  ...over,
});

test('mirror readiness: nodes listed, and a leader has published since it started leading', async (t) => {
  const cases: { name: string; election: ElectionStatus; publishers: PublisherStatus[]; reasons: Record<string, string> }[] = [
    { name: 'a standby with its nodes listed', election: election(false), publishers: [publisher()], reasons: {} },
    {
      name: 'nodes not listed yet',
      election: election(false),
      publishers: [publisher({ nodes: { ...publisher().nodes, synced: false, lastError: 'HTTP 403' } })],
      reasons: { c2: 'no first list of the local nodes yet (HTTP 403)' },
    },
    { name: 'a leader that published', election: election(true, 100), publishers: [publisher({ leading: true, lastPublishAt: 150 })], reasons: {} },
    {
      name: 'a leader that published only in an earlier term',
      election: election(true, 100),
      publishers: [publisher({ peer: 'c3', leading: true, lastPublishAt: 50, lastError: 'HTTP 403 Forbidden' })],
      reasons: { c3: 'slices not published since this replica started leading (HTTP 403 Forbidden)' },
    },
    { name: 'a leader that never published', election: election(true, 100), publishers: [publisher({ leading: true })], reasons: { c2: 'slices not published since this replica started leading' } },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const verdict = mirrorReadiness(c.election, c.publishers);
      assert.deepEqual(verdict, { ok: Object.keys(c.reasons).length === 0, reasons: c.reasons });
    });
  }
});

test('mirror health fails only on a pass stuck past its deadline', () => {
  assert.deepEqual(mirrorHealth([publisher({ passStartedAt: 0 })], 180_000), { ok: true, reasons: {} });
  assert.deepEqual(mirrorHealth([publisher({ passStartedAt: 0 })], 181_000), { ok: false, reasons: { c2: 'a publishing pass has been running for 181s' } });
});
