import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrateCheck, type KeyFile, type MigrateFacts, type RemoteFacts } from '../../src/migration/migrate-check.ts';

const KEY_A = `${'A'.repeat(42)}A=`;
const KEY_B = `${'B'.repeat(42)}A=`;
const valid = (publicKey: string): KeyFile => ({ state: 'valid', publicKey });
const absent: KeyFile = { state: 'absent' };

function remote(key: KeyFile, advertised: string | null, usual: KeyFile = absent, misspelled: KeyFile = absent): RemoteFacts {
  return {
    remote: 'c2',
    device: 'wireguard.c2',
    keyPath: '/var/lib/clusterwire/wireguard.c2.key',
    key,
    advertised,
    elsewhere: [
      { path: '/var/lib/semaphore-wireguard/wireguard.c2.key', key: usual },
      { path: '/var/lib/semaphore-wiregurad/wireguard.c2.key', key: misspelled },
    ],
  };
}
const facts = (remotes: RemoteFacts[], usual: string[] | null = null, misspelled: string[] | null = null): MigrateFacts => ({
  node: 'n1',
  keyDirectory: '/var/lib/clusterwire',
  remotes,
  semaphoreDirectories: [
    { path: '/var/lib/semaphore-wireguard', keyFiles: usual },
    { path: '/var/lib/semaphore-wiregurad', keyFiles: misspelled },
  ],
});

test('migrateCheck per remote: key present, absent, mismatched, malformed, unreadable; annotation there or not', () => {
  const rows: [string, RemoteFacts, boolean, RegExp][] = [
    ['the key the Node advertises', remote(valid(KEY_A), KEY_A), true, /OK: keeps its key A{43}= \(\/var\/lib\/clusterwire\/wireguard\.c2\.key, the one the Node advertises\)/],
    ['a key, nothing advertised yet', remote(valid(KEY_A), null), true, /OK: keeps A{43}= .*the Node advertises no key to c2 yet/],
    ['no key, nothing advertised: a new node', remote(absent, null), true, /OK: no key yet and none advertised: clusterwire generates one/],
    [
      'another key than the advertised one',
      remote(valid(KEY_A), KEY_B),
      false,
      /WOULD CHANGE: \/var\/lib\/clusterwire\/wireguard\.c2\.key holds A{43}=, but the Node advertises B{42}A=: every node of c2 must learn the new key/,
    ],
    [
      'no key file but an advertised key (semaphore kept it in its container)',
      remote(absent, KEY_B),
      false,
      /WOULD CHANGE: no key file at .*, but the Node advertises B{42}A=: clusterwire would generate a new key.*probably inside the semaphore-wireguard container .*mounts the hostPath at \/var\/lib\/semaphore-wiregurad/,
    ],
    [
      'the advertised key found at the misspelled path',
      remote(absent, KEY_B, absent, valid(KEY_B)),
      false,
      /The advertised key is in \/var\/lib\/semaphore-wiregurad\/wireguard\.c2\.key: copy it to \/var\/lib\/clusterwire\/wireguard\.c2\.key \(mode 0600\) before the switch/,
    ],
    [
      'the advertised key found at the usual path (another -wg-key-path)',
      remote(valid(KEY_A), KEY_B, valid(KEY_B)),
      false,
      /The advertised key is in \/var\/lib\/semaphore-wireguard\/wireguard\.c2\.key/,
    ],
    ['a malformed key file', remote({ state: 'malformed' }, KEY_A), false, /WOULD CHANGE: .* is malformed: clusterwire refuses to start rather than overwrite a key/],
    ['an unreadable key file', remote({ state: 'unreadable', reason: 'EACCES' }, KEY_A), false, /cannot be read \(EACCES\)/],
  ];
  for (const [name, facts1, safe, line] of rows) {
    const report = migrateCheck(facts([facts1]));
    assert.equal(report.safe, safe, name);
    assert.ok(report.lines.some((l) => l.startsWith('remote c2, device wireguard.c2: ') && line.test(l)), `${name}:\n${report.lines.join('\n')}`);
  }
});

test('migrateCheck lists both semaphore key directories and sums up', () => {
  const rows: [string[] | null, string[] | null, string[]][] = [
    [null, null, ['  /var/lib/semaphore-wireguard: absent', '  /var/lib/semaphore-wiregurad: absent']],
    [['wireguard.c2.key'], null, ['  /var/lib/semaphore-wireguard: wireguard.c2.key', '  /var/lib/semaphore-wiregurad: absent']],
    [[], ['wireguard.c2.key', 'wireguard.c3.key'], ['  /var/lib/semaphore-wireguard: present, no key files', '  /var/lib/semaphore-wiregurad: wireguard.c2.key, wireguard.c3.key']],
  ];
  for (const [usual, misspelled, expected] of rows) {
    const { lines } = migrateCheck(facts([remote(valid(KEY_A), KEY_A)], usual, misspelled));
    assert.deepEqual(lines.slice(-3, -1), expected);
  }
  const mixed = migrateCheck(facts([remote(valid(KEY_A), KEY_A), { ...remote(absent, KEY_B), remote: 'c3', device: 'wireguard.c3' }]));
  assert.equal(mixed.safe, false);
  assert.equal(mixed.lines.at(-1), 'not safe: 1 of 2 devices would change key or not start; see docs/migration.md#keys-that-live-in-the-container');
  assert.equal(migrateCheck(facts([remote(valid(KEY_A), KEY_A)])).lines.at(-1), 'safe: every device keeps the key its peers know (1 checked)');
  assert.equal(migrateCheck(facts([])).lines[0], 'node n1: clusterwire will read its keys from /var/lib/clusterwire (-wg-key-path)');
});
