import type { Clock, Cancel } from '../clock/clock.ts';
import type { RemoteCluster } from '../config/types.ts';
import type { LinkRouteEvents } from '../ip/link-route-events.ts';
import { syncRoutes, type Routes } from '../ip/routes.ts';
import type { NodeChange } from '../kube/node-changes.ts';
import type { WatchStatus } from '../kube/node-watcher.ts';
import type { RemoteNode } from '../kube/remote-node.ts';
import { shown } from '../kube/node-bounds.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { configureFindingRejected } from '../wireguard/configure-finding-rejected.ts';
import type { ConfiguredPeer } from '../wireguard/configured-device.ts';
import { DeviceState } from '../wireguard/device-state.ts';
import type { DeviceSpec, EnsuredDevice } from '../wireguard/devices.ts';
import { ChangeRejectedError, type ObservedDevice } from '../wireguard/types.ts';
import { EndpointResolver, type Lookup } from './endpoint-resolver.ts';
import { PeerDecisions, type SkipChange } from './peer-decisions.ts';
import { allKeys, planPass, settledEndpoints } from './peer-plan.ts';
import { peerFingerprint, rejectionSkips, type Rejection } from './rejected-peers.ts';
import type { RemoteStatus, SkippedNode, SourceStatus } from './remote-status.ts';
import { skipChanges } from './skip-log.ts';
import { SKIP_REASONS, type SkipReason } from './skip-reasons.ts';
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

/** Creates or adopts a device, leaving what it read in the state (`WireGuardDevices` in production). */
export interface DeviceEnsurer {
  /** `readLink` false: the link may be taken as last seen (WireGuardDevices.ensure). */
  ensure(spec: DeviceSpec, state: DeviceState, readLink: boolean): Promise<EnsuredDevice>;
}

/**
 * Even with no link or route event, the link and routes are read every
 * this many reconcile ticks (30 minutes at the default 30 s): a net under
 * a notification lost without anyone being told, which nobody has seen.
 * The kernel reports what it drops (ENOBUFS, on the monitor's stderr),
 * and that already makes every tick read until a new run listens. The
 * net is wide because each read is three `ip` processes, forks of the
 * daemon: ~35 ms of its CPU at 1,000 peers, which every 10 ticks was a
 * fifth of an idle `mirror` daemon's cost (docs/design.md, "The idle floor").
 */
export const LINK_READ_EVERY_TICKS = 60;

export interface RemotePeeringOptions {
  remote: RemoteCluster;
  /** Never logged. */
  privateKey: string;
  publicKey: string;
  devices: DeviceEnsurer;
  routes: Routes;
  /** Netlink events for the link and routes; absent: they are read on every tick. */
  linkEvents?: LinkRouteEvents;
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
 * (docs/how-it-works.md). This class does the I/O, the metrics and the
 * logs; the decisions are elsewhere: which nodes are peers
 * (peer-decisions.ts, updated node by node), what to change on the device
 * (peer-plan.ts), what the device holds (device-state.ts).
 *
 * Every change to the host goes through one serialized pass (SyncRunner).
 * A watch event asks for a pass that compares only the peers the event
 * changed with the device state in memory: it reads nothing. The device is
 * read on the reconcile tick (with the link and the routes), after a change
 * that failed, and after a userspace restart; a pass after a read that
 * found the device changed compares every peer, which repairs what changed
 * behind our back. Nothing is
 * applied before the first full list, and the node store survives
 * apiserver outages, so peers are never removed because the remote is
 * unreachable.
 */
export class RemotePeering {
  readonly #o: RemotePeeringOptions;
  readonly #log: Logger;
  readonly #device: string;
  readonly #runner: SyncRunner;
  readonly #source: NodeSource;
  readonly #resolver: EndpointResolver;
  readonly #decisions: PeerDecisions;
  /** What the device holds, shared with the userspace restore (WireGuardDevices). */
  readonly #state: DeviceState;
  #ensured: EnsuredDevice | null = null;
  #checkDevice = true;
  /** The monitor run (LinkRouteEvents.epoch) in which the link and routes were last read, with no event since; null: read them. */
  #linksReadIn: number | null = null;
  #ticksSinceLinkRead = 0;
  #unwatchLinks: (() => void) | null = null;
  /** The device was read since the last plan: compare every peer, not only the changed ones. */
  #planAll = true;
  #tick: Cancel | null = null;
  #stopped = false;
  /** Node changes since the last successful pass: a pass that changes peers without any is a drift repair. */
  #changesSinceSync = 0;
  /** Peers the device refused, by public key, held back until their data changes or the retry time passes. */
  #rejections: ReadonlyMap<string, Rejection> = new Map();
  #rejectionSkips: SkippedNode[] = [];
  #tooManyNodes = 0;
  readonly #skipGauges = new Map<SkipReason, number>();
  /** When the running pass started; null between passes. /healthz reports a pass past its deadline. */
  #passStartedAt: number | null = null;
  #appliedCount = 0;
  #lastSyncAt: number | null = null;
  #lastSyncError: string | null = null;
  #deviceError: string | null = null;
  #routeError: string | null = null;

  constructor(options: RemotePeeringOptions) {
    const { remote, metrics } = options;
    this.#o = options;
    this.#device = remote.deviceName;
    this.#log = options.logger;
    this.#state = new DeviceState(options.privateKey);
    this.#decisions = new PeerDecisions({
      podSubnets: remote.podSubnets,
      persistentKeepaliveSeconds: remote.persistentKeepaliveSeconds,
      maxNodes: remote.maxNodes,
      ownPublicKey: options.publicKey,
    });
    this.#runner = new SyncRunner({
      clock: options.clock,
      run: () => this.#pass(),
      onError: (error, retryInMs) => {
        this.#lastSyncError = error instanceof Error ? error.message : String(error);
        metrics.syncPeers.inc({ device: this.#device, success: '0' });
        metrics.syncRequeue.inc({ device: this.#device });
        this.#log.error({ err: error, retryInMs }, 'sync failed; retrying');
      },
      onCoalesced: () => metrics.syncRequestsCoalesced.inc({ device: this.#device }),
      // semaphore-wireguard requeues a request that timed out, and counts both.
      onQueueFull: () => {
        metrics.syncQueueFullFailures.inc({ device: this.#device });
        metrics.syncRequeue.inc({ device: this.#device });
      },
    });
    this.#source = options.createNodeSource((change) => {
      this.#changesSinceSync++;
      this.#decisions.nodeChanged(change.node.name);
      this.#runner.request();
    });
    this.#resolver = new EndpointResolver({
      lookup: options.lookup,
      clock: options.clock,
      onChange: (host) => {
        this.#decisions.hostChanged(host);
        this.#runner.request();
      },
    });
    for (const reason of SKIP_REASONS) this.#setSkipGauge(reason, 0);
    this.#unwatchLinks =
      options.linkEvents?.watch(this.#device, remote.podSubnets, () => {
        this.#linksReadIn = null;
        this.checkDevice();
      }) ?? null;
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
    this.#unwatchLinks?.();
    this.#resolver.stop();
    await Promise.all([this.#source.stop(), this.#runner.stop()]);
  }

  /** Asks for a check of device and routes on the next pass (drift timer, restarted userspace process). */
  checkDevice(kind?: 'process'): void {
    if (kind) this.#o.metrics.driftRepairs.inc({ device: this.#device, kind });
    // A restarted wireguard-go has a new link.
    if (kind) this.#linksReadIn = null;
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
      peers: { desired: this.#decisions.peers.size, applied: this.#appliedCount },
      peerNodes: this.#decisions.nodeOf,
      skipped: [...this.#decisions.skipped(), ...this.#rejectionSkips],
      passStartedAt: this.#passStartedAt,
    };
  }

  #scheduleTick(): void {
    if (this.#stopped) return;
    this.#tick = this.#o.clock.schedule(() => {
      this.#ticksSinceLinkRead++;
      this.checkDevice();
      this.#scheduleTick();
    }, this.#o.reconcileIntervalMs);
  }

  async #pass(): Promise<void> {
    this.#passStartedAt = this.#o.clock.now();
    try {
      if (this.#checkDevice || !this.#ensured) await this.#ensureDevice();
      if (!this.#source.status().synced) return;
      await this.#syncPeers(this.#ensured as EnsuredDevice);
      this.#o.onPeersApplied?.();
    } finally {
      this.#passStartedAt = null;
    }
  }

  /**
   * The link with its settings, key and port, read once; the routes of the
   * remote pod subnets (docs/how-it-works.md). The link and routes are read
   * only when they may have changed: no monitor, a new monitor run, an
   * event that concerns them, a route that failed, or every
   * LINK_READ_EVERY_TICKS ticks.
   */
  async #ensureDevice(): Promise<void> {
    const { remote, devices, metrics } = this.#o;
    const first = this.#ensured === null;
    const epoch = this.#o.linkEvents?.epoch() ?? null;
    const readLinks =
      first || epoch === null || this.#linksReadIn !== epoch || this.#routeError !== null || this.#ticksSinceLinkRead >= LINK_READ_EVERY_TICKS;
    // Before the reads: an event that arrives during them clears it again.
    if (readLinks) {
      this.#linksReadIn = epoch;
      this.#ticksSinceLinkRead = 0;
    }
    let ensured: EnsuredDevice;
    try {
      ensured = await devices.ensure(
        { name: this.#device, remote: remote.name, mtu: remote.mtu, listenPort: remote.listenPort, privateKey: this.#o.privateKey },
        this.#state,
        readLinks,
      );
    } catch (error) {
      this.#linksReadIn = null;
      if (this.#deviceError === null) this.#log.error({ err: error }, 'device setup failed');
      this.#deviceError = error instanceof Error ? error.message : String(error);
      throw new Error(`setting up device ${this.#device} for remote ${remote.name} failed`, { cause: error });
    }
    this.#deviceWasRead();
    if (!first && ensured.created) {
      metrics.driftRepairs.inc({ device: this.#device, kind: 'link' });
      this.#log.warn({ index: ensured.index }, 'the link was gone: recreated it');
    }
    if (this.#deviceError !== null) this.#log.info('device setup recovered');
    this.#deviceError = null;
    this.#ensured = ensured;
    if (readLinks || ensured.created) await this.#syncRoutes(first);
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

  /** The decision brought up to date, its difference with the device planned and applied (docs/how-it-works.md). */
  async #syncPeers(device: EnsuredDevice): Promise<void> {
    const { metrics, clock } = this.#o;
    const started = clock.now();
    const changesBefore = this.#changesSinceSync;
    // Unknown after a change that failed: the one read outside the reconcile tick.
    if (this.#state.peers === null) await this.#readDevice(device);
    const update = this.#decisions.update({
      nodes: this.#source.nodes,
      resolve: (host) => this.#resolver.resolve(host),
      deviceEndpoint: (publicKey) => this.#state.peers?.get(publicKey)?.endpoint ?? null,
    });
    for (const host of update.unusedHosts) this.#resolver.forget(host);
    const desired = this.#decisions.peers;
    metrics.peersDesired.set({ device: this.#device }, desired.size);
    // Reported before the apply too, so a failing device does not hide why nodes are skipped.
    this.#reportSkips(update.skipChanges);

    const onDevice = this.#state.peers ?? new Map<string, ConfiguredPeer>();
    const plan = planPass({
      compare: this.#planAll ? 'all' : update.keys,
      desired,
      device: onDevice,
      appliedEndpoints: this.#state.appliedEndpoints,
      rejections: this.#rejections,
      now: started,
    });
    this.#planAll = false;
    this.#rejections = plan.rejections;
    let keys: Iterable<string> = plan.keys;
    const { changes } = plan;
    if (changes.length > 0) {
      const removed = changes.filter((c) => c.remove).length;
      const added = changes.filter((c) => !c.remove && !onDevice.has(c.publicKey)).length;
      try {
        await device.client.configure(this.#device, { peers: changes });
        this.#state.applied({ peers: changes });
      } catch (error) {
        this.#state.unknown();
        if (!(error instanceof ChangeRejectedError)) throw error;
        await this.#applyFindingRejected(device);
        keys = allKeys(desired, this.#state.peers ?? new Map());
      }
      // A node whose hostname does not resolve keeps the device's endpoint for its key: what was just written may change its decision.
      if (this.#decisions.deviceChanged(changes.filter((c) => c.remove || c.endpoint !== undefined).map((c) => c.publicKey))) this.#runner.request();
      const drift = changesBefore === 0 && this.#lastSyncAt !== null;
      if (drift) metrics.driftRepairs.inc({ device: this.#device, kind: 'peer' }, changes.length);
      this.#log.info({ added, updated: changes.length - added - removed, removed, peers: desired.size, drift }, drift ? 'repaired peers' : 'applied peer changes');
    }
    this.#reportRejections();
    // A rejected peer's endpoint was not applied: without an entry, it is written when tried again.
    this.#state.recordEndpoints(settledEndpoints(keys, desired, this.#rejections));
    metrics.syncPeers.inc({ device: this.#device, success: '1' });
    metrics.syncDuration.observe({ device: this.#device }, (clock.now() - started) / 1000);
    this.#appliedCount = desired.size - this.#rejections.size;
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
  async #applyFindingRejected(device: EnsuredDevice): Promise<void> {
    const desired = this.#decisions.peers;
    const onDevice = await this.#readDevice(device);
    const now = this.#o.clock.now();
    const plan = planPass({ compare: 'all', desired, device: onDevice, appliedEndpoints: this.#state.appliedEndpoints, rejections: this.#rejections, now });
    const rejected = await configureFindingRejected(device.client, this.#device, plan.changes);
    const rejections = plan.rejections;
    for (const { change, error } of rejected) {
      const peer = desired.get(change.publicKey);
      if (!peer) {
        this.#log.error({ err: error, publicKey: change.publicKey }, 'the device refused to remove a peer; trying again next pass');
        continue;
      }
      rejections.set(change.publicKey, { fingerprint: peerFingerprint(peer), at: now, detail: `${this.#device} refused the peer: ${shown(error.message)}` });
    }
    this.#rejections = rejections;
    await this.#readDevice(device);
  }

  /** Reads the device into the state: what the next plan compares every peer with. */
  async #readDevice(device: EnsuredDevice): Promise<ReadonlyMap<string, ConfiguredPeer>> {
    this.#state.read(await device.client.read(this.#device), null);
    this.#deviceWasRead();
    return this.#state.peers ?? new Map();
  }

  /**
   * Decisions that read the device's endpoints are taken again, and the
   * next plan compares every peer, unless the read found the peers as the
   * state had them: then every peer already matches (each pass compared
   * what it changed), and the tick costs the read alone.
   */
  #deviceWasRead(): void {
    if (!this.#state.lastReadChanged) return;
    this.#decisions.deviceRead();
    this.#planAll = true;
  }

  /** Logs each skip once when it starts and once when it ends, and keeps the gauges. */
  #reportSkips(changes: readonly SkipChange[]): void {
    for (const { before, after } of changes) {
      const { appeared, cleared } = skipChanges(before, after);
      // Nodes past maxNodes may be thousands: one line for all of them, below.
      for (const s of appeared) if (s.reason !== 'too-many-nodes') this.#log.warn({ node: s.node, reason: s.reason, peered: s.peered }, `remote node skipped: ${s.detail}`);
      for (const s of cleared) if (s.reason !== 'too-many-nodes') this.#log.info({ node: s.node, reason: s.reason }, 'remote node no longer skipped');
    }
    const counts = this.#decisions.skipCounts;
    const over = counts.get('too-many-nodes') ?? 0;
    if (over !== this.#tooManyNodes) {
      const level = over > 0 ? 'warn' : 'info';
      this.#log[level]({ skipped: over, maxNodes: this.#o.remote.maxNodes, first: this.#decisions.firstPastMaxNodes() }, `remote nodes past maxNodes: ${over} skipped`);
      this.#tooManyNodes = over;
    }
    for (const reason of SKIP_REASONS) if (reason !== 'device-rejected') this.#setSkipGauge(reason, counts.get(reason) ?? 0);
  }

  /** The refused peers as skipped nodes, logged when that changes. */
  #reportRejections(): void {
    const onDevice = this.#state.peers;
    const skips = rejectionSkips(this.#rejections, this.#decisions.nodeOf, (key) => onDevice?.has(key) ?? false);
    const { appeared, cleared } = skipChanges(this.#rejectionSkips, skips);
    for (const s of appeared) this.#log.warn({ node: s.node, reason: s.reason, peered: s.peered }, `remote node skipped: ${s.detail}`);
    for (const s of cleared) this.#log.info({ node: s.node, reason: s.reason }, 'remote node no longer skipped');
    this.#rejectionSkips = skips;
    this.#setSkipGauge('device-rejected', skips.length);
  }

  #setSkipGauge(reason: SkipReason, count: number): void {
    if (this.#skipGauges.get(reason) === count) return;
    this.#skipGauges.set(reason, count);
    this.#o.metrics.skippedNodes.set({ cluster: this.#o.remote.name, reason }, count);
  }
}
