import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIssue } from '../../src/config/issue.ts';
import { tokenFilesInKeyDirectory, type TokenFile } from '../../src/config/token-files.ts';

const KEYS = { directory: '/var/lib/semaphore-wireguard', files: ['/var/lib/semaphore-wireguard/wireguard.c2.key', '/srv/keys/wg-c3.key'] };
const token = (configured: string, resolved = configured): TokenFile => ({ where: ['remotes', 0, 'remoteSATokenPath'], what: 'token file', configured, resolved });
const IN_DIRECTORY = 'is inside the WireGuard key directory /var/lib/semaphore-wireguard (-wg-key-path): its content would be sent as a bearer token';
const KEY_FILE = 'is a WireGuard private key file: its content would be sent as a bearer token';

describe('token files that are WireGuard keys or lie with them', () => {
  const cases: [name: string, file: TokenFile, expected: string[]][] = [
    ['an ordinary token file', token('/etc/clusterwire/tokens/c2.token'), []],
    ['a key file', token('/var/lib/semaphore-wireguard/wireguard.c2.key'), [`remotes[0].remoteSATokenPath: token file /var/lib/semaphore-wireguard/wireguard.c2.key ${KEY_FILE}`]],
    ['another file in the key directory', token('/var/lib/semaphore-wireguard/token'), [`remotes[0].remoteSATokenPath: token file /var/lib/semaphore-wireguard/token ${IN_DIRECTORY}`]],
    ['the key directory itself', token('/var/lib/semaphore-wireguard'), [`remotes[0].remoteSATokenPath: token file /var/lib/semaphore-wireguard ${IN_DIRECTORY}`]],
    ['a subdirectory of it', token('/var/lib/semaphore-wireguard/x/token'), [`remotes[0].remoteSATokenPath: token file /var/lib/semaphore-wireguard/x/token ${IN_DIRECTORY}`]],
    [
      'a symlink to a key file kept outside the directory',
      token('/etc/clusterwire/tokens/c3.token', '/srv/keys/wg-c3.key'),
      [`remotes[0].remoteSATokenPath: token file /etc/clusterwire/tokens/c3.token (/srv/keys/wg-c3.key) ${KEY_FILE}`],
    ],
    [
      'a symlink into the directory',
      token('/etc/tok', '/var/lib/semaphore-wireguard/wg-old.key'),
      [`remotes[0].remoteSATokenPath: token file /etc/tok (/var/lib/semaphore-wireguard/wg-old.key) ${IN_DIRECTORY}`],
    ],
    ['a sibling whose name starts like the directory', token('/var/lib/semaphore-wireguard-tokens/c2'), []],
    ['the parent directory', token('/var/lib/token'), []],
  ];
  for (const [name, file, expected] of cases) {
    it(name, () => assert.deepEqual(tokenFilesInKeyDirectory([file], KEYS).map(formatIssue), expected));
  }

  it("a kubeconfig's tokenFile is named as such", () => {
    const file: TokenFile = { where: ['local', 'kubeConfigPath'], what: 'tokenFile of kubeconfig /etc/k', configured: '/var/lib/semaphore-wireguard/t', resolved: '/var/lib/semaphore-wireguard/t' };
    assert.deepEqual(tokenFilesInKeyDirectory([file], KEYS).map(formatIssue), [`local.kubeConfigPath: tokenFile of kubeconfig /etc/k /var/lib/semaphore-wireguard/t ${IN_DIRECTORY}`]);
  });
});
