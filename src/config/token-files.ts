import path from 'node:path';
import { issueAt, type ConfigIssue, type JsonPath } from './issue.ts';

/** A file whose content is sent as a bearer token, with where the config names it. */
export interface TokenFile {
  where: JsonPath;
  /** What names it, e.g. `token file` or `tokenFile of kubeconfig /etc/c3.kubeconfig`. */
  what: string;
  configured: string;
  /** Absolute, symbolic links followed. */
  resolved: string;
}

/** The WireGuard private keys, as real paths (symbolic links followed). */
export interface KeyFiles {
  directory: string;
  files: readonly string[];
}

/**
 * Token files that are WireGuard private keys, or lie in their directory:
 * the client would send the key to an apiserver as a bearer token. Paths
 * are compared after resolving symbolic links, so a link into the key
 * directory counts as inside it.
 */
export function tokenFilesInKeyDirectory(tokens: readonly TokenFile[], keys: KeyFiles): ConfigIssue[] {
  return tokens.flatMap((token) => {
    const shown = token.resolved === token.configured ? token.configured : `${token.configured} (${token.resolved})`;
    if (keys.files.includes(token.resolved)) {
      return [issueAt(token.where, `${token.what} ${shown} is a WireGuard private key file: its content would be sent as a bearer token`)];
    }
    const relative = path.relative(keys.directory, token.resolved);
    if (relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative))) {
      return [
        issueAt(token.where, `${token.what} ${shown} is inside the WireGuard key directory ${keys.directory} (-wg-key-path): its content would be sent as a bearer token`),
      ];
    }
    return [];
  });
}
