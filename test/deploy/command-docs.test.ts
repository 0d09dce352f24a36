import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { commandSpec } from '../../src/cli/commands.ts';
import { REPO_ROOT } from './support/repo.ts';

test('configuration.md has a table row for every flag of connect, disconnect and migrate-check, with its variable', async () => {
  const markdown = await readFile(join(REPO_ROOT, 'docs/configuration.md'), 'utf8');
  const rows = markdown.split('\n').filter((line) => line.startsWith('| `-'));
  for (const name of ['connect', 'disconnect', 'migrate-check'] as const) {
    for (const flag of commandSpec(name).flags) {
      const row = rows.find((line) => line.split('|')[1]?.includes(`\`-${flag.name}\``));
      assert.ok(row, `${name} -${flag.name} is not documented`);
      if (flag.env !== null) assert.ok(row.includes(`\`${flag.env}\``), `${name} -${flag.name}: ${flag.env} is not documented`);
    }
  }
});
