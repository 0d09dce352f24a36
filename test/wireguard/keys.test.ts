import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execCommand } from '../../src/process/exec.ts';
import { generatePrivateKey, isValidWireGuardKey, keyFromHex, keyToHex, publicKeyOf } from '../../src/wireguard/keys.ts';

describe('isValidWireGuardKey', () => {
  const cases: Array<[string, string, boolean]> = [
    ['a wg genkey key', 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=', true],
    ['a public key', 'XoUZh4pf05mz9KnBbCIy2nFeHA6nT4ZcgiZCvGnvkDc=', true],
    ['all zero bytes', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', true],
    ['empty', '', false],
    ['no padding', 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4', false],
    ['43 characters of data', 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4A=', false],
    ['31 bytes', 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW==', false],
    ['non-canonical last character', 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW5=', false],
    ['url-safe alphabet', 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjW_4=', false],
    ['trailing newline', 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=\n', false],
    ['hex', '60fee2e1d9a6d11bcc90412a0d7588841a1e92f158c988eb8c2d38a806e3596e', false],
  ];
  for (const [name, text, valid] of cases) {
    it(`${name} → ${valid}`, () => assert.equal(isValidWireGuardKey(text), valid));
  }
});

describe('keys', () => {
  it('generates clamped, valid, distinct keys', () => {
    const keys = new Set(Array.from({ length: 20 }, generatePrivateKey));
    assert.equal(keys.size, 20);
    for (const key of keys) {
      assert.ok(isValidWireGuardKey(key), key);
      const raw = Buffer.from(key, 'base64');
      assert.equal(raw[0]! & 7, 0);
      assert.equal(raw[31]! & 0xc0, 0x40);
    }
  });

  it('derives the public key `wg pubkey` derives, for our keys and for `wg genkey` keys', async () => {
    const ours = generatePrivateKey();
    const { stdout: theirs } = await execCommand('wg', ['genkey']);
    // Twice each, alternating: the last derivation is kept, and must never answer for another key.
    for (const privateKey of [ours, theirs.trim(), ours, ours, theirs.trim()]) {
      const { stdout } = await execCommand('wg', ['pubkey'], { input: `${privateKey}\n` });
      assert.equal(publicKeyOf(privateKey), stdout.trim());
    }
  });

  it('converts between base64 and the UAPI hex form', () => {
    const key = 'YP7i4dmm0RvMkEEqDXWIhBoekvFYyYjrjC04qAbjWW4=';
    assert.equal(keyToHex(key), '60fee2e1d9a6d11bcc90412a0d7588841a1e92f158c988eb8c2d38a806e3596e');
    assert.equal(keyFromHex(keyToHex(key)), key);
    assert.throws(() => keyFromHex('60fe'), /32-byte hex/);
  });

  it('refuses to derive from a malformed key', () => {
    assert.throws(() => publicKeyOf('not a key'), /not 32 bytes/);
  });
});
