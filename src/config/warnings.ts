import { issueAt, type ConfigIssue } from './issue.ts';
import type { ClustersConfig } from './types.ts';

/**
 * What a valid config allows but an operator should know: `validate`
 * prints these and the daemon logs them at start. A plain-http CA URL is
 * accepted because semaphore-wireguard configs use it, but whoever can
 * answer for it picks the CA the token is then sent under.
 */
export function configWarnings(config: ClustersConfig): ConfigIssue[] {
  return config.remotes.flatMap((remote, index) => {
    const access = remote.access;
    if (access.kind !== 'token' || new URL(access.caURL).protocol !== 'http:' || access.caSHA256 !== undefined) return [];
    return [
      issueAt(
        ['remotes', index, 'remoteCAURL'],
        `'${access.caURL}' is plain http and remoteCASHA256 is not set: anyone on the path can replace the CA and then read the token sent to remoteAPIURL; use https, or pin the CA with remoteCASHA256`,
      ),
    ];
  });
}
