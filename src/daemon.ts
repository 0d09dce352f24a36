import { systemClock, type Clock } from './clock/clock.ts';
import type { ClustersConfig, RemoteCluster } from './config/types.ts';
import { IpMonitor, ipMonitorLauncher, type MonitorLauncher } from './ip/link-route-events.ts';
import { IpLinks, type Links } from './ip/links.ts';
import { IpRoutes, type Routes } from './ip/routes.ts';
import { connectionSettings, createKubeClient, type ClusterAccess, type KubeClient } from './kube/client.ts';
import { NodeAdvertiser } from './kube/node-advertiser.ts';
import { NodeWatcher } from './kube/node-watcher.ts';
import { KubeLeaseLock } from './election/lease-lock.ts';
import { PUBLISHER_LEASE_NAME } from './fleet/peer-slice.ts';
import { leaseReadIntervalMs } from './fleet/lease-poller.ts';
import { SliceWatcher } from './fleet/slice-watcher.ts';
import type { Logger } from './log.ts';
import { createMetrics, startCounters, type Metrics } from './metrics.ts';
import { dnsLookup } from './peering/dns-lookup.ts';
import type { Lookup } from './peering/endpoint-resolver.ts';
import { RemotePeering } from './peering/remote-peering.ts';
import { execCommand } from './process/exec.ts';
import type { PeerMetricsMode } from './server/device-metrics.ts';
import { buildHttpServer } from './server/http-server.ts';
import { listen } from './server/listen.ts';
import { WireGuardDevices, type WireGuardBackend } from './wireguard/devices.ts';
import { loadOrCreateDeviceKey, prepareKeyDirectory, type DeviceKey } from './wireguard/key-file.ts';
import type { WireGuardClient } from './wireguard/types.ts';
import { DEFAULT_SOCKET_DIRECTORY, UapiClient } from './wireguard/uapi-client.ts';
import { spawnLauncher, type Launcher } from './wireguard/userspace-process.ts';
import { WgToolClient } from './wireguard/wg-tool-client.ts';
import { collectAndLog, StartupCompaction } from './process/startup-compaction.ts';

export interface DaemonOptions {
  config: ClustersConfig;
  nodeName: string;
  wgKeyPath: string;
  listen: { host: string; port: number };
  wgBackend: WireGuardBackend;
  wgUserspaceBinary: string;
  /** How userspace devices are configured: over their UAPI socket, or with `wg` as kernel devices are. */
  wgUserspaceClient: 'uapi' | 'wg';
  reconcileIntervalMs: number;
  watchBackoffCapMs: number;
  readyWatchGraceMs: number;
  peerMetrics: PeerMetricsMode;
  logger: Logger;
}

/**
 * What the daemon does I/O with: the real implementations by default
 * (`realDaemonIO`); tests give fakes (test/daemon/wiring.test.ts).
 */
export interface DaemonIO {
  links: Links;
  routes: Routes;
  /** Reads and configures kernel devices (`wg`). */
  kernelClient: WireGuardClient;
  /** Reads and configures userspace devices (their UAPI socket, or `wg`). */
  userspaceClient: WireGuardClient;
  /** Starts userspace WireGuard processes. */
  launch: Launcher;
  /** Where userspace devices have their control sockets. */
  socketDirectory: string;
  /** A client of one cluster's apiserver; the daemon closes it on stop. */
  kubeClient: (cluster: string, access: ClusterAccess, metrics: Metrics) => KubeClient;
  /** Looks up hostname endpoints. */
  lookup: Lookup;
  clock: Clock;
  /** Starts `ip -o monitor link route`; null: links and routes are read on every reconcile tick. */
  linkMonitor: MonitorLauncher | null;
  /** A full garbage collection, run once after start-up (startup-compaction.ts); null where node was not given --expose-gc. */
  collectGarbage: (() => void) | null;
}

/** The real I/O: `ip` and `wg` through execCommand, UAPI sockets in /run/wireguard, DNS, the system clock. */
export function realDaemonIO(options: Pick<DaemonOptions, 'wgUserspaceClient'>): DaemonIO {
  const wgTool = new WgToolClient(execCommand);
  return {
    links: new IpLinks(execCommand),
    routes: new IpRoutes(execCommand),
    kernelClient: wgTool,
    userspaceClient: options.wgUserspaceClient === 'wg' ? wgTool : new UapiClient(DEFAULT_SOCKET_DIRECTORY),
    launch: spawnLauncher,
    socketDirectory: DEFAULT_SOCKET_DIRECTORY,
    kubeClient: (cluster, access, metrics) => createKubeClient({ cluster, settings: connectionSettings(access), requests: metrics.kubeHttpRequests }),
    lookup: dnsLookup(),
    clock: systemClock,
    linkMonitor: ipMonitorLauncher,
    collectGarbage: exposedGc(),
  };
}

/** Node's gc(), there when node runs with --expose-gc, as the image's entrypoint does (Dockerfile). */
function exposedGc(): (() => void) | null {
  const { gc } = globalThis as { gc?: () => void };
  return typeof gc === 'function' ? () => gc() : null;
}

export interface RunningDaemon {
  /** The address the HTTP server listens on. */
  readonly address: { host: string; port: number };
  /** Stops watches, loops and the server; leaves links, routes and peers in place. */
  stop(): Promise<void>;
}

/**
 * Builds the daemon and starts it (docs/how-it-works.md): keys first (a
 * malformed key file stops start-up), garbage links removed, then per
 * remote an independent peering loop, one advertiser for the local Node,
 * and the HTTP server. Its I/O is `io` over the real one.
 */
export async function startDaemon(options: DaemonOptions, overrides: Partial<DaemonIO> = {}): Promise<RunningDaemon> {
  const { config, logger } = options;
  const io: DaemonIO = { ...realDaemonIO(options), ...overrides };
  const metrics = createMetrics();
  startCounters(metrics, config.remotes.map((r) => ({ cluster: r.name, device: r.deviceName })));
  const keyDirectory = await prepareKeyDirectory(options.wgKeyPath);
  if (keyDirectory.previousMode !== null) {
    logger.warn({ directory: options.wgKeyPath, mode: keyDirectory.previousMode.toString(8) }, 'the key directory was not private: set it to 0700');
  }
  if (keyDirectory.removedTemporaryFiles.length > 0) {
    logger.info({ directory: options.wgKeyPath, files: keyDirectory.removedTemporaryFiles }, 'removed temporary key files an interrupted start left');
  }
  const keys = new Map<string, DeviceKey>();
  for (const remote of config.remotes) keys.set(remote.name, await loadOrCreateDeviceKey(options.wgKeyPath, remote.deviceName));

  const peerings = new Map<string, RemotePeering>();
  const devices = new WireGuardDevices({
    backend: options.wgBackend,
    links: io.links,
    kernelClient: io.kernelClient,
    userspace: { binary: options.wgUserspaceBinary, socketDirectory: io.socketDirectory, client: io.userspaceClient, launch: io.launch },
    logger,
    clock: io.clock,
    onUserspaceRestart: (device) => peerings.get(device)?.checkDevice('process'),
  });
  try {
    await devices.removeOwnedLinks(config.remotes.map((r) => ({ remote: r.name, device: r.deviceName })));
  } catch (error) {
    // Garbage is worth a warning, not an outage: the configured remotes do not depend on it.
    logger.warn({ err: error }, 'removing links of remotes no longer configured failed');
  }

  const clients: KubeClient[] = [];
  const kubeClient = (cluster: string, access: ClusterAccess) => {
    const client = io.kubeClient(cluster, access, metrics);
    clients.push(client);
    return client;
  };

  const backoff = { baseMs: Math.min(800, options.watchBackoffCapMs), capMs: options.watchBackoffCapMs };
  const local = config.local;
  // One client of the local apiserver: the advertiser's, and the watches of mirrored slices (source mirror).
  const localClient = kubeClient(local.name, local.kubeConfigPath === null ? { kind: 'in-cluster' } : { kind: 'kubeconfig', path: local.kubeConfigPath });
  const advertiser = new NodeAdvertiser({
    client: localClient,
    nodeName: options.nodeName,
    annotationDomain: config.annotationDomain,
    adverts: config.remotes.map((r) => ({ remote: r.name, device: r.deviceName, publicKey: (keys.get(r.name) as DeviceKey).publicKey, listenPort: r.listenPort })),
    logger: logger.child({ node: options.nodeName }),
    metrics,
    clock: io.clock,
    random: Math.random,
    backoff,
    // The watch repairs at once; this read covers a watch that is down or missed an edit.
    checkIntervalMs: options.reconcileIntervalMs,
  });
  const linkEvents = io.linkMonitor
    ? new IpMonitor({ launch: io.linkMonitor, clock: io.clock, logger: logger.child({ component: 'ip-monitor' }), onFailure: () => metrics.linkMonitorFailures.inc() })
    : null;
  linkEvents?.start();
  const compaction = new StartupCompaction(
    config.remotes.map((r) => r.name),
    io.collectGarbage === null ? null : collectAndLog(io.collectGarbage, logger),
    io.clock,
  );
  for (const remote of config.remotes) {
    const key = keys.get(remote.name) as DeviceKey;
    peerings.set(remote.deviceName, remotePeering(remote, key, sourceClient(remote)));
  }
  /** Where a remote's nodes are read: the local apiserver with source mirror (no remote access at all), else the remote's. */
  function sourceClient(remote: RemoteCluster): KubeClient {
    if (remote.source.kind === 'mirror') return localClient;
    if (remote.access === null) throw new Error(`remote ${remote.name} has no API access (a bug: only source mirror may go without)`);
    return kubeClient(remote.name, remote.access);
  }
  function remotePeering(remote: RemoteCluster, key: DeviceKey, client: KubeClient): RemotePeering {
    const log = logger.child({ remote: remote.name, device: remote.deviceName });
    const reconcileIntervalMs = remote.reconcileIntervalMs ?? options.reconcileIntervalMs;
    return new RemotePeering({
      remote,
      privateKey: key.privateKey,
      publicKey: key.publicKey,
      devices,
      routes: io.routes,
      ...(linkEvents ? { linkEvents } : {}),
      createNodeSource: (onChange) => {
        const common = { client, logger: log, metrics, onChange, clock: io.clock, random: Math.random, backoff, maxNodes: remote.maxNodes };
        const source = remote.source;
        if (source.kind === 'nodes') return new NodeWatcher({ ...common, localClusterName: config.local.name, annotationDomain: config.annotationDomain });
        return new SliceWatcher({
          ...common,
          remoteClusterName: remote.name,
          localClusterName: config.local.name,
          namespace: source.namespace,
          mirrored: source.kind === 'mirror',
          // One GET every other tick, no watch of a Lease renewed every 2 s.
          lease: { kind: source.kind, lock: new KubeLeaseLock(client, source.namespace, PUBLISHER_LEASE_NAME), intervalMs: leaseReadIntervalMs(reconcileIntervalMs) },
        });
      },
      lookup: io.lookup,
      metrics,
      logger: log,
      clock: io.clock,
      reconcileIntervalMs,
      // Advertised once its peers are on the device (docs/how-it-works.md, "Advertise").
      onPeersApplied: () => {
        advertiser.ready(remote.name);
        compaction.applied(remote.name);
      },
    });
  }

  const server = buildHttpServer(
    {
      statuses: () => [...peerings.values()].map((p) => p.status()),
      readDevice: (name) => {
        const peering = peerings.get(name);
        return peering ? peering.readDevice() : Promise.reject(new Error(`no device ${name} is configured`));
      },
    },
    metrics.registry,
    { readyWatchGraceMs: options.readyWatchGraceMs, peerMetrics: options.peerMetrics, now: () => io.clock.now() },
  );
  const address = await listen(server, options.listen);

  for (const peering of peerings.values()) peering.start();
  advertiser.start();
  logger.info({ node: options.nodeName, remotes: config.remotes.map((r) => r.name), listen: address }, 'clusterwire started');

  return {
    address,
    async stop() {
      compaction.stop();
      await Promise.all([...[...peerings.values()].map((p) => p.stop()), advertiser.stop(), server.close()]);
      linkEvents?.stop();
      devices.detach();
      for (const client of clients) client.close();
      logger.info('clusterwire stopped; devices, routes and peers left in place');
    },
  };
}
