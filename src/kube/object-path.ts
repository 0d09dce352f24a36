/**
 * The API path of one object of a collection: `/api/v1/nodes` + `n1` is
 * `/api/v1/nodes/n1`; an object of a namespaced resource watched across
 * namespaces (`/apis/g/v/things`) lives under its namespace
 * (`/apis/g/v/namespaces/ns/things/x`).
 */
export function objectPath(collection: string, namespace: string | null, name: string): string {
  const encoded = encodeURIComponent(name);
  if (namespace === null || namespace === '' || collection.includes('/namespaces/')) return `${collection}/${encoded}`;
  const cut = collection.lastIndexOf('/');
  return `${collection.slice(0, cut)}/namespaces/${encodeURIComponent(namespace)}${collection.slice(cut)}/${encoded}`;
}
