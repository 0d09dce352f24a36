import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isObject } from './json-value.ts';
import { requireHttps, type CASetting, type ConnectionSettings, type PemSource, type TokenSetting } from './connection-settings.ts';

/** A kubeconfig cluster entry, the fields clusterwire reads. */
export interface KubeconfigCluster {
  server: string;
  caData?: string | null;
  caFile?: string | null;
  tlsServerName?: string | null;
  skipTLSVerify?: boolean | null;
  proxyUrl?: string | null;
}
export interface KubeconfigUser {
  name: string;
  token?: string | null;
  certData?: string | null;
  certFile?: string | null;
  keyData?: string | null;
  keyFile?: string | null;
  exec?: unknown;
  authProvider?: unknown;
  username?: string | null;
  password?: string | null;
  /** kubectl's `as`; `as-groups`, `as-uid` and `as-user-extra` are the other impersonation fields. */
  impersonateUser?: string | null;
  impersonateOther?: readonly string[];
}

/** One kubeconfig file as read: relative paths in it are relative to its directory. */
export interface KubeconfigDocument {
  path: string;
  doc: unknown;
}

interface Entry {
  name: string;
  /** The entry's `cluster`, `user` or `context` object. */
  value: Record<string, unknown>;
  /** The file it came from. */
  path: string;
}

/** Several kubeconfig files merged as kubectl merges KUBECONFIG. */
export interface MergedKubeconfig {
  currentContext: string | null;
  clusters: ReadonlyMap<string, Entry>;
  users: ReadonlyMap<string, Entry>;
  contexts: ReadonlyMap<string, Entry>;
  /** The files merged, in order, for messages. */
  paths: readonly string[];
}

/** A context resolved to its cluster and user, paths made absolute. */
export interface SelectedContext {
  context: string;
  cluster: KubeconfigCluster;
  user: KubeconfigUser;
  tokenFile: string | null;
  /** For messages: `context c2 of kubeconfig /a:/b`. */
  origin: string;
}

/**
 * The files kubectl would read, from `--kubeconfig`/KUBECONFIG text: a list
 * separated by ':' (empty entries dropped, duplicates kept once, `~/`
 * expanded), or `~/.kube/config` when the text is empty.
 */
export function kubeconfigPaths(text: string, home: string = homedir()): string[] {
  const expand = (path: string) => (path === '~' || path.startsWith('~/') ? home + path.slice(1) : path);
  const listed = text.split(delimiter).filter((path) => path !== '').map(expand);
  const paths = listed.length > 0 ? listed : [`${home}/.kube/config`];
  return paths.filter((path, i) => paths.indexOf(path) === i);
}

/**
 * kubectl's merge rules (client-go's loading rules): the first file to
 * name a cluster, user or context wins and later files never change it; the
 * first file to set current-context wins.
 */
export function mergeKubeconfigs(documents: readonly KubeconfigDocument[]): MergedKubeconfig {
  const clusters = new Map<string, Entry>();
  const users = new Map<string, Entry>();
  const contexts = new Map<string, Entry>();
  let currentContext: string | null = null;
  for (const { path, doc } of documents) {
    if (doc === null || doc === undefined) continue; // an empty file
    if (!isObject(doc)) throw new Error(`kubeconfig ${path} is not a YAML mapping`);
    const current = doc['current-context'];
    if (currentContext === null && typeof current === 'string' && current !== '') currentContext = current;
    addEntries(clusters, doc.clusters, 'cluster', path);
    addEntries(users, doc.users, 'user', path);
    addEntries(contexts, doc.contexts, 'context', path);
  }
  return { currentContext, clusters, users, contexts, paths: documents.map((document) => document.path) };
}

function addEntries(into: Map<string, Entry>, list: unknown, field: string, path: string): void {
  if (list === null || list === undefined) return;
  if (!Array.isArray(list)) throw new Error(`kubeconfig ${path}: ${field}s is not a list`);
  list.forEach((item: unknown, i) => {
    if (!isObject(item) || typeof item.name !== 'string' || item.name === '') throw new Error(`kubeconfig ${path}: ${field}s[${i}] has no name`);
    const value = item[field] ?? {};
    if (!isObject(value)) throw new Error(`kubeconfig ${path}: ${field}s[${i}] (${item.name}) has no ${field} mapping`);
    if (!into.has(item.name)) into.set(item.name, { name: item.name, value, path });
  });
}

/** The named context (the current one when null), with its cluster and user. */
export function selectContext(merged: MergedKubeconfig, contextName: string | null): SelectedContext {
  const files = merged.paths.join(delimiter);
  const name = contextName ?? merged.currentContext;
  if (name === null) throw new Error(`kubeconfig ${files} has no current-context: name a context`);
  const context = merged.contexts.get(name);
  if (!context) {
    const known = [...merged.contexts.keys()].join(', ') || 'none';
    throw new Error(`kubeconfig ${files} has no context ${JSON.stringify(name)} (contexts: ${known})`);
  }
  const origin = `context ${name} of kubeconfig ${files}`;
  const clusterName = stringAt(context.value, 'cluster');
  const cluster = clusterName === null ? undefined : merged.clusters.get(clusterName);
  if (!cluster) throw new Error(`${origin}: its cluster ${JSON.stringify(clusterName ?? '')} is in none of the files`);
  const userName = stringAt(context.value, 'user');
  const user = userName === null ? null : merged.users.get(userName);
  if (user === undefined) throw new Error(`${origin}: its user ${JSON.stringify(userName)} is in none of the files`);
  const server = stringAt(cluster.value, 'server');
  if (server === null) throw new Error(`${origin}: cluster ${cluster.name} has no server`);
  const inDirOf = (entry: Entry, path: string | null) => (path === null ? null : isAbsolute(path) ? path : resolve(dirname(resolve(entry.path)), path));
  const tokenFile = user === null ? null : inDirOf(user, stringAt(user.value, 'tokenFile'));
  return {
    context: name,
    cluster: {
      server: server.replace(/\/$/, ''),
      caData: stringAt(cluster.value, 'certificate-authority-data'),
      caFile: inDirOf(cluster, stringAt(cluster.value, 'certificate-authority')),
      tlsServerName: stringAt(cluster.value, 'tls-server-name'),
      skipTLSVerify: cluster.value['insecure-skip-tls-verify'] === true,
      proxyUrl: stringAt(cluster.value, 'proxy-url'),
    },
    user: user === null ? { name: '' } : userFields(user, (path) => inDirOf(user, path)),
    tokenFile,
    origin,
  };
}

function userFields(entry: Entry, absolute: (path: string | null) => string | null): KubeconfigUser {
  const v = entry.value;
  return {
    name: entry.name,
    token: stringAt(v, 'token'),
    certData: stringAt(v, 'client-certificate-data'),
    certFile: absolute(stringAt(v, 'client-certificate')),
    keyData: stringAt(v, 'client-key-data'),
    keyFile: absolute(stringAt(v, 'client-key')),
    exec: v.exec ?? null,
    authProvider: v['auth-provider'] ?? null,
    username: stringAt(v, 'username'),
    password: stringAt(v, 'password'),
    impersonateUser: stringAt(v, 'as'),
    impersonateOther: ['as-groups', 'as-uid', 'as-user-extra'].filter((key) => v[key] !== undefined && v[key] !== null),
  };
}

function stringAt(object: Record<string, unknown>, key: string): string | null {
  const value = object[key];
  return typeof value === 'string' && value !== '' ? value : null;
}

/**
 * Reads kubeconfig files. A missing file is skipped, as kubectl skips
 * missing KUBECONFIG entries; none at all is an error naming them.
 */
export function readKubeconfigs(paths: readonly string[]): KubeconfigDocument[] {
  const documents: KubeconfigDocument[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new Error(`reading kubeconfig ${path} failed: ${(cause as Error).message}`, { cause });
    }
    try {
      documents.push({ path, doc: parseYaml(text) as unknown });
    } catch (cause) {
      throw new Error(`kubeconfig ${path} is not YAML: ${(cause as Error).message}`, { cause });
    }
  }
  if (documents.length === 0) throw new Error(`no kubeconfig found: ${paths.join(', ')} ${paths.length === 1 ? 'does' : 'do'} not exist`);
  return documents;
}

/** One kubeconfig file, as the daemon reads `kubeConfigPath`: its current context, paths relative to the file. */
export function kubeconfigSettings(path: string): ConnectionSettings {
  const origin = `kubeconfig ${path}`;
  try {
    const selected = selectContext(mergeKubeconfigs([{ path, doc: parseYaml(readFileSync(path, 'utf8')) as unknown }]), null);
    return settingsFromKubeconfig(selected.cluster, selected.user, selected.tokenFile, origin);
  } catch (cause) {
    throw new Error(`reading ${origin} failed: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Everything in a kubeconfig's cluster and user that clusterwire does not
 * do, all at once: disabled TLS verification, proxies, exec plugins, auth
 * providers, basic auth, impersonation, a plain-http server, half a client
 * certificate. `validate` lists them; connecting refuses them.
 */
export function kubeconfigProblems(cluster: KubeconfigCluster, user: KubeconfigUser): string[] {
  const problems: string[] = [];
  try {
    requireHttps(cluster.server, 'server');
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (cluster.skipTLSVerify) problems.push('insecure-skip-tls-verify is set: clusterwire never disables TLS verification');
  if (cluster.proxyUrl) problems.push('proxy-url is not supported');
  const who = `user ${user.name}`;
  if (user.exec) problems.push(`${who}: exec credential plugins are not supported (use a token, tokenFile or client certificate)`);
  if (user.authProvider) {
    problems.push(`${who}: auth-provider ${String((user.authProvider as { name?: unknown }).name)} is not supported (use a token, tokenFile or client certificate)`);
  }
  if (user.username || user.password) problems.push(`${who}: basic authentication is not supported`);
  if (user.impersonateUser || (user.impersonateOther ?? []).length > 0) {
    const fields = [...(user.impersonateUser ? ['as'] : []), ...(user.impersonateOther ?? [])];
    problems.push(`${who}: impersonation (${fields.join(', ')}) is not supported`);
  }
  const hasCert = Boolean(user.certData || user.certFile);
  const hasKey = Boolean(user.keyData || user.keyFile);
  if (hasCert !== hasKey) problems.push(`${who}: a client certificate needs both certificate and key`);
  return problems;
}

/** Turns a kubeconfig's cluster and user into connection settings, refusing (every problem named) what clusterwire does not do. */
export function settingsFromKubeconfig(
  cluster: KubeconfigCluster,
  user: KubeconfigUser,
  tokenFile: string | null,
  origin: string,
): ConnectionSettings {
  const problems = kubeconfigProblems(cluster, user);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return {
    server: cluster.server,
    ca: caSetting(cluster),
    token: tokenSetting(user, tokenFile),
    clientCertificate: clientCertificate(user),
    tlsServerName: cluster.tlsServerName || null,
    origin,
  };
}

function caSetting(cluster: KubeconfigCluster): CASetting {
  if (cluster.caData) return { kind: 'inline', pem: Buffer.from(cluster.caData, 'base64').toString('utf8') };
  if (cluster.caFile) return { kind: 'file', path: cluster.caFile };
  return { kind: 'system' };
}

/** Like client-go: with both `token` and `tokenFile`, the file wins (it is the one that rotates). */
function tokenSetting(user: KubeconfigUser, tokenFile: string | null): TokenSetting {
  if (tokenFile) return { kind: 'file', path: tokenFile };
  if (user.token) return { kind: 'static', token: user.token.trim() };
  return { kind: 'none' };
}

function clientCertificate(user: KubeconfigUser): ConnectionSettings['clientCertificate'] {
  const cert = pemSource(user.certData, user.certFile);
  const key = pemSource(user.keyData, user.keyFile);
  return cert && key ? { cert, key } : null;
}

function pemSource(data: string | null | undefined, file: string | null | undefined): PemSource | null {
  if (data) return { kind: 'inline', pem: Buffer.from(data, 'base64').toString('utf8') };
  if (file) return { kind: 'file', path: file };
  return null;
}
