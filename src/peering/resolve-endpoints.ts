import { formatEndpoint, parseEndpoint } from './endpoint.ts';
import type { PeerChange } from '../wireguard/types.ts';

/** Resolves a hostname to one address (node:dns `lookup` in production). */
export type Lookup = (hostname: string) => Promise<string>;

/**
 * Replaces hostname endpoints with addresses: wireguard-go's UAPI accepts
 * only `ip:port` (the `wg` tool resolves by itself, but resolving here
 * serves both backends alike). A name that does not resolve fails the
 * pass with the peer named, and the pass is retried.
 */
export async function resolveEndpoints(changes: readonly PeerChange[], lookup: Lookup): Promise<PeerChange[]> {
  return Promise.all(
    changes.map(async (change) => {
      if (change.endpoint === undefined) return change;
      const endpoint = parseEndpoint(change.endpoint);
      if (typeof endpoint === 'string' || endpoint.kind !== 'hostname') return change;
      try {
        return { ...change, endpoint: formatEndpoint(await lookup(endpoint.host), endpoint.port) };
      } catch (cause) {
        throw new Error(`resolving endpoint ${change.endpoint} of peer ${change.publicKey} failed`, { cause });
      }
    }),
  );
}
