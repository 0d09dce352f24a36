import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import type { IContainer, IVolume } from 'kubernetes-models/v1';
import type { IDaemonSet } from 'kubernetes-models/apps/v1';
import packageJson from '../../package.json' with { type: 'json' };
import { parseCommandLine } from '../../src/cli/parse-command-line.ts';
import { parseClustersConfigText } from '../../src/config/parse.ts';
import { DEFAULT_SOCKET_DIRECTORY } from '../../src/wireguard/uapi-client.ts';
import { findOne, hasKubectl, renderKustomization, type Manifest } from './support/manifests.ts';
import { DEPLOY_DIR } from './support/repo.ts';

/** The kustomizations that deploy the daemon. */
const TARGETS = ['local', 'examples/c1', 'examples/c2'];
const SAMPLE_NODE = 'node-a.c1.example.com';
const TOKENS_SECRET = 'clusterwire-remote-tokens';
/** semaphore-wireguard's key directory: reusing it keeps every node's key across the migration. */
const KEY_DIR = '/var/lib/semaphore-wireguard';

const kubectl = await hasKubectl();

/** The container's environment as the kubelet would set it, with the downward API answered by `nodeName`. */
function containerEnv(container: IContainer, nodeName: string): Record<string, string> {
  return Object.fromEntries(
    (container.env ?? []).map((variable) => {
      if (variable.value !== undefined) return [variable.name, variable.value];
      if (variable.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') return [variable.name, nodeName];
      throw new Error(`env ${variable.name}: the test does not know what the kubelet puts there`);
    }),
  );
}

function mountPathOf(container: IContainer, volume: IVolume | undefined): string {
  const mount = container.volumeMounts?.find((m) => m.name === volume?.name);
  if (mount === undefined) throw new Error(`volume ${volume?.name ?? '(none)'} is not mounted in ${container.name}`);
  return mount.mountPath;
}

const isUnder = (path: string, dir: string) => path.startsWith(`${dir.replace(/\/$/, '')}/`);

for (const target of TARGETS) {
  describe(`deploy/${target}: the DaemonSet`, { skip: kubectl ? false : 'kubectl is not installed: cannot render the kustomization' }, async () => {
    const rendered = kubectl ? await renderKustomization(posix.join(DEPLOY_DIR, target)) : [];
    const daemonSet = (kubectl ? findOne(rendered, 'DaemonSet', 'clusterwire') : { spec: undefined }) as IDaemonSet;
    const pod = daemonSet.spec?.template.spec;
    const container = pod?.containers.find((c) => c.name === 'clusterwire');
    const volumes = pod?.volumes ?? [];

    test('its args and env parse with the CLI to `run` with paths that match its volumes', () => {
      assert.ok(container);
      const parsed = parseCommandLine(container.args ?? [], containerEnv(container, SAMPLE_NODE));
      assert.equal(parsed.name, 'run');
      const { options } = parsed;

      const configVolume = volumes.find((v) => v.configMap !== undefined);
      const configMap = findOne(rendered, 'ConfigMap', configVolume?.configMap?.name) as Manifest & { data?: Record<string, string> };
      assert.equal(configMap.metadata?.name, configVolume?.configMap?.name, 'the config volume names the generated ConfigMap');
      const keys = Object.keys(configMap.data ?? {});
      assert.deepEqual(keys, ['clusters.json']);
      assert.equal(options.clustersConfigPath, posix.join(mountPathOf(container, configVolume), 'clusters.json'));

      assert.equal(options.nodeName, SAMPLE_NODE);
      const keyVolume = volumes.find((v) => v.hostPath?.path === KEY_DIR);
      assert.equal(keyVolume?.hostPath?.type, 'DirectoryOrCreate');
      assert.equal(mountPathOf(container, keyVolume), options.wgKeyPath);
      assert.equal(options.wgKeyPath, KEY_DIR);

      const httpPort = container.ports?.find((p) => p.name === 'http');
      assert.deepEqual(options.listenAddress, { host: '', port: httpPort?.containerPort });
      assert.equal(daemonSet.spec?.template.metadata?.annotations?.['prometheus.io/port'], String(options.listenAddress.port));
      assert.equal(daemonSet.spec?.template.metadata?.annotations?.['prometheus.io/scrape'], 'true');
      assert.equal(options.wgBackend, 'auto');
      assert.equal(options.wgUserspaceBinary, 'wireguard-go');
    });

    test('the clusters config it mounts is valid and reads its remote credentials from the mounted Secret', () => {
      assert.ok(container);
      const configMap = findOne(rendered, 'ConfigMap', 'clusterwire-config') as Manifest & { data: Record<string, string> };
      const result = parseClustersConfigText(configMap.data['clusters.json'] ?? '');
      assert.ok(result.ok, result.ok ? '' : result.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
      const tokensDir = mountPathOf(container, volumes.find((v) => v.secret?.secretName === TOKENS_SECRET));
      for (const remote of result.config.remotes) {
        const access = remote.access;
        assert.ok(access !== null, `${remote.name} has remote access`);
        const file = access.kind === 'token' ? access.tokenPath : access.path;
        assert.ok(isUnder(file, tokensDir), `${remote.name}: ${file} is in the ${TOKENS_SECRET} mount ${tokensDir}`);
      }
    });

    test('every volume is mounted and every mount has a volume', () => {
      assert.ok(container);
      const mounted = (container.volumeMounts ?? []).map((m) => m.name).sort();
      assert.deepEqual(mounted, volumes.map((v) => v.name).sort());
      assert.equal(mountPathOf(container, volumes.find((v) => v.hostPath?.path === '/run/wireguard')), '/run/wireguard');
      assert.equal(mountPathOf(container, volumes.find((v) => v.hostPath?.path === '/dev/net/tun')), '/dev/net/tun');
    });

    test('every path the daemon writes is on a writable volume; /tmp is in memory', () => {
      assert.ok(container);
      const env = containerEnv(container, SAMPLE_NODE);
      const parsed = parseCommandLine(container.args ?? [], env);
      assert.equal(parsed.name, 'run');
      const { options } = parsed;
      // Keys (and their .tmp files), wireguard-go's sockets and logs, and the
      // key and batch files `wg` reads (os.tmpdir(), as Node computes it).
      const written = [options.wgKeyPath, DEFAULT_SOCKET_DIRECTORY, env.TMPDIR ?? env.TMP ?? env.TEMP ?? '/tmp'];
      for (const path of written) {
        const mount = (container.volumeMounts ?? []).find((m) => path === m.mountPath || isUnder(path, m.mountPath));
        const volume = volumes.find((v) => v.name === mount?.name);
        assert.ok(mount && volume, `${path} is on a volume (the root filesystem is read-only)`);
        assert.notEqual(mount.readOnly, true, `${path} is writable`);
        assert.ok(volume.hostPath !== undefined || volume.emptyDir !== undefined, `${path} is on a hostPath or emptyDir volume, not ${Object.keys(volume).join(', ')}`);
      }
      const tmp = volumes.find((v) => v.name === (container.volumeMounts ?? []).find((m) => m.mountPath === '/tmp')?.name);
      assert.deepEqual(tmp?.emptyDir, { medium: 'Memory', sizeLimit: '16Mi' }, 'a private key written for `wg` never reaches the node\'s disk');
    });

    test('it runs on every Linux node, in the host network, with NET_ADMIN only', () => {
      assert.ok(pod && container);
      assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
      assert.equal(pod.hostNetwork, true);
      assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
      assert.equal(pod.priorityClassName, 'system-node-critical');
      assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
      assert.deepEqual(daemonSet.spec?.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } });
      assert.deepEqual(container.securityContext?.capabilities, { drop: ['ALL'], add: ['NET_ADMIN'] });
      assert.equal(container.securityContext?.privileged, false);
      assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    });

    test('probes, resources and image', () => {
      assert.ok(container);
      assert.deepEqual(container.livenessProbe?.httpGet, { path: '/healthz', port: 'http' });
      assert.deepEqual(container.readinessProbe?.httpGet, { path: '/readyz', port: 'http' });
      assert.deepEqual(container.resources, { requests: { cpu: '20m', memory: '256Mi' }, limits: { memory: '1Gi' } }, 'docs/install.md#memory-sizing (test/deploy/sizing.test.ts)');
      assert.match(container.image ?? '', new RegExp(`(^|/)clusterwire:${packageJson.version.replaceAll('.', '\\.')}$`), 'the image is the release of this version');
    });
  });
}
