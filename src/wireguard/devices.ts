import type { Clock } from '../clock/clock.ts';
import type { Logger } from '../log.ts';
import { ownerAlias, staleLinks, type RemoteDevice } from '../ip/link-ownership.ts';
import { planLinkSettings, type Link, type LinkSettings } from '../ip/link-settings.ts';
import { isKernelWireGuardMissing, type Links } from '../ip/links.ts';
import { baseConfigChange, planDevice } from './device-plan.ts';
import type { DeviceState } from './device-state.ts';
import { publicKeyOf } from './keys.ts';
import type { WireGuardClient } from './types.ts';
import { UapiClient, uapiSocketPath } from './uapi-client.ts';
import { socketAnswers, UserspaceProcess, type Launcher } from './userspace-process.ts';

export type WireGuardBackend = 'kernel' | 'userspace' | 'auto';

/** One remote's device, as the daemon wants it (docs/how-it-works.md, "Device"). */
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
}

export interface WireGuardDevicesOptions {
  backend: WireGuardBackend;
  links: Links;
  /** The client of kernel devices (`WgToolClient`). */
  kernelClient: WireGuardClient;
  userspace: UserspaceOptions;
  logger: Logger;
  /** Restart delays of userspace processes, and the age of sessions on an adopted device. */
  clock: Clock;
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
  /** The peering's own record of the device: what a restarted process gets back. */
  state: DeviceState;
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
  /** Each device's link as last read and set. */
  readonly #links = new Map<string, Link>();
  #kernelMissing = false;

  constructor(options: WireGuardDevicesOptions) {
    this.#options = options;
    this.#userspaceClient = options.userspace.client ?? new UapiClient(options.userspace.socketDirectory);
  }

  /**
   * Makes the device exist with its settings, key and port; idempotent and
   * cheap enough to call on every reconcile (it is also the repair of a
   * deleted link). Reads the link once and the device once, writes only
   * what differs, and leaves what it read in `state`: the reconcile tick
   * reads the device here and nowhere else. Peers are not touched.
   */
  /**
   * `readLink` false: the link is as this process last saw it (no netlink
   * event since, link-route-events.ts), so it is not read again; the socket
   * check and the device read still run.
   */
  async ensure(spec: DeviceSpec, state: DeviceState, readLink = true): Promise<EnsuredDevice> {
    const { links, logger } = this.#options;
    const known = readLink ? undefined : this.#links.get(spec.name);
    let link = known ?? (await links.get(spec.name));
    // A link kept from an earlier pass was adopted then: the read below shows its socket still answers,
    // and a read that fails makes the next pass read the link and probe again (remote-peering.ts).
    const answers = link?.kind === 'tun' && (known !== undefined || (await socketAnswers(this.#socketPath(spec.name))));
    const plan = planDevice(link, spec.remote, answers);
    let backend: 'kernel' | 'userspace';
    let created = false;
    switch (plan.action) {
      case 'refuse':
        throw new Error(`cannot use link ${spec.name} for remote ${spec.remote}: ${plan.reason}`);
      case 'recreate':
        logger.warn({ device: spec.name, reason: plan.reason }, 'recreating WireGuard link');
        await this.remove(spec.name);
        backend = await this.#create(spec, state);
        created = true;
        break;
      case 'create':
        backend = await this.#create(spec, state);
        created = true;
        break;
      case 'adopt':
        backend = plan.backend;
        break;
    }
    if (created || !link) link = await this.#linkOf(spec.name);
    const linkChanged = await this.#applyLinkSettings(link, spec);

    const publicKey = publicKeyOf(spec.privateKey);
    const client = backend === 'kernel' ? this.#options.kernelClient : this.#userspaceClient;
    const observed = await client.read(spec.name);
    const firstSight = !this.#known.has(spec.name);
    // Before any other request: a read is parsed before the next one (uapi-client.ts).
    // A device this process did not create, seen for the first time: a daemon restart adopting its own device.
    state.read(observed, !created && firstSight ? this.#options.clock.now() : null);
    const peers = created || firstSight ? observed.device().peers.length : null;
    const change = baseConfigChange(observed, spec.privateKey, publicKey, spec.listenPort);
    if (change.privateKey !== undefined || change.listenPort !== undefined) {
      try {
        await client.configure(spec.name, change);
      } catch (error) {
        state.unknown();
        throw error;
      }
    }
    state.applied(change);
    if (backend === 'userspace') this.#trackUserspace(spec, state);

    if (peers !== null) {
      logger.info({ device: spec.name, remote: spec.remote, backend, index: link.index, publicKey, created, peers }, created ? 'created WireGuard device' : 'adopted WireGuard device');
    }
    this.#known.add(spec.name);
    if (linkChanged) this.#links.delete(spec.name);
    else this.#links.set(spec.name, link);
    return { name: spec.name, index: link.index, backend, publicKey, created, client };
  }

  /** Deletes a device, stopping its userspace process if we run one. False when there was nothing. */
  async remove(name: string): Promise<boolean> {
    const entry = this.#userspace.get(name);
    this.#userspace.delete(name);
    this.#known.delete(name);
    this.#links.delete(name);
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

  async #create(spec: DeviceSpec, state: DeviceState): Promise<'kernel' | 'userspace'> {
    const { backend, links, logger } = this.#options;
    if (backend === 'userspace' || (backend === 'auto' && this.#kernelMissing)) {
      await this.#startUserspace(spec, state);
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
      await this.#startUserspace(spec, state);
      return 'userspace';
    }
  }

  async #startUserspace(spec: DeviceSpec, state: DeviceState): Promise<void> {
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
      clock: this.#options.clock,
    });
    try {
      await process.start();
    } catch (error) {
      throw new Error(`starting userspace WireGuard ${userspace.binary} for ${spec.name} failed`, { cause: error });
    }
    this.#userspace.set(spec.name, { process, spec, state });
  }

  /** A userspace device's spec and state, for its restore; one not started here is watched by the drift check only. */
  #trackUserspace(spec: DeviceSpec, state: DeviceState): void {
    const entry = this.#userspace.get(spec.name);
    if (entry) {
      entry.spec = spec;
      entry.state = state;
      return;
    }
    this.#options.logger.warn(
      { device: spec.name },
      'adopted a userspace WireGuard this process did not start: it is not supervised (a drift check recreates it if it dies)',
    );
    this.#userspace.set(spec.name, { process: null, spec, state });
  }

  /** A restarted process has a new, empty device: its link settings, then key, port and peers as the state last knew them. */
  async #restore(name: string): Promise<void> {
    const entry = this.#userspace.get(name);
    if (!entry) return;
    this.#links.delete(name);
    await this.#applyLinkSettings(await this.#linkOf(name), entry.spec);
    const change = entry.state.restoringChange();
    try {
      await this.#userspaceClient.configure(name, change);
    } catch (error) {
      throw new Error(`restoring ${change.peers.length} peers on restarted ${name} failed`, { cause: error });
    }
    this.#options.logger.info({ device: name, peers: change.peers.length }, 'restored restarted userspace WireGuard');
    this.#options.onUserspaceRestart?.(name);
  }

  /** Writes the link settings that differ; nothing when the link has them. */
  /** True when it wrote something: the link as read is then out of date. */
  async #applyLinkSettings(link: Link, spec: DeviceSpec): Promise<boolean> {
    const change = planLinkSettings(link, linkSettings(spec));
    if (change) await this.#options.links.apply(spec.name, change);
    return change !== null;
  }

  async #linkOf(name: string): Promise<Link> {
    const link = await this.#options.links.get(name);
    if (!link) throw new Error(`link ${name} vanished right after it was set up`);
    return link;
  }

  #socketPath(name: string): string {
    return uapiSocketPath(this.#options.userspace.socketDirectory, name);
  }
}

function linkSettings(spec: DeviceSpec): LinkSettings {
  return { alias: ownerAlias(spec.remote), mtu: spec.mtu, txQueueLength: TX_QUEUE_LENGTH };
}
