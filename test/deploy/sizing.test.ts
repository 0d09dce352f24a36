/**
 * The memory sizing table of docs/install.md follows its stated rule from
 * its measured figures, and the shipped DaemonSet's resources hold what the
 * docs claim for them. Re-measured figures go in the table; this test then
 * names the requests and limits that follow.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { IDaemonSet } from 'kubernetes-models/apps/v1';
import { memoryBytes } from '../../lab/podman-pod.ts';
import { readManifests } from './support/manifests.ts';
import { DEPLOY_DIR, REPO_ROOT } from './support/repo.ts';

const MiB = 2 ** 20;
const HEADROOM = 1.25;
const ROUND_TO_MIB = 64;

/** What docs/install.md says the shipped resources hold. */
const SHIPPED_LIMIT_HOLDS = { kernel: '10,000', userspace: '5,000' };
const SHIPPED_REQUEST_IS = { backend: 'kernel', remoteNodes: '1,000' } as const;

interface SizingRow {
  remoteNodes: string;
  steady: number;
  peak: number;
  wireguardGo: number;
  kernel: { request: number; limit: number };
  userspace: { request: number; limit: number };
}

/** `298 (est.)` → 298; `1024Mi` → 1024. */
const mebibytes = (cell: string) => Number(/^(\d+)/.exec(cell.trim())?.[1] ?? NaN);

function parseSizingTable(markdown: string): SizingRow[] {
  const section = markdown.slice(markdown.indexOf('### Memory sizing'));
  const rows = section.split('\n').filter((line) => /^\| [0-9]/.test(line));
  return rows.map((line) => {
    const cells = line.split('|').slice(1, -1).map((cell) => cell.trim());
    const pair = (cell: string) => {
      const [request = '', limit = ''] = cell.split('/');
      return { request: mebibytes(request), limit: mebibytes(limit) };
    };
    return {
      remoteNodes: (cells[0] ?? '').split(' ')[0] ?? '',
      steady: mebibytes(cells[1] ?? ''),
      peak: mebibytes(cells[2] ?? ''),
      wireguardGo: mebibytes(cells[3] ?? ''),
      kernel: pair(cells[4] ?? ''),
      userspace: pair(cells[5] ?? ''),
    };
  });
}

const roundUp = (mib: number) => Math.ceil(mib / ROUND_TO_MIB) * ROUND_TO_MIB;

const markdown = await readFile(join(REPO_ROOT, 'docs', 'install.md'), 'utf8');
const table = parseSizingTable(markdown);
const [daemonSet] = (await readManifests(join(DEPLOY_DIR, 'local', 'daemonset.yaml'))) as IDaemonSet[];
const pod = daemonSet?.spec?.template.spec;
const resources = pod?.containers[0]?.resources;
const tmpSizeMiB = (memoryBytes(pod?.volumes?.find((v) => v.name === 'tmp')?.emptyDir?.sizeLimit ?? '') ?? NaN) / MiB;

describe('docs/install.md: memory sizing', () => {
  test('the table has the sizes the bench measures', () => {
    assert.deepEqual(
      table.map((row) => row.remoteNodes),
      ['0', '1,000', '5,000', '10,000'],
    );
  });

  for (const row of table) {
    test(`${row.remoteNodes} remote nodes: request = steady (+ wireguard-go), limit = (peak + wireguard-go) × ${HEADROOM} + /tmp, rounded up to ${ROUND_TO_MIB} MiB`, () => {
      assert.ok(row.peak >= row.steady, 'the peak is at least the steady state');
      const expected = (wireguardGo: number) => ({
        request: roundUp(row.steady + wireguardGo),
        limit: roundUp((row.peak + wireguardGo) * HEADROOM + tmpSizeMiB),
      });
      assert.deepEqual(row.kernel, expected(0), 'kernel backend');
      assert.deepEqual(row.userspace, expected(row.wireguardGo), 'userspace backend');
    });
  }

  test('the shipped DaemonSet holds what the docs claim for it', () => {
    const limit = (memoryBytes(resources?.limits?.memory ?? '') ?? 0) / MiB;
    const request = (memoryBytes(resources?.requests?.memory ?? '') ?? 0) / MiB;
    const row = (remoteNodes: string) => table.find((r) => r.remoteNodes === remoteNodes);
    assert.ok(limit >= (row(SHIPPED_LIMIT_HOLDS.kernel)?.kernel.limit ?? Infinity), `${limit} MiB holds ${SHIPPED_LIMIT_HOLDS.kernel} remote nodes, kernel backend`);
    assert.ok(limit >= (row(SHIPPED_LIMIT_HOLDS.userspace)?.userspace.limit ?? Infinity), `${limit} MiB holds ${SHIPPED_LIMIT_HOLDS.userspace} remote nodes, userspace backend`);
    assert.equal(request, row(SHIPPED_REQUEST_IS.remoteNodes)?.[SHIPPED_REQUEST_IS.backend].request);
    const claim = `The limit holds the measured peak, with headroom, of ${SHIPPED_LIMIT_HOLDS.kernel} remote nodes\nwith the kernel backend and of ${SHIPPED_LIMIT_HOLDS.userspace} with the userspace backend`;
    assert.ok(markdown.includes(claim), 'docs/install.md states what the shipped limit holds');
    assert.ok(markdown.includes(`requests \`cpu: 20m, memory: ${resources?.requests?.memory}\` and is limited to \`${resources?.limits?.memory}\``), 'docs/install.md names the shipped values');
  });
});
