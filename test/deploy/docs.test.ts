import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Registry } from 'prom-client';
import { mirrorCommand } from '../../src/cli/mirror.ts';
import { runCommand } from '../../src/cli/run.ts';
import { createMirrorMetrics, registerMirrorGauges } from '../../src/mirror/mirror-metrics.ts';
import { PUBLISH_SKIP_REASONS } from '../../src/fleet/slice-entry.ts';
import { knownKeysAt } from '../../src/config/schema.ts';
import { createMetrics, WATCHER_VERBS } from '../../src/metrics.ts';
import { DEVICE_FAMILIES, HANDSHAKE_AGES, PEER_METRICS_MODES } from '../../src/server/device-metrics.ts';
import { registerSourceMetrics } from '../../src/server/source-metrics.ts';
import { registerWatchMetrics } from '../../src/server/watch-metrics.ts';
import { SKIP_REASONS } from '../../src/peering/skip-reasons.ts';
import { findFiles } from './support/manifests.ts';
import { anchorsOf, headingAnchor, relativeLinksOf } from './support/markdown.ts';
import { REPO_ROOT } from './support/repo.ts';

const DOCS_DIR = join(REPO_ROOT, 'docs');
const docs = await findFiles(DOCS_DIR, (name) => name.endsWith('.md'));
const read = (name: string) => readFile(join(DOCS_DIR, name), 'utf8');

/** The table row that documents `name` (written as `name` in its first cell). */
function rowOf(markdown: string, name: string): string | undefined {
  return markdown.split('\n').find((line) => line.startsWith(`| \`${name}\``));
}

describe('docs/', () => {
  test('has the operator guides', () => {
    const names = docs.map((file) => relative(DOCS_DIR, file)).sort();
    assert.deepEqual(names, ['configuration.md', 'design.md', 'fleet-mode.md', 'how-it-works.md', 'http-and-metrics.md', 'install.md', 'migration.md', 'runbooks.md', 'troubleshooting.md']);
  });

  test('the guides link to each other', async () => {
    const links = await Promise.all(docs.map(async (file) => relativeLinksOf(await readFile(file, 'utf8')).length));
    assert.ok(links.every((count) => count > 0), `links per guide: ${links.join(', ')}`);
  });

  for (const file of docs) {
    test(`${relative(REPO_ROOT, file)}: relative links and anchors resolve`, async () => {
      const markdown = await readFile(file, 'utf8');
      for (const link of relativeLinksOf(markdown)) {
        const target = link.target === '' ? file : join(dirname(file), link.target);
        assert.ok(existsSync(target), `${link.target} does not exist`);
        if (link.anchor !== null) {
          assert.ok(anchorsOf(await readFile(target, 'utf8')).has(link.anchor), `no heading #${link.anchor} in ${relative(REPO_ROOT, target)}`);
        }
      }
    });
  }

  test('http-and-metrics.md documents every exported metric with its labels', async () => {
    const markdown = await read('http-and-metrics.md');
    const { registry } = createMetrics(new Registry());
    registerWatchMetrics(registry, { statuses: () => [] });
    registerSourceMetrics(registry, { statuses: () => [] });
    const ours = [
      ...registry.getMetricsAsArray().map((metric) => metric as unknown as { name: string; labelNames: readonly string[] }),
      ...DEVICE_FAMILIES,
    ].filter(({ name }) => /^(semaphore_wg|clusterwire)_/.test(name));
    assert.ok(ours.length >= 20, `found only ${ours.length} metrics`);
    for (const { name, labelNames } of ours) {
      const row = rowOf(markdown, name);
      assert.ok(row, `${name} is not documented`);
      for (const label of labelNames) assert.ok(row.includes(`\`${label}\``), `${name}: label ${label} is not documented`);
    }
  });

  test('http-and-metrics.md documents the label values, the series created at start and every -peer-metrics mode', async () => {
    const markdown = await read('http-and-metrics.md');
    assert.match(rowOf(markdown, 'semaphore_wg_sync_peers_total') ?? '', /`success` \(`1`\/`0`\)/);
    const verbs = rowOf(markdown, 'semaphore_wg_node_watcher_failures_total') ?? '';
    for (const verb of WATCHER_VERBS) assert.ok(verbs.includes(`\`${verb}\``), `verb ${verb} is not documented`);
    const ages = rowOf(markdown, 'clusterwire_peers_by_handshake_age') ?? '';
    for (const age of HANDSHAKE_AGES) {
      assert.ok(ages.includes(`\`${age}\``), `age ${age} is not in the metric's row`);
      assert.ok(rowOf(markdown, age), `age ${age} has no row of its own`);
    }
    for (const mode of PEER_METRICS_MODES) assert.ok(markdown.split('\n').some((line) => line.startsWith(`| \`${mode}\``)), `-peer-metrics ${mode} is not documented`);
    assert.match(markdown, /Series that exist from start/);
    assert.match(markdown, /`success="1"` and `success="0"`/);
  });

  test('configuration.md documents every flag of run with its variable and default', async () => {
    const markdown = await read('configuration.md');
    for (const flag of runCommand.flags) {
      const row = rowOf(markdown, `-${flag.name}`);
      assert.ok(row, `-${flag.name} is not documented`);
      assert.ok(row.includes(`\`${flag.env}\``), `-${flag.name}: ${flag.env} is not documented`);
      assert.ok(row.includes(flag.defaultText === null ? '(required)' : `\`${flag.defaultText}\``), `-${flag.name}: its default is not documented`);
    }
  });

  test('every skip reason is documented in http-and-metrics.md and troubleshooting.md', async () => {
    const metrics = await read('http-and-metrics.md');
    const troubleshooting = await read('troubleshooting.md');
    for (const reason of SKIP_REASONS) {
      assert.ok(rowOf(metrics, reason), `${reason} has no row in http-and-metrics.md`);
      assert.ok(
        troubleshooting.split('\n').some((line) => line.startsWith('| ') && line.split('|')[1]?.includes(`\`${reason}\``)),
        `${reason} has no row in troubleshooting.md`,
      );
    }
  });

  test('fleet-mode.md documents every flag of mirror with its variable and default', async () => {
    const markdown = await read('fleet-mode.md');
    for (const flag of mirrorCommand.flags) {
      const row = rowOf(markdown, `-${flag.name}`);
      assert.ok(row, `-${flag.name} is not documented`);
      assert.ok(row.includes(`\`${flag.env}\``), `-${flag.name}: ${flag.env} is not documented`);
      assert.ok(row.includes(flag.defaultText === null ? '(required)' : flag.defaultText === '' ? 'host name' : `\`${flag.defaultText}\``), `-${flag.name}: its default is not documented`);
    }
  });

  test('fleet-mode.md documents every metric of mirror with its labels, and every reason a node is not published', async () => {
    const markdown = await read('fleet-mode.md');
    const { registry } = createMirrorMetrics(new Registry());
    registerMirrorGauges(registry, { cluster: 'c1', namespace: 'clusterwire', election: () => { throw new Error('not scraped'); }, publishers: () => [], mirrored: () => [] });
    const ours = registry.getMetricsAsArray().map((metric) => metric as unknown as { name: string; labelNames: readonly string[] }).filter(({ name }) => /^(semaphore_wg|clusterwire)_/.test(name));
    assert.ok(ours.length >= 12, `found only ${ours.length} metrics`);
    for (const { name, labelNames } of ours) {
      const row = rowOf(markdown, name);
      assert.ok(row, `${name} is not documented`);
      for (const label of labelNames) assert.ok(row.includes(`\`${label}\``), `${name}: label ${label} is not documented`);
    }
    for (const reason of PUBLISH_SKIP_REASONS) assert.ok(rowOf(markdown, reason), `${reason} has no row in fleet-mode.md`);
  });

  test('configuration.md documents every key of the clusters config', async () => {
    const markdown = await read('configuration.md');
    const keys = [...knownKeysAt([]), ...knownKeysAt(['local']), ...knownKeysAt(['remotes'])];
    assert.ok(keys.includes('podSubnets'));
    for (const key of keys) assert.ok(rowOf(markdown, key), `${key} is not documented`);
  });
});

test('headingAnchor makes GitHub anchors', () => {
  assert.equal(headingAnchor("3. Give each cluster the other's token"), '3-give-each-cluster-the-others-token');
  assert.equal(headingAnchor('Interface names: IFNAMSIZ and the 5-character limit'), 'interface-names-ifnamsiz-and-the-5-character-limit');
  assert.equal(headingAnchor('`GET /healthz`: liveness'), 'get-healthz-liveness');
});
