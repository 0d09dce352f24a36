import type { StatusReport } from '../server/status-report.ts';

/** Renders GET /status for a person: one block per remote, peers as a table. Pure. */
export function formatStatusReport(report: StatusReport, now: number): string {
  if (report.remotes.length === 0) return 'no remote clusters configured\n';
  return report.remotes.map((remote) => {
    const lines: string[] = [];
    const watch = remote.watch.state === 'connected' ? 'connected' : `${remote.watch.state}${remote.watch.lastError ? ` (${remote.watch.lastError})` : ''}`;
    lines.push(`remote ${remote.remote}  device ${remote.device}  port ${remote.listenPort}  ${remote.deviceReady ? 'up' : 'NOT INITIALISED'}`);
    lines.push(`  public key  ${remote.publicKey ?? '(none)'}`);
    lines.push(`  source      ${source(remote.source, now)}`);
    lines.push(`  watch       ${watch}${remote.watch.synced ? '' : ', not listed yet'}; last event ${ago(remote.watch.lastEventAt, now)}`);
    lines.push(`  last sync   ${ago(remote.lastSyncAt, now)}${remote.lastSyncError ? `; last error: ${remote.lastSyncError}` : ''}`);
    lines.push(`  peers       ${remote.peers.applied} applied / ${remote.peers.desired} desired`);
    if (remote.devicePeers === null) {
      lines.push(`  device      cannot be read: ${remote.deviceError ?? 'unknown error'}`);
    } else if (remote.devicePeers.length > 0) {
      const rows = remote.devicePeers.map((p) => [
        p.publicKey,
        p.endpoint ?? '(none)',
        p.allowedIPs.join(',') || '(none)',
        p.lastHandshakeSeconds === 0 ? 'never' : ago(p.lastHandshakeSeconds * 1000, now),
        bytes(p.receiveBytes),
        bytes(p.transmitBytes),
      ]);
      lines.push(...table(['PEER', 'ENDPOINT', 'ALLOWED IPS', 'HANDSHAKE', 'RX', 'TX'], rows).map((l) => `  ${l}`));
    }
    for (const s of remote.skipped) lines.push(`  ${s.peered ? 'partly skipped' : 'skipped'} node ${s.node}: ${s.reason}: ${s.detail}`);
    return lines.join('\n') + '\n';
  }).join('\n');
}

function source(status: StatusReport['remotes'][number]['source'], now: number): string {
  if (status.kind === 'nodes') return "the remote's Nodes";
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
