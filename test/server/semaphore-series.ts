/**
 * semaphore-wireguard's metrics, transcribed from its source so the daemon's
 * exposition can be compared with it (docs/http-and-metrics.md promises the
 * same names, help, types, labels and label values):
 *   utilitywarehouse/semaphore-wireguard at commit
 *   2e472b1709a1e64c90dab95c9e59dc51cebfab7c,
 *   metrics/metrics.go (the four counters, Register's zero series, the
 *   device collector) and metrics/kube_client.go (the client-go adapter).
 * Deliberately independent of src/: a change on our side must not move the
 * expected side with it.
 */
import type { Exposition, Sample } from '../support/prometheus-text.ts';

export interface SemaphoreFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labelNames: string[];
}

export const SEMAPHORE_FAMILIES: readonly SemaphoreFamily[] = [
  // metrics.go: prometheus.NewCounterVec(...)
  { name: 'semaphore_wg_sync_peers_total', help: "Counts runners' attempts to sync peers.", type: 'counter', labelNames: ['device', 'success'] },
  {
    name: 'semaphore_wg_sync_queue_full_failures_total',
    help: 'Number of times a sync task was not added to the sync queue in time because the queue was full.',
    type: 'counter',
    labelNames: ['device'],
  },
  { name: 'semaphore_wg_sync_requeue_total', help: 'Number of attempts to requeue a sync.', type: 'counter', labelNames: ['device'] },
  { name: 'semaphore_wg_node_watcher_failures_total', help: 'Number of times the node watcher list/watch functions errored.', type: 'counter', labelNames: ['cluster', 'verb'] },
  // kube_client.go
  { name: 'semaphore_wg_kube_http_request_total', help: 'Total number of HTTP requests to the Kubernetes API by host, code and method', type: 'counter', labelNames: ['host', 'code', 'method'] },
  // metrics.go: newMetricsCollector, labels := []string{"device", "public_key"}
  { name: 'semaphore_wg_device_info', help: 'Metadata about a device.', type: 'gauge', labelNames: ['device', 'public_key'] },
  {
    name: 'semaphore_wg_peer_info',
    help: "Metadata about a peer. The public_key label on peer metrics refers to the peer's public key; not the device's public key.",
    type: 'gauge',
    labelNames: ['device', 'public_key', 'endpoint'],
  },
  { name: 'semaphore_wg_peer_allowed_ips_info', help: "Metadata about each of a peer's allowed IP subnets for a given device.", type: 'gauge', labelNames: ['device', 'public_key', 'allowed_ips'] },
  { name: 'semaphore_wg_peer_receive_bytes_total', help: 'Number of bytes received from a given peer.', type: 'counter', labelNames: ['device', 'public_key'] },
  { name: 'semaphore_wg_peer_transmit_bytes_total', help: 'Number of bytes transmitted to a given peer.', type: 'counter', labelNames: ['device', 'public_key'] },
  { name: 'semaphore_wg_peer_last_handshake_seconds', help: 'UNIX timestamp for the last handshake with a given peer.', type: 'gauge', labelNames: ['device', 'public_key'] },
];

/**
 * metrics.Register: the series that exist, at 0, from start. Devices and
 * clusters are the remotes' (main.go collects wgDeviceNames and
 * rClusterNames from config.Remotes).
 */
export function semaphoreStartSeries(remotes: readonly { device: string; cluster: string }[]): Sample[] {
  const series: Sample[] = [];
  for (const { device } of remotes) {
    for (const success of ['0', '1']) series.push({ name: 'semaphore_wg_sync_peers_total', labels: { device, success }, value: 0 });
    series.push({ name: 'semaphore_wg_sync_queue_full_failures_total', labels: { device }, value: 0 });
    series.push({ name: 'semaphore_wg_sync_requeue_total', labels: { device }, value: 0 });
  }
  for (const { cluster } of remotes) {
    for (const verb of ['get', 'list', 'create', 'update', 'patch', 'watch', 'delete']) {
      series.push({ name: 'semaphore_wg_node_watcher_failures_total', labels: { cluster, verb }, value: 0 });
    }
  }
  return series;
}

/** A WireGuard device as wgctrl-go's wgtypes.Device has it, reduced to what the collector reads. */
export interface WgtypesDevice {
  Name: string;
  PublicKey: string;
  Peers: { PublicKey: string; Endpoint: string | null; AllowedIPs: string[]; ReceiveBytes: number; TransmitBytes: number; LastHandshakeUnix: number | null }[];
}

/** collector.Collect for one device, series by series. */
export function semaphoreDeviceSeries(d: WgtypesDevice): Sample[] {
  const series: Sample[] = [{ name: 'semaphore_wg_device_info', labels: { device: d.Name, public_key: d.PublicKey }, value: 1 }];
  for (const p of d.Peers) {
    const pub = p.PublicKey;
    // "Use empty string instead of special Go <nil> syntax for no endpoint."
    series.push({ name: 'semaphore_wg_peer_info', labels: { device: d.Name, public_key: pub, endpoint: p.Endpoint ?? '' }, value: 1 });
    for (const ip of p.AllowedIPs) series.push({ name: 'semaphore_wg_peer_allowed_ips_info', labels: { device: d.Name, public_key: pub, allowed_ips: ip }, value: 1 });
    series.push({ name: 'semaphore_wg_peer_receive_bytes_total', labels: { device: d.Name, public_key: pub }, value: p.ReceiveBytes });
    series.push({ name: 'semaphore_wg_peer_transmit_bytes_total', labels: { device: d.Name, public_key: pub }, value: p.TransmitBytes });
    // "Expose last handshake of 0 unless a last handshake time is set."
    series.push({ name: 'semaphore_wg_peer_last_handshake_seconds', labels: { device: d.Name, public_key: pub }, value: p.LastHandshakeUnix ?? 0 });
  }
  return series;
}

/** `name{a="1",b="2"}` with labels sorted: the identity of a series, for set comparisons. */
export function seriesKey({ name, labels }: Pick<Sample, 'name' | 'labels'>): string {
  return `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

/**
 * How an exposition differs from semaphore's: a family's TYPE, HELP or
 * label names, a `success` value other than "1"/"0", a start series
 * missing (or, on a `fresh` daemon, not 0). Empty when compatible.
 */
export function semaphoreMismatches(exposition: Exposition, remotes: readonly { device: string; cluster: string }[], fresh: boolean): string[] {
  const problems: string[] = [];
  for (const f of SEMAPHORE_FAMILIES) {
    if (exposition.types.get(f.name) !== f.type) problems.push(`${f.name}: TYPE ${exposition.types.get(f.name)}, semaphore has ${f.type}`);
    if (exposition.help.get(f.name) !== f.help) problems.push(`${f.name}: HELP ${JSON.stringify(exposition.help.get(f.name))}, semaphore has ${JSON.stringify(f.help)}`);
    const expected = [...f.labelNames].sort().join(',');
    for (const s of exposition.samples.filter((sample) => sample.name === f.name)) {
      const labels = Object.keys(s.labels).sort().join(',');
      if (labels !== expected) problems.push(`${seriesKey(s)}: labels ${labels}, semaphore has ${expected}`);
      if (f.name === 'semaphore_wg_sync_peers_total' && !['0', '1'].includes(s.labels.success ?? '')) problems.push(`${seriesKey(s)}: success is "1" or "0" in semaphore`);
    }
  }
  const byKey = new Map(exposition.samples.map((s) => [seriesKey(s), s.value]));
  for (const s of semaphoreStartSeries(remotes)) {
    const value = byKey.get(seriesKey(s));
    if (value === undefined) problems.push(`${seriesKey(s)}: missing; semaphore creates it at start`);
    else if (fresh && value !== 0) problems.push(`${seriesKey(s)}: ${value} on a fresh daemon, semaphore starts it at 0`);
  }
  return problems;
}
