/**
 * Adding and removing one remote in a clusters.json text, keeping every
 * other entry and key as it is, and validating the result with the
 * daemon's own parser before anything is written. Pure.
 */
import { isDeepStrictEqual } from 'node:util';
import { ClustersConfigError, issueAt } from '../config/issue.ts';
import { parseClustersConfig } from '../config/parse.ts';
import { DEFAULT_ANNOTATION_DOMAIN, DEFAULT_LISTEN_PORT } from '../config/schema.ts';
import type { ClustersConfig } from '../config/types.ts';
import { isObject, type JsonObject } from '../kube/json-value.ts';

export interface ConfigEdit {
  /** The text to write; the current text, byte for byte, when nothing changed. */
  text: string;
  changed: boolean;
  /** The remote's entry after the edit; null when it was removed. */
  entry: JsonObject | null;
  /** The parsed result; null when no remote is left (which the daemon refuses). */
  config: ClustersConfig | null;
}

/** How connect sets a remote's entry. */
export interface RemoteSettings {
  name: string;
  kubeConfigPath: string;
  /** null: keep the entry's own pod subnets. */
  podSubnets: string[] | null;
}

/** Keys of token access, replaced by `kubeConfigPath` (with both, the kubeconfig is used and they would only mislead). */
const TOKEN_ACCESS_KEYS = ['remoteAPIURL', 'remoteCAURL', 'remoteSATokenPath'];

/** The document in `text` (null: no config yet); a config that is not a JSON object cannot be edited safely. */
export function readConfigDocument(text: string | null, source: string): JsonObject | null {
  if (text === null) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new ClustersConfigError(source, [issueAt([], `not valid JSON: ${(error as Error).message}`)], error);
  }
  if (!isObject(doc)) throw new ClustersConfigError(source, [issueAt([], 'is not a JSON object')]);
  return doc;
}

export function localNameOf(doc: JsonObject | null): string | null {
  const name = isObject(doc?.local) ? doc.local.name : undefined;
  return typeof name === 'string' && name !== '' ? name : null;
}

/** The annotation domain the config's daemons use (the default when unset). */
export function annotationDomainOf(doc: JsonObject | null): string {
  return typeof doc?.annotationDomain === 'string' && doc.annotationDomain !== '' ? doc.annotationDomain : DEFAULT_ANNOTATION_DOMAIN;
}

export function remoteEntryOf(doc: JsonObject | null, name: string): JsonObject | null {
  const remotes = Array.isArray(doc?.remotes) ? (doc.remotes as unknown[]) : [];
  const entry = remotes.find((remote) => isObject(remote) && remote.name === name);
  return isObject(entry) ? entry : null;
}

/** The entry's `podSubnet` and `podSubnets` together. */
export function entrySubnets(entry: JsonObject | null): string[] {
  if (entry === null) return [];
  const single = typeof entry.podSubnet === 'string' && entry.podSubnet !== '' ? [entry.podSubnet] : [];
  const list = Array.isArray(entry.podSubnets) ? entry.podSubnets.filter((cidr): cidr is string => typeof cidr === 'string') : [];
  return [...new Set([...single, ...list])];
}

/**
 * The config with `remote` added, or its entry updated: access through the
 * kubeconfig connect wrote, the pod subnets when given, and a listen port
 * no other remote uses when the entry has none. A new config starts as
 * `{"local": {"name": local}}` (in-cluster access to the local apiserver),
 * with `annotationDomain` when that is not the default.
 */
export function withRemote(text: string | null, local: string, remote: RemoteSettings, source: string, annotationDomain = DEFAULT_ANNOTATION_DOMAIN): ConfigEdit {
  const before = readConfigDocument(text, source);
  const fresh: JsonObject = { local: { name: local }, ...(annotationDomain === DEFAULT_ANNOTATION_DOMAIN ? {} : { annotationDomain }), remotes: [] };
  const doc: JsonObject = structuredClone(before) ?? fresh;
  const remotes = Array.isArray(doc.remotes) ? (doc.remotes as unknown[]) : [];
  doc.remotes = remotes;
  const index = remotes.findIndex((entry) => isObject(entry) && entry.name === remote.name);
  const found = remotes[index];
  const entry: JsonObject = isObject(found) ? found : { name: remote.name };
  entry.kubeConfigPath = remote.kubeConfigPath;
  for (const key of TOKEN_ACCESS_KEYS) delete entry[key];
  if (remote.podSubnets !== null && !isDeepStrictEqual(entrySubnets(entry), remote.podSubnets)) {
    delete entry.podSubnet;
    entry.podSubnets = remote.podSubnets;
  }
  if (entry.wgListenPort === undefined) entry.wgListenPort = freeListenPort(remotes.filter((_, i) => i !== index));
  if (index >= 0) remotes[index] = entry;
  else remotes.push(entry);
  return finish(text, before, doc, entry, source, false);
}

/** The config without `name`'s entry. Leaving no remote is allowed (disconnecting the last peer); the result is otherwise validated. */
export function withoutRemote(text: string, name: string, source: string): ConfigEdit {
  const before = readConfigDocument(text, source);
  const doc: JsonObject = structuredClone(before) ?? {};
  const remotes = Array.isArray(doc.remotes) ? (doc.remotes as unknown[]) : [];
  doc.remotes = remotes.filter((entry) => !(isObject(entry) && entry.name === name));
  return finish(text, before, doc, null, source, true);
}

/** The lowest port from 51820 up that no other remote listens on (an entry without one uses 51820). */
export function freeListenPort(others: readonly unknown[]): number {
  const used = new Set(others.map((entry) => (isObject(entry) && typeof entry.wgListenPort === 'number' ? entry.wgListenPort : DEFAULT_LISTEN_PORT)));
  let port = DEFAULT_LISTEN_PORT;
  while (used.has(port)) port += 1;
  return port;
}

function finish(text: string | null, before: JsonObject | null, doc: JsonObject, entry: JsonObject | null, source: string, mayBeEmpty: boolean): ConfigEdit {
  const changed = !isDeepStrictEqual(before, doc);
  const result = parseClustersConfig(doc);
  const empty = Array.isArray(doc.remotes) && doc.remotes.length === 0;
  if (!result.ok) {
    // With no remote left, "at least one remote" is the one expected complaint; anything else is a real problem.
    const issues = mayBeEmpty && empty ? result.issues.filter((issue) => issue.path !== 'remotes') : result.issues;
    if (issues.length > 0) throw new ClustersConfigError(source, issues);
  }
  return {
    text: changed || text === null ? `${JSON.stringify(doc, null, 2)}\n` : text,
    changed,
    entry,
    config: result.ok ? result.config : null,
  };
}
