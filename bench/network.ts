/**
 * The bench's network: a bridge in the machine's namespace carrying one
 * lab /24 of 198.18.0.0/15. The emulators (in the bench process) listen on
 * the bridge's address; every emulated host gets a veth plugged into the
 * bridge, so the daemon inside reaches the apiservers and the bench reaches
 * the daemon's /metrics. Hosts get no default route: nothing they send
 * leaves the lab subnet. Peer endpoints (198.19.0.0/16) are routed into an
 * endpoint sink inside each host (see addEndpointSink).
 */
import { execCommand } from '../src/process/exec.ts';
import type { LabHost } from '../lab/netns.ts';

export interface BenchBridge {
  readonly name: string;
  /** The bridge's own address (no prefix length): where the emulators listen. */
  readonly address: string;
  /** Plugs a host in; returns the host's address on the lab subnet. */
  attach(host: LabHost): Promise<string>;
  destroy(): Promise<void>;
}

/** The third octets of 198.18.<k>.0/24 that the machine's namespace already has an address in. */
export function usedLabOctets(ipAddrJson: string): Set<number> {
  const links = JSON.parse(ipAddrJson) as Array<{ addr_info?: Array<{ family?: string; local?: string }> }>;
  const used = new Set<number>();
  for (const link of links) {
    for (const info of link.addr_info ?? []) {
      const match = info.family === 'inet' ? /^198\.18\.(\d+)\./.exec(info.local ?? '') : null;
      if (match) used.add(Number(match[1]));
    }
  }
  return used;
}

/**
 * A free 198.18.<k>.0/24 for this bench, starting at a place that depends
 * on the pid so concurrent benches (other engineers) rarely try the same one.
 */
export function pickLabOctet(used: ReadonlySet<number>, pid: number): number {
  const first = 64;
  const span = 190;
  // 254 is the endpoint sink's inside every host.
  for (let i = 0; i < span; i++) {
    const octet = first + ((pid + i) % span);
    if (!used.has(octet)) return octet;
  }
  throw new Error('no free 198.18.<k>.0/24 left for the bench bridge');
}

export async function createBenchBridge(prefix: string): Promise<BenchBridge> {
  const name = `${prefix}br`;
  if (Buffer.byteLength(name) > 15) throw new Error(`bridge name ${name} is longer than 15 bytes`);
  const octet = pickLabOctet(usedLabOctets((await execCommand('ip', ['-j', '-4', 'address', 'show'])).stdout), process.pid);
  const address = `198.18.${octet}.1`;
  let attached = 0;
  const destroy = async () => {
    const { stdout } = await execCommand('ip', ['-j', 'link', 'show']);
    const names = (JSON.parse(stdout) as Array<{ ifname: string }>).map((l) => l.ifname);
    // The host sides of the veths go with their namespaces; root sides left behind by a crash go here.
    for (const link of names.filter((n) => n === name || n.startsWith(`${prefix}v`))) {
      await execCommand('ip', ['link', 'delete', link]);
    }
  };
  try {
    await execCommand('ip', ['link', 'add', 'name', name, 'type', 'bridge']);
    await execCommand('ip', ['address', 'add', `${address}/24`, 'dev', name]);
    await execCommand('ip', ['link', 'set', 'dev', name, 'up']);
  } catch (error) {
    await destroy().catch((cleanupError: unknown) => console.error(`bench: removing half-made bridge ${name} failed`, cleanupError));
    throw new Error(`creating the bench bridge ${name} on ${address}/24 failed`, { cause: error });
  }
  return {
    name,
    address,
    async attach(host) {
      attached += 1;
      const rootSide = `${prefix}v${attached}`;
      // Host addresses .2-.250, reused: hosts are destroyed before many more are made.
      const hostAddress = `198.18.${octet}.${2 + ((attached - 1) % 249)}`;
      try {
        await execCommand('ip', ['link', 'add', rootSide, 'type', 'veth', 'peer', 'name', 'lab0', 'netns', host.name]);
        await execCommand('ip', ['link', 'set', 'dev', rootSide, 'master', name, 'up']);
        await host.run('ip', ['address', 'add', `${hostAddress}/24`, 'dev', 'lab0']);
        await host.run('ip', ['link', 'set', 'dev', 'lab0', 'up']);
      } catch (error) {
        throw new Error(`plugging host ${host.name} into bridge ${name} failed`, { cause: error });
      }
      return hostAddress;
    },
    destroy,
  };
}

/** The peer endpoints of the bench's remote nodes. */
export const ENDPOINT_SINK_ROUTE = '198.19.0.0/16';

/**
 * Routes the peer endpoints into a veth pair inside the host whose far end
 * drops everything, through a gateway with a permanent neighbour entry (no
 * ARP). WireGuard's handshakes are then sent as in production, where peers
 * are reachable. Without a route, every send fails and wireguard-go logs
 * one error line per peer per attempt, which the daemon re-logs: thousands
 * of lines that would be measured as the daemon's churn cost.
 */
export async function addEndpointSink(host: LabHost): Promise<void> {
  const commands: string[][] = [
    ['link', 'add', 'sink0', 'type', 'veth', 'peer', 'name', 'sink1'],
    ['address', 'add', '198.18.254.1/30', 'dev', 'sink0'],
    ['link', 'set', 'dev', 'sink0', 'up'],
    ['link', 'set', 'dev', 'sink1', 'up'],
    ['neighbour', 'add', '198.18.254.2', 'lladdr', '02:00:00:00:00:02', 'dev', 'sink0', 'nud', 'permanent'],
    ['route', 'add', ENDPOINT_SINK_ROUTE, 'via', '198.18.254.2', 'dev', 'sink0'],
  ];
  try {
    for (const args of commands) await host.run('ip', args);
  } catch (error) {
    throw new Error(`adding the endpoint sink to host ${host.name} failed`, { cause: error });
  }
}
