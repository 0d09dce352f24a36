import { createHash, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { text } from './json.ts';

/**
 * Service account JWTs, signed with the emulator's own key (ES256, which
 * kube-apiserver accepts for --service-account-signing-key-file): legacy
 * tokens for kubernetes.io/service-account-token Secrets and bound tokens
 * for TokenRequest (`kubectl create token`), with kube's claims.
 */

/** kube-apiserver's default --api-audiences and --service-account-issuer on most clusters. */
export const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
const LEGACY_ISSUER = 'kubernetes/serviceaccount';

export interface ServiceAccountRef {
  namespace: string;
  name: string;
  uid: string;
}

/** What a valid token says; whether it is still honoured (secret, account, expiry) is the caller's to check. */
export type TokenClaims =
  | { kind: 'legacy'; account: ServiceAccountRef; secretName: string }
  | { kind: 'bound'; account: ServiceAccountRef; audiences: string[]; expiresAt: number };

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export class ServiceAccountTokens {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly keyId: string;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.keyId = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
  }

  /** The token the tokens controller puts in a service-account-token Secret: it never expires. */
  legacy(account: ServiceAccountRef, secretName: string): string {
    return this.signed({
      iss: LEGACY_ISSUER,
      'kubernetes.io/serviceaccount/namespace': account.namespace,
      'kubernetes.io/serviceaccount/secret.name': secretName,
      'kubernetes.io/serviceaccount/service-account.name': account.name,
      'kubernetes.io/serviceaccount/service-account.uid': account.uid,
      sub: `system:serviceaccount:${account.namespace}:${account.name}`,
    });
  }

  /** A TokenRequest token, valid for `expirationSeconds`. */
  bound(account: ServiceAccountRef, audiences: string[], expirationSeconds: number, nowMs: number): { token: string; expiresAt: number } {
    const now = Math.floor(nowMs / 1000);
    const expiresAt = now + expirationSeconds;
    const token = this.signed({
      aud: audiences,
      exp: expiresAt,
      iat: now,
      iss: API_AUDIENCE,
      jti: randomUUID(),
      'kubernetes.io': { namespace: account.namespace, serviceaccount: { name: account.name, uid: account.uid } },
      nbf: now,
      sub: `system:serviceaccount:${account.namespace}:${account.name}`,
    });
    return { token, expiresAt: expiresAt * 1000 };
  }

  /** The claims of a token this emulator signed; null for anything else. */
  verify(token: string): TokenClaims | null {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const [header = '', payload = '', signature = ''] = parts;
    let valid: boolean;
    try {
      valid = verify('sha256', Buffer.from(`${header}.${payload}`), { key: this.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
    } catch {
      return null;
    }
    if (!valid) return null;
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return null;
    }
    if (claims.iss === LEGACY_ISSUER) {
      return {
        kind: 'legacy',
        account: {
          namespace: text(claims['kubernetes.io/serviceaccount/namespace']),
          name: text(claims['kubernetes.io/serviceaccount/service-account.name']),
          uid: text(claims['kubernetes.io/serviceaccount/service-account.uid']),
        },
        secretName: text(claims['kubernetes.io/serviceaccount/secret.name']),
      };
    }
    const kube = claims['kubernetes.io'] as { namespace?: unknown; serviceaccount?: { name?: unknown; uid?: unknown } } | undefined;
    return {
      kind: 'bound',
      account: { namespace: text(kube?.namespace), name: text(kube?.serviceaccount?.name), uid: text(kube?.serviceaccount?.uid) },
      audiences: Array.isArray(claims.aud) ? claims.aud.map(text) : [text(claims.aud)],
      expiresAt: Number(claims.exp ?? 0) * 1000,
    };
  }

  private signed(claims: object): string {
    const unsigned = `${base64url({ alg: 'ES256', kid: this.keyId })}.${base64url(claims)}`;
    const signature = sign('sha256', Buffer.from(unsigned), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${unsigned}.${signature.toString('base64url')}`;
  }
}
