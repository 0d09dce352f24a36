/**
 * Watching the device under test from outside. `wg show` on a userspace
 * device is one UAPI `get=1` on its socket; the bench sends that request
 * itself (the host's /run/wireguard is reachable from the machine's mount
 * namespace), which saves the ~5 ms fork/exec of nsenter + wg per poll.
 * `wg show dump` itself is used to check the final state.
 */
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { LabHost } from '../lab/netns.ts';
import { ResponseBuffers } from '../src/wireguard/response-buffers.ts';
import { uapiExchange } from '../src/wireguard/uapi-client.ts';
import { UAPI_GET_REQUEST } from '../src/wireguard/uapi-protocol.ts';
import type { ObservedDevice } from '../src/wireguard/types.ts';
import { parseWgDump } from '../src/wireguard/wg-dump.ts';
import { countPeers } from './uapi-text.ts';

const REQUEST_TIMEOUT_MS = 30_000;
/** The probe polls every few ms: its reads reuse their buffers, as the daemon's do. */
const buffers = new ResponseBuffers();

export function deviceSocket(host: LabHost, device: string): string {
  return path.join(host.wireguardSocketDirectory, `${device}.sock`);
}

/** The device as `wg show` sees it (UAPI get text), or null while it does not exist yet. */
export async function readDeviceText(socketPath: string): Promise<string | null> {
  try {
    const reader = buffers.lend();
    await uapiExchange(socketPath, UAPI_GET_REQUEST, REQUEST_TIMEOUT_MS, reader);
    const text = reader.bytes().toString('utf8');
    reader.giveBack();
    return text;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') return null;
    throw new Error(`reading device via ${socketPath} failed`, { cause: error });
  }
}

/** `wg show <device> dump` inside the host, parsed. */
export async function wgShowDump(host: LabHost, device: string): Promise<ObservedDevice> {
  const { stdout } = await host.run('wg', ['show', device, 'dump'], { timeoutMs: REQUEST_TIMEOUT_MS });
  return parseWgDump(device, stdout);
}

/** One poll: when it started and ended (performance.now()) and whether it saw what was awaited. */
export interface PollOutcome {
  /** Start of the poll that first saw it: the change was visible no later than `hitEnd`. */
  hitStart: number;
  hitEnd: number;
  /** Start of the last poll that did not see it (null if the first one did): the change became visible after this. */
  lastMissStart: number | null;
  polls: number;
  /** Duration of each poll, ms: the resolution of the measurement. */
  pollMs: number[];
}

/**
 * Reads the device back to back until `seen(text)`. A poll's snapshot is
 * taken somewhere inside it, so the change became visible between
 * `lastMissStart` and `hitEnd`.
 */
export async function pollDevice(socketPath: string, seen: (getText: string) => boolean, timeoutMs: number, pauseMs = 0): Promise<PollOutcome> {
  const deadline = performance.now() + timeoutMs;
  let lastMissStart: number | null = null;
  const pollMs: number[] = [];
  for (;;) {
    const start = performance.now();
    const text = await readDeviceText(socketPath);
    const end = performance.now();
    pollMs.push(end - start);
    if (text !== null && seen(text)) return { hitStart: start, hitEnd: end, lastMissStart, polls: pollMs.length, pollMs };
    lastMissStart = start;
    if (end > deadline) throw new Error(`device via ${socketPath} did not show the awaited state within ${timeoutMs} ms (${pollMs.length} polls)`);
    if (pauseMs > 0) await delay(pauseMs);
  }
}

export const peerCountReached =
  (count: number) =>
  (getText: string): boolean =>
    countPeers(getText) >= count;
