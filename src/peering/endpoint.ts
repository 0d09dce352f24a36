import { MAX_ENDPOINT_LENGTH, shown } from '../kube/node-bounds.ts';
import { formatCidr, parseCidr, type Cidr } from '../net/cidr.ts';

/** An advertised endpoint that passed the policy; IP hosts are in canonical form. */
export interface Endpoint {
  host: string;
  port: number;
  kind: 'ipv4' | 'ipv6' | 'hostname';
}

export type EndpointResult = { ok: true; endpoint: Endpoint } | { ok: false; reason: string };

// RFC 1123 hostname: labels of letters, digits and inner hyphens.
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * The endpoint policy (docs/how-it-works.md, "Bounds"): a remote node's
 * endpoint annotation is untrusted. Accepted: `IPv4:port`, `[IPv6]:port`
 * and `host:port`, at most MAX_ENDPOINT_LENGTH characters. Refused, with
 * the reason: IPv6 zones (a zone names an interface of the remote node, and
 * `wg` or wireguard-go reject the whole batch), loopback, unspecified,
 * multicast and IPv4 broadcast addresses (also IPv4-mapped, ::ffff:a.b.c.d),
 * and port 0. IP addresses are parsed as Go parses them (no leading zeros)
 * and returned in canonical form, as the device prints them.
 */
export function parseEndpoint(text: string): EndpointResult {
  if (text.length > MAX_ENDPOINT_LENGTH) return refuse(`${text.length} characters, more than ${MAX_ENDPOINT_LENGTH}`);
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
  const plain = /^([^:[\]]*):([^:]*)$/.exec(text);
  const match = bracketed ?? plain;
  if (!match) return refuse(`'${shown(text)}' is not host:port (IPv6 as [addr]:port)`);
  const host = match[1] ?? '';
  const portText = match[2] ?? '';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return refuse(`port '${shown(portText)}' is not a number from 1 to 65535`);
  const port = Number(portText);
  if (port === 0) return refuse('port 0 cannot be sent to');

  if (bracketed) {
    if (host.includes('%')) return refuse(`'${shown(host)}' has an IPv6 zone (%): it names an interface of the remote node, not of this one`);
    const parsed = parseCidr(`${host}/128`);
    if (!parsed.ok || !host.includes(':')) return refuse(`'${shown(host)}' is not an IPv6 address`);
    return ipEndpoint(parsed.cidr, port);
  }
  if (/^[\d.]+$/.test(host)) {
    const parsed = parseCidr(`${host}/32`);
    if (!parsed.ok) return refuse(`'${shown(host)}' is not an IPv4 address`);
    return ipEndpoint(parsed.cidr, port);
  }
  if (HOSTNAME.test(host)) return { ok: true, endpoint: { host, port, kind: 'hostname' } };
  return refuse(`'${shown(host)}' is neither an IP address nor a hostname`);
}

/**
 * Why an address cannot be a peer's endpoint, or null when it can. Also
 * applied to the addresses hostnames resolve to.
 */
export function addressRefusal(address: Cidr): string | null {
  const text = addressText(address);
  if (address.family === 4) {
    const kind = ipv4Kind(address.address);
    return kind === null ? null : `${text} is ${kind}`;
  }
  if (address.address === 0n) return `${text} is the unspecified address`;
  if (address.address === 1n) return `${text} is the loopback address`;
  if (address.address >> 120n === 0xffn) return `${text} is a multicast address`;
  if (address.address >> 32n === 0xffffn) {
    const kind = ipv4Kind(address.address & 0xffff_ffffn);
    return kind === null ? null : `${text} is ${kind} (IPv4-mapped)`;
  }
  return null;
}

/** The endpoint as `wg` and the UAPI write it. */
export function formatEndpoint(endpoint: Pick<Endpoint, 'host' | 'port'>): string {
  return endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}

/** The canonical text of a single address (a /32 or /128). */
export function addressText(address: Cidr): string {
  return formatCidr(address).replace(/\/\d+$/, '');
}

function ipEndpoint(address: Cidr, port: number): EndpointResult {
  const refusal = addressRefusal(address);
  if (refusal !== null) return refuse(refusal);
  const host = addressText(address);
  return { ok: true, endpoint: { host, port, kind: address.family === 4 ? 'ipv4' : 'ipv6' } };
}

function ipv4Kind(address: bigint): string | null {
  const first = address >> 24n;
  if (first === 0n) return "in 0.0.0.0/8 (unspecified, 'this network')";
  if (first === 127n) return 'a loopback address';
  if (first >= 224n && first <= 239n) return 'a multicast address';
  if (address === 0xffff_ffffn) return 'the broadcast address';
  return null;
}

function refuse(reason: string): EndpointResult {
  return { ok: false, reason };
}
