/**
 * The key file of a device: read, or generated and written once, in a
 * private directory (docs/how-it-works.md, "Key").
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { generatePrivateKey, isValidWireGuardKey, publicKeyOf } from './keys.ts';

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
