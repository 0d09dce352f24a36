import type { Logger } from '../log.ts';
import type { KubeClient } from './client.ts';
import { advertKeys, annotationsPatch, projectLocalNode } from './node-annotations.ts';

/**
 * Removes the pubKey and endpoint annotations of `remotes` from the Node
 * (`clusterwire cleanup`): one merge patch setting the present ones to
 * null, so nothing else on the Node is touched. Returns the keys removed.
 */
export async function removeAnnotations(
  client: KubeClient,
  options: { nodeName: string; annotationDomain: string; remotes: readonly string[]; logger: Logger },
): Promise<string[]> {
  const path = `/api/v1/nodes/${encodeURIComponent(options.nodeName)}`;
  const keys = advertKeys(options.remotes, options.annotationDomain);
  const node = projectLocalNode(await client.json({ method: 'GET', path }), keys);
  const present = keys.filter((key) => node?.annotations.has(key));
  if (present.length === 0) return [];
  await client.json({ method: 'PATCH', path, body: { contentType: 'application/merge-patch+json', value: annotationsPatch(new Map(present.map((key) => [key, null]))) } });
  options.logger.info({ node: options.nodeName, keys: present }, 'removed annotations');
  return present;
}
