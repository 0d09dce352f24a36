/**
 * The lab's mirror replicas (lab/lab-mirrors.ts): the pure parts, then a
 * small lab whose daemons read each other's published slices while two
 * mirror processes per cluster elect a leader through the Lease.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { everyRemoteFrom } from '../../lab/lab-config.ts';
import { createLab } from '../../lab/lab.ts';
import { leaseHolder, mirrorIdentities } from '../../lab/lab-mirrors.ts';
import { skipUnlessRoot } from '../support/root.ts';

describe('lab mirror replicas', () => {
  it('one identity per replica, named after the cluster', () => {
    assert.deepEqual(mirrorIdentities('c1', 2), ['c1-mirror-1', 'c1-mirror-2']);
    assert.throws(() => mirrorIdentities('c1', 0), /positive integer/);
    assert.throws(() => mirrorIdentities('c1', 1.5), /positive integer/);
  });

  it('the leader is the Lease holder; a released or missing Lease has none', () => {
    assert.equal(leaseHolder({ spec: { holderIdentity: 'c1-mirror-2', leaseDurationSeconds: 15 } }), 'c1-mirror-2');
    assert.equal(leaseHolder({ spec: { holderIdentity: '', leaseDurationSeconds: 1 } }), null);
    assert.equal(leaseHolder({ spec: {} }), null);
    assert.equal(leaseHolder(undefined), null);
  });

  it('in a lab: two replicas per cluster, one leads; kill -9 hands the lease to the other; stop all, start again', async (t) => {
    if (skipUnlessRoot(t)) return;
    const clusters = [
      { name: 'c1', podSubnet: '10.2.0.0/16', nodes: 1 },
      { name: 'c2', podSubnet: '10.4.0.0/16', nodes: 1 },
    ];
    const lab = await createLab({
      clusters,
      mirrorReplicas: 2,
      // A short lease, so that a killed leader is replaced within seconds.
      mirrorFlags: ['-leader-elect-lease-duration', '4s', '-leader-elect-renew-deadline', '3s', '-leader-elect-retry-period', '1s'],
      sources: everyRemoteFrom(['c1', 'c2'], 'slices'),
      daemonFlags: ['-watch-backoff-cap', '1s'],
    });
    t.after(() => lab.destroy());
    try {
      await lab.waitUntilReady(45_000);
      await lab.waitUntilPeered(45_000);
      for (const node of lab.nodes()) assert.equal((await lab.status(node)).remotes[0]?.source.kind, 'slices', `${node.name} reads slices`);
      const mirrors = lab.mirrors('c1');
      assert.deepEqual(mirrors.running().map((m) => m.identity), ['c1-mirror-1', 'c1-mirror-2']);
      const leader = await lab.waitFor('a c1 mirror to lead', () => Promise.resolve(mirrors.leader()), 30_000);
      await mirrors.stop(leader.identity, 'SIGKILL');
      assert.equal(mirrors.leaseHolder(), leader.identity, 'killed, it has not released the lease');
      const started = performance.now();
      const next = await lab.waitFor('the standby to lead', () => Promise.resolve(mirrors.leader()), 30_000);
      t.diagnostic(`the standby led ${Math.round(performance.now() - started)} ms after the leader was killed (lease 4 s)`);
      assert.notEqual(next.identity, leader.identity);
      await mirrors.start(leader.identity);
      assert.equal(mirrors.running().length, 2);
      await mirrors.stopAll();
      assert.deepEqual(mirrors.running(), []);
      assert.equal(mirrors.leaseHolder(), null, 'stopped with SIGTERM, the leader released the lease');
      await mirrors.start();
      await lab.waitFor('a c1 mirror to lead again', () => Promise.resolve(mirrors.leader()), 30_000);
      await lab.waitUntilPeered(45_000);
    } catch (error) {
      t.diagnostic(await lab.logTails(20));
      throw error;
    }
  });
});
