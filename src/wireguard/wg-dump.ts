import type { ObservedDevice, ObservedPeer } from './types.ts';

const NONE = '(none)';

/**
 * Parses `wg show <device> dump`: a device line (private key, public key,
 * listen port, fwmark) then one line per peer (public key, preshared key,
 * endpoint, allowed IPs, latest handshake, rx, tx, keepalive), tab
 * separated. The private key is read past, never kept.
 */
export function parseWgDump(device: string, text: string): ObservedDevice {
  const lines = text.split('\n').filter((line) => line !== '');
  const [deviceLine, ...peerLines] = lines;
  if (deviceLine === undefined) {
    throw new Error(`wg show ${device} dump printed nothing`);
  }
  const fields = deviceLine.split('\t');
  if (fields.length !== 4) {
    throw new Error(`wg show ${device} dump: device line has ${fields.length} fields, expected 4`);
  }
  const [, publicKey, listenPort] = fields as [string, string, string, string];
  return {
    name: device,
    publicKey: publicKey === NONE ? null : publicKey,
    listenPort: parseNumber(listenPort, `${device} listen port`),
    peers: peerLines.map((line, index) => parsePeerLine(device, line, index + 2)),
  };
}

function parsePeerLine(device: string, line: string, lineNumber: number): ObservedPeer {
  const fields = line.split('\t');
  if (fields.length !== 8) {
    throw new Error(`wg show ${device} dump: line ${lineNumber} has ${fields.length} fields, expected 8`);
  }
  const [publicKey, , endpoint, allowedIPs, handshake, rx, tx, keepalive] = fields as [
    string, string, string, string, string, string, string, string,
  ];
  const what = `${device} peer ${publicKey}`;
  return {
    publicKey,
    endpoint: endpoint === NONE ? null : endpoint,
    allowedIPs: allowedIPs === NONE ? [] : allowedIPs.split(','),
    persistentKeepaliveSeconds: keepalive === 'off' ? 0 : parseNumber(keepalive, `${what} keepalive`),
    lastHandshakeSeconds: parseNumber(handshake, `${what} latest handshake`),
    receiveBytes: parseNumber(rx, `${what} transfer rx`),
    transmitBytes: parseNumber(tx, `${what} transfer tx`),
  };
}

function parseNumber(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`wg show dump: ${what} is not a number: ${JSON.stringify(text)}`);
  return Number(text);
}
