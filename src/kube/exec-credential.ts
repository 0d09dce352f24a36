/**
 * kubectl's exec credential plugins (client.authentication.k8s.io), for the
 * commands an operator runs with their own kubeconfig (`connect`): most
 * managed clusters' kubeconfigs use one (aws eks get-token,
 * gke-gcloud-auth-plugin, kubelogin). The plugin runs once; its token or
 * client certificate serves the whole command, which is short. The daemon
 * never runs plugins (docs/configuration.md): its credentials are files.
 */
import { execFile } from 'node:child_process';
import { isObject } from './json-value.ts';
import type { KubeconfigUser } from './kubeconfig.ts';

const PLUGIN_TIMEOUT_MS = 60_000;

export interface ExecPlugin {
  apiVersion: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  installHint: string | null;
}

/** The kubeconfig's `exec` stanza, checked. */
export function execPluginOf(exec: unknown, user: string): ExecPlugin {
  if (!isObject(exec) || typeof exec.command !== 'string' || exec.command === '') throw new Error(`user ${user}: exec has no command`);
  const apiVersion = typeof exec.apiVersion === 'string' ? exec.apiVersion : '';
  if (!apiVersion.startsWith('client.authentication.k8s.io/')) throw new Error(`user ${user}: exec apiVersion ${JSON.stringify(apiVersion)} is not client.authentication.k8s.io/*`);
  const args = Array.isArray(exec.args) ? exec.args.map(String) : [];
  const env: Record<string, string> = {};
  for (const entry of Array.isArray(exec.env) ? (exec.env as unknown[]) : []) {
    if (isObject(entry) && typeof entry.name === 'string' && typeof entry.value === 'string') env[entry.name] = entry.value;
  }
  return { apiVersion, command: exec.command, args, env, installHint: typeof exec.installHint === 'string' ? exec.installHint : null };
}

/** What the plugin printed: a token or a client certificate (PEM). */
export type ExecCredential = { token: string } | { certPem: string; keyPem: string };

/** The ExecCredential a plugin printed on stdout. */
export function parseExecCredential(stdout: string, plugin: ExecPlugin): ExecCredential {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (cause) {
    throw new Error(`exec plugin ${plugin.command} printed no JSON ExecCredential`, { cause });
  }
  const status = isObject(parsed) && parsed.kind === 'ExecCredential' && isObject(parsed.status) ? parsed.status : null;
  if (status === null) throw new Error(`exec plugin ${plugin.command} printed no ExecCredential status`);
  if (typeof status.token === 'string' && status.token !== '') return { token: status.token };
  if (typeof status.clientCertificateData === 'string' && typeof status.clientKeyData === 'string') return { certPem: status.clientCertificateData, keyPem: status.clientKeyData };
  throw new Error(`exec plugin ${plugin.command} returned neither a token nor a client certificate`);
}

/** Runs the user's plugin, non-interactively, and returns the user with its credential in place of `exec`. */
export async function resolveExecCredential(user: KubeconfigUser): Promise<KubeconfigUser> {
  const plugin = execPluginOf(user.exec, user.name);
  const stdout = await runPlugin(plugin);
  const credential = parseExecCredential(stdout, plugin);
  const base = { ...user, exec: null };
  if ('token' in credential) return { ...base, token: credential.token };
  return { ...base, certData: Buffer.from(credential.certPem).toString('base64'), keyData: Buffer.from(credential.keyPem).toString('base64') };
}

function runPlugin(plugin: ExecPlugin): Promise<string> {
  const info = { apiVersion: plugin.apiVersion, kind: 'ExecCredential', spec: { interactive: false } };
  return new Promise((resolve, reject) => {
    execFile(
      plugin.command,
      plugin.args,
      { env: { ...process.env, ...plugin.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) }, timeout: PLUGIN_TIMEOUT_MS, maxBuffer: 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) {
          resolve(stdout);
          return;
        }
        const hint = (error as NodeJS.ErrnoException).code === 'ENOENT' && plugin.installHint ? `: ${plugin.installHint.trim()}` : '';
        reject(new Error(`exec plugin ${plugin.command} failed${hint}${stderr ? `: ${stderr.trim()}` : ''}`, { cause: error }));
      },
    );
  });
}
