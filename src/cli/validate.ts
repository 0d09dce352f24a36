import { readFileSync } from 'node:fs';
import { ClustersConfigError } from '../config/issue.ts';
import { loadClustersConfig } from '../config/load.ts';
import { checkReferencedFiles, type ReadText } from '../kube/kubeconfig-check.ts';
import type { CommandSpec } from './command-spec.ts';
import { describeClustersConfig } from './config-summary.ts';
import { clustersConfigFlag } from './daemon-flags.ts';
import { ExitCode } from './io.ts';

export interface ClustersConfigOptions {
  clustersConfigPath: string;
}

export const validateCommand: CommandSpec<ClustersConfigOptions> = {
  summary: 'check a clusters config and show what would run',
  description: [
    'Checks the clusters config and prints, per remote cluster, what clusterwire would set up.',
    'Reads every kubeconfig it names: settings clusterwire refuses (exec plugins, auth providers, basic auth,',
    'impersonation, insecure-skip-tls-verify, proxy-url) are problems; files that cannot be read here are warnings.',
    'Exits 0 when it is valid, 1 listing every problem by JSON path.',
  ].join('\n'),
  flags: [clustersConfigFlag],
  options: (read) => ({ clustersConfigPath: read(clustersConfigFlag) }),
  async execute(options, io) {
    const config = await loadClustersConfig(options.clustersConfigPath);
    const files = checkReferencedFiles(config, readText);
    if (files.errors.length > 0) throw new ClustersConfigError(options.clustersConfigPath, files.errors);
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
