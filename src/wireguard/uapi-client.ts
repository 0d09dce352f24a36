import { createConnection } from 'node:net';
import path from 'node:path';
import { ChangeRejectedError, type DeviceChange, type DeviceRead, type ObservedDevice, type WireGuardClient } from './types.ts';
import { ResponseBuffers, type ResponseReader } from './response-buffers.ts';
import { describeErrno, parseUapiGet, parseUapiInterface, UAPI_GET_REQUEST, uapiConfigFingerprint, uapiErrno, uapiInterfaceText, uapiSetRequest } from './uapi-protocol.ts';

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
  readonly #buffers = new ResponseBuffers();

  constructor(socketDirectory = DEFAULT_SOCKET_DIRECTORY, timeoutMs = DEFAULT_TIMEOUT_MS) {
    this.#socketDirectory = socketDirectory;
    this.#timeoutMs = timeoutMs;
  }

  async device(name: string): Promise<ObservedDevice> {
    return (await this.read(name)).device();
  }

  async read(name: string): Promise<DeviceRead> {
    const reader = this.#buffers.lend();
    try {
      await this.#request(name, UAPI_GET_REQUEST, 'get', reader);
      const response = reader.bytes();
      const errno = uapiErrno(lastLine(response));
      if (errno !== 0) throw new Error(`UAPI get on ${name} answered errno ${describeErrno(errno)}`);
      const { publicKey, listenPort } = parseUapiInterface(name, uapiInterfaceText(response));
      let parsed: ObservedDevice | null = null;
      return {
        publicKey,
        listenPort,
        configFingerprint: uapiConfigFingerprint(response),
        device: () => (parsed ??= parseReply(name, reader)),
      };
    } finally {
      reader.giveBack();
    }
  }

  async configure(name: string, change: DeviceChange): Promise<void> {
    const request = uapiSetRequest(change);
    if (request === null) return;
    const reader = this.#buffers.lend();
    try {
      await this.#request(name, request, 'set', reader);
      const errno = uapiErrno(reader.bytes().toString('utf8'));
      if (errno !== 0) {
        throw new ChangeRejectedError(
          `UAPI set on ${name} (${change.peers.length} peer changes) answered errno ${describeErrno(errno)}; changes before the failing one may be applied`,
        );
      }
    } finally {
      reader.giveBack();
    }
  }

  async #request(name: string, request: string, operation: string, reader: ResponseReader): Promise<void> {
    const socketPath = uapiSocketPath(this.#socketDirectory, name);
    try {
      await uapiExchange(socketPath, request, this.#timeoutMs, reader);
    } catch (error) {
      throw new Error(`UAPI ${operation} on ${name} via ${socketPath} failed`, { cause: error });
    }
  }
}

/**
 * A read's device, parsed from its buffer: at most once, when asked, and
 * only while the buffer holds it. Every caller parses right after its
 * read; one that waited for another read would otherwise parse that one.
 */
function parseReply(name: string, reader: ResponseReader): ObservedDevice {
  if (!reader.isCurrent()) throw new Error(`the UAPI read of ${name} was parsed after its buffer was reused: parse a read before the next one`);
  return parseUapiGet(name, reader.bytes().toString('utf8'));
}

/**
 * Sends one request and reads its response, which ends with a blank line,
 * straight into the reader's buffer: no chunk is allocated, nothing is
 * concatenated, and a read that is not parsed is never decoded.
 */
export function uapiExchange(socketPath: string, request: string, timeoutMs: number, reader: ResponseReader): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const socket = createConnection({
      path: socketPath,
      onread: {
        buffer: () => reader.space(),
        callback: (bytes: number) => {
          reader.advance(bytes);
          if (endsWithBlankLine(reader.bytes())) finish(null);
          return !settled;
        },
      },
    });
    socket.setTimeout(timeoutMs, () => finish(new Error(`no complete response within ${timeoutMs} ms`)));
    socket.on('error', finish);
    socket.on('end', () => finish(new Error('connection closed before the response ended')));
    socket.write(request);
  });
}

/** The last two bytes received are "\n\n". */
function endsWithBlankLine(received: Buffer): boolean {
  return received.length >= 2 && received[received.length - 1] === NEWLINE && received[received.length - 2] === NEWLINE;
}

const NEWLINE = 0x0a;

/** The response's last line with the blank line after it: where `errno=` is. */
function lastLine(response: Buffer): string {
  const start = response.lastIndexOf(NEWLINE, response.length - 3);
  return response.toString('utf8', start + 1);
}
