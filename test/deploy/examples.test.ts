import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadClustersConfig } from '../../src/config/load.ts';
import { cidrsOverlap, formatCidr, parseCidr, type Cidr } from '../../src/net/cidr.ts';
import { EXAMPLES_DIR } from './support/repo.ts';

const [c1, c2] = await Promise.all(['c1', 'c2'].map((name) => loadClustersConfig(join(EXAMPLES_DIR, name, 'clusters.json'))));

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(`${text}: ${parsed.reason}`);
  return parsed.cidr;
}

test('the example pair names each other consistently', () => {
  assert.ok(c1 && c2);
  assert.deepEqual(c1.remotes.map((r) => r.name), [c2.local.name]);
  assert.deepEqual(c2.remotes.map((r) => r.name), [c1.local.name]);
  assert.equal(c1.annotationDomain, c2.annotationDomain, 'both sides must read and write the same annotation keys');
});

test("the pair's pod subnets are disjoint: each cluster routes the other's through the tunnel", () => {
  assert.ok(c1 && c2);
  const c2Pods = c1.remotes.flatMap((r) => r.podSubnets).map(cidr);
  const c1Pods = c2.remotes.flatMap((r) => r.podSubnets).map(cidr);
  for (const a of c1Pods) for (const b of c2Pods) assert.ok(!cidrsOverlap(a, b), `${formatCidr(a)} overlaps ${formatCidr(b)}`);
});
