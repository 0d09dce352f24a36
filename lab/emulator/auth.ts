import { readFile } from 'node:fs/promises';
import { errors, type ApiError } from './status.ts';

/**
 * Who a request is: kube's user.Info. Bearer tokens come from a
 * kube-apiserver static token file (`--token-auth-file`: CSV
 * `token,user,uid[,"group1,group2"]`, re-read on every request so that a
 * rotation takes effect at once) or are service account tokens the
 * emulator signed.
 */
export interface UserInfo {
  readonly name: string;
  readonly uid: string;
  readonly groups: readonly string[];
  /** user.Info's Extra (impersonation may set it). */
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

export const ANONYMOUS: UserInfo = { name: 'system:anonymous', uid: '', groups: ['system:unauthenticated'] };
export const AUTHENTICATED_GROUP = 'system:authenticated';
export const MASTERS_GROUP = 'system:masters';

/** Splits one CSV line, honouring double quotes (the groups field is quoted: it holds commas). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      if (quoted && line[i + 1] === '"') {
        current += '"';
        i++;
      } else {
        quoted = !quoted;
      }
    } else if (c === ',' && !quoted) {
      fields.push(current.trim());
      current = '';
    } else {
      current += c;
    }
  }
  fields.push(current.trim());
  return fields;
}

export function parseTokenFile(text: string): Map<string, UserInfo> {
  const users = new Map<string, UserInfo>();
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const [token = '', name = '', uid = '', groups = ''] = csvFields(line);
    if (token === '' || name === '') continue;
    const listed = groups === '' ? [] : groups.split(',').map((g) => g.trim()).filter((g) => g !== '');
    users.set(token, { name, uid, groups: [...listed, AUTHENTICATED_GROUP] });
  }
  return users;
}

/** Service account tokens: the user behind a token the emulator signed, or null when it is not one (or no longer valid). */
export type TokenVerifier = (token: string) => UserInfo | null;

/** The identity behind an Authorization header; an ApiError (401) when it names no valid token. */
export function authenticate(authorization: string | undefined, users: Map<string, UserInfo>, verify: TokenVerifier): UserInfo | ApiError {
  if (authorization === undefined || authorization === '') return ANONYMOUS;
  const m = /^Bearer\s+(\S*)\s*$/i.exec(authorization);
  if (!m) return errors.unauthorized();
  const token = m[1] ?? '';
  if (token === '') return ANONYMOUS;
  return users.get(token) ?? verify(token) ?? errors.unauthorized();
}

export async function readTokenFile(path: string): Promise<Map<string, UserInfo>> {
  try {
    return parseTokenFile(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`reading the emulator's token file ${path}`, { cause: error });
  }
}
