import type { Logger } from '../log.ts';
import { isKernelWireGuardMissing, ownerAlias, staleLinks, type RemoteDevice, type LinkSettings, type Links } from '../ip/links.ts';
import {
  applyDeviceChange,
  configuredFromObserved,
  EMPTY_CONFIGURED_DEVICE,
  restoringChange,
  type ConfiguredDevice,
} from './configured-device.ts';
import { baseConfigChange, planDevice } from './device-plan.ts';
import { publicKeyOf } from './keys.ts';
import type { DeviceChange, ObservedDevice, WireGuardClient } from './types.ts';
import { UapiClient, uapiSocketPath } from './uapi-client.ts';
import { socketAnswers, UserspaceProcess, type Launcher } from './userspace-process.ts';

export type WireGuardBackend = 'kernel' | 'userspace' | 'auto';

/** One remote's device, as the daemon wants it (SPEC §3.1). */
export interface DeviceSpec {
  name: string;
  remote: string;
  mtu: number;
  listenPort: number;
  /** Never logged. */
  privateKey: string;
}

export interface EnsuredDevice {
  name: string;
  /** The link's ifindex: a new one means its routes and peers are gone. */
  index: number;
  backend: 'kernel' | 'userspace';
  publicKey: string;
  /** True when this call created the link. */
  created: boolean;
  /** Reads and configures this device. */
  client: WireGuardClient;
}

export interface UserspaceOptions {
  binary: string;
  socketDirectory: string;
  /**
   * Reads and configures the userspace devices; default: their UAPI sockets
   * in socketDirectory. `WgToolClient` drives them with `wg`, as kernel
   * devices are (-wg-userspace-client wg, docs/configuration.md).
   */
  client?: WireGuardClient;
  launch: Launcher;
  /** Backoff sleep between restarts; injected by tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface WireGuardDevicesOptions {
  backend: WireGuardBackend;
  links: Links;
  /** The client of kernel devices (`WgToolClient`). */
  kernelClient: WireGuardClient;
  userspace: UserspaceOptions;
  logger: Logger;
  /**
   * Told once a userspace process that died was restarted and its device
   * restored (key, port, last applied peers), so the daemon can count the
   * repair and re-sync routes (the link is new).
   */
  onUserspaceRestart?: (device: string) => void;
}

/** A userspace device: its supervised process (null if adopted from a previous run) and what it holds. */
interface UserspaceDevice {
  process: UserspaceProcess | null;
  spec: DeviceSpec;
  config: ConfiguredDevice;
}

const TX_QUEUE_LENGTH = 1000;

/**
 * The WireGuard devices of this host: creates or adopts them with the
 * configured backend, supervises userspace processes, removes them.
 */
export class WireGuardDevices {
  readonly #options: WireGuardDevicesOptions;
  readonly #userspaceClient: WireGuardClient;
  readonly #userspace = new Map<string, UserspaceDevice>();
  readonly #known = new Set<string>();
  #kernelMissing = false;

  constructor(options: WireGuardDevicesOptions) {
    this.#options = options;
    this.#userspaceClient = options.userspace.client ?? new UapiClient(options.userspace.socketDirectory);
  }

  /**
   * Makes the device exist with its settings, key and port; idempotent and
   * cheap enough to call on every reconcile (it is also the repair of a
   * deleted link). Peers are not touched except on a restart restore.
   */
  async ensure(spec: DeviceSpec): Promise<EnsuredDevice> {
    const { links, logger } = this.#options;
    const link = await links.get(spec.name);
    const answers = link?.kind === 'tun' && (await socketAnswers(this.#socketPath(spec.name)));
    const plan = planDevice(link, spec.remote, answers);
    let backend: 'kernel' | 'userspace';
    let created = false;
    switch (plan.action) {
      case 'refuse':
        throw new Error(`cannot use link ${spec.name} for remote ${spec.remote}: ${plan.reason}`);
      case 'recreate':
        logger.warn({ device: spec.name, reason: plan.reason }, 'recreating WireGuard link');
        await this.remove(spec.name);
        backend = await this.#create(spec);
        created = true;
        break;
      case 'create':
        backend = await this.#create(spec);
        created = true;
        break;
      case 'adopt':
        backend = plan.backend;
        break;
    }
    await links.configure(spec.name, linkSettings(spec));
    const index = !created && link ? link.index : await this.#indexOf(spec.name);

    const publicKey = publicKeyOf(spec.privateKey);
    const client = backend === 'kernel' ? this.#options.kernelClient : this.#userspaceClient;
    const observed = await client.device(spec.name);
    const change = baseConfigChange(observed, spec.privateKey, publicKey, spec.listenPort);
    if (change.privateKey !== undefined || change.listenPort !== undefined) await client.configure(spec.name, change);
    const deviceClient = backend === 'kernel' ? client : this.#trackUserspace(spec, observed, change);

    if (created || !this.#known.has(spec.name)) {
      logger.info(
        { device: spec.name, remote: spec.remote, backend, index, publicKey, created, peers: observed.peers.length },
        created ? 'created WireGuard device' : 'adopted WireGuard device',
      );
    }
    this.#known.add(spec.name);
    return { name: spec.name, index, backend, publicKey, created, client: deviceClient };
  }

  /** Deletes a device, stopping its userspace process if we run one. False when there was nothing. */
  async remove(name: string): Promise<boolean> {
    const entry = this.#userspace.get(name);
    this.#userspace.delete(name);
    this.#known.delete(name);
    const hadProcess = entry?.process != null;
    if (entry?.process) await entry.process.stop();
    const removedLink = await this.#options.links.remove(name);
    return removedLink || hadProcess;
  }

  /**
   * Removes the links we own that are not one of the `configured` devices
   * (garbage, docs/how-it-works.md; `cleanup` passes none). Tries every
   * one, then reports failures.
   */
  async removeOwnedLinks(configured: readonly RemoteDevice[]): Promise<string[]> {
    const removed: string[] = [];
    const failures: Error[] = [];
    for (const link of staleLinks(await this.#options.links.list(), configured)) {
      try {
        if (await this.remove(link.name)) removed.push(link.name);
      } catch (error) {
        failures.push(new Error(`removing link ${link.name} (${link.alias ?? ''}) failed`, { cause: error }));
      }
    }
    if (failures.length > 0) {
      throw new AggregateError(failures, `removing ${failures.length} owned link(s) failed; removed: ${removed.join(', ') || 'none'}`);
    }
    if (removed.length > 0) this.#options.logger.info({ links: removed }, 'removed WireGuard links we own');
    return removed;
  }

  /** Explicit teardown of the userspace processes we run (their links go with them). */
  async stop(): Promise<void> {
    const entries = [...this.#userspace.values()];
    this.#userspace.clear();
    await Promise.all(entries.flatMap((entry) => (entry.process ? [entry.process.stop()] : [])));
  }

  /** Daemon exit: userspace processes keep running, so peers stay up. */
  detach(): void {
    for (const entry of this.#userspace.values()) entry.process?.detach();
  }

  /** The pid of the userspace process we run for a device, if any. */
  userspacePid(name: string): number | undefined {
    return this.#userspace.get(name)?.process?.pid;
  }

  async #create(spec: DeviceSpec): Promise<'kernel' | 'userspace'> {
    const { backend, links, logger } = this.#options;
    if (backend === 'userspace' || (backend === 'auto' && this.#kernelMissing)) {
      await this.#startUserspace(spec);
      return 'userspace';
    }
    try {
      await links.addWireGuard(spec.name);
      return 'kernel';
    } catch (error) {
      if (backend !== 'auto' || !isKernelWireGuardMissing(error)) {
        throw new Error(`creating WireGuard link ${spec.name} (kernel backend) failed`, { cause: error });
      }
      this.#kernelMissing = true;
      logger.info({ device: spec.name, err: error }, 'the kernel has no WireGuard: using the userspace implementation');
      await this.#startUserspace(spec);
      return 'userspace';
    }
  }

  async #startUserspace(spec: DeviceSpec): Promise<void> {
    // A process of ours whose link vanished is stopped rather than raced.
    await this.#userspace.get(spec.name)?.process?.stop();
    const { userspace, logger } = this.#options;
    const process = new UserspaceProcess({
      device: spec.name,
      binary: userspace.binary,
      socketPath: this.#socketPath(spec.name),
      launch: userspace.launch,
      logger: logger.child({ device: spec.name }),
      onRestart: () => this.#restore(spec.name),
      sleep: userspace.sleep,
    });
    try {
      await process.start();
    } catch (error) {
      throw new Error(`starting userspace WireGuard ${userspace.binary} for ${spec.name} failed`, { cause: error });
    }
    this.#userspace.set(spec.name, { process, spec, config: EMPTY_CONFIGURED_DEVICE });
  }

  /**
   * Keeps what a userspace device holds, to restore it after a restart: the
   * returned client records every change it applies.
   */
  #trackUserspace(spec: DeviceSpec, observed: ObservedDevice, change: DeviceChange): WireGuardClient {
    let entry = this.#userspace.get(spec.name);
    if (!entry) {
      this.#options.logger.warn(
        { device: spec.name },
        'adopted a userspace WireGuard this process did not start: it is not supervised (a drift check recreates it if it dies)',
      );
      entry = { process: null, spec, config: EMPTY_CONFIGURED_DEVICE };
      this.#userspace.set(spec.name, entry);
    }
    const tracked = entry;
    tracked.spec = spec;
    tracked.config = applyDeviceChange(configuredFromObserved(observed, spec.privateKey), change);
    return {
      device: (name) => this.#userspaceClient.device(name),
      configure: async (name, deviceChange) => {
        await this.#userspaceClient.configure(name, deviceChange);
        tracked.config = applyDeviceChange(tracked.config, deviceChange);
      },
    };
  }

  async #restore(name: string): Promise<void> {
    const entry = this.#userspace.get(name);
    if (!entry) return;
    await this.#options.links.configure(name, linkSettings(entry.spec));
    const change = restoringChange(entry.config);
    try {
      await this.#userspaceClient.configure(name, change);
    } catch (error) {
      throw new Error(`restoring ${change.peers.length} peers on restarted ${name} failed`, { cause: error });
    }
    this.#options.logger.info({ device: name, peers: change.peers.length }, 'restored restarted userspace WireGuard');
    this.#options.onUserspaceRestart?.(name);
  }

  async #indexOf(name: string): Promise<number> {
    const link = await this.#options.links.get(name);
    if (!link) throw new Error(`link ${name} vanished right after it was set up`);
    return link.index;
  }

  #socketPath(name: string): string {
    return uapiSocketPath(this.#options.userspace.socketDirectory, name);
  }
}

function linkSettings(spec: DeviceSpec): LinkSettings {
  return { alias: ownerAlias(spec.remote), mtu: spec.mtu, txQueueLength: TX_QUEUE_LENGTH };
}
