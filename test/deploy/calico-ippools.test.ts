import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { runCli } from '../../src/cli/cli.ts';
import { loadClustersConfig } from '../../src/config/load.ts';
import { ipPoolProblems } from './support/custom-resources.ts';
import { parseManifests, readManifests, type Manifest } from './support/manifests.ts';
import { EXAMPLE_CLUSTERS, EXAMPLES_DIR, REPO_ROOT } from './support/repo.ts';

interface IPPool extends Manifest {
  spec: { cidr: string; ipipMode?: string; natOutgoing?: boolean; disabled?: boolean };
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** `clusterwire calico-ippools -clusters-config <file>`, through the real command line. */
async function calicoIPPools(configFile: string): Promise<IPPool[]> {
  const stdout = collector();
  const stderr = collector();
  const code = await runCli(['calico-ippools', '-clusters-config', configFile], {}, { stdout: stdout.stream, stderr: stderr.stream });
  assert.equal(code, 0, stderr.text());
  return parseManifests(stdout.text(), `calico-ippools of ${configFile}`) as IPPool[];
}

async function assertPoolsMatchConfig(configFile: string): Promise<IPPool[]> {
  const pools = await calicoIPPools(configFile);
  const config = await loadClustersConfig(configFile);
  for (const pool of pools) {
    assert.equal(pool.apiVersion, 'projectcalico.org/v3');
    assert.equal(pool.kind, 'IPPool');
    assert.deepEqual(ipPoolProblems(pool), [], pool.metadata?.name);
    assert.equal(pool.spec.disabled, true, 'a remote pool must never hand addresses to local pods');
    assert.equal(pool.spec.natOutgoing, false, 'traffic to remote pods keeps its pod source address');
    assert.equal(pool.spec.ipipMode, pool.spec.cidr.includes(':') ? undefined : 'CrossSubnet');
  }
  assert.deepEqual(
    pools.map((p) => p.spec.cidr).sort(),
    config.remotes.flatMap((r) => r.podSubnets).sort(),
    'one pool per remote pod subnet',
  );
  const names = pools.map((p) => p.metadata?.name);
  assert.equal(new Set(names).size, names.length, `pool names are unique: ${names.join(', ')}`);
  return pools;
}

for (const cluster of EXAMPLE_CLUSTERS) {
  test(`calico-ippools for example ${cluster} matches its config and the committed calico-ippools.yaml`, async () => {
    const pools = await assertPoolsMatchConfig(join(EXAMPLES_DIR, cluster, 'clusters.json'));
    const committed = await readManifests(join(EXAMPLES_DIR, cluster, 'calico-ippools.yaml'));
    assert.deepEqual(committed, pools, `regenerate with: clusterwire calico-ippools -clusters-config deploy/examples/${cluster}/clusters.json`);
  });
}

const exampleConfig = join(REPO_ROOT, 'config.example.json');
test(`calico-ippools for ${relative(REPO_ROOT, exampleConfig)} matches its subnets`, { skip: existsSync(exampleConfig) ? false : `${relative(REPO_ROOT, exampleConfig)} does not exist yet` }, async () => {
  await assertPoolsMatchConfig(exampleConfig);
});
