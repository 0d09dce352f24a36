import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demoFleet, mirrorRows, sourceRows } from '../../lab/demo-plan.ts';
import { sourcesProblems } from '../../lab/lab-config.ts';

describe('the demo plan', () => {
  it('nodes: no mirror, no source written; slices and mirror: two mirrors per cluster and every remote from that source', () => {
    assert.deepEqual(demoFleet('nodes', ['c1', 'c2']), { mirrorReplicas: 0, sources: {} });
    assert.deepEqual(demoFleet('mirror', ['c1', 'c2']), { mirrorReplicas: 2, sources: { c1: { c2: 'mirror' }, c2: { c1: 'mirror' } } });
    assert.deepEqual(demoFleet('slices', ['c1', 'c2']), { mirrorReplicas: 2, sources: { c1: { c2: 'slices' }, c2: { c1: 'slices' } } });
    for (const source of ['nodes', 'slices', 'mirror'] as const) {
      const { mirrorReplicas, sources } = demoFleet(source, ['c1', 'c2']);
      assert.deepEqual(sourcesProblems(['c1', 'c2'], sources, mirrorReplicas), [], `${source}: a lab createLab accepts`);
    }
  });

  it('the source table: a row per node and remote, as /status reports it', () => {
    const rows = sourceRows([
      { node: 'c1-n1', remotes: [{ remote: 'c2', source: { kind: 'mirror' } }] },
      { node: 'c2-n1', remotes: [{ remote: 'c1', source: { kind: 'nodes' } }] },
    ]);
    assert.deepEqual(rows, [
      ['c1-n1', 'c2', 'mirror'],
      ['c2-n1', 'c1', 'nodes'],
    ]);
  });

  it('the mirror table marks the Lease holder as leader', () => {
    const replicas = [
      { identity: 'c1-mirror-1', url: 'http://127.0.0.1:4001' },
      { identity: 'c1-mirror-2', url: 'http://127.0.0.1:4002' },
    ];
    assert.deepEqual(mirrorRows('c1', replicas, 'c1-mirror-2'), [
      ['c1', 'c1-mirror-1', 'standby', 'http://127.0.0.1:4001'],
      ['c1', 'c1-mirror-2', 'leader', 'http://127.0.0.1:4002'],
    ]);
    assert.deepEqual(mirrorRows('c1', replicas, null).map((r) => r[2]), ['standby', 'standby']);
  });
});
