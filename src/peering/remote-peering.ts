import type { Timers, Cancel } from '../clock/timers.ts';
import type { RemoteCluster } from '../config/types.ts';
import { syncRoutes, type Routes } from '../ip/routes.ts';
import type { NodeChange } from '../kube/node-changes.ts';
import type { WatchStatus } from '../kube/node-watcher.ts';
import type { RemoteNode } from '../kube/remote-node.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { applyDeviceChange, configuredFromObserved, type ConfiguredDevice } from '../wireguard/configured-device.ts';
import { appliedEndpoints, peerDelta } from '../wireguard/delta.ts';
import type { DeviceSpec, EnsuredDevice } from '../wireguard/devices.ts';
import type { ObservedDevice } from '../wireguard/types.ts';
import { desiredPeers, type NodeCheckCache } from './desired-peers.ts';
import type { RemoteStatus, SkippedNode, SkipReason } from './remote-status.ts';
import { resolveEndpoints, type Lookup } from './resolve-endpoints.ts';
import { skipChanges } from './skip-log.ts';
import { SyncRunner } from './sync-runner.ts';

/** The remote cluster's Nodes, as the Kubernetes layer keeps them. */
export interface NodeSource {
  readonly nodes: ReadonlyMap<string, RemoteNode>;
  status(): WatchStatus;
  start(): void;
  stop(): Promise<void>;
}

/** Creates or adopts a device (`WireGuardDevices` in production). */
export interface DeviceEnsurer {
  ensure(spec: DeviceSpec): Promise<EnsuredDevice>;
}

export interface RemotePeeringOptions {
  remote: RemoteCluster;
  /** Never logged. */
  privateKey: string;
  publicKey: string;
  devices: DeviceEnsurer;
  routes: Routes;
  createNodeSource: (onChange: (change: NodeChange) => void) => NodeSource;
  lookup: Lookup;
  metrics: Metrics;
  logger: Logger;
  timers: Timers;
  reconcileIntervalMs: number;
}

const SKIP_REASONS: readonly SkipReason[] = [
  'missing-annotation',
  'bad-public-key',
  'bad-endpoint',
  'bad-pod-cidr',
  'no-pod-cidr',
  'pod-cidr-outside-subnets',
  'pod-cidr-conflict',
  'duplicate-public-key',
];

/**
 * Keeps one remote cluster's device, routes and peers as its nodes say
 * (SPEC §3). Every change to the host goes through one serialized pass
 * (SyncRunner): watch events ask for a peer sync; the reconcile timer also
 * marks the device and routes for a check, so a deleted link, a lost route
 * or a removed peer is repaired on the next tick. Nothing is applied before
 * the first full list, and the node store survives apiserver outages, so
 * peers are never removed because the remote is unreachable.
 */
export class RemotePeering {
  readonly #o: RemotePeeringOptions;
  readonly #log: Logger;
  readonly #device: string;
  readonly #runner: SyncRunner;
  readonly #source: NodeSource;
  #ensured: EnsuredDevice | null = null;
  #checkDevice = true;
  #tick: Cancel | null = null;
  #stopped = false;
  /** Node changes since the last successful pass: a pass that changes peers without any is a drift repair. */
  #changesSinceSync = 0;
  #lastEndpoints: ReadonlyMap<string, string> = new Map();
  /**
   * What the device holds as far as we know: read on every reconcile tick,
   * then kept up to date by our own applies, so a watch event costs no full
   * read of the device (~35 ms at 5,000 peers). Changes made behind our back
   * are seen, and repaired, on the next tick. Null: read it.
   */
  #known: ConfiguredDevice | null = null;
  #skipped: SkippedNode[] = [];
  readonly #nodeChecks: NodeCheckCache = new WeakMap();
  #desiredCount = 0;
  #appliedCount = 0;
  #lastSyncAt: number | null = null;
  #lastSyncError: string | null = null;
  #deviceError: string | null = null;
  #routeError: string | null = null;

  constructor(options: RemotePeeringOptions) {
    this.#o = options;
    this.#device = options.remote.deviceName;
    this.#log = options.logger;
    this.#runner = new SyncRunner({
      timers: options.timers,
      run: () => this.#pass(),
      onError: (error, retryInMs) => {
        this.#lastSyncError = error instanceof Error ? error.message : String(error);
        options.metrics.syncPeers.inc({ device: this.#device, success: '0' });
        options.metrics.syncRequeue.inc({ device: this.#device });
        this.#log.error({ err: error, retryInMs }, 'sync failed; retrying');
      },
      onCoalesced: () => options.metrics.syncRequestsCoalesced.inc({ device: this.#device }),
      // semaphore-wireguard requeues a request that timed out, and counts both.
      onQueueFull: () => {
        options.metrics.syncQueueFullFailures.inc({ device: this.#device });
        options.metrics.syncRequeue.inc({ device: this.#device });
      },
    });
    this.#source = options.createNodeSource(() => {
      this.#changesSinceSync++;
      this.#runner.request();
    });
  }

  start(): void {
    this.#source.start();
    this.#runner.request();
    this.#scheduleTick();
  }

  /** Stops watching and syncing; the device, routes and peers stay as they are. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#tick?.();
    await Promise.all([this.#source.stop(), this.#runner.stop()]);
  }

  /** Asks for a check of device and routes on the next pass (drift timer, restarted userspace process). */
  checkDevice(kind?: 'process'): void {
    if (kind) this.#o.metrics.driftRepairs.inc({ device: this.#device, kind });
    this.#checkDevice = true;
    this.#runner.request();
  }

  /** The device as it is now (for /status and scrape-time metrics). */
  readDevice(): Promise<ObservedDevice> {
    if (!this.#ensured) return Promise.reject(new Error(`device ${this.#device} is not set up yet`));
    return this.#ensured.client.device(this.#device);
  }

  /** Resolves when no pass is running or queued. */
  idle(): Promise<void> {
    return this.#runner.idle();
  }

  status(): RemoteStatus {
    const { remote } = this.#o;
    return {
      remote: remote.name,
      device: this.#device,
      publicKey: this.#o.publicKey,
      listenPort: remote.listenPort,
      deviceReady: this.#ensured !== null && this.#deviceError === null,
      watch: this.#source.status(),
      lastSyncAt: this.#lastSyncAt,
      lastSyncError: this.#lastSyncError ?? this.#deviceError ?? this.#routeError,
      peers: { desired: this.#desiredCount, applied: this.#appliedCount },
      skipped: this.#skipped,
    };
  }

  #scheduleTick(): void {
    if (this.#stopped) return;
    this.#tick = this.#o.timers.schedule(() => {
      this.checkDevice();
      this.#scheduleTick();
    }, this.#o.reconcileIntervalMs);
  }

  async #pass(): Promise<void> {
    if (this.#checkDevice || !this.#ensured) {
      await this.#ensureDevice();
      this.#known = null;
    }
    if (!this.#source.status().synced) return;
    await this.#syncPeers();
  }

  /** SPEC §3.1 and §3.3: the link with its settings, key and port; the routes of the remote pod subnets. */
  async #ensureDevice(): Promise<void> {
    const { remote, devices, metrics } = this.#o;
    const first = this.#ensured === null;
    let ensured: EnsuredDevice;
    try {
      ensured = await devices.ensure({ name: this.#device, remote: remote.name, mtu: remote.mtu, listenPort: remote.listenPort, privateKey: this.#o.privateKey });
    } catch (error) {
      if (this.#deviceError === null) this.#log.error({ err: error }, 'device setup failed');
      this.#deviceError = error instanceof Error ? error.message : String(error);
      throw new Error(`setting up device ${this.#device} for remote ${remote.name} failed`, { cause: error });
    }
    if (!first && ensured.created) {
      metrics.driftRepairs.inc({ device: this.#device, kind: 'link' });
      this.#log.warn({ index: ensured.index }, 'the link was gone: recreated it');
    }
    if (this.#deviceError !== null) this.#log.info('device setup recovered');
    this.#deviceError = null;
    this.#ensured = ensured;
    await this.#syncRoutes(first);
    this.#checkDevice = false;
  }

  /**
   * The routes, apart from the device: a route the kernel refuses (the IPv6
   * subnet of a dual-stack remote on a node whose IPv6 is disabled) must not
   * hold back the peers, and with them the other family's traffic. The
   * failure is logged when it changes, shown in /status, and tried again
   * every reconcile interval.
   */
  async #syncRoutes(first: boolean): Promise<void> {
    const { remote, routes, metrics } = this.#o;
    try {
      const plan = await syncRoutes(routes, this.#device, remote.podSubnets);
      // After a failure, what is applied now was missing because of it, not drift.
      if (!first && this.#routeError === null && (plan.replace.length > 0 || plan.remove.length > 0)) {
        metrics.driftRepairs.inc({ device: this.#device, kind: 'route' });
        this.#log.warn({ replaced: plan.replace, removed: plan.remove }, 'repaired routes');
      }
      if (this.#routeError !== null) this.#log.info('routes recovered');
      this.#routeError = null;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.#routeError) this.#log.error({ err: error }, 'routes of the remote pod subnets failed; the peers are applied all the same');
      this.#routeError = message;
    }
  }

  /** SPEC §3.6-3.8: desired peers from the nodes, the difference pushed to the device. */
  async #syncPeers(): Promise<void> {
    const { remote, metrics, timers } = this.#o;
    const device = this.#ensured;
    if (!device) throw new Error(`device ${this.#device} is not set up`);
    const started = timers.now();
    const changesBefore = this.#changesSinceSync;
    const decision = desiredPeers(
      { podSubnets: remote.podSubnets, persistentKeepaliveSeconds: remote.persistentKeepaliveSeconds, nodes: this.#source.nodes.values() },
      this.#nodeChecks,
    );
    this.#reportSkipped(decision.skipped);
    this.#desiredCount = decision.peers.length;
    metrics.peersDesired.set({ device: this.#device }, this.#desiredCount);

    const known = this.#known ?? configuredFromObserved(await device.client.device(this.#device), null);
    const changes = peerDelta(decision.peers, [...known.peers.values()], this.#lastEndpoints);
    this.#known = known;
    if (changes.length > 0) {
      const resolved = await resolveEndpoints(changes, this.#o.lookup);
      // After a failed apply the device is in an unknown state: read it next time.
      this.#known = null;
      await device.client.configure(this.#device, { peers: resolved });
      this.#known = applyDeviceChange(known, { peers: resolved });
      const removed = changes.filter((c) => c.remove).length;
      const added = changes.filter((c) => !c.remove && !known.peers.has(c.publicKey)).length;
      const drift = changesBefore === 0 && this.#lastSyncAt !== null;
      if (drift) metrics.driftRepairs.inc({ device: this.#device, kind: 'peer' }, changes.length);
      this.#log.info({ added, updated: changes.length - added - removed, removed, peers: decision.peers.length, drift }, drift ? 'repaired peers' : 'applied peer changes');
    }
    metrics.syncPeers.inc({ device: this.#device, success: '1' });
    metrics.syncDuration.observe({ device: this.#device }, (timers.now() - started) / 1000);
    this.#lastEndpoints = appliedEndpoints(decision.peers);
    this.#appliedCount = decision.peers.length;
    metrics.peersApplied.set({ device: this.#device }, this.#appliedCount);
    this.#changesSinceSync -= changesBefore;
    if (this.#lastSyncError !== null) this.#log.info('sync recovered');
    this.#lastSyncError = null;
    this.#lastSyncAt = timers.now();
  }

  #reportSkipped(skipped: SkippedNode[]): void {
    const { appeared, cleared } = skipChanges(this.#skipped, skipped);
    for (const s of appeared) this.#log.warn({ node: s.node, reason: s.reason, peered: s.peered }, `remote node skipped: ${s.detail}`);
    for (const s of cleared) this.#log.info({ node: s.node, reason: s.reason }, 'remote node no longer skipped');
    this.#skipped = skipped;
    for (const reason of SKIP_REASONS) {
      this.#o.metrics.skippedNodes.set({ cluster: this.#o.remote.name, reason }, skipped.filter((s) => s.reason === reason).length);
    }
  }
}
