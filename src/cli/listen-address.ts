import type { FlagValueResult } from './flags.ts';

/** Where the HTTP server listens. */
export interface ListenAddress {
  /** Without brackets; '' means every interface, as in Go's `:7773`. */
  host: string;
  port: number;
}

/** Go's host:port form (net.SplitHostPort): `:7773`, `0.0.0.0:7773`, `[::]:7773`, `localhost:7773`. Port 0 picks a free port. */
export function parseListenAddress(text: string): FlagValueResult<ListenAddress> {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { ok: false, reason: "missing ']' after the IPv6 address" };
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (!rest.startsWith(':')) return { ok: false, reason: 'missing port after the IPv6 address (e.g. [::]:7773)' };
    portText = rest.slice(1);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return { ok: false, reason: 'missing port (e.g. :7773 or 127.0.0.1:7773)' };
    host = text.slice(0, colon);
    if (host.includes(':')) return { ok: false, reason: 'too many colons; write an IPv6 address in brackets, e.g. [::]:7773' };
    portText = text.slice(colon + 1);
  }
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
    return { ok: false, reason: `port '${portText}' is not a number from 0 to 65535` };
  }
  return { ok: true, value: { host, port: Number(portText) } };
}
