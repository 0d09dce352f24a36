/**
 * Pings between pod addresses, as iputils `ping` does them. The source is
 * the sending node's pod address: a packet from the node's own address
 * would leave with a source outside the allowed IPs the far side has for
 * this node, and WireGuard would drop it, as it would in a real cluster.
 */
import { isIPv6 } from 'node:net';

export interface PingOptions {
  count?: number;
  /** How long to wait for the last reply. */
  timeoutSeconds?: number;
}

export interface PingResult {
  ok: boolean;
  /** Average round trip of the replies; null when none came back. */
  rttMs: number | null;
}

export function pingArguments(source: string, target: string, options: PingOptions = {}): string[] {
  const count = options.count ?? 1;
  // -i 0.2 is the shortest interval ping allows without flooding rights it cares about.
  const common = ['-n', '-q', '-c', String(count), '-i', '0.2', '-W', String(options.timeoutSeconds ?? 2), '-I', source, target];
  // Said explicitly for IPv6, so the family never depends on how ping guesses it.
  return isIPv6(target) ? ['-6', ...common] : common;
}

/** How long the ping command may run before it is killed. */
export function pingDeadlineMs(options: PingOptions = {}): number {
  return ((options.count ?? 1) * 0.2 + (options.timeoutSeconds ?? 2) + 3) * 1000;
}

/**
 * Reads ping's summary: "N packets transmitted, M received" and
 * "rtt min/avg/max/mdev = a/b/c/d ms". ok when every packet came back.
 */
export function parsePingOutput(text: string): PingResult {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(text);
  const rtt = /= [\d.]+\/([\d.]+)\/[\d.]+\/[\d.]+ ms/.exec(text);
  const transmitted = counts ? Number(counts[1]) : 0;
  const received = counts ? Number(counts[2]) : 0;
  return { ok: transmitted > 0 && received === transmitted, rttMs: rtt ? Number(rtt[1]) : null };
}
