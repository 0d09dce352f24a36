import type { ConnectionSettings } from './connection-settings.ts';

/** Where the kubelet projects the pod's service-account token and the cluster CA. */
const SERVICE_ACCOUNT_DIRECTORY = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The pod's service account (`local.kubeConfigPath` empty), as client-go's
 * InClusterConfig builds it: the API at
 * `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`, the token
 * file and `ca.crt` of the projected volume (the token file is read again
 * when the kubelet rotates it). `pathPrefix` lets tests point at a fake
 * volume.
 */
export function inClusterSettings(pathPrefix = '', env: NodeJS.ProcessEnv = process.env): ConnectionSettings {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error('in-cluster access needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (not running in a pod?)');
  const directory = `${pathPrefix}${SERVICE_ACCOUNT_DIRECTORY}`;
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: { kind: 'file', path: `${directory}/ca.crt` },
    token: { kind: 'file', path: `${directory}/token` },
    clientCertificate: null,
    tlsServerName: null,
    origin: 'in-cluster service account',
  };
}
