import { readFile } from 'node:fs/promises';
import { errors, type ApiError } from './status.ts';

/**
 * Bearer-token authentication against a kube-apiserver static token file
 * (`--token-auth-file`: CSV `token,user,uid[,"groups"]`), re-read on every
 * request so that a rotation takes effect at once.
 */
export type Identity = { kind: 'user'; name: string } | { kind: 'anonymous' };

export function parseTokenFile(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [token = '', user = ''] = line.split(',').map((field) => field.trim());
    if (token !== '' && !token.startsWith('#')) users.set(token, user);
  }
  return users;
}

/** The identity behind an Authorization header; an ApiError (401) when it names no valid token. */
export function authenticate(authorization: string | undefined, users: Map<string, string>): Identity | ApiError {
  if (authorization === undefined || authorization === '') return { kind: 'anonymous' };
  const m = /^Bearer\s+(\S*)\s*$/i.exec(authorization);
  if (!m) return errors.unauthorized();
  const token = m[1] ?? '';
  if (token === '') return { kind: 'anonymous' };
  const user = users.get(token);
  return user === undefined ? errors.unauthorized() : { kind: 'user', name: user };
}

/** What system:anonymous may read on a default cluster (the system:public-info-viewer role). */
const PUBLIC_PATHS = new Set(['/version', '/version/', '/healthz', '/livez', '/readyz']);

export interface Access {
  path: string;
  verb: string;
  /** Set for node requests. */
  name?: string;
  resource?: 'nodes';
}

/** null when allowed; otherwise the 403 kube's RBAC authorizer gives. */
export function authorize(identity: Identity, access: Access): ApiError | null {
  if (identity.kind === 'user' || PUBLIC_PATHS.has(access.path)) return null;
  if (access.resource === undefined) {
    return errors.forbidden(`forbidden: User "system:anonymous" cannot ${access.verb} path "${access.path}"`, {});
  }
  const subject = access.name === undefined ? 'nodes' : `nodes "${access.name}"`;
  return errors.forbidden(
    `${subject} is forbidden: User "system:anonymous" cannot ${access.verb} resource "nodes" in API group "" at the cluster scope`,
    access.name === undefined ? { kind: 'nodes' } : { name: access.name, kind: 'nodes' },
  );
}

export async function readTokenFile(path: string): Promise<Map<string, string>> {
  try {
    return parseTokenFile(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`reading the emulator's token file ${path}`, { cause: error });
  }
}
