import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { systemClock } from '../../src/clock/clock.ts';
import { KubeLeaseLock } from '../../src/election/lease-lock.ts';
import type { LeaseRecord } from '../../src/election/lease-record.ts';
import { MIRRORED_REMOTES_ANNOTATION } from '../../src/fleet/lease-annotations.ts';
import type { PolledLease } from '../../src/fleet/lease-poller.ts';
import { judgeMirror, type MirrorState } from '../../src/fleet/mirror-freshness.ts';
import { PUBLISHER_LEASE_NAME } from '../../src/fleet/peer-slice.ts';
import { SliceWatcher } from '../../src/fleet/slice-watcher.ts';
import { createMetrics } from '../../src/metrics.ts';
import { startTestEmulator } from '../emulator/helpers.ts';
import { clientFor } from '../kube/helpers/emulator.ts';
import { memoryLogger } from '../support/memory-logger.ts';

const record = (holder: string, seconds = 15): LeaseRecord => ({ holderIdentity: holder, leaseDurationSeconds: seconds, acquireTime: null, renewTime: null, leaseTransitions: 0 });
const annotated = (c1: object | null): Record<string, string> => (c1 === null ? {} : { [MIRRORED_REMOTES_ANNOTATION]: JSON.stringify({ c1 }) });
const SYNCED = { source: 'slices', synced: true, since: null };

/** Reads at `first` and `at`; the Lease last moved at `changedAt` (all by the reader's clock). */
function polled(holder: string | null, c1: object | null, times: { first?: number; at?: number; changedAt?: number } = {}): PolledLease {
  const at = times.at ?? 30_000;
  return {
    lease: holder === null ? null : { record: record(holder), resourceVersion: '7', annotations: annotated(c1) },
    firstReadAt: times.first ?? 0,
    readAt: at,
    changedAt: times.changedAt ?? at,
    lastError: holder === null ? 'no Lease clusterwire/clusterwire-mirror' : null,
  };
}

const cases: [name: string, input: PolledLease, state: MirrorState][] = [
  ['never read', { lease: null, firstReadAt: null, readAt: null, changedAt: null, lastError: 'ECONNREFUSED' }, 'unknown'],
  ['no Lease', polled(null, null), 'down'],
  ['a released Lease', polled('', SYNCED), 'down'],
  ['one read so far: a renewal takes two to see', polled('m-a', SYNCED, { first: 30_000, at: 30_000 }), 'unknown'],
  ['the Lease moved since the last read, the remote synced', polled('m-a', SYNCED), 'fresh'],
  ['unmoved for less than its duration (reads closer than a renewal)', polled('m-a', SYNCED, { changedAt: 20_000 }), 'fresh'],
  ['unmoved for more than its duration: the mirror is down, whatever its annotation says', polled('m-a', SYNCED, { changedAt: 14_000 }), 'down'],
  ['the mirror leads but does not mirror this remote', polled('m-a', null), 'stale'],
  ['the mirror leads but its copy is out of sync', polled('m-a', { source: 'nodes', synced: false, since: '2026-01-01T00:00:00.000000Z' }), 'stale'],
  ['the mirror has not reached the remote yet', polled('m-a', { source: null, synced: false, since: null }), 'stale'],
];

describe('freshness of the mirrored slices, as a daemon on source mirror judges it', () => {
  test('from the reads of the mirror Lease, by the reader clock, never by the mirror clock', () => {
    for (const [name, input, state] of cases) {
      const judgement = judgeMirror(input, 'c1');
      assert.equal(judgement.state, state, name);
      assert.equal(judgement.reason === null, state === 'fresh', `${name}: a reason unless fresh`);
    }
    assert.match(judgeMirror(polled('m-a', SYNCED, { changedAt: 10_000 }), 'c1').reason ?? '', /has not been renewed for 20s by this node's clock/);
  });

  test("through the daemon's slice watcher: fresh while the Lease moves, down when it stops, stale when the mirror says so; readable without any remote access", async (t) => {
    const local = await startTestEmulator(t, {});
    local.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'clusterwire' } });
    const { client } = clientFor(t, { kind: 'kubeconfig', path: local.kubeconfigPath }, 'c2');
    const { logger } = memoryLogger();
    const watcher = new SliceWatcher({
      client,
      remoteClusterName: 'c1',
      localClusterName: 'c2',
      namespace: 'clusterwire',
      mirrored: true,
      lease: { kind: 'mirror', lock: new KubeLeaseLock(client, 'clusterwire', PUBLISHER_LEASE_NAME), intervalMs: 150 },
      logger,
      metrics: createMetrics(new Registry()),
      maxNodes: 100,
      onChange: () => undefined,
      clock: systemClock,
      random: Math.random,
    });
    watcher.start();
    t.after(() => watcher.stop());
    const mirror = () => {
      const source = watcher.source();
      assert.ok(source.kind === 'mirror');
      return source.mirror;
    };
    const until = async (what: string, check: () => boolean) => {
      const start = Date.now();
      while (!check()) {
        if (Date.now() - start > 10_000) assert.fail(`${what}: not within 10 s (${JSON.stringify(mirror())})`);
        await delay(20);
      }
    };
    await until('no Lease: down', () => mirror().state === 'down');
    assert.ok(mirror().notFreshSince !== null);

    const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'clusterwire', name: PUBLISHER_LEASE_NAME };
    local.create({ ...ref, metadata: { name: PUBLISHER_LEASE_NAME, namespace: 'clusterwire', annotations: annotated(SYNCED) }, spec: record('m-a', 1) });
    let renewals = 0;
    let renewing = true;
    const renew = async () => {
      while (renewing) {
        local.patch(ref, { spec: { renewTime: new Date().toISOString().replace('Z', '000Z') } });
        renewals++;
        await delay(100);
      }
    };
    const renewed = renew();
    t.after(async () => {
      renewing = false;
      await renewed;
    });
    await until('renewed: fresh', () => mirror().state === 'fresh');
    assert.deepEqual([mirror().holder, mirror().notFreshSince, mirror().remote?.synced], ['m-a', null, true]);

    local.patch(ref, { metadata: { annotations: annotated({ source: 'slices', synced: false, since: null }) } });
    await until('the mirror says out of sync: stale', () => mirror().state === 'stale');

    renewing = false;
    await renewed;
    await until('not renewed for over its duration: down', () => mirror().state === 'down');
    assert.match(mirror().reason ?? '', /has not been renewed/);
    t.diagnostic(`${renewals} renewals written by the test`);
  });
});
