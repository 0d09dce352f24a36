/**
 * The pod as shipped (issue 11): the image built from `Dockerfile` with
 * podman, run in a lab node exactly as the rendered DaemonSet of
 * deploy/local declares it (securityContext, capabilities, volumes, devices,
 * env, args, resources: lab/podman-pod.ts), with the files the kubelet would
 * give it (its ConfigMap, the token Secret, the service account). The other
 * lab nodes run the daemon as usual. Once per way the daemon configures its
 * userspace devices: over their UAPI socket (the default) and with `wg`,
 * the kernel backend's client, which writes its key and batch files under
 * os.tmpdir() (-wg-userspace-client, docs/configuration.md).
 *
 * The image is cached between runs on one machine (lab/clusterwire-image.ts);
 * a fresh machine builds the stand-in base and the image first (minutes).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { IDaemonSet } from 'kubernetes-models/apps/v1';
import { attemptAll } from '../../lab/attempt-all.ts';
import { ensureClusterwireImage, type LabImage } from '../../lab/clusterwire-image.ts';
import { createLab, type Lab, type LabNode } from '../../lab/lab.ts';
import { DEFAULT_CLUSTERS } from '../../lab/lab-layout.ts';
import { removeExitedLabContainers, runPodContainer, type PodContainer } from '../../lab/pod-container.ts';
import { memoryBytes, podmanContainer, type HttpProbe, type PodNode } from '../../lab/podman-pod.ts';
import { CommandError, execCommand } from '../../src/process/exec.ts';
import { findOne, hasKubectl, renderKustomization, type Manifest } from '../deploy/support/manifests.ts';
import { DEPLOY_DIR } from '../deploy/support/repo.ts';

const CONTAINER = 'clusterwire';
const DOMAIN = 'wireguard.semaphore.uw.io';
const TOKENS_SECRET = 'clusterwire-remote-tokens';
/** From a cold start of the container to every check passing. */
const CONVERGE_MS = 90_000;
/** A fresh machine debootstraps the base and builds the image: minutes. */
const BUILD_TIMEOUT_MS = 30 * 60_000;

/** The clusters config keys the test replaces with the lab's (the rest is the shipped file's). */
interface RemoteEntry {
  name: string;
  remoteAPIURL?: string;
  remoteCAURL?: string;
  remoteSATokenPath?: string;
  podSubnet?: string;
  wgListenPort?: number;
}
interface ClustersFile {
  local: { name: string };
  remotes: RemoteEntry[];
}

async function podmanProblem(): Promise<string | null> {
  try {
    await execCommand('podman', ['--version']);
    return null;
  } catch (error) {
    if (error instanceof CommandError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return 'podman is not installed';
    throw error;
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe('the pod as shipped: the Dockerfile image run as deploy/local declares it', { concurrency: false, timeout: BUILD_TIMEOUT_MS + 10 * 60_000 }, () => {
  let skip: string | null = null;
  let lab: Lab | undefined;
  let image: LabImage;
  let daemonSet: IDaemonSet;
  let shippedConfig: ClustersFile;
  let configMapName: string;
  const suiteStarted = performance.now();

  before(
    async (t) => {
      if (process.getuid?.() !== 0) {
        if (process.env.CI === 'true') throw new Error('running the image needs root (podman, namespaces), and CI=true requires it to run');
        skip = 'needs root for podman and network namespaces: skipped outside CI';
        return;
      }
      const missing = (await podmanProblem()) ?? ((await hasKubectl()) ? null : 'kubectl is not installed: cannot render the kustomization');
      if (missing !== null) {
        if (process.env.CI === 'true') throw new Error(`${missing}, and CI=true requires this test to run (.ci/run installs podman)`);
        skip = missing;
        return;
      }
      const rendered = await renderKustomization(path.join(DEPLOY_DIR, 'local'));
      daemonSet = findOne(rendered, 'DaemonSet', 'clusterwire') as IDaemonSet;
      const configMap = findOne(rendered, 'ConfigMap', 'clusterwire-config') as Manifest & { data: Record<string, string> };
      configMapName = configMap.metadata?.name ?? '';
      shippedConfig = JSON.parse(configMap.data['clusters.json'] ?? '') as ClustersFile;

      const leftovers = await removeExitedLabContainers();
      if (leftovers.length > 0) t.diagnostic(`removed containers left by killed runs: ${leftovers.join(', ')}`);
      const built = performance.now();
      image = await ensureClusterwireImage((line) => t.diagnostic(line));
      t.diagnostic(
        `image ${image.image} (${(image.sizeBytes / 1e6).toFixed(0)} MB): ${image.built.image ? 'built' : 'cached'}, base ${image.built.base ? 'built' : 'cached'}, in ${seconds(performance.now() - built)}`,
      );

      lab = await createLab({ startDaemons: false, reconcileInterval: '1s', clusters: DEFAULT_CLUSTERS.map((cluster) => ({ ...cluster, nodes: 1 })) });
      for (const node of lab.nodes()) await lab.startDaemon(node);
      await lab.waitUntilReady();
    },
    { timeout: BUILD_TIMEOUT_MS },
  );

  after(async (t) => {
    await lab?.destroy();
    t.diagnostic(`pod-as-shipped suite: ${seconds(performance.now() - suiteStarted)} in all`);
  });

  /** The lab node's pod, with the files the kubelet would give it, in `dir`. */
  async function podFiles(node: LabNode, dir: string): Promise<PodNode> {
    const theLab = lab as Lab;
    const local = theLab.clusters[shippedConfig.local.name];
    assert.ok(local && local.name === node.cluster, `the shipped config's local cluster ${shippedConfig.local.name} is the node's`);
    const configDir = path.join(dir, 'configmap');
    const secretDir = path.join(dir, 'secret');
    const serviceAccountDir = path.join(dir, 'serviceaccount');
    for (const d of [configDir, secretDir, serviceAccountDir]) await mkdir(d, { recursive: true, mode: 0o700 });

    // The shipped clusters.json, pointed at the lab's apiservers; token files in the Secret.
    const config: ClustersFile = structuredClone(shippedConfig);
    for (const remote of config.remotes) {
      const cluster = theLab.clusters[remote.name];
      assert.ok(cluster && remote.remoteSATokenPath, `remote ${remote.name} is a lab cluster reached with a token file`);
      remote.remoteAPIURL = cluster.emulator.url;
      remote.remoteCAURL = cluster.emulator.caURL;
      remote.podSubnet = cluster.podSubnet;
      await writeFile(path.join(secretDir, path.basename(remote.remoteSATokenPath)), await readFile(cluster.emulator.tokenPath));
    }
    await writeFile(path.join(configDir, 'clusters.json'), `${JSON.stringify(config, null, 2)}\n`);

    // The local cluster through the in-cluster service account, as the kubelet projects it.
    await writeFile(path.join(serviceAccountDir, 'token'), await readFile(local.emulator.tokenPath));
    await writeFile(path.join(serviceAccountDir, 'ca.crt'), local.emulator.caPem);
    await writeFile(path.join(serviceAccountDir, 'namespace'), `${daemonSet.metadata?.namespace ?? ''}`);
    const apiServer = new URL(local.emulator.url);

    return {
      nodeName: node.name,
      networkNamespace: `/run/netns/${node.host.name}`,
      // A lab node shares the machine's devices; its /run/wireguard is its
      // own (lab/netns.ts); any other host directory is emulated per node.
      hostPath: (hostPath) =>
        hostPath === '/run/wireguard' ? node.host.wireguardSocketDirectory : hostPath.startsWith('/dev/') ? hostPath : path.join(dir, 'node-root', hostPath),
      configMaps: { [configMapName]: configDir },
      secrets: { [TOKENS_SECRET]: secretDir },
      apiServer: { host: apiServer.hostname, port: Number(apiServer.port) },
      serviceAccountDirectory: serviceAccountDir,
    };
  }

  async function httpStatus(node: LabNode, probe: HttpProbe): Promise<number> {
    return (await fetch(`http://${node.address}:${probe.port}${probe.path}`, { signal: AbortSignal.timeout(2_000) })).status;
  }

  for (const client of ['uapi', 'wg'] as const) {
    test(`-wg-userspace-client ${client}: the containerised daemon advertises, peers, and pods ping across both ways`, async (t: TestContext) => {
      if (skip !== null || !lab) return t.skip(skip ?? 'no lab');
      const theLab = lab;
      const started = performance.now();
      const node = await theLab.addNode('c1');
      const [remoteNode] = theLab.clusters.c2?.nodes ?? [];
      assert.ok(remoteNode);
      let container: PodContainer | undefined;
      try {
        const pod = podmanContainer(daemonSet, CONTAINER, await podFiles(node, path.join(theLab.dir, 'pods', node.name)));
        // The shipped arguments, and the one flag this run is about.
        container = await runPodContainer(`clusterwire-lab${theLab.slot}-${node.name}`, image.image, pod, [...pod.args, `-wg-userspace-client=${client}`]);
        const running = container;
        const stillRunning = async () => {
          if ((await running.inspect('{{.State.Running}}')) !== 'true') throw new Error(`the container exited: ${await running.inspect('{{.State.ExitCode}}')}`);
        };

        const limit = memoryBytes(daemonSet.spec?.template.spec?.containers[0]?.resources?.limits?.memory ?? '');
        assert.ok(limit !== null && limit > 0);
        assert.equal(Number(await running.inspect('{{.HostConfig.Memory}}')), limit, "the DaemonSet's memory limit is applied");

        await theLab.waitFor(
          'the container to answer its readiness and liveness probes with 200',
          async () => {
            await stillRunning();
            return (await httpStatus(node, pod.readiness)) === 200 && (await httpStatus(node, pod.liveness)) === 200;
          },
          CONVERGE_MS,
        );
        t.diagnostic(`ready ${seconds(performance.now() - started)} after the node was added`);

        const remote = shippedConfig.remotes.find((r) => r.name === remoteNode.cluster);
        const device = node.device(remoteNode.cluster);
        const publicKey = (await theLab.wgShow(node, device)).publicKey;
        const annotations = () => (theLab.clusters.c1?.emulator.getNode(node.name) as Manifest | undefined)?.metadata?.annotations ?? {};
        await theLab.waitFor(
          'the containerised daemon to advertise its key and endpoint on its Node',
          () =>
            Promise.resolve(
              annotations()[`${remoteNode.cluster}.${DOMAIN}/pubKey`] === publicKey &&
                annotations()[`${remoteNode.cluster}.${DOMAIN}/endpoint`] === `${node.address}:${remote?.wgListenPort}`,
            ),
          CONVERGE_MS,
        );
        const remoteKey = (await theLab.wgShow(remoteNode, remoteNode.device(node.cluster))).publicKey;
        await theLab.waitFor(
          'the container and the remote node to have each other as peers',
          async () => {
            await stillRunning();
            const ours = await theLab.wgShow(node, device);
            const theirs = await theLab.wgShow(remoteNode, remoteNode.device(node.cluster));
            return ours.peers.some((p) => p.publicKey === remoteKey) && theirs.peers.some((p) => p.publicKey === publicKey);
          },
          CONVERGE_MS,
        );
        await theLab.waitFor('a ping from the container node to the remote pod', async () => (await theLab.ping(node, remoteNode.podIP)).ok, CONVERGE_MS);
        await theLab.waitFor('a ping from the remote pod to the container node', async () => (await theLab.ping(remoteNode, node.podIP)).ok, CONVERGE_MS);
        t.diagnostic(`peered and pinging both ways ${seconds(performance.now() - started)} after the node was added`);

        assert.match(await running.logs(), new RegExp(`"wgUserspaceClient":"${client}"`), 'the daemon ran with the client under test');
        const usage = await execCommand('podman', ['stats', '--no-stream', '--format', '{{.MemUsage}}', running.name]).then(
          ({ stdout }) => stdout.trim(),
          (error: unknown) => `unknown (${String(error)})`,
        );
        t.diagnostic(`container memory (daemon and wireguard-go, 1 peer): ${usage}`);
        assert.equal(await running.stop(), 0, 'SIGTERM: the daemon exits 0');
      } catch (error) {
        if (container) t.diagnostic(`container log:\n${(await container.logs().catch((e: unknown) => String(e))).split('\n').slice(-40).join('\n')}`);
        t.diagnostic(await theLab.logTails(15));
        throw error;
      } finally {
        await attemptAll(`removing the container and ${node.name}`, [() => container?.remove() ?? Promise.resolve(), () => theLab.removeNode(node)]);
      }
      t.diagnostic(`${client} run: ${seconds(performance.now() - started)}`);
    });
  }
});
