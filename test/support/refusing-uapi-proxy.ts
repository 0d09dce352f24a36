import { once } from 'node:events';
import { rename, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import path from 'node:path';

export interface RefusingProxy {
  /** `set` requests refused so far. */
  refused(): number;
  /** Puts the real socket back. */
  close(): Promise<void>;
}

/**
 * Stands in front of a real wireguard-go's UAPI socket and answers every
 * `set` request that `refuse` picks with `errno=-22`, as wireguard-go
 * answers a change it refuses (an IPv6 zone endpoint, say); every other
 * request goes to the real socket. For the end-to-end test of a batch the
 * device refuses: with the endpoint policy in place, no node data makes
 * wireguard-go itself refuse a batch any more (see docs/troubleshooting.md,
 * device-rejected), so the refusal is injected here, in front of a real
 * device.
 *
 * The real socket is renamed aside (wireguard-go keeps serving on it: it
 * watches for deletion, not for renames) and the proxy takes its name.
 */
export async function refusingProxy(socketDirectory: string, device: string, refuse: (request: string) => boolean): Promise<RefusingProxy> {
  const socketPath = path.join(socketDirectory, `${device}.sock`);
  const realPath = path.join(socketDirectory, `${device}.real.sock`);
  const proxyPath = path.join(socketDirectory, `${device}.proxy.sock`);
  let refused = 0;
  const server = createServer((client) => {
    let request = '';
    client.setEncoding('utf8');
    client.on('error', () => undefined);
    const onData = (chunk: string) => {
      request += chunk;
      if (!request.endsWith('\n\n')) return;
      client.off('data', onData);
      if (request.startsWith('set=1\n') && refuse(request)) {
        refused += 1;
        client.end('errno=-22\n\n');
        return;
      }
      const upstream = createConnection(realPath);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.pipe(client);
      upstream.write(request);
    };
    client.on('data', onData);
  });
  server.listen(proxyPath);
  await once(server, 'listening');
  await rename(socketPath, realPath);
  await rename(proxyPath, socketPath);
  return {
    refused: () => refused,
    async close() {
      await rename(socketPath, proxyPath);
      await rename(realPath, socketPath);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(proxyPath, { force: true });
    },
  };
}
