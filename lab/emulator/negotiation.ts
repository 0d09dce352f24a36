/**
 * Accept-header negotiation the way kube-apiserver does it for JSON
 * clients: plain JSON, a meta.k8s.io Table for kubectl's printing,
 * PartialObjectMetadata(List) for metadata-only clients (client-go's
 * metadata informers), or aggregated discovery documents.
 */
export type Representation =
  | { kind: 'json' }
  | { kind: 'table'; version: string }
  /** `as=PartialObjectMetadata` (an object, a watch) or `as=PartialObjectMetadataList` (a list); `version` is `meta.k8s.io/v1` or `/v1beta1`. */
  | { kind: 'metadata' | 'metadata-list'; version: string };

interface MediaRange {
  type: string;
  params: Map<string, string>;
}

function mediaRanges(accept: string): MediaRange[] {
  return accept.split(',').map((range) => {
    const [mediaType = '', ...paramTexts] = range.split(';').map((part) => part.trim());
    const params = new Map(
      paramTexts.map((text) => {
        const [key = '', value = ''] = text.split('=');
        return [key.trim(), value.trim()] as const;
      }),
    );
    return { type: mediaType.toLowerCase(), params };
  });
}

export function negotiate(accept: string | undefined, tableAllowed: boolean): Representation | null {
  if (accept === undefined || accept.trim() === '') return { kind: 'json' };
  for (const { type, params } of mediaRanges(accept)) {
    if (type === '*/*' || type === 'application/*') return { kind: 'json' };
    if (type !== 'application/json') continue;
    const as = params.get('as');
    if (as === undefined) return { kind: 'json' };
    const version = params.get('v');
    if (params.get('g') !== 'meta.k8s.io' || (version !== 'v1' && version !== 'v1beta1')) continue;
    if (as === 'Table' && tableAllowed) return { kind: 'table', version: `meta.k8s.io/${version}` };
    // kube's AllowsMediaTypeTransform: every endpoint may answer in metadata form, writes included.
    if (as === 'PartialObjectMetadata') return { kind: 'metadata', version: `meta.k8s.io/${version}` };
    if (as === 'PartialObjectMetadataList') return { kind: 'metadata-list', version: `meta.k8s.io/${version}` };
  }
  return null;
}

/** Discovery at /api and /apis: aggregated (apidiscovery.k8s.io v2 or v2beta1) when asked for, else the legacy documents. */
export type DiscoveryFormat = 'v2' | 'v2beta1' | 'legacy';

export function negotiateDiscovery(accept: string | undefined): DiscoveryFormat | null {
  if (accept === undefined || accept.trim() === '') return 'legacy';
  for (const { type, params } of mediaRanges(accept)) {
    if (type === '*/*' || type === 'application/*') return 'legacy';
    if (type !== 'application/json') continue;
    const as = params.get('as');
    if (as === undefined) return 'legacy';
    const version = params.get('v');
    if (as === 'APIGroupDiscoveryList' && params.get('g') === 'apidiscovery.k8s.io' && (version === 'v2' || version === 'v2beta1')) return version;
  }
  return null;
}
