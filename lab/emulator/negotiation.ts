/**
 * Accept-header negotiation the way kube-apiserver does it for JSON
 * clients: plain JSON, or a meta.k8s.io Table for kubectl's printing.
 */
export type Representation = { kind: 'json' } | { kind: 'table'; version: string };

export function negotiate(accept: string | undefined, tableAllowed: boolean): Representation | null {
  if (accept === undefined || accept.trim() === '') return { kind: 'json' };
  for (const range of accept.split(',')) {
    const [mediaType = '', ...paramTexts] = range.split(';').map((part) => part.trim());
    const params = new Map(
      paramTexts.map((text) => {
        const [key = '', value = ''] = text.split('=');
        return [key.trim(), value.trim()] as const;
      }),
    );
    const type = mediaType.toLowerCase();
    if (type === '*/*' || type === 'application/*') return { kind: 'json' };
    if (type !== 'application/json') continue;
    const as = params.get('as');
    if (as === undefined) return { kind: 'json' };
    const version = params.get('v');
    if (as === 'Table' && tableAllowed && params.get('g') === 'meta.k8s.io' && (version === 'v1' || version === 'v1beta1')) {
      return { kind: 'table', version: `meta.k8s.io/${version}` };
    }
  }
  return null;
}
