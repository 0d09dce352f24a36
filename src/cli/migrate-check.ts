import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Registry } from 'prom-client';
import { loadClustersConfig } from '../config/load.ts';
import type { ClustersConfig } from '../config/types.ts';
import { connectionSettings, createKubeClient } from '../kube/client.ts';
import { isObject } from '../kube/json-value.ts';
import { annotationKeys } from '../kube/node-projection.ts';
import { createMetrics } from '../metrics.ts';
import { migrateCheck, SEMAPHORE_KEY_DIRECTORIES, type DirectoryFacts, type KeyFile, type MigrateFacts } from '../migration/migrate-check.ts';
import { keyFilePath } from '../wireguard/key-file.ts';
import { isValidWireGuardKey, publicKeyOf } from '../wireguard/keys.ts';
import type { CommandSpec } from './command-spec.ts';
import { clustersConfigFlag, nodeNameFlag, wgKeyPathFlag } from './daemon-flags.ts';
import type { FlagSpec } from './flags.ts';
import { ExitCode } from './io.ts';

export interface MigrateCheckOptions {
  clustersConfigPath: string;
  nodeName: string;
  wgKeyPath: string;
  hostRoot: string;
}

export const hostRootFlag: FlagSpec<string> = {
  name: 'host-root',
  env: null,
  valueName: 'dir',
  description: "where the node's root filesystem is seen (in a pod that mounts the host's /var/lib at /host/var/lib: /host); key paths are node paths under it",
  defaultText: '/',
  parse: (text) => (path.isAbsolute(text) ? { ok: true, value: text } : { ok: false, reason: 'must be an absolute path' }),
};

export const migrateCheckCommand: CommandSpec<MigrateCheckOptions> = {
  summary: 'before replacing semaphore-wireguard on a node: will every device keep its key?',
  description: [
    'For each remote of the config, compares the key file clusterwire will use (<wg-key-path>/<device>.key) with the',
    "public key the local Node advertises to that remote, and lists semaphore-wireguard's key directories on the node",
    '(/var/lib/semaphore-wireguard, and /var/lib/semaphore-wiregurad, where its example DaemonSet mounts the hostPath).',
    'Run it on the node, or in a pod with the host\'s /var/lib mounted (docs/migration.md). Reads only.',
    'Exit 0: safe, every device keeps its key. 1: a device would get a new key (every peer must re-learn it) or',
    'clusterwire would not start; each case is explained. 2: bad command line.',
  ].join('\n'),
  flags: [clustersConfigFlag, nodeNameFlag, wgKeyPathFlag, hostRootFlag],
  options: (read) => ({ clustersConfigPath: read(clustersConfigFlag), nodeName: read(nodeNameFlag), wgKeyPath: read(wgKeyPathFlag), hostRoot: read(hostRootFlag) }),
  async execute(options, io) {
    const config = await loadClustersConfig(options.clustersConfigPath);
    const report = migrateCheck(await gatherFacts(config, options));
    io.stdout.write(`${report.lines.join('\n')}\n`);
    return report.safe ? ExitCode.ok : ExitCode.failed;
  },
};

async function gatherFacts(config: ClustersConfig, options: MigrateCheckOptions): Promise<MigrateFacts> {
  const onHost = (nodePath: string) => path.join(options.hostRoot, nodePath);
  const annotations = await nodeAnnotations(config, options.nodeName);
  const others = SEMAPHORE_KEY_DIRECTORIES.filter((dir) => path.resolve(dir) !== path.resolve(options.wgKeyPath));
  const remotes = [];
  for (const remote of config.remotes) {
    const keyPath = keyFilePath(options.wgKeyPath, remote.deviceName);
    const elsewhere = [];
    for (const dir of others) {
      const file = keyFilePath(dir, remote.deviceName);
      elsewhere.push({ path: file, key: await readKey(onHost(file)) });
    }
    const advertised = annotations[annotationKeys(remote.name, config.annotationDomain).publicKey];
    remotes.push({ remote: remote.name, device: remote.deviceName, keyPath, key: await readKey(onHost(keyPath)), advertised: typeof advertised === 'string' ? advertised : null, elsewhere });
  }
  const semaphoreDirectories: DirectoryFacts[] = [];
  for (const dir of SEMAPHORE_KEY_DIRECTORIES) semaphoreDirectories.push({ path: dir, keyFiles: await keyFilesIn(onHost(dir)) });
  return { node: options.nodeName, keyDirectory: options.wgKeyPath, remotes, semaphoreDirectories };
}

async function readKey(file: string): Promise<KeyFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'absent' };
    return { state: 'unreadable', reason: code ?? (error as Error).message };
  }
  const key = text.trim();
  return isValidWireGuardKey(key) ? { state: 'valid', publicKey: publicKeyOf(key) } : { state: 'malformed' };
}

/** The `*.key` files of a directory; null when there is no such directory. */
async function keyFilesIn(dir: string): Promise<string[] | null> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.key')).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new Error(`reading directory ${dir} failed`, { cause: error });
  }
}

async function nodeAnnotations(config: ClustersConfig, nodeName: string): Promise<Record<string, unknown>> {
  const access = config.local.kubeConfigPath === null ? ({ kind: 'in-cluster' } as const) : ({ kind: 'kubeconfig', path: config.local.kubeConfigPath } as const);
  const client = createKubeClient({ cluster: config.local.name, settings: connectionSettings(access), requests: createMetrics(new Registry()).kubeHttpRequests });
  try {
    const node = await client.json({ method: 'GET', path: `/api/v1/nodes/${encodeURIComponent(nodeName)}` });
    const annotations = isObject(node) && isObject(node.metadata) ? node.metadata.annotations : undefined;
    return isObject(annotations) ? annotations : {};
  } finally {
    client.close();
  }
}
