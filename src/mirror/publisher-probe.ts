import { KubeLeaseLock } from '../election/lease-lock.ts';
import { PUBLISHED_PEERS_ANNOTATION, publishedPeer } from '../fleet/lease-annotations.ts';
import { PUBLISHER_LEASE_NAME, peerSlicesPath, sliceSetSelector } from '../fleet/peer-slice.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeRequestError } from '../kube/kube-request-error.ts';
import type { PublisherProbe } from './source-decision.ts';

/**
 * Looks at whether `client`'s cluster publishes slices for `localCluster`
 * in `namespace`: one list of at most one slice and one GET of the
 * publisher's Lease (docs/fleet-mode.md, "Mirroring"). A 404 or 403 is an
 * answer; anything else (the remote down, a timeout) is `unreachable`.
 */
export async function probePublisher(client: KubeClient, namespace: string, localCluster: string, signal?: AbortSignal): Promise<PublisherProbe> {
  try {
    const slices = await listAnswer(client, namespace, localCluster, signal);
    if (slices !== 'served') return { kind: 'read', slices, lease: null };
    let lease;
    try {
      lease = await new KubeLeaseLock(client, namespace, PUBLISHER_LEASE_NAME).get(signal);
    } catch (err) {
      if (!(err instanceof KubeRequestError && err.status === 403)) throw err;
      lease = null;
    }
    if (lease === null) return { kind: 'read', slices, lease: null };
    const peer = publishedPeer(lease.annotations[PUBLISHED_PEERS_ANNOTATION], localCluster);
    return { kind: 'read', slices, lease: { holder: lease.record.holderIdentity, peer, resourceVersion: lease.resourceVersion, durationSeconds: lease.record.leaseDurationSeconds } };
  } catch (err) {
    return { kind: 'unreachable', error: (err as Error).message };
  }
}

async function listAnswer(client: KubeClient, namespace: string, localCluster: string, signal?: AbortSignal): Promise<'served' | 'not-served' | 'forbidden'> {
  const selector = sliceSetSelector({ source: client.cluster, peer: localCluster, mirrored: false });
  try {
    await client.json({ method: 'GET', path: peerSlicesPath(namespace), query: { labelSelector: selector, limit: '1' }, signal });
    return 'served';
  } catch (err) {
    if (err instanceof KubeRequestError && err.status === 404) return 'not-served';
    if (err instanceof KubeRequestError && err.status === 403) return 'forbidden';
    throw err;
  }
}
