import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leaseHolder, mirrorIdentities } from '../../lab/lab-mirrors.ts';

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
});
