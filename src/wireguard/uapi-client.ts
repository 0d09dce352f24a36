import { createConnection } from 'node:net';
import path from 'node:path';
import { ChangeRejectedError, type DeviceChange, type ObservedDevice, type WireGuardClient } from './types.ts';
import { describeErrno, parseUapiGet, UAPI_GET_REQUEST, uapiErrno, uapiSetRequest } from './uapi-protocol.ts';

export const DEFAULT_SOCKET_DIRECTORY = '/run/wireguard';

const DEFAULT_TIMEOUT_MS = 30_000;

/** The control socket of a userspace device. */
export function uapiSocketPath(socketDirectory: string, device: string): string {
  return path.join(socketDirectory, `${device}.sock`);
}

/**
 * Talks to a userspace WireGuard (wireguard-go) over its UAPI socket: a
 * one-peer change costs ~1 ms here against ~65 ms for `wg syncconf` at 5,000
 * peers (docs/design.md, "Measured costs"). One connection per request: the saving of
 * a kept connection (~0.5 ms) is not worth reconnect logic across restarts.
 */
export class UapiClient implements WireGuardClient {
  readonly #socketDirectory: string;
  readonly #timeoutMs: number;

  constructor(socketDirectory = DEFAULT_SOCKET_DIRECTORY, timeoutMs = DEFAULT_TIMEOUT_MS) {
    this.#socketDirectory = socketDirectory;
    this.#timeoutMs = timeoutMs;
  }

  async device(name: string): Promise<ObservedDevice> {
    const response = await this.#request(name, UAPI_GET_REQUEST, 'get');
    return parseUapiGet(name, response);
  }

  async configure(name: string, change: DeviceChange): Promise<void> {
    const request = uapiSetRequest(change);
    if (request === null) return;
    const response = await this.#request(name, request, 'set');
    const errno = uapiErrno(response);
    if (errno !== 0) {
      throw new ChangeRejectedError(
        `UAPI set on ${name} (${change.peers.length} peer changes) answered errno ${describeErrno(errno)}; changes before the failing one may be applied`,
      );
    }
  }

  async #request(name: string, request: string, operation: string): Promise<string> {
    const socketPath = uapiSocketPath(this.#socketDirectory, name);
    try {
      return await uapiExchange(socketPath, request, this.#timeoutMs);
    } catch (error) {
      throw new Error(`UAPI ${operation} on ${name} via ${socketPath} failed`, { cause: error });
    }
  }
}

/** Sends one request and reads its response, which ends with a blank line. */
export function uapiExchange(socketPath: string, request: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const chunks: string[] = [];
    let tail = '';
    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(chunks.join(''));
    };
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => finish(new Error(`no complete response within ${timeoutMs} ms`)));
    socket.on('error', finish);
    socket.on('data', (chunk: string) => {
      chunks.push(chunk);
      tail = (tail + chunk).slice(-2);
      if (tail === '\n\n') finish(null);
    });
    socket.on('end', () => finish(new Error('connection closed before the response ended')));
    socket.write(request);
  });
}
