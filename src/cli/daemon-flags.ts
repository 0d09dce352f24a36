import type { LevelWithSilent } from 'pino';
import { parseGoDuration } from '../config/duration.ts';
import { LOG_LEVEL_ALIASES, LOG_LEVELS, parseLogLevel } from '../log.ts';
import { PEER_METRICS_MODES, type PeerMetricsMode } from '../server/device-metrics.ts';
import type { FlagSpec, FlagValueResult } from './flags.ts';
import { parseListenAddress, type ListenAddress } from './listen-address.ts';

/** The flags of docs/configuration.md#flags-of-run: semaphore-wireguard's names, variables and defaults. */

export type WgBackend = 'kernel' | 'userspace' | 'auto';

const WG_BACKENDS: readonly WgBackend[] = ['kernel', 'userspace', 'auto'];

/** Shorter would turn drift correction into a busy loop. */
const MIN_RECONCILE_MS = 100;

function nonEmpty(text: string): FlagValueResult<string> {
  return text === '' ? { ok: false, reason: 'must not be empty' } : { ok: true, value: text };
}

function oneOf<T extends string>(choices: readonly T[]) {
  return (text: string): FlagValueResult<T> => {
    const choice = choices.find((c) => c === text);
    return choice === undefined ? { ok: false, reason: `must be one of ${choices.join(', ')}` } : { ok: true, value: choice };
  };
}

export function intervalMs(text: string): FlagValueResult<number> {
  const parsed = parseGoDuration(text);
  if (!parsed.ok) return { ok: false, reason: `not a Go duration: ${parsed.reason}` };
  const ms = Number(parsed.nanoseconds / 1_000_000n);
  return ms < MIN_RECONCILE_MS ? { ok: false, reason: `must be at least ${MIN_RECONCILE_MS}ms` } : { ok: true, value: ms };
}

export const clustersConfigFlag: FlagSpec<string> = {
  name: 'clusters-config',
  env: 'SWG_CLUSTERS_CONFIG',
  valueName: 'path',
  description: 'path to the clusters JSON config',
  defaultText: null,
  parse: nonEmpty,
};

export const nodeNameFlag: FlagSpec<string> = {
  name: 'node-name',
  env: 'SWG_NODE_NAME',
  valueName: 'name',
  description: "this node's Node name",
  defaultText: null,
  parse: nonEmpty,
};

export const wgKeyPathFlag: FlagSpec<string> = {
  name: 'wg-key-path',
  env: 'SWG_WG_KEY_PATH',
  valueName: 'dir',
  description: 'directory of the WireGuard private keys, one <device>.key per device',
  defaultText: '/var/lib/semaphore-wireguard',
  parse: nonEmpty,
};

export const listenAddressFlag: FlagSpec<ListenAddress> = {
  name: 'listen-address',
  env: 'SWG_LISTEN_ADDRESS',
  valueName: 'host:port',
  description: 'address of the health, metrics and status server',
  defaultText: ':7773',
  parse: parseListenAddress,
};

export const logLevelFlag: FlagSpec<LevelWithSilent> = {
  name: 'log-level',
  env: 'SWG_LOG_LEVEL',
  valueName: 'level',
  description: `log level: ${LOG_LEVELS.join(', ')}; off (as semaphore-wireguard spells it) = silent`,
  defaultText: 'info',
  // Go's log level parsers ignore case; semaphore-wireguard users may write INFO, or OFF.
  parse: (text) => {
    const level = parseLogLevel(text);
    return level === null ? { ok: false, reason: `must be one of ${[...LOG_LEVELS, ...Object.keys(LOG_LEVEL_ALIASES)].join(', ')}` } : { ok: true, value: level };
  },
};

export const wgBackendFlag: FlagSpec<WgBackend> = {
  name: 'wg-backend',
  env: 'SWG_WG_BACKEND',
  valueName: 'backend',
  description: 'WireGuard implementation: kernel, userspace, or auto = kernel, else userspace',
  defaultText: 'auto',
  parse: oneOf(WG_BACKENDS),
};

export const wgUserspaceBinaryFlag: FlagSpec<string> = {
  name: 'wg-userspace-binary',
  env: 'WG_QUICK_USERSPACE_IMPLEMENTATION',
  valueName: 'program',
  description: 'userspace WireGuard implementation to spawn',
  defaultText: 'wireguard-go',
  parse: nonEmpty,
};

export type WgUserspaceClient = 'uapi' | 'wg';

export const wgUserspaceClientFlag: FlagSpec<WgUserspaceClient> = {
  name: 'wg-userspace-client',
  env: 'SWG_WG_USERSPACE_CLIENT',
  valueName: 'client',
  description: 'how userspace devices are configured: uapi = over their control socket, wg = with the wg tool, as kernel devices are (tests that path where the kernel has no WireGuard)',
  defaultText: 'uapi',
  parse: oneOf<WgUserspaceClient>(['uapi', 'wg']),
};

export const watchBackoffCapFlag: FlagSpec<number> = {
  name: 'watch-backoff-cap',
  env: 'SWG_WATCH_BACKOFF_CAP',
  valueName: 'duration',
  description: 'longest wait between retries of a failed list or watch (jittered, doubling from 800ms)',
  defaultText: '30s',
  parse: intervalMs,
};

export const readyWatchGraceFlag: FlagSpec<number> = {
  name: 'ready-watch-grace',
  env: 'SWG_READY_WATCH_GRACE',
  valueName: 'duration',
  description: 'how long a remote watch may be disconnected before /readyz fails',
  defaultText: '1m',
  parse: intervalMs,
};

export const reconcileIntervalFlag: FlagSpec<number> = {
  name: 'reconcile-interval',
  env: 'SWG_RECONCILE_INTERVAL',
  valueName: 'duration',
  description: 'drift-correction period, a Go duration',
  defaultText: '30s',
  parse: intervalMs,
};

export const peerMetricsFlag: FlagSpec<PeerMetricsMode> = {
  name: 'peer-metrics',
  env: 'SWG_PEER_METRICS',
  valueName: 'mode',
  description: "device series in /metrics: full = semaphore-wireguard's series per peer, aggregate = peers per device by handshake age, off = neither",
  defaultText: 'full',
  parse: oneOf(PEER_METRICS_MODES),
};
