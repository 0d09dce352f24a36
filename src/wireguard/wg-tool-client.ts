import type { Runner } from '../process/exec.ts';
import type { DeviceChange, ObservedDevice, WireGuardClient } from './types.ts';
import { parseWgDump } from './wg-dump.ts';
import { wgInvocations } from './wg-commands.ts';

const READ_TIMEOUT_MS = 10_000;
// A full apply costs ~240 µs per peer (../shared/PERF-FACTS.md): 10,000 peers
// take a few seconds on a busy machine.
const APPLY_TIMEOUT_MS = 60_000;

/**
 * Drives a device with wireguard-tools' `wg`: the kernel backend's client
 * (`wg` also reaches a userspace device through its UAPI socket).
 */
export class WgToolClient implements WireGuardClient {
  readonly #run: Runner;
  readonly #wg: string;

  constructor(run: Runner, wg = 'wg') {
    this.#run = run;
    this.#wg = wg;
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
    for (const invocation of wgInvocations(name, change)) {
      try {
        await this.#run(this.#wg, invocation.args, { input: invocation.input, timeoutMs: APPLY_TIMEOUT_MS });
      } catch (error) {
        throw new Error(
          `configuring WireGuard device ${name} with wg ${invocation.args[0]} (${change.peers.length} peer changes) failed`,
          { cause: error },
        );
      }
    }
  }
}
