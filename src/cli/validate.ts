import { formatIssue, ClustersConfigError } from '../config/issue.ts';
import { loadClustersConfig } from '../config/load.ts';
import { configWarnings } from '../config/warnings.ts';
import type { CommandSpec } from './command-spec.ts';
import { describeClustersConfig } from './config-summary.ts';
import { clustersConfigFlag, wgKeyPathFlag } from './daemon-flags.ts';
import { ExitCode } from './io.ts';
import { tokenFileIssues } from './node-checks.ts';

export interface ClustersConfigOptions {
  clustersConfigPath: string;
}

export interface ValidateOptions extends ClustersConfigOptions {
  wgKeyPath: string;
}

export const validateCommand: CommandSpec<ValidateOptions> = {
  summary: 'check a clusters config and show what would run',
  description:
    'Checks the clusters config and prints, per remote cluster, what clusterwire would set up.\n' +
    'Exits 0 when it is valid, 1 listing every problem by JSON path. Warnings go to stderr.\n' +
    'Token files are also checked against -wg-key-path (a kubeconfig that is not on this machine is skipped).',
  flags: [clustersConfigFlag, wgKeyPathFlag],
  options: (read) => ({ clustersConfigPath: read(clustersConfigFlag), wgKeyPath: read(wgKeyPathFlag) }),
  async execute(options, io) {
    const config = await loadClustersConfig(options.clustersConfigPath);
    const issues = await tokenFileIssues(config, options.wgKeyPath);
    if (issues.length > 0) throw new ClustersConfigError(options.clustersConfigPath, issues);
    for (const warning of configWarnings(config)) io.stderr.write(`clusterwire: warning: ${formatIssue(warning)}\n`);
    io.stdout.write(`clusters config ${options.clustersConfigPath} is valid\n${describeClustersConfig(config)}`);
    return ExitCode.ok;
  },
};
