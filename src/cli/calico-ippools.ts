import { loadClustersConfig } from '../config/load.ts';
import type { ClustersConfig, RemoteCluster } from '../config/types.ts';
import type { CommandSpec } from './command-spec.ts';
import { clustersConfigFlag } from './daemon-flags.ts';
import { ExitCode } from './io.ts';
import type { ClustersConfigOptions } from './validate.ts';

interface IPPool {
  name: string;
  cidr: string;
  ipv6: boolean;
}

/**
 * Calico drops traffic from addresses it does not know; a disabled pool
 * per remote pod subnet makes it accept them without ever handing them to
 * local pods. Per address family the first pool is `<remote>-pods` (IPv4,
 * the name semaphore-wireguard's README uses) or `<remote>-pods-ipv6`, and
 * further ones get `-2`, `-3`: adding a subnet never renames a pool.
 */
function calicoIPPools(config: ClustersConfig): IPPool[] {
  return config.remotes.flatMap(poolsOf);
}

function poolsOf(remote: RemoteCluster): IPPool[] {
  const seen = { v4: 0, v6: 0 };
  return remote.podSubnets.map((cidr) => {
    const ipv6 = cidr.includes(':');
    const count = ipv6 ? ++seen.v6 : ++seen.v4;
    const base = `${remote.name}-pods${ipv6 ? '-ipv6' : ''}`;
    return { name: count === 1 ? base : `${base}-${count}`, cidr, ipv6 };
  });
}

/** Written by hand to avoid a YAML dependency at run time; every value is a name or a CIDR. */
export function calicoIPPoolsYaml(config: ClustersConfig, source: string): string {
  const header = [
    `# Disabled Calico IPPools for the remote pod subnets of ${source}.`,
    '# Apply them in this cluster so Calico accepts traffic to and from remote pods;',
    '# disabled: true keeps Calico from giving these addresses to local pods.',
  ];
  const documents = calicoIPPools(config).map((pool) =>
    [
      '---',
      'apiVersion: projectcalico.org/v3',
      'kind: IPPool',
      'metadata:',
      `  name: ${pool.name}`,
      'spec:',
      `  cidr: ${JSON.stringify(pool.cidr)}`,
      // IP-in-IP exists for IPv4 only.
      ...(pool.ipv6 ? [] : ['  ipipMode: CrossSubnet']),
      '  natOutgoing: false',
      '  disabled: true',
    ].join('\n'),
  );
  return `${[...header, ...documents].join('\n')}\n`;
}

export const calicoIPPoolsCommand: CommandSpec<ClustersConfigOptions> = {
  summary: 'print the disabled Calico IPPools the remote pod subnets need',
  description: 'Prints YAML for one disabled Calico IPPool per remote pod subnet, to apply with kubectl.',
  flags: [clustersConfigFlag],
  options: (read) => ({ clustersConfigPath: read(clustersConfigFlag) }),
  async execute(options, io) {
    const config = await loadClustersConfig(options.clustersConfigPath);
    io.stdout.write(calicoIPPoolsYaml(config, options.clustersConfigPath));
    return ExitCode.ok;
  },
};
