import { podSubnetsHoldingHostAddresses } from '../config/host-addresses.ts';
import { type ConfigIssue, type JsonPath } from '../config/issue.ts';
import { tokenFilesInKeyDirectory, type TokenFile } from '../config/token-files.ts';
import type { ClustersConfig } from '../config/types.ts';
import { readHostAddresses } from '../ip/addresses.ts';
import { kubeconfigSettings } from '../kube/kubeconfig.ts';
import type { Runner } from '../process/exec.ts';
import { keyFilePath } from '../wireguard/key-file.ts';
import { resolvedPath } from './resolved-path.ts';

/**
 * What a valid config must not do on this node, checked by `run` before it
 * touches anything: a remote pod subnet holding one of the node's
 * addresses, a token file that is a WireGuard private key.
 */
export async function nodeIssues(config: ClustersConfig, wgKeyPath: string, run: Runner): Promise<ConfigIssue[]> {
  return [...podSubnetsHoldingHostAddresses(config, await readHostAddresses(run)), ...(await tokenFileIssues(config, wgKeyPath))];
}

/**
 * Token files (`remoteSATokenPath`, a kubeconfig's `tokenFile`) in the key
 * directory. A kubeconfig that is not there or is refused is skipped here:
 * `validate` reports it (src/kube/kubeconfig-check.ts), and the daemon
 * fails on it when it builds that cluster's client.
 */
export async function tokenFileIssues(config: ClustersConfig, wgKeyPath: string): Promise<ConfigIssue[]> {
  const tokens: TokenFile[] = [];
  const add = async (where: JsonPath, what: string, configured: string) => tokens.push({ where, what, configured, resolved: await resolvedPath(configured) });
  const fromKubeconfig = async (where: JsonPath, kubeconfig: string) => {
    let settings;
    try {
      settings = kubeconfigSettings(kubeconfig);
    } catch {
      // Unreadable here, or refused: validate reports that (src/kube/kubeconfig-check.ts), and run fails on it when it builds the client.
      return;
    }
    if (settings.token.kind === 'file') await add(where, `tokenFile of kubeconfig ${kubeconfig}`, settings.token.path);
  };

  if (config.local.kubeConfigPath !== null) await fromKubeconfig(['local', 'kubeConfigPath'], config.local.kubeConfigPath);
  for (const [index, remote] of config.remotes.entries()) {
    // With source mirror the daemon does not read the remote's credentials.
    const access = remote.source.kind === 'mirror' ? null : remote.access;
    if (access === null) continue;
    if (access.kind === 'token') await add(['remotes', index, 'remoteSATokenPath'], 'token file', access.tokenPath);
    else await fromKubeconfig(['remotes', index, 'kubeConfigPath'], access.path);
  }
  const keys = {
    directory: await resolvedPath(wgKeyPath),
    files: await Promise.all(config.remotes.map((remote) => resolvedPath(keyFilePath(wgKeyPath, remote.deviceName)))),
  };
  return tokenFilesInKeyDirectory(tokens, keys);
}
