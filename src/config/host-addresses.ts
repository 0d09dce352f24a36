import type { HostAddress } from '../ip/addresses.ts';
import { cidrContains, parseCidr } from '../net/cidr.ts';
import { issueAt, type ConfigIssue } from './issue.ts';
import type { ClustersConfig } from './types.ts';

/**
 * Remote pod subnets that hold one of this node's own addresses: the route
 * `<subnet> dev <device>` would replace the node's connected route and cut
 * it off that network. Usually the local node or pod network was written
 * where the remote's pod subnet belongs. Checked by the daemon at start,
 * since only the node knows its addresses.
 */
export function podSubnetsHoldingHostAddresses(config: ClustersConfig, addresses: readonly HostAddress[]): ConfigIssue[] {
  const hosts = addresses.flatMap((host) => {
    const parsed = parseCidr(`${host.address}/${host.address.includes(':') ? 128 : 32}`);
    // ip prints only valid addresses; anything else cannot lie in a subnet.
    return parsed.ok ? [{ ...host, cidr: parsed.cidr }] : [];
  });
  return config.remotes.flatMap((remote, index) =>
    remote.podSubnets.flatMap((subnet) => {
      const parsed = parseCidr(subnet);
      if (!parsed.ok) return [];
      return hosts
        .filter((host) => cidrContains(parsed.cidr, host.cidr))
        .map((host) =>
          issueAt(
            ['remotes', index],
            `pod subnet ${subnet} contains ${host.address}, this node's address on ${host.device}: routing the subnet into the tunnel would cut the node off that network (is it this cluster's node or pod network rather than ${remote.name}'s pods?)`,
          ),
        );
    }),
  );
}
