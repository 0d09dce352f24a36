/**
 * List continue tokens in kube-apiserver's own format (base64url of
 * {"v":"meta.k8s.io/v1","rv":N,"start":"<key after the last item>"}), so
 * clients that peek into them see what they would see in production.
 */
export interface ContinuePosition {
  /** The list's resourceVersion; -1 asks for the rest of the list at the latest version. */
  resourceVersion: number;
  /** Names >= start are still to come. */
  start: string;
}

export function encodeContinue(position: ContinuePosition): string {
  const json = JSON.stringify({ v: 'meta.k8s.io/v1', rv: position.resourceVersion, start: position.start });
  return Buffer.from(json).toString('base64url');
}

/** Throws with the message of the 400 the apiserver answers. */
export function decodeContinue(token: string): ContinuePosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch (error) {
    throw new Error('continue key is not valid: could not decode the token', { cause: error });
  }
  const value = parsed as { v?: unknown; rv?: unknown; start?: unknown } | null;
  if (value === null || typeof value !== 'object' || value.v !== 'meta.k8s.io/v1') {
    throw new Error('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  if (typeof value.rv !== 'number' || !Number.isInteger(value.rv) || value.rv === 0 || value.rv < -1) {
    throw new Error('continue key is not valid: incorrect encoded start resourceVersion');
  }
  if (typeof value.start !== 'string' || value.start === '') {
    throw new Error('continue key is not valid: encoded start key empty');
  }
  return { resourceVersion: value.rv, start: value.start };
}

/** The smallest name after `name` in byte order, as etcd's "key + \0" is. */
export function nameAfter(name: string): string {
  return `${name}\u0000`;
}
