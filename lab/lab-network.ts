/**
 * The lab's wiring in the machine's own network namespace: one bridge per
 * lab carrying the lab's /24, and one veth per lab host plugged into it.
 */
import { execCommand } from '../src/process/exec.ts';
import { parseIpv4, parseIpv4Cidr } from './emulator/ipv4.ts';
import { HOST_INTERFACE, type NodePlan, type SlotNames } from './lab-layout.ts';
import type { LabHost } from './netns.ts';

export async function createBridge(names: SlotNames): Promise<void> {
  const prefixLength = names.subnet.split('/')[1] ?? '24';
  await execCommand('ip', ['link', 'add', names.bridge, 'type', 'bridge']);
  await execCommand('ip', ['address', 'add', `${names.gateway}/${prefixLength}`, 'dev', names.bridge]);
  await execCommand('ip', ['link', 'set', 'dev', names.bridge, 'up']);
}

/**
 * Deletes the slot's bridge and the machine-side ends of its hosts' veths.
 * A deleted lab host's namespace lingers while TCP sockets of its killed
 * processes wait for their FIN to be answered; deleting the veth here
 * frees its name at once (its other end goes with it).
 */
export async function deleteSlotLinks(names: SlotNames): Promise<void> {
  const port = new RegExp(`^${names.bridge}v\\d+$`);
  for (const name of await linkNames()) {
    if (name !== names.bridge && !port.test(name)) continue;
    try {
      await execCommand('ip', ['link', 'delete', 'dev', name]);
    } catch (error) {
      // Deleting one end of a veth deletes both: the other may already be gone.
      if (!(await linkNames()).includes(name)) continue;
      throw new Error(`deleting lab link ${name} failed`, { cause: error });
    }
  }
}

/** Names of the machine's links: to find a stale lab bridge. */
export async function linkNames(): Promise<string[]> {
  const { stdout } = await execCommand('ip', ['-j', 'link', 'show']);
  return (JSON.parse(stdout) as Array<{ ifname: string }>).map((link) => link.ifname);
}

/**
 * Plugs a host into the bridge: a veth whose inner end is the host's eth0
 * with the node's address, and puts the node's pod address on its lo. A
 * dual-stack node gets its IPv6 address and pod address too, without
 * duplicate address detection: the plan gives every address once, and
 * DAD would leave the address unusable ("tentative") for its first second
 * or two.
 */
export async function plugHost(names: SlotNames, host: LabHost, node: NodePlan): Promise<void> {
  const prefixLength = names.subnet.split('/')[1] ?? '24';
  await execCommand('ip', ['link', 'add', node.bridgePort, 'type', 'veth', 'peer', 'name', HOST_INTERFACE, 'netns', host.name]);
  await execCommand('ip', ['link', 'set', 'dev', node.bridgePort, 'master', names.bridge]);
  await execCommand('ip', ['link', 'set', 'dev', node.bridgePort, 'up']);
  await host.run('ip', ['address', 'add', `${node.address}/${prefixLength}`, 'dev', HOST_INTERFACE]);
  await host.run('ip', ['link', 'set', 'dev', HOST_INTERFACE, 'up']);
  await host.run('ip', ['address', 'add', `${node.podIP}/32`, 'dev', 'lo']);
  if (node.address6 !== null) {
    const prefixLength6 = names.subnet6.split('/')[1] ?? '64';
    await host.run('ip', ['-6', 'address', 'add', `${node.address6}/${prefixLength6}`, 'dev', HOST_INTERFACE, 'nodad']);
  }
  if (node.podIP6 !== null) await host.run('ip', ['-6', 'address', 'add', `${node.podIP6}/128`, 'dev', 'lo', 'nodad']);
  // A killed process's TCP sockets keep its namespace alive until their FIN
  // is answered or given up (a minute and more by default): keep that short.
  // Written from inside (/proc/sys/net is the writer's namespace's) with tee,
  // which every Debian has, unlike sysctl (procps).
  for (const setting of ['tcp_fin_timeout', 'tcp_orphan_retries']) {
    await host.run('tee', [`/proc/sys/net/ipv4/${setting}`], { input: '1\n' });
  }
}

/**
 * True when the machine's namespace already routes part of `subnet`
 * (someone else's network): a lab must not shadow it.
 */
export async function subnetRouted(subnet: string): Promise<boolean> {
  const { stdout } = await execCommand('ip', ['-j', '-4', 'route', 'show', 'table', 'all']);
  const wanted = parseIpv4Cidr(subnet);
  const wantedLast = wanted.base + 2 ** (32 - wanted.prefixLength) - 1;
  return (JSON.parse(stdout) as Array<{ dst: string }>).some((route) => {
    if (!/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(route.dst)) return false;
    const block = route.dst.includes('/') ? parseIpv4Cidr(route.dst) : { base: parseIpv4(route.dst), prefixLength: 32 };
    // A default route (0.0.0.0/0) is not a claim on the subnet.
    if (block.prefixLength === 0) return false;
    const last = block.base + 2 ** (32 - block.prefixLength) - 1;
    return block.base <= wantedLast && wanted.base <= last;
  });
}
