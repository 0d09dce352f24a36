/**
 * The kubeconfig a cluster's daemons use to read a peer cluster, as connect
 * writes it into `clusterwire-remote-tokens`: the peer's API URL, its CA
 * inline, and the token as a file next to it (`tokenFile` relative to the
 * kubeconfig, as kubectl resolves it), so a rotated token reaches the
 * running daemons. Pure.
 */
import { stringify } from 'yaml';
import { tokenKey } from './objects.ts';

export interface PeerAccess {
  /** The peer's name, also the kubeconfig's cluster and context name. */
  peer: string;
  /** The name of the ServiceAccount the token belongs to (the kubeconfig's user). */
  user: string;
  server: string;
  tlsServerName: string | null;
  /** PEM certificates to trust, deduplicated; empty: the system trust store. */
  caPems: string[];
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * What the peer's daemons should trust for `server`. The operator's
 * kubeconfig CA is what verified this very URL; the cluster's root CA (the
 * token Secret's ca.crt) signs the apiserver certificate on most
 * distributions and is what an address other than the kubeconfig's needs.
 * Without a kubeconfig CA and with the kubeconfig's own URL, the server
 * has a publicly trusted certificate: then the system store, as kubectl.
 */
export function caBundle(kubeconfigCA: string | null, clusterCA: string | null, urlGiven: boolean): string[] {
  const sources = kubeconfigCA === null && !urlGiven ? [] : [kubeconfigCA, clusterCA];
  const blocks = sources.flatMap((pem) => (pem === null ? [] : (pem.match(PEM_BLOCK) ?? [])));
  return [...new Set(blocks.map((block) => `${block.trim()}\n`))];
}

export function remoteKubeconfigText(access: PeerAccess): string {
  const cluster: Record<string, string> = { server: access.server };
  if (access.caPems.length > 0) cluster['certificate-authority-data'] = Buffer.from(access.caPems.join('')).toString('base64');
  if (access.tlsServerName !== null) cluster['tls-server-name'] = access.tlsServerName;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: access.peer, cluster }],
    users: [{ name: access.user, user: { tokenFile: tokenKey(access.peer) } }],
    contexts: [{ name: access.peer, context: { cluster: access.peer, user: access.user } }],
    'current-context': access.peer,
  });
}

/** One line for a person: where the kubeconfig points, never the token. */
export function describeRemoteKubeconfig(access: PeerAccess): string {
  const ca = access.caPems.length === 0 ? 'the system trust store' : `${access.caPems.length} CA certificate${access.caPems.length === 1 ? '' : 's'}`;
  return `server ${access.server}, ${ca}, tokenFile ${tokenKey(access.peer)}`;
}
