import { issueAt, type ConfigIssue } from './issue.ts';
import type { ClustersConfig } from './types.ts';

/**
 * What a valid config allows but an operator should know: `validate`
 * prints these and the daemon logs them at start. A plain-http CA URL is
 * accepted because semaphore-wireguard configs use it, but whoever can
 * answer for it picks the CA the token is then sent under. Remote access
 * with source `mirror` is accepted so that `clusterwire mirror` can read
 * the same file, but the daemon never uses it: the nodes should not hold
 * the credentials it points to (docs/fleet-mode.md).
 */
export function configWarnings(config: ClustersConfig): ConfigIssue[] {
  return config.remotes.flatMap((remote, index) => {
    const access = remote.access;
    if (access === null) return [];
    if (remote.source.kind === 'mirror') {
      const key = access.kind === 'kubeconfig' ? 'kubeConfigPath' : 'remoteSATokenPath';
      return [
        issueAt(
          ['remotes', index, key],
          "is not read by the daemon with source 'mirror' (the local clusterwire mirror reads the remote): keep the remote's credentials in the mirror's config and Secret only, and out of the daemon's",
        ),
      ];
    }
    if (access.kind !== 'token' || new URL(access.caURL).protocol !== 'http:' || access.caSHA256 !== undefined) return [];
    return [
      issueAt(
        ['remotes', index, 'remoteCAURL'],
        `'${access.caURL}' is plain http and remoteCASHA256 is not set: anyone on the path can replace the CA and then read the token sent to remoteAPIURL; use https, or pin the CA with remoteCASHA256`,
      ),
    ];
  });
}
