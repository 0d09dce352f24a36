import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { isObject } from './json-value.ts';
import { requireHttps, type CASetting, type ConnectionSettings, type PemSource, type TokenSetting } from './connection-settings.ts';

/** The parts of client-node's Cluster and User we read (its fields are loosely typed). */
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
  impersonateUser?: string | null;
}

/**
 * Reads a kubeconfig file as kubectl does (current context; paths relative
 * to the file). client-node does the parsing, except for `tokenFile`, which
 * it ignores: that one is read from the raw document.
 */
export function kubeconfigSettings(path: string): ConnectionSettings {
  const origin = `kubeconfig ${path}`;
  try {
    const text = readFileSync(path, 'utf8');
    const kc = new KubeConfig();
    kc.loadFromString(text);
    const dir = dirname(resolve(path));
    kc.makePathsAbsolute(dir);
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    if (!cluster) throw new Error(`no cluster for current context ${JSON.stringify(kc.getCurrentContext())}`);
    if (!user) throw new Error(`no user for current context ${JSON.stringify(kc.getCurrentContext())}`);
    const tokenFile = rawTokenFile(parseYaml(text), user.name);
    return settingsFromKubeconfig(cluster, user, tokenFile && absoluteTo(dir, tokenFile), origin);
  } catch (cause) {
    throw new Error(`reading ${origin} failed: ${(cause as Error).message}`, { cause });
  }
}

/**
 * The pod's service account (`local.kubeConfigPath` empty): API address
 * from KUBERNETES_SERVICE_HOST/PORT, token and CA from the projected
 * volume. `pathPrefix` lets tests point at a fake volume.
 */
export function inClusterSettings(pathPrefix = ''): ConnectionSettings {
  if (!process.env.KUBERNETES_SERVICE_HOST || !process.env.KUBERNETES_SERVICE_PORT) {
    throw new Error('in-cluster access needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (not running in a pod?)');
  }
  const kc = new KubeConfig();
  kc.loadFromCluster(pathPrefix);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster || !user) throw new Error('client-node produced no in-cluster configuration');
  return settingsFromKubeconfig(cluster, user, null, 'in-cluster service account');
}

/**
 * Turns a kubeconfig's cluster and user into connection settings, refusing
 * what clusterwire does not do rather than half-doing it: disabled TLS
 * verification, exec plugins, auth providers, basic auth, impersonation,
 * proxies.
 */
export function settingsFromKubeconfig(
  cluster: KubeconfigCluster,
  user: KubeconfigUser,
  tokenFile: string | null,
  origin: string,
): ConnectionSettings {
  if (cluster.skipTLSVerify) throw new Error('insecure-skip-tls-verify is set: clusterwire never disables TLS verification');
  if (cluster.proxyUrl) throw new Error('proxy-url is not supported');
  if (user.exec) throw new Error(`user ${user.name}: exec credential plugins are not supported (use a token, tokenFile or client certificate)`);
  if (user.username || user.password) throw new Error(`user ${user.name}: basic authentication is not supported`);
  if (user.impersonateUser) throw new Error(`user ${user.name}: impersonation is not supported`);
  const providerTokenFile = inClusterTokenFile(user);
  return {
    server: requireHttps(cluster.server, 'server'),
    ca: caSetting(cluster),
    token: tokenSetting(user, tokenFile ?? providerTokenFile),
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
  if (!cert && !key) return null;
  if (!cert || !key) throw new Error(`user ${user.name}: a client certificate needs both certificate and key`);
  return { cert, key };
}

function pemSource(data: string | null | undefined, file: string | null | undefined): PemSource | null {
  if (data) return { kind: 'inline', pem: Buffer.from(data, 'base64').toString('utf8') };
  if (file) return { kind: 'file', path: file };
  return null;
}

/** client-node's loadFromCluster models the service-account token as a `tokenFile` auth provider. */
function inClusterTokenFile(user: KubeconfigUser): string | null {
  if (!user.authProvider) return null;
  const provider = user.authProvider as { name?: unknown; config?: { tokenFile?: unknown } };
  if (provider.name === 'tokenFile' && typeof provider.config?.tokenFile === 'string') return provider.config.tokenFile;
  throw new Error(`user ${user.name}: auth-provider ${String(provider.name)} is not supported`);
}

/** `users[name=<user>].user.tokenFile` of a parsed kubeconfig document. */
export function rawTokenFile(doc: unknown, userName: string): string | null {
  if (!isObject(doc) || !Array.isArray(doc.users)) return null;
  for (const entry of doc.users as unknown[]) {
    if (isObject(entry) && entry.name === userName && isObject(entry.user)) {
      const file = entry.user.tokenFile;
      return typeof file === 'string' && file !== '' ? file : null;
    }
  }
  return null;
}

function absoluteTo(dir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dir, path);
}
