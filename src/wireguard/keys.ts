import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

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

/** The public key of a base64 private key, as `wg pubkey` derives it. */
export function publicKeyOf(privateKey: string): string {
  if (!isValidWireGuardKey(privateKey)) {
    throw new Error('cannot derive a public key: the private key is not 32 bytes of base64');
  }
  const der = Buffer.concat([X25519_PKCS8_PREFIX, Buffer.from(privateKey, 'base64')]);
  const publicKey = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - KEY_BYTES).toString('base64');
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

export interface DeviceKey {
  privateKey: string;
  publicKey: string;
  /** True when this call generated and wrote the key. */
  created: boolean;
  path: string;
}

/** `<dir>/<device>.key`: semaphore-wireguard's layout, so a migrated node keeps its key. */
export function keyFilePath(directory: string, device: string): string {
  return path.join(directory, `${device}.key`);
}

const DIRECTORY_MODE = 0o700;

/** What `prepareKeyDirectory` found and changed, for the start-up log. */
export interface KeyDirectoryReport {
  /** The directory did not exist and was created. */
  created: boolean;
  /** Its permission bits before they were set to 0700, or null when they already were. */
  previousMode: number | null;
  /** Names of temporary key files that an interrupted key creation left behind, now removed. */
  removedTemporaryFiles: string[];
}

/**
 * Makes the key directory private before keys are read or written: created
 * 0700 when absent, set to 0700 when it exists with another mode (a hostPath
 * the kubelet or an operator created), and cleared of the temporary files a
 * kill -9 during key creation leaves (each holds an unused private key).
 * Only names of our own pattern are removed.
 */
export async function prepareKeyDirectory(directory: string): Promise<KeyDirectoryReport> {
  try {
    const created = (await mkdir(directory, { recursive: true, mode: DIRECTORY_MODE })) !== undefined;
    const mode = (await stat(directory)).mode & 0o777;
    if (mode !== DIRECTORY_MODE) await chmod(directory, DIRECTORY_MODE);
    const leftovers = (await readdir(directory, { withFileTypes: true })).filter((entry) => entry.isFile() && isTemporaryKeyFileName(entry.name));
    for (const entry of leftovers) await unlink(path.join(directory, entry.name));
    return { created, previousMode: mode === DIRECTORY_MODE ? null : mode, removedTemporaryFiles: leftovers.map((entry) => entry.name) };
  } catch (cause) {
    throw new Error(`preparing the WireGuard key directory ${directory} failed`, { cause });
  }
}

/** `<device>.key.<pid>-<8 hex>.tmp`: the temporary file `writeKeyFileOnce` links into place. */
function temporaryKeyFile(file: string): string {
  return `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}

export function isTemporaryKeyFileName(name: string): boolean {
  return /^.+\.key\.\d+-[0-9a-f]{8}\.tmp$/.test(name);
}

/**
 * Loads the private key of a device, generating it when the file is absent.
 * A present but malformed file is an error and is never overwritten: the
 * remote cluster has our public key, and a new one would cut every peer off.
 */
export async function loadOrCreateDeviceKey(directory: string, device: string): Promise<DeviceKey> {
  const file = keyFilePath(directory, device);
  const existing = await readKeyFile(file);
  if (existing !== null) {
    return { privateKey: existing, publicKey: publicKeyOf(existing), created: false, path: file };
  }
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const privateKey = generatePrivateKey();
  const written = await writeKeyFileOnce(file, privateKey);
  // Another process may have written the file first: its key wins.
  const key = written ? privateKey : await readExistingKeyFile(file);
  return { privateKey: key, publicKey: publicKeyOf(key), created: written, path: file };
}

/** The key in `file`, or null when there is no file. */
async function readKeyFile(file: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`reading WireGuard key file ${file} failed`, { cause: error });
  }
  const key = text.trim();
  if (!isValidWireGuardKey(key)) {
    throw new Error(
      `WireGuard key file ${file} is malformed (expected 44 characters of base64 as written by \`wg genkey\`); ` +
        'it is left untouched: fix or remove it',
    );
  }
  return key;
}

async function readExistingKeyFile(file: string): Promise<string> {
  const key = await readKeyFile(file);
  if (key === null) throw new Error(`WireGuard key file ${file} vanished while being created`);
  return key;
}

/**
 * Writes the key to a private temporary file, then hard-links it into place:
 * the key file appears complete or not at all, and `link` refuses to replace
 * an existing one. Returns false when the file already existed.
 */
async function writeKeyFileOnce(file: string, privateKey: string): Promise<boolean> {
  const temporary = temporaryKeyFile(file);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(`${privateKey}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`writing WireGuard key file ${file} failed`, { cause: error });
  } finally {
    await unlink(temporary);
  }
}
