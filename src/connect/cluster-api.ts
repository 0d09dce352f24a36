/**
 * The thin shell between connect's plans and one apiserver: reads objects,
 * lists Nodes, carries out writes. Every failure names the cluster, the
 * context, the object and the API call.
 */
import type { KubeClient } from '../kube/client.ts';
import { isObject } from '../kube/json-value.ts';
import { KubeRequestError } from '../kube/kube-request-error.ts';
import { apiPath, describeRef, type KubeObject, type ObjectRef } from './objects.ts';
import type { Write } from './write.ts';

const JSON_BODY = 'application/json';
const PAGE_SIZE = '500';

export class ClusterApi {
  /** `c2 (context kind-c2)`: how messages name this side; the name is known only after the first reads. */
  label: string;
  readonly #client: KubeClient;

  constructor(label: string, client: KubeClient) {
    this.label = label;
    this.#client = client;
  }

  /** The object, or null when the apiserver answers 404 (absent, or a kind it does not serve). */
  async get(ref: ObjectRef): Promise<KubeObject | null> {
    try {
      const object = await this.#client.json({ method: 'GET', path: apiPath(ref, true) });
      return isObject(object) ? object : null;
    } catch (error) {
      if (error instanceof KubeRequestError && error.status === 404) return null;
      throw this.#failure(`reading ${describeRef(ref)}`, error);
    }
  }

  /** Every Node's pod CIDRs (spec.podCIDRs, else spec.podCIDR), in pages. */
  async nodePodCIDRs(): Promise<string[][]> {
    const nodes: string[][] = [];
    let next: string | undefined;
    do {
      let page: unknown;
      try {
        page = await this.#client.json({ method: 'GET', path: '/api/v1/nodes', query: { limit: PAGE_SIZE, continue: next } });
      } catch (error) {
        throw this.#failure('listing Nodes (for their pod CIDRs)', error);
      }
      const items = isObject(page) && Array.isArray(page.items) ? (page.items as unknown[]) : [];
      for (const item of items) nodes.push(podCIDRsOf(item));
      const token = isObject(page) && isObject(page.metadata) ? page.metadata.continue : undefined;
      next = typeof token === 'string' && token !== '' ? token : undefined;
    } while (next !== undefined);
    return nodes;
  }

  async apply(write: Write): Promise<void> {
    try {
      switch (write.verb) {
        case 'create':
          await this.#client.json({ method: 'POST', path: apiPath(write.ref, false), body: { contentType: JSON_BODY, value: write.body } });
          return;
        case 'update':
          await this.#client.json({ method: 'PUT', path: apiPath(write.ref, true), body: { contentType: JSON_BODY, value: write.body } });
          return;
        case 'patch':
          await this.#client.json({ method: 'PATCH', path: apiPath(write.ref, true), body: { contentType: 'application/merge-patch+json', value: write.patch } });
          return;
        case 'delete':
          await this.#client.json({
            method: 'DELETE',
            path: apiPath(write.ref, true),
            body: { contentType: JSON_BODY, value: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: write.uid } } },
          });
          return;
      }
    } catch (error) {
      if (write.verb === 'delete' && error instanceof KubeRequestError && error.status === 404) return; // already gone
      throw this.#failure(`${write.verb} ${describeRef(write.ref)}`, error);
    }
  }

  close(): void {
    this.#client.close();
  }

  #failure(what: string, error: unknown): Error {
    return new Error(`${this.label}: ${what} failed: ${(error as Error).message}`, { cause: error });
  }
}

function podCIDRsOf(node: unknown): string[] {
  const spec = isObject(node) && isObject(node.spec) ? node.spec : {};
  if (Array.isArray(spec.podCIDRs)) return spec.podCIDRs.filter((cidr): cidr is string => typeof cidr === 'string');
  return typeof spec.podCIDR === 'string' && spec.podCIDR !== '' ? [spec.podCIDR] : [];
}
