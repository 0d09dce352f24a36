/**
 * What `validate` can tell about the files a clusters config names before
 * the daemon runs: each kubeconfig is read as the daemon reads it, and
 * every setting clusterwire refuses (exec plugins, auth providers, basic
 * auth, impersonation, insecure-skip-tls-verify, proxy-url, plain http) is
 * an error at its JSON path. A file that cannot be read here is a warning,
 * not an error: token and kubeconfig files are usually mounted only in the
 * pod (/etc/clusterwire/tokens), and validate also runs on workstations.
 */
import { parse as parseYaml } from 'yaml';
import { issueAt, type ConfigIssue, type JsonPath } from '../config/issue.ts';
import type { ClustersConfig } from '../config/types.ts';
import { kubeconfigProblems, mergeKubeconfigs, selectContext } from './kubeconfig.ts';

/** Reads a file, or says why it cannot (an errno code such as ENOENT). */
export type ReadText = (path: string) => { text: string } | { error: string };

export interface FileFindings {
  errors: ConfigIssue[];
  warnings: string[];
}

export function checkReferencedFiles(config: ClustersConfig, read: ReadText): FileFindings {
  const findings: FileFindings = { errors: [], warnings: [] };
  if (config.local.kubeConfigPath !== null) checkKubeconfig(['local', 'kubeConfigPath'], config.local.kubeConfigPath, read, findings);
  config.remotes.forEach((remote, i) => {
    // With source mirror the daemon never reads the remote: its files need not be on the node (docs/fleet-mode.md).
    const access = remote.source.kind === 'mirror' ? null : remote.access;
    if (access?.kind === 'kubeconfig') checkKubeconfig(['remotes', i, 'kubeConfigPath'], access.path, read, findings);
    else if (access?.kind === 'token') checkReadable(['remotes', i, 'remoteSATokenPath'], access.tokenPath, `token file ${access.tokenPath}`, read, findings);
  });
  return findings;
}

function checkKubeconfig(at: JsonPath, path: string, read: ReadText, findings: FileFindings): void {
  const file = read(path);
  if ('error' in file) {
    findings.warnings.push(unreadable(at, `kubeconfig ${path}`, file.error));
    return;
  }
  const refuse = (message: string) => findings.errors.push(issueAt(at, `kubeconfig ${path}: ${message}`));
  let selected;
  try {
    selected = selectContext(mergeKubeconfigs([{ path, doc: parseYaml(file.text) as unknown }]), null);
  } catch (error) {
    refuse((error as Error).message);
    return;
  }
  for (const problem of kubeconfigProblems(selected.cluster, selected.user)) refuse(problem);
  const files: [string, string | null | undefined][] = [
    ['certificate-authority', selected.cluster.caFile],
    ['client-certificate', selected.user.certFile],
    ['client-key', selected.user.keyFile],
    ['tokenFile', selected.tokenFile],
  ];
  for (const [what, referenced] of files) if (referenced) checkReadable(at, referenced, `${what} ${referenced} of kubeconfig ${path}`, read, findings);
}

function checkReadable(at: JsonPath, path: string, description: string, read: ReadText, findings: FileFindings): void {
  const file = read(path);
  if ('error' in file) findings.warnings.push(unreadable(at, description, file.error));
}

function unreadable(at: JsonPath, what: string, error: string): string {
  const where = issueAt(at, '').path;
  return `${where}: ${what} cannot be read here (${error}), so it is not checked: the daemon reads it at start; run validate where the daemon runs to check it`;
}
