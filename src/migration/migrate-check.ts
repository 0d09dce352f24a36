/**
 * Before a node moves from semaphore-wireguard to clusterwire: will each
 * device keep the key its peers know? The key the remote clusters trust is
 * the one the local Node advertises (`<remote>.<domain>/pubKey`); the key
 * clusterwire will use is the file `<wg-key-path>/<device>.key`. When they
 * differ, or the file is missing while a key is advertised, the migration
 * gives the device a new key and every node of that remote cluster has to
 * learn it before traffic flows again. Pure: facts in, findings out.
 *
 * semaphore-wireguard's own example DaemonSet mounts the key hostPath at
 * the misspelled /var/lib/semaphore-wiregurad while the daemon writes to
 * /var/lib/semaphore-wireguard: its keys then live in the container, not
 * on the node, which is the case this check exists for (docs/migration.md).
 */

export const SEMAPHORE_KEY_DIRECTORIES = ['/var/lib/semaphore-wireguard', '/var/lib/semaphore-wiregurad'] as const;

export type KeyFile =
  | { state: 'absent' }
  | { state: 'valid'; publicKey: string }
  | { state: 'malformed' }
  | { state: 'unreadable'; reason: string };

export interface RemoteFacts {
  remote: string;
  device: string;
  /** `<wg-key-path>/<device>.key`, as a path on the node. */
  keyPath: string;
  key: KeyFile;
  /** The public key the local Node advertises to this remote; null when it carries none. */
  advertised: string | null;
  /** The same device's key file in each semaphore directory other than the key path. */
  elsewhere: { path: string; key: KeyFile }[];
}

export interface DirectoryFacts {
  path: string;
  /** null: the directory does not exist. */
  keyFiles: string[] | null;
}

export interface MigrateFacts {
  node: string;
  keyDirectory: string;
  remotes: RemoteFacts[];
  semaphoreDirectories: DirectoryFacts[];
}

export interface MigrateReport {
  /** No device would change its key, and clusterwire would start. */
  safe: boolean;
  lines: string[];
}

const MIGRATION_DOC = 'docs/migration.md#keys-that-live-in-the-container';

export function migrateCheck(facts: MigrateFacts): MigrateReport {
  const lines = [`node ${facts.node}: clusterwire will read its keys from ${facts.keyDirectory} (-wg-key-path)`];
  let changes = 0;
  for (const remote of facts.remotes) {
    const finding = judge(remote);
    if (!finding.safe) changes += 1;
    lines.push(`remote ${remote.remote}, device ${remote.device}: ${finding.safe ? 'OK' : 'WOULD CHANGE'}: ${finding.text}`);
  }
  lines.push('semaphore-wireguard key directories on this node:');
  for (const dir of facts.semaphoreDirectories) {
    const content = dir.keyFiles === null ? 'absent' : dir.keyFiles.length === 0 ? 'present, no key files' : dir.keyFiles.join(', ');
    lines.push(`  ${dir.path}: ${content}`);
  }
  const total = facts.remotes.length;
  lines.push(
    changes === 0
      ? `safe: every device keeps the key its peers know (${total} checked)`
      : `not safe: ${changes} of ${total} device${total === 1 ? '' : 's'} would change key or not start; see ${MIGRATION_DOC}`,
  );
  return { safe: changes === 0, lines };
}

function judge(remote: RemoteFacts): { safe: boolean; text: string } {
  const { key, advertised, keyPath } = remote;
  const relearn = `every node of ${remote.remote} must learn the new key from the annotation before traffic between them and this node flows again`;
  switch (key.state) {
    case 'malformed':
      return { safe: false, text: `${keyPath} is malformed: clusterwire refuses to start rather than overwrite a key; fix or remove it` };
    case 'unreadable':
      return { safe: false, text: `${keyPath} cannot be read (${key.reason})` };
    case 'valid':
      if (advertised === null) return { safe: true, text: `keeps ${key.publicKey} from ${keyPath}; the Node advertises no key to ${remote.remote} yet, so no peer knows another` };
      if (advertised === key.publicKey) return { safe: true, text: `keeps its key ${key.publicKey} (${keyPath}, the one the Node advertises)` };
      return { safe: false, text: `${keyPath} holds ${key.publicKey}, but the Node advertises ${advertised}: ${relearn}${whereIs(remote, advertised)}` };
    case 'absent':
      if (advertised === null) return { safe: true, text: `no key yet and none advertised: clusterwire generates one at ${keyPath}; no peer knows another` };
      return { safe: false, text: `no key file at ${keyPath}, but the Node advertises ${advertised}: clusterwire would generate a new key, and ${relearn}${whereIs(remote, advertised)}` };
  }
}

/** Where the advertised key is, if on this node; else where it probably is. */
function whereIs(remote: RemoteFacts, advertised: string): string {
  const found = remote.elsewhere.find((other) => other.key.state === 'valid' && other.key.publicKey === advertised);
  if (found) return `. The advertised key is in ${found.path}: copy it to ${remote.keyPath} (mode 0600) before the switch`;
  return (
    `. No key file on this node holds it: it is probably inside the semaphore-wireguard container ` +
    `(its example DaemonSet mounts the hostPath at ${SEMAPHORE_KEY_DIRECTORIES[1]}, so the daemon writes to ${SEMAPHORE_KEY_DIRECTORIES[0]} in the container): copy it out before the switch (${MIGRATION_DOC})`
  );
}
