import { HANDSHAKE_AGES, handshakeAge, type HandshakeAge } from '../server/device-metrics.ts';
import type { RemoteReport, ReportedPeer, StatusReport } from '../server/status-report.ts';
import type { SkippedNode } from '../peering/remote-status.ts';

/**
 * GET /status for a person (`clusterwire status`). Pure. The summary is a
 * few lines per remote whatever the number of peers (5,000 remote nodes
 * must not print 5,000 lines); `--peers` adds the table of every peer and
 * every skipped node.
 */

/** Skipped nodes the summary names one by one; the rest are counted by reason. */
export const SUMMARY_SKIPPED_SHOWN = 5;

const AGE_TEXT: Record<HandshakeAge, string> = { under_3m: 'under 3m', '3m_to_10m': '3m to 10m', over_10m: 'over 10m', never: 'never' };
/** Working tunnels first. */
const AGE_ORDER: readonly HandshakeAge[] = ['under_3m', '3m_to_10m', 'over_10m', 'never'];

export function formatStatusSummary(report: StatusReport, now: number): string {
  return formatRemotes(report, (remote) => [...header(remote, now), ...skippedLines(remote.skipped, SUMMARY_SKIPPED_SHOWN)]);
}

export function formatStatusPeers(report: StatusReport, now: number): string {
  return formatRemotes(report, (remote) => [...header(remote, now), ...peerTable(remote, now), ...skippedLines(remote.skipped, Infinity)]);
}

function formatRemotes(report: StatusReport, lines: (remote: RemoteReport) => string[]): string {
  if (report.remotes.length === 0) return 'no remote clusters configured\n';
  return report.remotes.map((remote) => `${lines(remote).join('\n')}\n`).join('\n');
}

function header(remote: RemoteReport, now: number): string[] {
  const watch = remote.watch.state === 'connected' ? 'connected' : `${remote.watch.state}${remote.watch.lastError ? ` (${remote.watch.lastError})` : ''}`;
  const notPeered = remote.skipped.filter((s) => !s.peered).length;
  const partly = remote.skipped.length - notPeered;
  return [
    `remote ${remote.remote}  device ${remote.device}  port ${remote.listenPort}  ${remote.deviceReady ? 'up' : 'NOT INITIALISED'}`,
    `  public key  ${remote.publicKey ?? '(none)'}`,
    `  source      ${source(remote.source, now)}`,
    `  watch       ${watch}${remote.watch.synced ? '' : ', not listed yet'}; last event ${ago(remote.watch.lastEventAt, now)}`,
    `  last sync   ${ago(remote.lastSyncAt, now)}${remote.lastSyncError ? `; last error: ${remote.lastSyncError}` : ''}`,
    `  peers       ${remote.peers.applied} applied / ${remote.peers.desired} desired; ${notPeered} node(s) skipped${partly > 0 ? `, ${partly} partly` : ''}`,
    remote.devicePeers === null ? `  device      cannot be read: ${remote.deviceError ?? 'unknown error'}` : `  handshakes  ${handshakeSummary(remote.devicePeers, now)}`,
  ];
}

/** `3 under 3m, 1 never (4 peers on the device)`: the buckets of clusterwire_peers_by_handshake_age. */
export function handshakeSummary(peers: readonly ReportedPeer[], now: number): string {
  if (peers.length === 0) return 'no peers on the device';
  const counts = new Map<HandshakeAge, number>(HANDSHAKE_AGES.map((age) => [age, 0]));
  for (const peer of peers) {
    const age = handshakeAge(peer.lastHandshakeSeconds, now / 1000);
    counts.set(age, (counts.get(age) ?? 0) + 1);
  }
  const parts = AGE_ORDER.filter((age) => (counts.get(age) ?? 0) > 0).map((age) => `${counts.get(age)} ${AGE_TEXT[age]}`);
  return `${parts.join(', ')} (${peers.length} peer${peers.length === 1 ? '' : 's'} on the device)`;
}

/** Counts by reason, then at most `shown` nodes by name. */
function skippedLines(skipped: readonly SkippedNode[], shown: number): string[] {
  if (skipped.length === 0) return [];
  const byReason = new Map<string, number>();
  for (const s of skipped) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1);
  const reasons = [...byReason].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)).map(([reason, count]) => `${reason} ${count}`);
  const lines = [`  skipped     ${reasons.join(', ')}`];
  for (const s of skipped.slice(0, shown)) lines.push(`    ${s.node}: ${s.peered ? 'partly skipped, ' : ''}${s.reason}: ${s.detail}`);
  if (skipped.length > shown) lines.push(`    ... ${skipped.length - shown} more: clusterwire status --peers lists them all`);
  return lines;
}

function peerTable(remote: RemoteReport, now: number): string[] {
  if (remote.devicePeers === null || remote.devicePeers.length === 0) return [];
  const rows = [...remote.devicePeers].sort(byNode).map((p) => [
    p.node ?? '-',
    p.publicKey,
    p.endpoint ?? '(none)',
    p.allowedIPs.join(',') || '(none)',
    p.lastHandshakeSeconds === 0 ? 'never' : ago(p.lastHandshakeSeconds * 1000, now),
    bytes(p.receiveBytes),
    bytes(p.transmitBytes),
  ]);
  return table(['NODE', 'PUBLIC KEY', 'ENDPOINT', 'ALLOWED IPS', 'HANDSHAKE', 'RX', 'TX'], rows).map((line) => `  ${line}`);
}

/** By node name; keys no node shows (`node` null, or absent from an older daemon) last, by key. */
function byNode(a: ReportedPeer, b: ReportedPeer): number {
  const [x, y] = [a.node ?? null, b.node ?? null];
  if (x !== y) return x === null ? 1 : y === null ? -1 : x < y ? -1 : 1;
  return a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0;
}

function source(status: StatusReport['remotes'][number]['source'], now: number): string {
  if (status.kind === 'nodes') return "the remote's Nodes";
  if (status.kind === 'mirror') {
    const { mirror } = status;
    const state = mirror.state === 'fresh' ? `mirror ${mirror.holder ?? ''} fresh` : `mirror ${mirror.state}${mirror.reason ? `: ${mirror.reason}` : ''}`;
    return `mirrored PeerSlices in ${status.namespace} (${status.slices} slices); ${state}`;
  }
  const { publisher } = status;
  const lease = publisher.holder === null ? 'no publisher holds the lease' : `publisher ${publisher.holder}, renewed ${ago(publisher.renewedAt, now)}`;
  return `PeerSlices in ${status.namespace} (${status.slices} slices); ${lease}${publisher.lastError ? `; ${publisher.lastError}` : ''}`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((cells) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}

function ago(ms: number | null, now: number): string {
  if (ms === null) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}
