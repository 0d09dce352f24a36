/**
 * `clusterwire connect` and `disconnect` against two emulated apiservers
 * (lab/emulator) on loopback, through the CLI as an operator runs it, with
 * both clusters' kubeconfigs merged through KUBECONFIG. Loopback needs
 * --api-url/--to-api-url (connect refuses to hand a loopback URL to remote
 * nodes); test/e2e/connect.test.ts runs the same on the lab network and
 * starts daemons from what it wrote.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { startEmulator, type Emulator } from '../../lab/emulator/emulator.ts';
import { renderKubeconfig } from '../../lab/emulator/kubeconfig.ts';
import { realisticNode } from '../../lab/emulator/nodes.ts';
import { runCli } from '../../src/cli/cli.ts';
import { createKubeClient } from '../../src/kube/client.ts';
import { KubeRequestError } from '../../src/kube/kube-request-error.ts';
import { kubeconfigSettings } from '../../src/kube/kubeconfig.ts';
import { createMetrics } from '../../src/metrics.ts';
import { CommandError, execCommand } from '../../src/process/exec.ts';

async function kubectlVersion(): Promise<string | null> {
  try {
    return (await execCommand('kubectl', ['version', '--client'], { timeoutMs: 20_000 })).stdout.split('\n')[0] ?? '';
  } catch {
    return null;
  }
}
const kubectl = await kubectlVersion();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function clusterwire(args: string[], env: Record<string, string>): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await runCli(args, env, { stdout, stderr });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const writesSince = (emulator: Emulator, mark: number) =>
  emulator.requestLog(mark).filter((record) => WRITE_VERBS.has(record.verb)).map((record) => `${record.verb} ${record.resource} ${record.name}`);
const lastSeq = (emulator: Emulator) => emulator.requestLog().at(-1)?.seq ?? 0;

const get = (emulator: Emulator, kind: string, name: string, namespace?: string) => {
  const apiVersion = kind.startsWith('Cluster') ? 'rbac.authorization.k8s.io/v1' : 'v1';
  return emulator.get({ apiVersion, kind, name, ...(namespace === undefined ? {} : { namespace }) }) as { data?: Record<string, string>; metadata: { labels?: Record<string, string> } } | undefined;
};
const configOf = (emulator: Emulator) => JSON.parse(get(emulator, 'ConfigMap', 'clusterwire-config', 'clusterwire')?.data?.['clusters.json'] ?? 'null') as {
  local: object;
  annotationDomain?: string;
  remotes: { name: string; kubeConfigPath?: string; podSubnets?: string[]; wgListenPort?: number }[];
};
const decoded = (data: Record<string, string> | undefined, key: string) => Buffer.from(data?.[key] ?? '', 'base64').toString();

/** c1 was installed with deploy/local (its namespace and a config with another remote, c3); c2 has nothing yet. */
const C1_CONFIG = {
  local: { name: 'c1', kubeConfigPath: '' },
  annotationDomain: 'wireguard.example.org',
  remotes: [{ name: 'c3', kubeConfigPath: '/etc/clusterwire/tokens/c3.kubeconfig', podSubnet: '10.8.0.0/16', wgListenPort: 51820, persistentKeepalive: '15s' }],
};

describe('clusterwire connect / disconnect, two emulated clusters', () => {
  let dir = '';
  let c1: Emulator;
  let c2: Emulator;
  let env: Record<string, string> = {};
  let args: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `cw-connect-${process.pid}-`));
    c1 = await startEmulator({ dir: join(dir, 'c1'), clusterName: 'c1' });
    c2 = await startEmulator({ dir: join(dir, 'c2'), clusterName: 'c2' });
    c1.createNode(realisticNode({ name: 'c1-n1', podCIDRs: ['10.2.1.0/24'], internalIPs: ['198.18.64.2'] }));
    for (const [i, name] of ['c2-n1', 'c2-n2'].entries()) c2.createNode(realisticNode({ name, podCIDRs: [`10.4.${i + 1}.0/24`], internalIPs: [`198.18.64.${4 + i}`] }));
    c1.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'clusterwire' } });
    c1.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'clusterwire-config', namespace: 'clusterwire' }, data: { 'clusters.json': JSON.stringify(C1_CONFIG) } });
    env = { KUBECONFIG: `${join(dir, 'missing')}:${c1.kubeconfigPath}:${c2.kubeconfigPath}` };
    args = ['--context', 'c1', '--to-context', 'c2', '--api-url', c1.url, '--to-api-url', c2.url, '--pod-subnets', '10.2.0.0/16'];
  });
  after(async () => {
    await c1.stop();
    await c2.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('--dry-run prints every write, secrets redacted, and writes nothing', async (t) => {
    const marks = [lastSeq(c1), lastSeq(c2)] as const;
    const run = await clusterwire(['connect', ...args, '--dry-run'], env);
    t.diagnostic(run.stdout);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /would create ServiceAccount clusterwire\/clusterwire-remote-c1/);
    assert.match(run.stdout, /would create Secret clusterwire\/clusterwire-remote-tokens\n\s+c1\.token: the token of Secret clusterwire\/clusterwire-remote-c2-token in c1, once the token controller has filled it/);
    assert.match(run.stdout, /would update ConfigMap clusterwire\/clusterwire-config\n\s+clusters\.json: remote c2 added: \{"name":"c2","kubeConfigPath":"\/etc\/clusterwire\/tokens\/c2\.kubeconfig","podSubnets":\["10\.4\.0\.0\/22"\],"wgListenPort":51821\}/);
    assert.match(run.stdout, /Dry run: 13 writes planned, nothing written\./);
    assert.deepEqual(writesSince(c1, marks[0]), []);
    assert.deepEqual(writesSince(c2, marks[1]), []);
  });

  it('connect grants, copies tokens and CA, and writes both configs, keeping what was there', async (t) => {
    const run = await clusterwire(['connect', ...args], env);
    t.diagnostic(run.stdout);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Connected c1 and c2 \(13 writes\)\./);
    for (const [emulator, peer] of [[c1, 'c2'], [c2, 'c1']] as const) {
      const token = decoded(get(emulator, 'Secret', `clusterwire-remote-${peer}-token`, 'clusterwire')?.data, 'token');
      assert.ok(token.length > 100);
      assert.ok(!run.stdout.includes(token), 'no token is printed');
    }
    for (const [emulator, peer] of [[c2, 'c1'], [c1, 'c2']] as const) {
      for (const [kind, name, namespace] of [
        ['ServiceAccount', `clusterwire-remote-${peer}`, 'clusterwire'],
        ['ClusterRole', `clusterwire-remote-${peer}`, undefined],
        ['ClusterRoleBinding', `clusterwire-remote-${peer}`, undefined],
        ['Secret', `clusterwire-remote-${peer}-token`, 'clusterwire'],
      ] as const) {
        const object = get(emulator, kind, name, namespace);
        assert.equal(object?.metadata.labels?.['app.kubernetes.io/managed-by'], 'clusterwire-connect', `${kind} ${name}`);
      }
    }
    const c1Config = configOf(c1);
    assert.deepEqual(c1Config.local, C1_CONFIG.local);
    assert.equal(c1Config.annotationDomain, 'wireguard.example.org');
    assert.deepEqual(c1Config.remotes, [
      C1_CONFIG.remotes[0],
      { name: 'c2', kubeConfigPath: '/etc/clusterwire/tokens/c2.kubeconfig', podSubnets: ['10.4.0.0/22'], wgListenPort: 51821 },
    ]);
    assert.deepEqual(configOf(c2), {
      local: { name: 'c2' },
      annotationDomain: 'wireguard.example.org',
      remotes: [{ name: 'c1', kubeConfigPath: '/etc/clusterwire/tokens/c1.kubeconfig', podSubnets: ['10.2.0.0/16'], wgListenPort: 51820 }],
    }, "c2's new config uses c1's annotation domain: each side reads the other's annotations under its own");
  });

  it("the token and kubeconfig written into c1 read c2's Nodes, and nothing more", async (t) => {
    const tokens = join(dir, 'c1-tokens');
    await rm(tokens, { recursive: true, force: true });
    await mkdir(tokens, { mode: 0o700 });
    const data = get(c1, 'Secret', 'clusterwire-remote-tokens', 'clusterwire')?.data;
    for (const key of ['c2.token', 'c2.kubeconfig']) await writeFile(join(tokens, key), decoded(data, key), { mode: 0o600 });
    const client = createKubeClient({ cluster: 'c2', settings: kubeconfigSettings(join(tokens, 'c2.kubeconfig')), requests: createMetrics(new Registry()).kubeHttpRequests });
    t.after(() => client.close());
    const nodes = (await client.json({ method: 'GET', path: '/api/v1/nodes' })) as { items: unknown[] };
    assert.equal(nodes.items.length, 2);
    await assert.rejects(
      client.json({ method: 'PATCH', path: '/api/v1/nodes/c2-n1', body: { contentType: 'application/merge-patch+json', value: { metadata: { labels: { x: 'y' } } } } }),
      (err: unknown) => err instanceof KubeRequestError && err.status === 403 && /system:serviceaccount:clusterwire:clusterwire-remote-c1/.test(err.message),
    );
  });

  it('kubectl agrees: the peer may get, list and watch Nodes, not patch them nor read Secrets', { skip: kubectl === null ? 'kubectl is not installed here' : false }, async () => {
    const canI = async (verb: string, resource: string): Promise<string> => {
      try {
        const as = 'system:serviceaccount:clusterwire:clusterwire-remote-c1';
        return (await execCommand('kubectl', ['--kubeconfig', c2.kubeconfigPath, '--cache-dir', join(dir, 'kubectl-cache'), 'auth', 'can-i', verb, resource, '--as', as], { timeoutMs: 30_000 })).stdout.trim();
      } catch (error) {
        if (error instanceof CommandError && error.exitCode === 1) return 'no';
        throw error;
      }
    };
    assert.deepEqual(
      [await canI('list', 'nodes'), await canI('watch', 'nodes'), await canI('get', 'nodes'), await canI('patch', 'nodes'), await canI('get', 'secrets'), await canI('list', 'pods')],
      ['yes', 'yes', 'yes', 'no', 'no', 'no'],
    );
  });

  it('a second connect writes nothing on either side', async (t) => {
    const marks = [lastSeq(c1), lastSeq(c2)] as const;
    const run = await clusterwire(['connect', ...args], env);
    t.diagnostic(run.stdout);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Nothing to change: c1 and c2 are connected\./);
    assert.deepEqual(writesSince(c1, marks[0]), []);
    assert.deepEqual(writesSince(c2, marks[1]), []);
    assert.ok(c1.requestLog(marks[0]).length > 0, 'it did read c1');
  });

  it('errors name the side, the object and the API call', async () => {
    const loopback = await clusterwire(['connect', '--context', 'c1', '--to-context', 'c2'], env);
    assert.equal(loopback.code, 1);
    assert.match(loopback.stderr, /clusterwire: c2 \(context c2\): its API URL https:\/\/127\.0\.0\.1:\d+ is a loopback address, which c1's nodes cannot reach: give .* with --to-api-url/);

    // A third cluster, c9, whose grant in c2 someone made by hand.
    const c9 = await startEmulator({ dir: join(dir, 'c9'), clusterName: 'c9' });
    try {
      const c9Args = ['connect', '--kubeconfig', c9.kubeconfigPath, '--to-kubeconfig', c2.kubeconfigPath, '--to-context', 'c2', '--api-url', c9.url, '--to-api-url', c2.url];
      // c9 is installed with the default annotation domain, c2 uses another: they could never peer.
      c9.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'clusterwire' } });
      const c9Config = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'clusterwire-config', namespace: 'clusterwire' }, data: { 'clusters.json': '{"local":{"name":"c9"},"remotes":[]}' } };
      c9.create(c9Config);
      const domains = await clusterwire(c9Args, {});
      assert.equal(domains.code, 1);
      assert.match(domains.stderr, /^clusterwire: c9 \(context c9\) uses annotationDomain wireguard\.semaphore\.uw\.io and c2 \(context c2\) wireguard\.example\.org: peered clusters must use the same/);
      c9.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'clusterwire-config', namespace: 'clusterwire' });

      // c9 has no Nodes to derive its pod subnets from: refused before anything is written.
      const marks = [lastSeq(c2), lastSeq(c9)] as const;
      const noSubnets = await clusterwire(c9Args, {});
      assert.equal(noSubnets.code, 1);
      assert.match(noSubnets.stderr, /^clusterwire: c9 \(context c9\): no Node has spec\.podCIDRs, so its pod subnets cannot be derived: give them with --pod-subnets/);
      assert.deepEqual([...writesSince(c2, marks[0]), ...writesSince(c9, marks[1])], []);

      c2.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'clusterwire-remote-c9', namespace: 'clusterwire' } });
      const notOurs = await clusterwire([...c9Args, '--pod-subnets', '10.9.0.0/16'], {});
      assert.equal(notOurs.code, 1);
      assert.match(notOurs.stderr, /^clusterwire: c2 \(context c2\): ServiceAccount clusterwire\/clusterwire-remote-c9 exists but was not made by clusterwire connect: connect leaves it alone/);
      assert.equal(get(c2, 'ClusterRole', 'clusterwire-remote-c9'), undefined, 'nothing after the refusal was written');
    } finally {
      c2.delete({ apiVersion: 'v1', kind: 'ServiceAccount', name: 'clusterwire-remote-c9', namespace: 'clusterwire' });
      await c9.stop();
    }

    const reader = tokenOf(c2, 'reader');
    const limited = join(dir, 'limited.kubeconfig');
    await writeFile(join(dir, 'reader.token'), reader, { mode: 0o600 });
    await writeFile(limited, renderKubeconfig({ clusterName: 'limited', server: c2.url, caFile: c2.caFile, tokenFile: join(dir, 'reader.token') }));
    const forbidden = await clusterwire(['connect', '--context', 'c1', '--to-kubeconfig', limited, '--to-context', 'limited', '--to-name', 'c2', '--api-url', c1.url, '--to-api-url', c2.url], env);
    assert.equal(forbidden.code, 1);
    assert.match(
      forbidden.stderr,
      /^clusterwire: context limited: reading DaemonSet clusterwire\/clusterwire failed: GET \/apis\/apps\/v1\/namespaces\/clusterwire\/daemonsets\/clusterwire on cluster limited failed: HTTP 403 Forbidden/,
    );
  });

  it('disconnect removes what connect made and wrote, and nothing else; a second one writes nothing', async (t) => {
    const run = await clusterwire(['disconnect', '--context', 'c1', '--to-context', 'c2'], env);
    t.diagnostic(run.stdout);
    assert.equal(run.code, 0, run.stderr);
    for (const [emulator, peer] of [[c2, 'c1'], [c1, 'c2']] as const) {
      assert.equal(get(emulator, 'ServiceAccount', `clusterwire-remote-${peer}`, 'clusterwire'), undefined);
      assert.equal(get(emulator, 'ClusterRole', `clusterwire-remote-${peer}`), undefined);
      assert.equal(get(emulator, 'ClusterRoleBinding', `clusterwire-remote-${peer}`), undefined);
      assert.equal(get(emulator, 'Secret', `clusterwire-remote-${peer}-token`, 'clusterwire'), undefined);
      assert.equal(get(emulator, 'Secret', 'clusterwire-remote-tokens', 'clusterwire'), undefined);
      assert.ok(get(emulator, 'Namespace', 'clusterwire'), 'the namespace stays');
    }
    assert.deepEqual(configOf(c1), C1_CONFIG, "c1's config is as it was before connect");
    assert.equal(get(c2, 'ConfigMap', 'clusterwire-config', 'clusterwire'), undefined, "c2's config was connect's, and names no remote now");

    const marks = [lastSeq(c1), lastSeq(c2)] as const;
    const again = await clusterwire(['disconnect', '--context', 'c1', '--to-context', 'c2'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Nothing to change/);
    assert.deepEqual(writesSince(c1, marks[0]), []);
    assert.deepEqual(writesSince(c2, marks[1]), []);
  });
});

/** A token of a new ServiceAccount `name` in `default` that may do nothing. */
function tokenOf(emulator: Emulator, name: string): string {
  emulator.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'default' } });
  emulator.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-token`, namespace: 'default', annotations: { 'kubernetes.io/service-account.name': name } }, type: 'kubernetes.io/service-account-token' });
  const secret = emulator.get({ apiVersion: 'v1', kind: 'Secret', name: `${name}-token`, namespace: 'default' }) as { data: { token: string } };
  return Buffer.from(secret.data.token, 'base64').toString();
}
