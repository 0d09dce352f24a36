import type { DeviceChange, PeerChange } from './types.ts';

/** One run of `wg`: its arguments, and what to write first to the input file they name. */
export interface WgInvocation {
  args: string[];
  /**
   * The private key or a config text; never on the command line. `wg` reads
   * it with fopen(), which cannot open a socket, and Node gives children
   * sockets for stdin: so it goes to a private file, not /dev/stdin.
   */
  inputFileContent?: string;
}

/**
 * Bytes of arguments one `wg` run may take. Linux allows ~2 MiB for
 * arguments and environment together (less with a small stack limit); staying
 * far below keeps a 10,000-peer change from failing with E2BIG.
 */
export const ARGUMENT_BUDGET_BYTES = 100 * 1024;

/**
 * The `wg` runs that apply a change. Normally one `wg set`. When its
 * arguments would be too long: removals (and allowed-IP clears, which a
 * config file cannot express) go as `wg set` runs within the budget, and
 * every other peer plus the interface settings through one
 * `wg addconf <dev> <inputFile>` (whose `AllowedIPs` replaces a peer's list,
 * as `wg set ... allowed-ips` does).
 */
export function wgInvocations(device: string, change: DeviceChange, inputFile: string): WgInvocation[] {
  if (change.privateKey === undefined && change.listenPort === undefined && change.peers.length === 0) {
    return [];
  }
  const single = setInvocation(device, change.privateKey, change.listenPort, change.peers, inputFile);
  if (argumentBytes(single.args) <= ARGUMENT_BUDGET_BYTES) return [single];

  const viaArguments = change.peers.filter((peer) => peer.remove || peer.replaceAllowedIPs?.length === 0);
  const viaConfig = change.peers.filter((peer) => !(peer.remove || peer.replaceAllowedIPs?.length === 0));
  const invocations = chunkByBudget(viaArguments, device).map((peers) =>
    setInvocation(device, undefined, undefined, peers, inputFile),
  );
  if (change.privateKey !== undefined || change.listenPort !== undefined || viaConfig.length > 0) {
    invocations.push({
      args: ['addconf', device, inputFile],
      inputFileContent: wgConfigText(change.privateKey, change.listenPort, viaConfig),
    });
  }
  return invocations;
}

function setInvocation(
  device: string,
  privateKey: string | undefined,
  listenPort: number | undefined,
  peers: readonly PeerChange[],
  inputFile: string,
): WgInvocation {
  const args = ['set', device];
  if (privateKey !== undefined) args.push('private-key', inputFile);
  if (listenPort !== undefined) args.push('listen-port', String(listenPort));
  for (const peer of peers) args.push(...peerArguments(peer));
  return privateKey === undefined ? { args } : { args, inputFileContent: `${privateKey}\n` };
}

/** `peer <key> ...` arguments of `wg set` for one change. */
export function peerArguments(peer: PeerChange): string[] {
  if (peer.remove) return ['peer', peer.publicKey, 'remove'];
  const args = ['peer', peer.publicKey];
  if (peer.endpoint !== undefined) args.push('endpoint', peer.endpoint);
  if (peer.persistentKeepaliveSeconds !== undefined) {
    args.push('persistent-keepalive', keepaliveText(peer.persistentKeepaliveSeconds));
  }
  if (peer.replaceAllowedIPs !== undefined) args.push('allowed-ips', peer.replaceAllowedIPs.join(','));
  return args;
}

/** A `wg addconf` text: only the settings present in the change. */
export function wgConfigText(
  privateKey: string | undefined,
  listenPort: number | undefined,
  peers: readonly PeerChange[],
): string {
  const lines: string[] = [];
  if (privateKey !== undefined || listenPort !== undefined) {
    lines.push('[Interface]');
    if (privateKey !== undefined) lines.push(`PrivateKey = ${privateKey}`);
    if (listenPort !== undefined) lines.push(`ListenPort = ${listenPort}`);
  }
  for (const peer of peers) {
    if (peer.remove || peer.replaceAllowedIPs?.length === 0) {
      throw new Error(`peer ${peer.publicKey}: a wg config file can neither remove a peer nor clear its allowed IPs`);
    }
    lines.push('[Peer]', `PublicKey = ${peer.publicKey}`);
    if (peer.endpoint !== undefined) lines.push(`Endpoint = ${peer.endpoint}`);
    if (peer.persistentKeepaliveSeconds !== undefined) {
      lines.push(`PersistentKeepalive = ${keepaliveText(peer.persistentKeepaliveSeconds)}`);
    }
    if (peer.replaceAllowedIPs !== undefined) lines.push(`AllowedIPs = ${peer.replaceAllowedIPs.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

function keepaliveText(seconds: number): string {
  return seconds === 0 ? 'off' : String(seconds);
}

/** What arguments cost in the kernel's budget: the strings, their NULs and a pointer each. */
export function argumentBytes(args: readonly string[]): number {
  let total = 0;
  for (const arg of args) total += Buffer.byteLength(arg) + 1 + 8;
  return total;
}

function chunkByBudget(peers: readonly PeerChange[], device: string): PeerChange[][] {
  const chunks: PeerChange[][] = [];
  let current: PeerChange[] = [];
  let bytes = argumentBytes(['set', device]);
  for (const peer of peers) {
    const cost = argumentBytes(peerArguments(peer));
    if (current.length > 0 && bytes + cost > ARGUMENT_BUDGET_BYTES) {
      chunks.push(current);
      current = [];
      bytes = argumentBytes(['set', device]);
    }
    current.push(peer);
    bytes += cost;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
