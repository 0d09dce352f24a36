/**
 * deploy/local/components/prometheusrule: valid, accepted by `promtool
 * check rules`, and the alerts fire as test/deploy/alerts.promtool.yaml
 * says (`promtool test rules`): once per remote, not per node or per peer,
 * and never for remote nodes that do not run the daemon. Each alert has a
 * section in docs/runbooks.md.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { promtool } from '../support/promtool.ts';
import { readManifests, type Manifest } from './support/manifests.ts';
import { anchorsOf } from './support/markdown.ts';
import { DEPLOY_DIR, REPO_ROOT } from './support/repo.ts';
import { validateManifest } from './support/validate-manifest.ts';

const RULE_FILE = join(DEPLOY_DIR, 'local', 'components', 'prometheusrule', 'prometheusrule.yaml');
const UNIT_TESTS = join(REPO_ROOT, 'test', 'deploy', 'alerts.promtool.yaml');

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: string };
  annotations: { summary: string; description: string; runbook_url: string };
}
type RuleManifest = Manifest & { spec: { groups: { name: string; rules: Rule[] }[] } };

const [rule] = (await readManifests(RULE_FILE)) as RuleManifest[];
const alerts = rule?.spec.groups.flatMap((g) => g.rules) ?? [];

/** The rules as Prometheus reads them (the CRD's spec), and the unit tests, in a temporary directory. */
async function ruleDirectory(): Promise<{ dir: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `clusterwire-rules-${process.pid}-`));
  await writeFile(join(dir, 'rules.yaml'), stringify(rule?.spec));
  await copyFile(UNIT_TESTS, join(dir, 'alerts.promtool.yaml'));
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

describe('the PrometheusRule', () => {
  test('validates: every alert has a severity, a for, a summary, a description and a runbook link', () => {
    assert.ok(rule);
    validateManifest(rule);
    assert.ok(alerts.length >= 6, `${alerts.length} alerts`);
    assert.deepEqual(alerts.filter((a) => a.labels.severity === 'critical').map((a) => a.alert), ['ClusterwireRemoteDown'], 'one page: the remote is cut off');
  });

  test('promtool check rules accepts it', async (t) => {
    await using rules = await ruleDirectory();
    const result = await promtool(t, ['check', 'rules', join(rules.dir, 'rules.yaml')]);
    if (result === null) return;
    t.diagnostic(`promtool check rules: exit ${result.code}: ${result.output.trim().replace(/\s+/g, ' ')}`);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, new RegExp(`SUCCESS: ${alerts.length} rules found`));
  });

  test('promtool test rules: the alerts fire once per remote (alerts.promtool.yaml)', async (t) => {
    await using rules = await ruleDirectory();
    const result = await promtool(t, ['test', 'rules', join(rules.dir, 'alerts.promtool.yaml')]);
    if (result === null) return;
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /SUCCESS/);
  });

  test('every alert is in the unit tests, with its labels and annotations', async () => {
    const unit = parse(await readFile(UNIT_TESTS, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const tested = new Set(unit.tests.flatMap((test) => test.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    for (const { alert } of alerts) assert.ok(tested.has(alert), `${alert} is never expected to fire in alerts.promtool.yaml`);
  });

  test('every alert links to its section of docs/runbooks.md, and every section is an alert', async () => {
    const runbooks = await readFile(join(REPO_ROOT, 'docs', 'runbooks.md'), 'utf8');
    const anchors = anchorsOf(runbooks);
    for (const { alert, annotations } of alerts) {
      const url = new URL(annotations.runbook_url);
      assert.ok(url.pathname.endsWith('/docs/runbooks.md'), `${alert}: ${annotations.runbook_url}`);
      assert.equal(url.hash, `#${alert.toLowerCase()}`, `${alert}: the anchor of its heading`);
      assert.ok(anchors.has(alert.toLowerCase()), `${alert} has no section in docs/runbooks.md`);
    }
    const sections = [...runbooks.matchAll(/^## (Clusterwire\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(sections, alerts.map((a) => a.alert), 'one section per alert, in the same order');
    for (const section of runbooks.split(/^## /m).slice(1)) {
      for (const part of ['Meaning', 'Impact', 'What to check', 'What to do']) assert.match(section, new RegExp(`^\\*\\*${part}\\.\\*\\*`, 'm'), `${section.split('\n')[0]}: ${part}`);
    }
  });
});
