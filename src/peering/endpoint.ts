import { isIPv4, isIPv6 } from 'node:net';

export interface Endpoint {
  host: string;
  port: number;
  kind: 'ipv4' | 'ipv6' | 'hostname';
}

// RFC 1123 hostname: labels of letters, digits and inner hyphens.
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * Parses an advertised endpoint: `1.2.3.4:51820`, `[fd00::1]:51820` or
 * `host.example:51820`, as `wg` accepts them. Returns an error text when
 * invalid, because a remote node's annotation is untrusted input.
 */
export function parseEndpoint(text: string): Endpoint | string {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const plain = /^([^:[\]]+):(\d+)$/.exec(text);
  const match = bracketed ?? plain;
  if (!match) return `'${text}' is not host:port (IPv6 as [addr]:port)`;
  const host = match[1] ?? '';
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `port ${match[2]} is outside 1-65535`;
  if (bracketed) return isIPv6(host) ? { host, port, kind: 'ipv6' } : `'${host}' is not an IPv6 address`;
  if (isIPv4(host)) return { host, port, kind: 'ipv4' };
  if (/^[\d.]+$/.test(host)) return `'${host}' is not an IPv4 address`;
  if (HOSTNAME.test(host)) return { host, port, kind: 'hostname' };
  return `'${host}' is neither an IP address nor a hostname`;
}

/** The endpoint as `wg` and the UAPI write it. */
export function formatEndpoint(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
