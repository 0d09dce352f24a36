/**
 * End to end: two emulated clusters connected by `clusterwire connect`,
 * then daemons started from exactly what it wrote, peering and pinging
 * across real tunnels (lab/README.md).
 *
 * What a pod of deploy/local gets, each lab node gets here: clusters.json
 * from the cluster's ConfigMap `clusterwire-config`, and the Secret
 * `clusterwire-remote-tokens` as files at /etc/clusterwire/tokens (a bind
 * mount in the node's own mount namespace). The lab has no in-cluster
 * service account, so the "installed" ConfigMap each cluster starts with
 * reaches its own apiserver through the emulator's kubeconfig; connect
 * keeps that key as it is.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { Emulator } from '../../lab/emulator/emulator.ts';
import { createLab, type Lab, type LabCluster } from '../../lab/lab.ts';
import { skipUnlessRoot } from '../support/root.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TOKENS_MOUNT = '/etc/clusterwire/tokens';
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as an operator runs it, in a child process. */
function clusterwire(args: string[], kubeconfig: string): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [path.join(ROOT, 'src/main.ts'), ...args], { cwd: ROOT, timeout: 120_000, env: { PATH: process.env.PATH ?? '', KUBECONFIG: kubeconfig } }, (error, stdout, stderr) =>
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
    );
  });
}

const writesSince = (emulator: Emulator, mark: number) =>
  emulator.requestLog(mark).filter((record) => WRITE_VERBS.has(record.verb)).map((record) => `${record.verb} ${record.resource} ${record.name}`);
const lastSeq = (emulator: Emulator) => emulator.requestLog().at(-1)?.seq ?? 0;

type Stored = { data?: Record<string, string>; metadata?: { labels?: Record<string, string> } } | undefined;
const secretOf = (cluster: LabCluster, name: string) => cluster.emulator.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'clusterwire', name }) as Stored;
const configText = (cluster: LabCluster) =>
  (cluster.emulator.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'clusterwire', name: 'clusterwire-config' }) as Stored)?.data?.['clusters.json'] ?? '';

/** Makes the directories of `target` that do not exist; returns them, deepest first, for removal. */
async function makeMountPoint(target: string): Promise<string[]> {
  const made: string[] = [];
  for (let dir = target; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      await stat(dir);
      break;
    } catch {
      made.push(dir);
    }
  }
  await mkdir(target, { recursive: true });
  return made;
}

test('connect two emulated clusters, start daemons from what it wrote: they peer and ping; a second connect writes nothing; disconnect removes it', async (t) => {
  if (skipUnlessRoot(t)) return;
  let lab: Lab | undefined;
  let madeDirs: string[] = [];
  try {
    lab = await createLab({ startDaemons: false, reconcileInterval: '1s' });
    const clusters = [lab.clusters.c1, lab.clusters.c2] as [LabCluster, LabCluster];
    // deploy/local, applied: the namespace and a config with no remote yet.
    for (const cluster of clusters) {
      cluster.emulator.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'clusterwire' } });
      const config = { local: { name: cluster.name, kubeConfigPath: cluster.emulator.kubeconfigPath }, remotes: [] };
      cluster.emulator.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'clusterwire-config', namespace: 'clusterwire' }, data: { 'clusters.json': JSON.stringify(config, null, 2) } });
    }
    const kubeconfig = clusters.map((cluster) => cluster.emulator.kubeconfigPath).join(':');

    const connect = await clusterwire(['connect', '--context', 'c1', '--to-context', 'c2', '--pod-subnets', '10.2.0.0/16'], kubeconfig);
    t.diagnostic(`$ clusterwire connect --context c1 --to-context c2 --pod-subnets 10.2.0.0/16\n${connect.stdout}${connect.stderr}`);
    assert.equal(connect.code, 0, connect.stderr);

    const marks = clusters.map((cluster) => lastSeq(cluster.emulator));
    const again = await clusterwire(['connect', '--context', 'c1', '--to-context', 'c2', '--pod-subnets', '10.2.0.0/16'], kubeconfig);
    t.diagnostic(`$ clusterwire connect --context c1 --to-context c2 --pod-subnets 10.2.0.0/16\n${again.stdout}${again.stderr}`);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Nothing to change: c1 and c2 are connected\./);
    clusters.forEach((cluster, i) => assert.deepEqual(writesSince(cluster.emulator, marks[i] ?? 0), [], `${cluster.name}: no write on the second run`));

    // What the kubelet would do for each pod: the ConfigMap and the Secret as files.
    madeDirs = await makeMountPoint(TOKENS_MOUNT);
    for (const cluster of clusters) {
      const tokens = path.join(lab.dir, cluster.name, 'tokens');
      await mkdir(tokens, { recursive: true, mode: 0o700 });
      for (const [key, value] of Object.entries(secretOf(cluster, 'clusterwire-remote-tokens')?.data ?? {})) {
        await writeFile(path.join(tokens, key), Buffer.from(value, 'base64'), { mode: 0o400 });
      }
      for (const node of cluster.nodes) {
        await node.host.run('mount', ['--bind', tokens, TOKENS_MOUNT]);
        await writeFile(lab.configPath(node), configText(cluster));
        await lab.startDaemon(node);
      }
    }
    await lab.waitUntilPeered(60_000);
    for (const [from, to] of [[clusters[0], clusters[1]], [clusters[1], clusters[0]]] as const) {
      for (const a of from.nodes) {
        for (const b of to.nodes) {
          const ping = await lab.ping(a, b.podIP, { count: 2, timeoutSeconds: 5 });
          assert.ok(ping.ok, `${a.name} → ${b.name} (${b.podIP})`);
        }
      }
    }
    t.diagnostic(`every pod pair pings across (${clusters[0].nodes.length * clusters[1].nodes.length * 2} pairs)`);

    const disconnect = await clusterwire(['disconnect', '--context', 'c1', '--to-context', 'c2'], kubeconfig);
    t.diagnostic(`$ clusterwire disconnect --context c1 --to-context c2\n${disconnect.stdout}${disconnect.stderr}`);
    assert.equal(disconnect.code, 0, disconnect.stderr);
    for (const [cluster, peer] of [[clusters[0], 'c2'], [clusters[1], 'c1']] as const) {
      assert.equal(secretOf(cluster, 'clusterwire-remote-tokens'), undefined, `${cluster.name}: tokens Secret`);
      assert.equal(secretOf(cluster, `clusterwire-remote-${cluster.name === 'c1' ? 'c2' : 'c1'}-token`), undefined);
      assert.equal(cluster.emulator.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'clusterwire', name: `clusterwire-remote-${peer}` }), undefined);
      assert.equal(cluster.emulator.get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: `clusterwire-remote-${peer}` }), undefined);
      assert.equal(cluster.emulator.get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: `clusterwire-remote-${peer}` }), undefined);
      assert.deepEqual((JSON.parse(configText(cluster)) as { remotes: unknown[] }).remotes, [], `${cluster.name}'s config names no remote`);
    }
  } catch (error) {
    if (lab) t.diagnostic(await lab.logTails(25));
    throw error;
  } finally {
    await lab?.destroy();
    for (const dir of madeDirs) await rmdir(dir).catch((error: unknown) => t.diagnostic(`could not remove ${dir}: ${String(error)}`));
  }
});
