/**
 * Cold start of the daemon: from its spawn to every remote node being a
 * peer on the device, polled through the device's UAPI socket (what `wg
 * show` reads) with 5 ms pauses. While the daemon's one big UAPI set runs,
 * wireguard-go holds its IPC lock, so the waiting read returns right after
 * the set: the end is caught within about one read of the full device.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DEVICE, type RemoteCluster } from '../clusters.ts';
import type { BenchContext, BenchHost } from '../context.ts';
import { launchDaemon, type DaemonProcess, type LogLine } from '../daemon-process.ts';
import { deviceSocket, peerCountReached, pollDevice, wgShowDump } from '../device-probe.ts';

const COLD_START_TIMEOUT_MS = 300_000;

export interface ColdStart {
  totalMs: number;
  /** When the daemon logged each step, ms after its spawn (null: it did not log it). */
  phases: { startedMs: number | null; deviceMs: number | null; listedMs: number | null; appliedMs: number | null };
  /** What the remote apiserver served for it. */
  requests: number;
  bytes: number;
}

function phaseMs(logs: readonly LogLine[], launchedAt: number, match: (line: LogLine) => boolean): number | null {
  const line = logs.find(match);
  return line ? line.time - launchedAt : null;
}

/** Starts a daemon (on local Node `nodeName`, default bench-local) on `benchHost` and waits for all of `remote`'s nodes on its device; the caller stops it. */
export async function coldStart(
  context: BenchContext,
  benchHost: BenchHost,
  remote: RemoteCluster,
  nodeName?: string,
): Promise<{ daemon: DaemonProcess; coldStart: ColdStart }> {
  const { host, address, directory } = benchHost;
  const keyDirectory = path.join(directory, 'keys');
  await mkdir(keyDirectory, { mode: 0o700 });
  const before = remote.emulator.counters();
  const started = performance.now();
  const daemon = launchDaemon({ launcher: context.launcher, host, hostAddress: address, configPath: remote.configPath, keyDirectory, pathPrefix: context.execCounter.binDirectory, nodeName });
  try {
    const expected = remote.nodes.length;
    const seen = await pollDevice(deviceSocket(host, DEVICE), peerCountReached(expected), COLD_START_TIMEOUT_MS, 5);
    const totalMs = seen.hitEnd - started;
    await daemon.waitReady(COLD_START_TIMEOUT_MS);
    const after = remote.emulator.counters();

    const dump = await wgShowDump(host, DEVICE);
    const shown = new Map(dump.peers.map((p) => [p.publicKey, p]));
    const wrong = remote.nodes.filter((n) => shown.get(n.publicKey)?.endpoint !== n.endpoint || shown.get(n.publicKey)?.allowedIPs.join() !== n.podCIDR);
    if (dump.peers.length !== expected || wrong.length > 0) {
      throw new Error(`after cold start wg show lists ${dump.peers.length} peers, expected ${expected}; ${wrong.length} nodes are missing or differ (first: ${wrong[0]?.name})`);
    }
    const { logs, launchedAt } = daemon;
    return {
      daemon,
      coldStart: {
        totalMs,
        phases: {
          startedMs: phaseMs(logs, launchedAt, (l) => l.msg.startsWith('starting:')),
          deviceMs: phaseMs(logs, launchedAt, (l) => l.msg === 'created WireGuard device'),
          listedMs: phaseMs(logs, launchedAt, (l) => l.msg === 'first list of nodes complete'),
          appliedMs: phaseMs(logs, launchedAt, (l) => l.msg === 'applied peer changes'),
        },
        requests: after.requests - before.requests,
        bytes: after.bytesSent - before.bytesSent,
      },
    };
  } catch (error) {
    await daemon.stop();
    throw error;
  }
}
