import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommandError, type Runner } from '../process/exec.ts';
import { parsedDeviceRead } from './device-read.ts';
import { ChangeRejectedError, type DeviceChange, type DeviceRead, type ObservedDevice, type WireGuardClient } from './types.ts';
import { parseWgDump } from './wg-dump.ts';
import { wgInvocations } from './wg-commands.ts';

const READ_TIMEOUT_MS = 10_000;
// A full apply costs ~240 µs per peer (docs/design.md, "Measured costs"): 10,000 peers
// take a few seconds on a busy machine.
const APPLY_TIMEOUT_MS = 60_000;

export interface WgToolClientOptions {
  wg?: string;
  /**
   * Where private input files (key, config text) are written for the
   * moment `wg` reads them; must be visible to `wg` (same mount namespace).
   */
  temporaryDirectory?: string;
}

/**
 * Drives a device with wireguard-tools' `wg`: the kernel backend's client
 * (`wg` also reaches a userspace device through its UAPI socket).
 */
export class WgToolClient implements WireGuardClient {
  readonly #run: Runner;
  readonly #wg: string;
  readonly #temporaryDirectory: string;

  constructor(run: Runner, options: WgToolClientOptions = {}) {
    this.#run = run;
    this.#wg = options.wg ?? 'wg';
    this.#temporaryDirectory = options.temporaryDirectory ?? tmpdir();
  }

  /** `wg show dump` is parsed whole: the spawn costs more than the parse, and there is no fingerprint to read. */
  async read(name: string): Promise<DeviceRead> {
    return parsedDeviceRead(await this.device(name), null);
  }

  async device(name: string): Promise<ObservedDevice> {
    let stdout: string;
    try {
      ({ stdout } = await this.#run(this.#wg, ['show', name, 'dump'], { timeoutMs: READ_TIMEOUT_MS }));
    } catch (error) {
      throw new Error(`reading WireGuard device ${name} with wg failed`, { cause: error });
    }
    return parseWgDump(name, stdout);
  }

  async configure(name: string, change: DeviceChange): Promise<void> {
    // A directory only we can enter: the key inside is never readable by others.
    const directory = path.join(this.#temporaryDirectory, `clusterwire-wg-${randomBytes(8).toString('hex')}`);
    const inputFile = path.join(directory, 'input');
    const invocations = wgInvocations(name, change, inputFile);
    if (invocations.some((invocation) => invocation.inputFileContent !== undefined)) {
      await mkdir(directory, { mode: 0o700 });
    }
    try {
      for (const invocation of invocations) {
        if (invocation.inputFileContent !== undefined) {
          await writeFile(inputFile, invocation.inputFileContent, { mode: 0o600 });
        }
        try {
          await this.#run(this.#wg, invocation.args, { timeoutMs: APPLY_TIMEOUT_MS });
        } catch (error) {
          // wg ran and said no (it exits 1 for a refused endpoint, key or address): the change is refused, not the device gone quiet.
          const Rejected = error instanceof CommandError && error.exitCode !== null ? ChangeRejectedError : Error;
          throw new Rejected(`configuring WireGuard device ${name} with wg ${invocation.args[0]} (${change.peers.length} peer changes) failed`, { cause: error });
        }
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }
}
