/**
 * Propagation latency: annotation changes on random remote nodes, one at a
 * time, while the cluster churns at N/10 heartbeats per second. Even
 * changes move a node's endpoint (the peer is updated), odd ones rotate its
 * public key (the old peer goes, a new one comes).
 *
 * For each change the bench notes the time, writes the node in the
 * emulator and reads the device back to back (UAPI get, what `wg show`
 * reads) until the change shows: `visibleMs` is the end of the first read
 * that shows it (an upper bound; the resolution is one read of the whole
 * device, `pollMs`). `appliedMs` comes from the daemon's "applied peer
 * changes" log line, written when wireguard-go acknowledged the set (1 ms
 * resolution, Date.now() on both sides). `publishedMs` (through a
 * publisher only) is the end of the first PeerSlice write the remote
 * apiserver served after the Node write: what splits the time between the
 * mirror and the daemon. `mirroredMs` (through a local mirror only, source
 * `mirror`) is the same for the mirrored slice the local apiserver served.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Emulator } from '../../lab/emulator/emulator.ts';
import { generatePrivateKey, keyToHex, publicKeyOf } from '../../src/wireguard/keys.ts';
import { DEVICE, ENDPOINT_ANNOTATION, PUBLIC_KEY_ANNOTATION, type RemoteCluster, type RemoteNodeSpec } from '../clusters.ts';
import type { BenchContext, BenchHost } from '../context.ts';
import type { DaemonProcess } from '../daemon-process.ts';
import { deviceSocket, pollDevice } from '../device-probe.ts';
import { seededRandom } from '../random.ts';
import { hasPeer, peerEndpoint } from '../uapi-text.ts';
import { APPLY_MESSAGES } from './churn.ts';

/**
 * A change not visible by then fails the run. L daemons at 5,000 nodes on 2
 * cores saturate the machine (a read of the device then takes seconds): the
 * figure is then large, which is the finding, rather than a failed run.
 */
const CHANGE_TIMEOUT_MS = 120_000;
const MIN_GAP_MS = 20;
const MAX_GAP_MS = 120;

export type ChangeKind = 'endpoint' | 'key';

export interface Change {
  kind: ChangeKind;
  node: string;
  visibleMs: number;
  /** The change was not yet visible this long after the write (start of the last read that missed it). */
  notVisibleMs: number;
  appliedMs: number;
  /** Node write → end of the publisher's slice write (emulator request log); null when no slice was written (source `nodes`). */
  publishedMs: number | null;
  /** Node write → end of the local mirror's write of its mirrored slice (local apiserver's request log); null without one. */
  mirroredMs: number | null;
  polls: number;
}

export interface Propagation {
  changes: Change[];
  /** Duration of every device read: the resolution of `visibleMs`. */
  pollMs: number[];
}

/** What to write and how to recognise it on the device. */
interface PlannedChange {
  kind: ChangeKind;
  annotations: Record<string, string>;
  updated: RemoteNodeSpec;
  seen: (getText: string) => boolean;
}

export function planChange(node: RemoteNodeSpec, index: number, newPrivateKey: () => string): PlannedChange {
  if (index % 2 === 0) {
    const [ip, portText] = node.endpoint.split(':') as [string, string];
    // A port no endpoint of this node had just before, so the change is never a no-op.
    const port = 20000 + ((Number(portText) - 20000 + 1 + index) % 40000);
    const endpoint = `${ip}:${port}`;
    const keyHex = keyToHex(node.publicKey);
    return {
      kind: 'endpoint',
      annotations: { [ENDPOINT_ANNOTATION]: endpoint },
      updated: { ...node, endpoint },
      seen: (text) => peerEndpoint(text, keyHex) === endpoint,
    };
  }
  const publicKey = publicKeyOf(newPrivateKey());
  const oldHex = keyToHex(node.publicKey);
  const newHex = keyToHex(publicKey);
  return {
    kind: 'key',
    annotations: { [PUBLIC_KEY_ANNOTATION]: publicKey },
    updated: { ...node, publicKey },
    seen: (text) => hasPeer(text, newHex) && !hasPeer(text, oldHex),
  };
}

export async function measurePropagation(
  context: BenchContext,
  benchHost: BenchHost,
  daemon: DaemonProcess,
  remote: RemoteCluster,
  run: number,
  /** The local apiserver, where a local mirror writes the slices the daemon reads (source `mirror`). */
  mirrorApiserver?: Emulator,
): Promise<Propagation> {
  const random = seededRandom(run * 7919 + remote.nodes.length);
  const socket = deviceSocket(benchHost.host, DEVICE);
  const changes: Change[] = [];
  const pollMs: number[] = [];
  remote.emulator.startHeartbeats(remote.nodes.length / 10);
  try {
    for (let k = 0; k < context.options.changes; k++) {
      await delay(MIN_GAP_MS + random() * (MAX_GAP_MS - MIN_GAP_MS));
      const index = Math.floor(random() * remote.nodes.length);
      const node = remote.nodes[index] as RemoteNodeSpec;
      const planned = planChange(node, k, generatePrivateKey);
      const logsBefore = daemon.logs.length;

      const mark = remote.emulator.requestLog().at(-1)?.seq ?? 0;
      const localMark = mirrorApiserver?.requestLog().at(-1)?.seq ?? 0;
      const writtenAt = Date.now();
      const written = performance.now();
      remote.emulator.patchNode(node.name, { metadata: { annotations: planned.annotations } });
      remote.nodes[index] = planned.updated;
      const outcome = await pollDevice(socket, planned.seen, CHANGE_TIMEOUT_MS);
      const applied = await daemon.waitForLog((line) => APPLY_MESSAGES.has(line.msg), CHANGE_TIMEOUT_MS, logsBefore);

      pollMs.push(...outcome.pollMs);
      changes.push({
        kind: planned.kind,
        node: node.name,
        visibleMs: outcome.hitEnd - written,
        notVisibleMs: Math.max(0, (outcome.lastMissStart ?? written) - written),
        appliedMs: applied.time - writtenAt,
        publishedMs: sliceWrittenAt(remote.emulator, mark, writtenAt),
        mirroredMs: mirrorApiserver ? sliceWrittenAt(mirrorApiserver, localMark, writtenAt) : null,
        polls: outcome.polls,
      });
    }
  } finally {
    remote.emulator.stopHeartbeats();
  }
  return { changes, pollMs };
}

const SLICE_WRITES = new Set(['create', 'update', 'patch']);

/** When the first PeerSlice write served after request `mark` ended, in ms after `writtenAt`; null if none. */
function sliceWrittenAt(apiserver: Emulator, mark: number, writtenAt: number): number | null {
  const write = apiserver.requestLog(mark).find((r) => r.resource === 'peerslices' && SLICE_WRITES.has(r.verb) && r.endedAt !== null);
  return write?.endedAt == null ? null : write.endedAt - writtenAt;
}
