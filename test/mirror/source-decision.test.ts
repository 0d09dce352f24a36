import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MirrorSourceKind } from '../../src/fleet/lease-annotations.ts';
import { decideSource, type PublisherProbe } from '../../src/mirror/source-decision.ts';

const held = (peer: { synced: boolean } | null, holder = 'c1-mirror-a'): PublisherProbe => ({ kind: 'read', slices: 'served', lease: { holder, peer, resourceVersion: '9', durationSeconds: 15 } });

const cases: [name: string, current: MirrorSourceKind | null, probe: PublisherProbe, source: MirrorSourceKind | null][] = [
  ['unreachable, nothing decided yet: keep trying', null, { kind: 'unreachable', error: 'ECONNREFUSED' }, null],
  ['unreachable while on slices: stay', 'slices', { kind: 'unreachable', error: 'ECONNREFUSED' }, 'slices'],
  ['unreachable while on nodes: stay', 'nodes', { kind: 'unreachable', error: 'timeout' }, 'nodes'],
  ['no CRD', null, { kind: 'read', slices: 'not-served', lease: null }, 'nodes'],
  ['no CRD any more, while on slices', 'slices', { kind: 'read', slices: 'not-served', lease: null }, 'nodes'],
  ['slices not readable (403)', null, { kind: 'read', slices: 'forbidden', lease: null }, 'nodes'],
  ['slices served (maybe none) but no Lease: no publisher', null, { kind: 'read', slices: 'served', lease: null }, 'nodes'],
  ['a released Lease: no replica publishes', 'slices', held({ synced: true }, ''), 'nodes'],
  ['a publisher that does not publish for this cluster', 'slices', held(null), 'nodes'],
  ['a publisher that has not finished its first pass, first decision', null, held({ synced: false }), 'nodes'],
  ['a publisher that has not finished its first pass (a new leader), while on slices: stay', 'slices', held({ synced: false }), 'slices'],
  ['a publisher that has not finished its first pass, while on nodes: stay', 'nodes', held({ synced: false }), 'nodes'],
  ['complete slices for this cluster', null, held({ synced: true }), 'slices'],
  ['complete slices for this cluster, while on nodes', 'nodes', held({ synced: true }), 'slices'],
];

test('the source of a remote: slices only on positive evidence that they are complete for this cluster, else Nodes; nothing known changes nothing', () => {
  for (const [name, current, probe, source] of cases) {
    const decision = decideSource(current, probe, 'c2');
    assert.equal(decision.source, source, name);
    assert.ok(decision.why.length > 0, `${name}: says why`);
  }
  assert.equal(decideSource(null, held(null), 'c2').why, "the remote's publisher does not publish for c2");
  assert.equal(decideSource('slices', held({ synced: true }), 'c2', 15_000).source, 'slices', 'unmoved for its duration: still renewed');
  const dead = decideSource('slices', held({ synced: true }), 'c2', 60_000);
  assert.deepEqual(dead, { source: 'nodes', why: "the remote's publisher Lease has not been renewed for 60s (by this mirror's clock)" }, 'a publisher killed without releasing its Lease');
});
