/**
 * WireGuard keys as text: the base64 form `wg` prints, its check, the
 * derivation of a public key and the hex of the UAPI protocol. No file in
 * here: the key file is key-file.ts.
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';

const KEY_BYTES = 32;

// 44 characters of standard base64 for 32 bytes: 42 free characters, one whose
// two low bits are zero (the last byte only fills 4 of its 6 bits), and '='.
const KEY_PATTERN = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** True when `text` is a WireGuard key as `wg` prints it: canonical base64 of 32 bytes. */
export function isValidWireGuardKey(text: string): boolean {
  return KEY_PATTERN.test(text);
}

/** A new private key, clamped as `wg genkey` clamps it (RFC 7748). */
export function generatePrivateKey(): string {
  const raw = randomBytes(KEY_BYTES);
  raw[0] = raw[0]! & 248;
  raw[31] = (raw[31]! & 127) | 64;
  return raw.toString('base64');
}

// PKCS#8 header of an X25519 private key: the 32 raw bytes follow it.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * The last derivation: every read of a device derives its public key from
 * the private key it reports (each reconcile tick), and that key is the
 * same one each time.
 */
let lastDerived: { privateKey: string; publicKey: string } | null = null;

/** The public key of a base64 private key, as `wg pubkey` derives it. */
export function publicKeyOf(privateKey: string): string {
  if (lastDerived?.privateKey === privateKey) return lastDerived.publicKey;
  if (!isValidWireGuardKey(privateKey)) {
    throw new Error('cannot derive a public key: the private key is not 32 bytes of base64');
  }
  const der = Buffer.concat([X25519_PKCS8_PREFIX, Buffer.from(privateKey, 'base64')]);
  const publicKey = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  lastDerived = { privateKey, publicKey: spki.subarray(spki.length - KEY_BYTES).toString('base64') };
  return lastDerived.publicKey;
}

/** base64 key → the lowercase hex the UAPI protocol uses. */
export function keyToHex(key: string): string {
  return Buffer.from(key, 'base64').toString('hex');
}

/** UAPI hex key → base64 as `wg` prints it. */
export function keyFromHex(hex: string): string {
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new Error(`not a 32-byte hex key: ${hex.length} characters`);
  }
  return Buffer.from(hex, 'hex').toString('base64');
}
