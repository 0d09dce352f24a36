import { parseGoDuration } from '../config/duration.ts';
import { DEFAULT_SLICES_NAMESPACE } from '../config/schema.ts';
import { PUBLISHER_LEASE_NAME } from '../fleet/peer-slice.ts';
import { DEFAULT_LEASE_DURATION_MS, DEFAULT_RENEW_DEADLINE_MS, DEFAULT_RETRY_PERIOD_MS } from '../election/leader-elector.ts';
import { intervalMs } from './daemon-flags.ts';
import type { FlagSpec, FlagValueResult } from './flags.ts';

/** The flags of `clusterwire mirror` beyond those it shares with the daemon (docs/fleet-mode.md). */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function dnsLabel(text: string): FlagValueResult<string> {
  return DNS_LABEL.test(text) ? { ok: true, value: text } : { ok: false, reason: 'must be a namespace name: at most 63 lowercase letters, digits and -' };
}

function dnsSubdomain(text: string): FlagValueResult<string> {
  return DNS_SUBDOMAIN.test(text) && text.length <= 253 ? { ok: true, value: text } : { ok: false, reason: 'must be an object name: lowercase letters, digits, - and .' };
}

/** A duration in whole milliseconds, at least one. */
function durationMs(text: string): FlagValueResult<number> {
  const parsed = parseGoDuration(text);
  if (!parsed.ok) return { ok: false, reason: `not a Go duration: ${parsed.reason}` };
  const ms = Number(parsed.nanoseconds / 1_000_000n);
  return ms < 1 ? { ok: false, reason: 'must be at least 1ms' } : { ok: true, value: ms };
}

const seconds = (ms: number) => `${ms / 1000}s`;

export const namespaceFlag: FlagSpec<string> = {
  name: 'namespace',
  env: 'SWG_NAMESPACE',
  valueName: 'name',
  description: "namespace of the PeerSlices and the Lease: the mirror's own (the Deployment sets it from the pod's namespace)",
  defaultText: DEFAULT_SLICES_NAMESPACE,
  parse: dnsLabel,
};

export const leaseNameFlag: FlagSpec<string> = {
  name: 'lease-name',
  env: 'SWG_LEASE_NAME',
  valueName: 'name',
  description: 'the coordination.k8s.io/v1 Lease the replicas elect their leader with',
  defaultText: PUBLISHER_LEASE_NAME,
  parse: dnsSubdomain,
};

export const identityFlag: FlagSpec<string> = {
  name: 'identity',
  env: 'POD_NAME',
  valueName: 'name',
  description: "this replica's name in the Lease, unique among the replicas; empty means the host name, which in a pod is the pod name",
  defaultText: '',
  parse: (text) => ({ ok: true, value: text }),
};

export const leaseDurationFlag: FlagSpec<number> = {
  name: 'leader-elect-lease-duration',
  env: 'SWG_LEADER_ELECT_LEASE_DURATION',
  valueName: 'duration',
  description: 'how long a standby waits, from the last renewal it saw, before it takes the lease over',
  defaultText: seconds(DEFAULT_LEASE_DURATION_MS),
  parse: durationMs,
};

export const renewDeadlineFlag: FlagSpec<number> = {
  name: 'leader-elect-renew-deadline',
  env: 'SWG_LEADER_ELECT_RENEW_DEADLINE',
  valueName: 'duration',
  description: 'how long the leader keeps trying to renew before it stops writing; shorter than the lease duration',
  defaultText: seconds(DEFAULT_RENEW_DEADLINE_MS),
  parse: durationMs,
};

export const retryPeriodFlag: FlagSpec<number> = {
  name: 'leader-elect-retry-period',
  env: 'SWG_LEADER_ELECT_RETRY_PERIOD',
  valueName: 'duration',
  description: 'how often the leader renews and a standby tries to acquire (jittered up to 2.2 times)',
  defaultText: seconds(DEFAULT_RETRY_PERIOD_MS),
  parse: durationMs,
};

export const resyncIntervalFlag: FlagSpec<number> = {
  name: 'resync-interval',
  env: 'SWG_RESYNC_INTERVAL',
  valueName: 'duration',
  description: 'how often the leader reads its slices again, repairing changes made by someone else',
  defaultText: '1m',
  parse: intervalMs,
};
