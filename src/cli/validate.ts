import { loadClustersConfig } from '../config/load.ts';
import type { CommandSpec } from './command-spec.ts';
import { describeClustersConfig } from './config-summary.ts';
import { clustersConfigFlag } from './daemon-flags.ts';
import { ExitCode } from './io.ts';

export interface ClustersConfigOptions {
  clustersConfigPath: string;
}

export const validateCommand: CommandSpec<ClustersConfigOptions> = {
  summary: 'check a clusters config and show what would run',
  description: 'Checks the clusters config and prints, per remote cluster, what clusterwire would set up.\nExits 0 when it is valid, 1 listing every problem by JSON path.',
  flags: [clustersConfigFlag],
  options: (read) => ({ clustersConfigPath: read(clustersConfigFlag) }),
  async execute(options, io) {
    const config = await loadClustersConfig(options.clustersConfigPath);
    io.stdout.write(`clusters config ${options.clustersConfigPath} is valid\n${describeClustersConfig(config)}`);
    return ExitCode.ok;
  },
};
