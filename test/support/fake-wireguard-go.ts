/**
 * A stand-in for `wireguard-go -f <device>` in unit tests of the supervisor:
 * listens on `$FAKE_WG_SOCKET_DIR/<device>.sock`, answers every request with
 * `errno=0` and appends it to `<device>.requests` there (and a line per
 * connection to `<device>.connections`), prints a line, and
 * exits on SIGTERM. With FAKE_WG_FAIL=1 it prints an error and exits 1 at
 * once, like a binary that cannot create its TUN device.
 */
import { appendFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

const device = process.argv[process.argv.length - 1] ?? 'wg0';
const directory = process.env.FAKE_WG_SOCKET_DIR ?? '/tmp';

function serve(): void {
  const socketPath = path.join(directory, `${device}.sock`);
  rmSync(socketPath, { force: true });
  const server = createServer((socket) => {
    appendFileSync(path.join(directory, `${device}.connections`), 'connection\n');
    socket.setEncoding('utf8');
    let request = '';
    socket.on('data', (chunk: string) => {
      request += chunk;
      if (!request.endsWith('\n\n')) return;
      appendFileSync(path.join(directory, `${device}.requests`), request);
      request = '';
      socket.write('errno=0\n\n');
    });
    socket.on('error', () => socket.destroy());
  });
  server.listen(socketPath, () => console.log(`INFO: (${device}) UAPI listener started`));
  process.on('SIGTERM', () => {
    server.close();
    process.exit(0);
  });
}

if (process.env.FAKE_WG_FAIL === '1') {
  process.stdout.write(`ERROR: (${device}) Failed to create TUN device: operation not permitted\n`, () => process.exit(1));
} else {
  serve();
}
