/**
 * Questions about a UAPI `get=1` answer (what `wg show` reads from a
 * userspace device), answered by scanning its text: polling a 5,000-peer
 * device in a tight loop must not be slowed down by parsing it.
 * Peers appear as `public_key=<hex>` followed by that peer's keys up to the
 * next `public_key=`.
 */

const PEER_KEY = 'public_key=';

export function countPeers(getText: string): number {
  let count = 0;
  for (let at = getText.indexOf(`\n${PEER_KEY}`); at >= 0; at = getText.indexOf(`\n${PEER_KEY}`, at + 1)) count++;
  return count;
}

/** The block of lines of the peer with this key (hex), or null when the device has no such peer. */
function peerBlock(getText: string, publicKeyHex: string): string | null {
  const start = getText.indexOf(`\n${PEER_KEY}${publicKeyHex}\n`);
  if (start < 0) return null;
  const end = getText.indexOf(`\n${PEER_KEY}`, start + 1);
  return getText.slice(start, end < 0 ? getText.length : end);
}

export function hasPeer(getText: string, publicKeyHex: string): boolean {
  return peerBlock(getText, publicKeyHex) !== null;
}

/** The peer's endpoint as UAPI prints it (`1.2.3.4:51820`), null without one, undefined when there is no such peer. */
export function peerEndpoint(getText: string, publicKeyHex: string): string | null | undefined {
  const block = peerBlock(getText, publicKeyHex);
  if (block === null) return undefined;
  const match = /\nendpoint=([^\n]*)/.exec(block);
  return match?.[1] ?? null;
}
