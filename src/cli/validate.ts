import { readFileSync } from 'node:fs';
import { formatIssue, ClustersConfigError } from '../config/issue.ts';
import { loadClustersConfig } from '../config/load.ts';
import { configWarnings } from '../config/warnings.ts';
import { checkReferencedFiles, type ReadText } from '../kube/kubeconfig-check.ts';
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
  description: [
    'Checks the clusters config and prints, per remote cluster, what clusterwire would set up.',
    'Reads every kubeconfig it names: settings clusterwire refuses (exec plugins, auth providers, basic auth,',
    'impersonation, insecure-skip-tls-verify, proxy-url) are problems; files that cannot be read here are warnings.',
    'Token files are also checked against -wg-key-path (a kubeconfig that is not on this machine is skipped).',
    'Exits 0 when it is valid, 1 listing every problem by JSON path. Warnings go to stderr.',
  ].join('\n'),
  flags: [clustersConfigFlag, wgKeyPathFlag],
  options: (read) => ({ clustersConfigPath: read(clustersConfigFlag), wgKeyPath: read(wgKeyPathFlag) }),
  async execute(options, io) {
    const config = await loadClustersConfig(options.clustersConfigPath);
    const files = checkReferencedFiles(config, readText);
    const issues = [...files.errors, ...(await tokenFileIssues(config, options.wgKeyPath))];
    if (issues.length > 0) throw new ClustersConfigError(options.clustersConfigPath, issues);
    for (const warning of configWarnings(config)) io.stderr.write(`clusterwire: warning: ${formatIssue(warning)}\n`);
    io.stdout.write(`clusters config ${options.clustersConfigPath} is valid\n${describeClustersConfig(config)}`);
    for (const warning of files.warnings) io.stderr.write(`clusterwire: warning: ${warning}\n`);
    return ExitCode.ok;
  },
};

const readText: ReadText = (path) => {
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (error) {
    return { error: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  }
};
