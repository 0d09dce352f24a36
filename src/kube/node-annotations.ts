import { field, isObject, stringOrNull } from './json-value.ts';
import { annotationKeys } from './node-projection.ts';

/** What this node advertises to one remote cluster. */
export interface Advert {
  remote: string;
  /** The WireGuard device for that remote (metrics label). */
  device: string;
  publicKey: string;
  listenPort: number;
}

/** What the advertiser keeps of the local Node: its first InternalIP and the annotations it owns, nothing else. */
export interface LocalNode {
  name: string;
  internalIP: string | null;
  /** Only the keys asked for (`<remote>.<domain>/pubKey` and `/endpoint` of the configured remotes). */
  annotations: ReadonlyMap<string, string>;
}

/** `ip:port`, or `[ip]:port` for IPv6 (docs/how-it-works.md, "Advertise"): only an IPv6 address has a colon. */
export function endpointFor(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Every annotation key of `remotes`: pubKey and endpoint each. */
export function advertKeys(remotes: readonly string[], domain: string): string[] {
  return remotes.flatMap((remote) => {
    const keys = annotationKeys(remote, domain);
    return [keys.publicKey, keys.endpoint];
  });
}

/** The Node object (unchecked JSON) as the advertiser keeps it: `keys` of its annotations and its first InternalIP; null without a name. */
export function projectLocalNode(node: unknown, keys: readonly string[]): LocalNode | null {
  const metadata = field(node, 'metadata');
  const name = stringOrNull(field(metadata, 'name'));
  if (!name) return null;
  const current = field(metadata, 'annotations');
  const annotations = new Map<string, string>();
  for (const key of keys) {
    const value = field(current, key);
    if (typeof value === 'string') annotations.set(key, value);
  }
  return { name, internalIP: firstInternalIP(node), annotations };
}

export function sameLocalNode(a: LocalNode, b: LocalNode): boolean {
  if (a.name !== b.name || a.internalIP !== b.internalIP || a.annotations.size !== b.annotations.size) return false;
  for (const [key, value] of a.annotations) if (b.annotations.get(key) !== value) return false;
  return true;
}

/** The first InternalIP of a Node object, or null. */
function firstInternalIP(node: unknown): string | null {
  const addresses = field(field(node, 'status'), 'addresses');
  if (!Array.isArray(addresses)) return null;
  for (const a of addresses) {
    if (isObject(a) && a.type === 'InternalIP' && typeof a.address === 'string' && a.address !== '') return a.address;
  }
  return null;
}

/** The annotations this node must carry for `adverts`: pubKey and endpoint per remote. */
export function desiredAnnotations(adverts: readonly Advert[], internalIP: string, domain: string): Map<string, string> {
  const desired = new Map<string, string>();
  for (const advert of adverts) {
    const keys = annotationKeys(advert.remote, domain);
    desired.set(keys.publicKey, advert.publicKey);
    desired.set(keys.endpoint, endpointFor(internalIP, advert.listenPort));
  }
  return desired;
}

/** The desired annotations the node lacks or carries with another value. */
export function missingAnnotations(node: LocalNode, desired: ReadonlyMap<string, string>): Map<string, string> {
  const missing = new Map<string, string>();
  for (const [key, value] of desired) {
    if (node.annotations.get(key) !== value) missing.set(key, value);
  }
  return missing;
}

/** A JSON merge patch (RFC 7386) of annotations: a null value removes the key. */
export function annotationsPatch(values: ReadonlyMap<string, string | null>): { metadata: { annotations: Record<string, string | null> } } {
  return { metadata: { annotations: Object.fromEntries(values) } };
}
