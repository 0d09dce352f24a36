import { Resolver } from 'node:dns/promises';
import type { Lookup } from './endpoint-resolver.ts';

export interface DnsLookupOptions {
  /** DNS servers as `ip` or `ip:port`; default the system's (/etc/resolv.conf). */
  servers?: string[];
}

/**
 * The production Lookup: asks DNS for an A record, then AAAA, with c-ares
 * (node:dns Resolver), not getaddrinfo (`dns.lookup`). getaddrinfo runs on
 * libuv's thread pool of 4, which the key and token file reads share, and
 * cannot be cancelled: a few names whose servers do not answer would hold
 * every thread for tens of seconds. c-ares needs no thread and stops when
 * the signal aborts. The price: /etc/hosts, nsswitch and the search
 * domains of /etc/resolv.conf are not used, so names must be fully
 * qualified DNS names (docs/configuration.md, "Hostname endpoints").
 */
export function dnsLookup(options: DnsLookupOptions = {}): Lookup {
  return async (host, signal) => {
    // One resolver per look-up: cancel() ends every query of a resolver, and this one has only ours.
    const resolver = new Resolver({ timeout: 2_000, tries: 2 });
    if (options.servers) resolver.setServers(options.servers);
    const cancel = () => resolver.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    try {
      const v4 = await resolver.resolve4(host).catch(noRecords);
      if (v4[0] !== undefined) return v4[0];
      const v6 = await resolver.resolve6(host).catch(noRecords);
      if (v6[0] !== undefined) return v6[0];
      throw new Error(`${host} has no A or AAAA record`);
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  };
}

/** The name exists but has no record of this type: try the other family. Anything else is the answer. */
function noRecords(error: unknown): string[] {
  if ((error as NodeJS.ErrnoException).code === 'ENODATA') return [];
  throw error;
}
