import { AUTHENTICATED_GROUP, type UserInfo } from './auth.ts';
import type { RequestAttributes } from './rbac.ts';
import { errors } from './status.ts';

/**
 * Impersonate-* headers (`kubectl --as`, `--as-group`): who the request
 * wants to act as, and what the requester must be allowed for it (the
 * `impersonate` verb on users, groups, serviceaccounts, uids, userextras).
 */
export interface Impersonation {
  user: string;
  groups: string[];
  uid: string;
  extra: Record<string, string[]>;
}

const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;
const EXTRA_PREFIX = 'impersonate-extra-';

/** null without impersonation headers; 400 for groups or extras without a user. */
export function impersonationOf(headers: Record<string, string[] | undefined>): Impersonation | null {
  const user = headers['impersonate-user']?.[0] ?? '';
  const groups = headers['impersonate-group'] ?? [];
  const uid = headers['impersonate-uid']?.[0] ?? '';
  const extra: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(headers)) {
    if (!name.startsWith(EXTRA_PREFIX) || values === undefined) continue;
    try {
      extra[decodeURIComponent(name.slice(EXTRA_PREFIX.length))] = values;
    } catch {
      throw errors.badRequest(`malformed impersonation header ${name}`);
    }
  }
  if (user === '') {
    if (groups.length > 0 || uid !== '' || Object.keys(extra).length > 0) {
      throw errors.badRequest('requested impersonation of groups, uid or extra without impersonating a user');
    }
    return null;
  }
  return { user, groups, uid, extra };
}

function impersonate(requester: UserInfo, resource: string, name: string, apiGroup = '', namespace = '', subresource = ''): RequestAttributes {
  return { user: requester, verb: 'impersonate', resourceRequest: true, path: '', apiGroup, apiVersion: '', namespace, resource, subresource, name };
}

/** What the requester must be allowed, in the order kube checks it. */
export function impersonationChecks(requester: UserInfo, wanted: Impersonation): RequestAttributes[] {
  const account = SERVICE_ACCOUNT.exec(wanted.user);
  const checks = [account === null ? impersonate(requester, 'users', wanted.user) : impersonate(requester, 'serviceaccounts', account[2] ?? '', '', account[1] ?? '')];
  for (const group of wanted.groups) checks.push(impersonate(requester, 'groups', group));
  if (wanted.uid !== '') checks.push(impersonate(requester, 'uids', wanted.uid, 'authentication.k8s.io'));
  for (const [key, values] of Object.entries(wanted.extra)) {
    for (const value of values) checks.push(impersonate(requester, 'userextras', value, 'authentication.k8s.io', '', key));
  }
  return checks;
}

/** The user the request then runs as. */
export function impersonatedUser(wanted: Impersonation): UserInfo {
  const account = SERVICE_ACCOUNT.exec(wanted.user);
  const groups = account === null ? [...wanted.groups] : ['system:serviceaccounts', `system:serviceaccounts:${account[1] ?? ''}`, ...wanted.groups];
  if (wanted.user !== 'system:anonymous' && !groups.includes(AUTHENTICATED_GROUP) && !groups.includes('system:unauthenticated')) groups.push(AUTHENTICATED_GROUP);
  return { name: wanted.user, uid: wanted.uid, groups, ...(Object.keys(wanted.extra).length > 0 ? { extra: wanted.extra } : {}) };
}
