import type { FastifyInstance } from 'fastify';

/** Go's `:7773` means every interface: IPv6 and IPv4 where the host has IPv6, else IPv4. */
export async function listen(server: FastifyInstance, { host, port }: { host: string; port: number }): Promise<{ host: string; port: number }> {
  const hosts = host === '' ? ['::', '0.0.0.0'] : [host];
  for (const [i, candidate] of hosts.entries()) {
    try {
      await server.listen({ host: candidate, port });
      const bound = server.server.address();
      return { host: candidate, port: typeof bound === 'object' && bound ? bound.port : port };
    } catch (error) {
      const noIPv6 = (error as NodeJS.ErrnoException).code === 'EAFNOSUPPORT' || (error as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL';
      if (i === hosts.length - 1 || !noIPv6) throw new Error(`listening on ${candidate}:${port} failed`, { cause: error });
    }
  }
  throw new Error('no address to listen on');
}
