import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import type { MirrorSourceKind } from '../../src/fleet/lease-annotations.ts';
import type { NodeChange } from '../../src/kube/node-changes.ts';
import type { WatchStatus } from '../../src/kube/node-watcher.ts';
import type { RemoteNode } from '../../src/kube/remote-node.ts';
import { RemoteSource, type RemoteWatch } from '../../src/mirror/remote-source.ts';
import type { PublisherProbe } from '../../src/mirror/source-decision.ts';
import { ManualClock } from '../support/manual-clock.ts';
import { memoryLogger } from '../support/memory-logger.ts';

const node = (name: string, publicKey: string, uid?: string): RemoteNode => ({ name, podCIDRs: ['10.4.1.0/24'], publicKey, endpoint: '198.18.2.1:51821', refused: null, ...(uid ? { uid } : {}) });

/** A watch the test lists by hand: `list` completes its first list. */
class FakeWatch implements RemoteWatch {
  readonly nodes = new Map<string, RemoteNode>();
  stopped = false;
  #synced = false;
  #resolve: () => void = () => undefined;
  readonly #whenSynced = new Promise<void>((resolve) => (this.#resolve = resolve));
  readonly kind: MirrorSourceKind;
  readonly onChange: (change: NodeChange) => void;

  constructor(kind: MirrorSourceKind, onChange: (change: NodeChange) => void) {
    this.kind = kind;
    this.onChange = onChange;
  }

  list(nodes: RemoteNode[]): void {
    for (const n of nodes) this.nodes.set(n.name, n);
    this.#synced = true;
    this.#resolve();
  }

  status(): WatchStatus {
    return { state: 'connected', synced: this.#synced, connectedAt: 0, disconnectedAt: null, lastEventAt: null, lastError: null };
  }

  whenSynced(): Promise<void> {
    return this.#whenSynced;
  }

  start(): void {}

  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }
}

const publishing: PublisherProbe = { kind: 'read', slices: 'served', lease: { holder: 'a', peer: { synced: true }, resourceVersion: '1', durationSeconds: 15 } };
const notPublishing: PublisherProbe = { kind: 'read', slices: 'not-served', lease: null };

function source() {
  const clock = new ManualClock();
  const watches: FakeWatch[] = [];
  const changes: NodeChange[] = [];
  let synced = 0;
  let renewals = 0;
  let probe: PublisherProbe = notPublishing;
  const remote = new RemoteSource({
    remote: 'c1',
    localCluster: 'c2',
    // A live publisher renews its Lease between two probes: a new resourceVersion each time.
    probe: () => Promise.resolve(probe === publishing && probe.kind === 'read' && probe.lease ? { ...probe, lease: { ...probe.lease, resourceVersion: String(++renewals) } } : probe),
    createWatch: (kind, onChange) => {
      const watch = new FakeWatch(kind, onChange);
      watches.push(watch);
      return watch;
    },
    onChange: (change) => changes.push(change),
    onSynced: () => synced++,
    clock,
    logger: memoryLogger().logger,
    random: () => 0,
    resyncIntervalMs: 60_000,
  });
  return { remote, clock, watches, changes, synced: () => synced, setProbe: (p: PublisherProbe) => (probe = p) };
}

async function resync(clock: ManualClock): Promise<void> {
  clock.advance(60_000);
  await tick();
  await tick();
}

test('a switch keeps the store until the new source is listed, then reports only the difference; a switch that never lists changes nothing', async () => {
  const s = source();
  s.remote.lead();
  await tick();
  const nodes = s.watches[0];
  assert.equal(nodes?.kind, 'nodes');
  assert.equal(s.remote.status().synced, false, 'not synced before the first list');
  nodes.list([node('n1', 'k1', 'uid-1'), node('n2', 'k2', 'uid-2'), node('bare', '', 'uid-3')]);
  await tick();
  assert.deepEqual([s.remote.status().synced, s.synced(), s.changes.map((c) => `${c.type} ${c.node.name}`)], [true, 1, ['added n1', 'added n2', 'added bare']]);

  s.setProbe(publishing);
  await resync(s.clock);
  const slices = s.watches[1];
  assert.equal(slices?.kind, 'slices');
  assert.equal(s.remote.sourceStatus().pending, 'slices');
  nodes.onChange({ type: 'updated', node: node('n2', 'k2b', 'uid-2'), previous: node('n2', 'k2', 'uid-2') });
  assert.equal(s.remote.nodes.get('n2')?.publicKey, 'k2b', 'the source in use still feeds the store while the next one lists');
  s.changes.length = 0;

  slices.list([node('n1', 'k1'), node('n2', 'k2b'), node('n3', 'k3')]);
  await tick();
  assert.deepEqual(s.changes.map((c) => `${c.type} ${c.node.name}`).sort(), ['added n3', 'deleted bare', 'updated n1', 'updated n2'], 'the difference only (n1 and n2 differ by uid alone: the publisher writes nothing for them)');
  assert.deepEqual([s.remote.sourceStatus().source, s.remote.sourceStatus().pending, nodes.stopped, s.synced()], ['slices', null, true, 2]);

  // Back to Nodes, but the Nodes are never listed (the grant allows slices only): the slices stay the source.
  s.setProbe(notPublishing);
  await resync(s.clock);
  const again = s.watches[2];
  assert.equal(again?.kind, 'nodes');
  s.changes.length = 0;
  await resync(s.clock);
  assert.deepEqual([s.remote.sourceStatus().source, s.remote.sourceStatus().pending, s.changes.length, s.remote.nodes.size], ['slices', 'nodes', 0, 3]);
  // The remote publishes again: the pending switch is dropped.
  s.setProbe(publishing);
  await resync(s.clock);
  assert.deepEqual([s.remote.sourceStatus().source, s.remote.sourceStatus().pending, again.stopped], ['slices', null, true]);
});

test('standing by stops the watches but keeps the store: the next term reports only what changed meanwhile', async () => {
  const s = source();
  s.remote.lead();
  await tick();
  s.watches[0]?.list([node('n1', 'k1'), node('n2', 'k2')]);
  await tick();
  s.remote.standBy();
  assert.deepEqual([s.watches[0]?.stopped, s.remote.status().synced, s.remote.nodes.size], [true, false, 2]);
  s.changes.length = 0;
  s.remote.lead();
  await tick();
  s.watches[1]?.list([node('n1', 'k1'), node('n2', 'k2-new')]);
  await tick();
  assert.deepEqual(s.changes.map((c) => `${c.type} ${c.node.name}`), ['updated n2']);
  await s.remote.stop();
});

test('a publisher whose Lease stops moving is left for the Nodes', async () => {
  const s = source();
  const frozen: PublisherProbe = { kind: 'read', slices: 'served', lease: { holder: 'a', peer: { synced: true }, resourceVersion: '7', durationSeconds: 15 } };
  s.remote.lead();
  await tick();
  s.watches[0]?.list([node('n1', 'k1')]);
  await tick();
  s.setProbe(publishing);
  await resync(s.clock);
  s.watches[1]?.list([node('n1', 'k1')]);
  await tick();
  assert.equal(s.remote.sourceStatus().source, 'slices');
  // Killed with -9: the Lease stays held at one version. The source under test renews only `publishing`, so `frozen` stays at '7'.
  s.setProbe(frozen);
  await resync(s.clock);
  assert.equal(s.remote.sourceStatus().pending, null, 'one look at a new version: nothing known yet');
  await resync(s.clock);
  assert.equal(s.remote.sourceStatus().pending, 'nodes', 'unmoved for longer than its duration: back to the Nodes');
  assert.match(s.remote.sourceStatus().why ?? '', /has not been renewed for 60s/);
  await s.remote.stop();
});

test('an unreachable remote: nothing is watched until a probe answers, retried with backoff', async () => {
  const s = source();
  s.setProbe({ kind: 'unreachable', error: 'connect ECONNREFUSED' });
  s.remote.lead();
  await tick();
  assert.equal(s.watches.length, 0);
  assert.match(s.remote.sourceStatus().why ?? '', /unreachable: connect ECONNREFUSED/);
  s.setProbe(notPublishing);
  s.clock.advance(1_000);
  await tick();
  await tick();
  assert.equal(s.watches[0]?.kind, 'nodes', 'retried within the backoff, not the resync interval');
  await s.remote.stop();
});
