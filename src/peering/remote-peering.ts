import type { Clock, Cancel } from '../clock/clock.ts';
import type { RemoteCluster } from '../config/types.ts';
import { syncRoutes, type Routes } from '../ip/routes.ts';
import type { NodeChange } from '../kube/node-changes.ts';
import type { WatchStatus } from '../kube/node-watcher.ts';
import type { RemoteNode } from '../kube/remote-node.ts';
import { shown } from '../kube/node-bounds.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { configureFindingRejected } from '../wireguard/configure-finding-rejected.ts';
import { applyDeviceChange, configuredFromObserved, type ConfiguredDevice } from '../wireguard/configured-device.ts';
import { appliedEndpoints, peerDelta } from '../wireguard/delta.ts';
import type { DeviceSpec, EnsuredDevice } from '../wireguard/devices.ts';
import { ChangeRejectedError, type ObservedDevice } from '../wireguard/types.ts';
import { desiredPeers, type NodeCheckCache, type PeeringDecision } from './desired-peers.ts';
import { EndpointResolver, type Lookup } from './endpoint-resolver.ts';
import { heldRejections, peerFingerprint, rejectionSkips, withoutRejected, type Rejection } from './rejected-peers.ts';
import type { RemoteStatus, SkippedNode, SourceStatus } from './remote-status.ts';
import { skipChanges } from './skip-log.ts';
import { SKIP_REASONS } from './skip-reasons.ts';
import { SyncRunner } from './sync-runner.ts';

/** The remote cluster's Nodes, as the Kubernetes layer keeps them. */
export interface NodeSource {
  readonly nodes: ReadonlyMap<string, RemoteNode>;
  status(): WatchStatus;
  /** What /status and the source metrics say about where the nodes come from; absent: the remote's Nodes. */
  source?(): SourceStatus;
  start(): void;
  stop(): Promise<void>;
}

const NODES_SOURCE: SourceStatus = { kind: 'nodes' };

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
  /** Looks up hostname endpoints, in the background (endpoint-resolver.ts). */
  lookup: Lookup;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  reconcileIntervalMs: number;
  /**
   * After each pass that brought the peers in line with the remote's nodes
   * (listed at least once): the local node may then advertise this device
   * (node-advertiser.ts), since a remote node that adds it finds it ready.
   */
  onPeersApplied?: () => void;
}

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
  readonly #resolver: EndpointResolver;
  /** Peers the device refused, by public key, held back until their data changes or the retry time passes. */
  #rejections: ReadonlyMap<string, Rejection> = new Map();
  /** When the running pass started; null between passes. /healthz reports a pass past its deadline. */
  #passStartedAt: number | null = null;
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
      clock: options.clock,
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
    this.#resolver = new EndpointResolver({ lookup: options.lookup, clock: options.clock, onChange: () => this.#runner.request() });
    for (const reason of SKIP_REASONS) options.metrics.skippedNodes.set({ cluster: options.remote.name, reason }, 0);
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
      source: this.#source.source?.() ?? NODES_SOURCE,
      lastSyncAt: this.#lastSyncAt,
      lastSyncError: this.#lastSyncError ?? this.#deviceError ?? this.#routeError,
      peers: { desired: this.#desiredCount, applied: this.#appliedCount },
      skipped: this.#skipped,
      passStartedAt: this.#passStartedAt,
    };
  }

  #scheduleTick(): void {
    if (this.#stopped) return;
    this.#tick = this.#o.clock.schedule(() => {
      this.checkDevice();
      this.#scheduleTick();
    }, this.#o.reconcileIntervalMs);
  }

  async #pass(): Promise<void> {
    this.#passStartedAt = this.#o.clock.now();
    try {
      if (this.#checkDevice || !this.#ensured) {
        await this.#ensureDevice();
        this.#known = null;
      }
      if (!this.#source.status().synced) return;
      await this.#syncPeers();
      this.#o.onPeersApplied?.();
    } finally {
      this.#passStartedAt = null;
    }
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

  /** Desired peers from the nodes, the difference pushed to the device (docs/how-it-works.md). */
  async #syncPeers(): Promise<void> {
    const { remote, metrics, clock } = this.#o;
    const device = this.#ensured;
    if (!device) throw new Error(`device ${this.#device} is not set up`);
    const started = clock.now();
    const changesBefore = this.#changesSinceSync;
    const known = this.#known ?? configuredFromObserved(await device.client.device(this.#device), null);
    this.#known = known;
    const decision = desiredPeers(
      {
        podSubnets: remote.podSubnets,
        persistentKeepaliveSeconds: remote.persistentKeepaliveSeconds,
        nodes: this.#source.nodes.values(),
        maxNodes: remote.maxNodes,
        ownPublicKey: this.#o.publicKey,
        resolve: (host) => this.#resolver.resolve(host),
        deviceEndpoint: (publicKey) => known.peers.get(publicKey)?.endpoint ?? null,
      },
      this.#nodeChecks,
    );
    this.#resolver.sweep();
    this.#desiredCount = decision.peers.length;
    metrics.peersDesired.set({ device: this.#device }, this.#desiredCount);

    this.#rejections = heldRejections(this.#rejections, decision.peers, started);
    // Reported before the apply too, so a failing device does not hide why nodes are skipped.
    this.#reportSkipped([...decision.skipped, ...rejectionSkips(this.#rejections, decision.nodeOf, (key) => known.peers.has(key))]);
    const changes = withoutRejected(peerDelta(decision.peers, [...known.peers.values()], this.#lastEndpoints), this.#rejections);
    if (changes.length > 0) {
      // Until the apply succeeds, what the device holds is unknown.
      this.#known = null;
      try {
        await device.client.configure(this.#device, { peers: changes });
        this.#known = applyDeviceChange(known, { peers: changes });
      } catch (error) {
        if (!(error instanceof ChangeRejectedError)) throw error;
        await this.#applyFindingRejected(device, decision);
      }
      const removed = changes.filter((c) => c.remove).length;
      const added = changes.filter((c) => !c.remove && !known.peers.has(c.publicKey)).length;
      const drift = changesBefore === 0 && this.#lastSyncAt !== null;
      if (drift) metrics.driftRepairs.inc({ device: this.#device, kind: 'peer' }, changes.length);
      this.#log.info({ added, updated: changes.length - added - removed, removed, peers: decision.peers.length, drift }, drift ? 'repaired peers' : 'applied peer changes');
    }
    const onDevice = this.#known ?? known;
    this.#reportSkipped([...decision.skipped, ...rejectionSkips(this.#rejections, decision.nodeOf, (key) => onDevice.peers.has(key))]);
    metrics.syncPeers.inc({ device: this.#device, success: '1' });
    metrics.syncDuration.observe({ device: this.#device }, (clock.now() - started) / 1000);
    // A rejected peer's endpoint was not applied: without an entry, it is written when tried again.
    this.#lastEndpoints = appliedEndpoints(decision.peers.filter((peer) => !this.#rejections.has(peer.publicKey)));
    this.#appliedCount = decision.peers.length - this.#rejections.size;
    metrics.peersApplied.set({ device: this.#device }, this.#appliedCount);
    this.#changesSinceSync -= changesBefore;
    if (this.#lastSyncError !== null) this.#log.info('sync recovered');
    this.#lastSyncError = null;
    this.#lastSyncAt = clock.now();
  }

  /**
   * The device refused the batch: it holds an unknown part of it, so read
   * it again, then apply the difference in parts, finding the peers it
   * refuses (configure-finding-rejected.ts). Those are held back, and the
   * rest is applied; the device is read once more to know what it holds.
   */
  async #applyFindingRejected(device: EnsuredDevice, decision: PeeringDecision): Promise<void> {
    const fresh = configuredFromObserved(await device.client.device(this.#device), null);
    const changes = withoutRejected(peerDelta(decision.peers, [...fresh.peers.values()], this.#lastEndpoints), this.#rejections);
    const rejected = await configureFindingRejected(device.client, this.#device, changes);
    const desired = new Map(decision.peers.map((peer) => [peer.publicKey, peer]));
    const rejections = new Map(this.#rejections);
    const now = this.#o.clock.now();
    for (const { change, error } of rejected) {
      const peer = desired.get(change.publicKey);
      if (!peer) {
        this.#log.error({ err: error, publicKey: change.publicKey }, 'the device refused to remove a peer; trying again next pass');
        continue;
      }
      rejections.set(change.publicKey, { fingerprint: peerFingerprint(peer), at: now, detail: `${this.#device} refused the peer: ${shown(error.message)}` });
    }
    this.#rejections = rejections;
    this.#known = configuredFromObserved(await device.client.device(this.#device), null);
  }

  #reportSkipped(skipped: SkippedNode[]): void {
    const { appeared, cleared } = skipChanges(this.#skipped, skipped);
    // Nodes past maxNodes may be thousands: one line for all of them, when their number changes.
    for (const s of appeared.filter((s) => s.reason !== 'too-many-nodes')) this.#log.warn({ node: s.node, reason: s.reason, peered: s.peered }, `remote node skipped: ${s.detail}`);
    for (const s of cleared.filter((s) => s.reason !== 'too-many-nodes')) this.#log.info({ node: s.node, reason: s.reason }, 'remote node no longer skipped');
    const counts = new Map<string, number>();
    for (const s of skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
    const over = counts.get('too-many-nodes') ?? 0;
    if (over !== this.#skipped.filter((s) => s.reason === 'too-many-nodes').length) {
      const level = over > 0 ? 'warn' : 'info';
      this.#log[level]({ skipped: over, maxNodes: this.#o.remote.maxNodes, first: skipped.find((s) => s.reason === 'too-many-nodes')?.node }, `remote nodes past maxNodes: ${over} skipped`);
    }
    this.#skipped = skipped;
    for (const reason of SKIP_REASONS) this.#o.metrics.skippedNodes.set({ cluster: this.#o.remote.name, reason }, counts.get(reason) ?? 0);
  }
}

