/**
 * The kubeconfig the emulator hands out: kubectl's own fields (a CA file
 * and a tokenFile, re-read as the token rotates). JSON is valid YAML.
 */
export interface KubeconfigSpec {
  clusterName: string;
  server: string;
  caFile: string;
  tokenFile: string;
}

export function renderKubeconfig(spec: KubeconfigSpec): string {
  const user = `${spec.clusterName}-admin`;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: spec.clusterName, cluster: { server: spec.server, 'certificate-authority': spec.caFile } }],
    users: [{ name: user, user: { tokenFile: spec.tokenFile } }],
    contexts: [{ name: spec.clusterName, context: { cluster: spec.clusterName, user } }],
    'current-context': spec.clusterName,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** https://host:port, with IPv6 hosts in brackets. */
export function hostPortURL(scheme: 'http' | 'https', host: string, port: number, path = ''): string {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${hostPart}:${port}${path}`;
}
