import { isIPv6 } from 'node:net';
import { field, isObject } from './json-value.ts';
import { annotationKeys } from './node-projection.ts';

/** What this node advertises to one remote cluster. */
export interface Advert {
  remote: string;
  /** The WireGuard device for that remote (metrics label). */
  device: string;
  publicKey: string;
  listenPort: number;
}

/** `ip:port`, or `[ip]:port` for IPv6 (SPEC §3.4). */
export function endpointFor(ip: string, port: number): string {
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The first InternalIP of a Node object, or null. */
export function firstInternalIP(node: unknown): string | null {
  const addresses = field(field(node, 'status'), 'addresses');
  if (!Array.isArray(addresses)) return null;
  for (const a of addresses) {
    if (isObject(a) && a.type === 'InternalIP' && typeof a.address === 'string' && a.address !== '') return a.address;
  }
  return null;
}

/** Every annotation this node must carry: pubKey and endpoint per remote. */
export function desiredAnnotations(adverts: readonly Advert[], internalIP: string, domain: string): Map<string, string> {
  const desired = new Map<string, string>();
  for (const advert of adverts) {
    const keys = annotationKeys(advert.remote, domain);
    desired.set(keys.publicKey, advert.publicKey);
    desired.set(keys.endpoint, endpointFor(internalIP, advert.listenPort));
  }
  return desired;
}

/** The desired annotations a Node object lacks or carries with another value. */
export function missingAnnotations(node: unknown, desired: ReadonlyMap<string, string>): Map<string, string> {
  const current = field(field(node, 'metadata'), 'annotations');
  const missing = new Map<string, string>();
  for (const [key, value] of desired) {
    if (field(current, key) !== value) missing.set(key, value);
  }
  return missing;
}

/** The annotations of `remotes` that a Node object carries. */
export function presentAnnotations(node: unknown, remotes: readonly string[], domain: string): string[] {
  const current = field(field(node, 'metadata'), 'annotations');
  const present: string[] = [];
  for (const remote of remotes) {
    const keys = annotationKeys(remote, domain);
    for (const key of [keys.publicKey, keys.endpoint]) {
      if (field(current, key) !== undefined) present.push(key);
    }
  }
  return present;
}

/** A JSON merge patch (RFC 7386) of annotations: a null value removes the key. */
export function annotationsPatch(values: ReadonlyMap<string, string | null>): { metadata: { annotations: Record<string, string | null> } } {
  return { metadata: { annotations: Object.fromEntries(values) } };
}
