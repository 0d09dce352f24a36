/**
 * docs/migration.md's migrate-check Job must work as written: it validates
 * as a Job, its arguments parse with the CLI to `migrate-check`, and the
 * paths they name are under the volumes it mounts.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Job } from 'kubernetes-models/batch/v1';
import { parse } from 'yaml';
import { parseCommandLine } from '../../src/cli/parse-command-line.ts';
import { REPO_ROOT } from './support/repo.ts';

interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
interface JobShape {
  spec: {
    template: {
      spec: {
        nodeName: string;
        serviceAccountName: string;
        containers: { args: string[]; volumeMounts: Mount[] }[];
        volumes: { name: string; hostPath?: { path: string }; configMap?: { name: string } }[];
      };
    };
  };
}

test('the migrate-check Job of docs/migration.md validates, parses with the CLI and reads only what it mounts', async () => {
  const markdown = await readFile(join(REPO_ROOT, 'docs/migration.md'), 'utf8');
  const block = /```yaml\n(# migrate-check-job\.yaml[\s\S]*?)```/.exec(markdown)?.[1];
  assert.ok(block, 'no migrate-check-job.yaml block');
  const job = parse(block.replaceAll('NODE_NAME', 'node-a')) as JobShape;
  new Job(job as never).validate();
  const pod = job.spec.template.spec;
  assert.equal(pod.nodeName, 'node-a');
  assert.equal(pod.serviceAccountName, 'clusterwire', "deploy/local's account, which may read Nodes");
  const [container] = pod.containers;
  assert.ok(container);
  const parsed = parseCommandLine(container.args, {});
  assert.equal(parsed.name, 'migrate-check');
  if (parsed.name !== 'migrate-check') return;
  assert.equal(parsed.options.nodeName, 'node-a');
  const mountOf = (path: string) => container.volumeMounts.find((mount) => path.startsWith(`${mount.mountPath}/`));
  const config = mountOf(parsed.options.clustersConfigPath);
  assert.equal(pod.volumes.find((v) => v.name === config?.name)?.configMap?.name, 'clusterwire-migrate-check');
  const keys = mountOf(join(parsed.options.hostRoot, parsed.options.wgKeyPath));
  assert.ok(keys?.readOnly, 'the node is only read');
  const hostPath = pod.volumes.find((v) => v.name === keys.name)?.hostPath?.path ?? '';
  // <mountPath> in the pod is <hostPath> on the node: the key path under -host-root must be the same node path.
  assert.equal(join(hostPath, join(parsed.options.hostRoot, parsed.options.wgKeyPath).slice(keys.mountPath.length)), parsed.options.wgKeyPath);
  assert.match(markdown, /create configmap clusterwire-migrate-check --from-file=clusters\.json=/);
});
