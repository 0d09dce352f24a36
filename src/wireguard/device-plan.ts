import { linkOwner } from '../ip/link-ownership.ts';
import type { Link } from '../ip/link-settings.ts';
import type { DeviceChange, ObservedDevice } from './types.ts';

export type DevicePlan =
  | { action: 'create' }
  | { action: 'adopt'; backend: 'kernel' | 'userspace' }
  | { action: 'recreate'; reason: string }
  | { action: 'refuse'; reason: string };

/**
 * What to do with the link found under a device's name. An existing
 * WireGuard link is adopted, never recreated, so live sessions survive a
 * daemon restart; that includes unmarked links (semaphore-wireguard's, when
 * migrating). A link marked for another remote, or one that is not
 * WireGuard, is refused rather than taken over.
 *
 * @param userspaceAnswers whether a UAPI socket answers for this name
 *   (meaningful for `tun` links, which is how wireguard-go shows up).
 */
export function planDevice(link: Link | null, remote: string, userspaceAnswers: boolean): DevicePlan {
  if (link === null) return { action: 'create' };
  const owner = linkOwner(link);
  if (owner !== null && owner !== remote) {
    return { action: 'refuse', reason: `link ${link.name} is marked as clusterwire's link for remote ${owner}` };
  }
  if (link.kind === 'wireguard') return { action: 'adopt', backend: 'kernel' };
  if (link.kind === 'tun') {
    if (userspaceAnswers) return { action: 'adopt', backend: 'userspace' };
    if (owner === remote) return { action: 'recreate', reason: 'its userspace WireGuard process is gone' };
    return { action: 'refuse', reason: `link ${link.name} is a tun device without a WireGuard control socket` };
  }
  return { action: 'refuse', reason: `link ${link.name} exists and is ${link.kind ? `a ${link.kind}` : 'a plain'} link, not WireGuard` };
}

/**
 * The key and port to write to a device, only where they differ: rewriting
 * an unchanged private key makes wireguard-go expire every session.
 */
export function baseConfigChange(
  observed: Pick<ObservedDevice, 'publicKey' | 'listenPort'>,
  privateKey: string,
  publicKey: string,
  listenPort: number,
): DeviceChange {
  return {
    ...(observed.publicKey === publicKey ? {} : { privateKey }),
    ...(observed.listenPort === listenPort ? {} : { listenPort }),
    peers: [],
  };
}
