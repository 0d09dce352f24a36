import { fieldErrors } from './field-errors.ts';
import { isJsonObject, objectAt, type JsonObject, type JsonValue } from './json.ts';
import { timestamp } from './object-meta.ts';
import { API_AUDIENCE, type ServiceAccountRef, type ServiceAccountTokens } from './service-account-tokens.ts';
import { errors } from './status.ts';

/**
 * POST serviceaccounts/<name>/token (authentication.k8s.io/v1
 * TokenRequest, what `kubectl create token` sends): a bound token for the
 * account, an hour by default, at least ten minutes.
 */
const DEFAULT_SECONDS = 3600;
const MIN_SECONDS = 600;
const MAX_SECONDS = 2 ** 32;

export function answerTokenRequest(body: JsonValue | undefined, account: ServiceAccountRef, tokens: ServiceAccountTokens, nowMs: number): JsonObject {
  const request = isJsonObject(body) ? body : {};
  if (request.kind !== undefined && request.kind !== 'TokenRequest') {
    throw errors.badRequest(`the object provided is unrecognized (must be of type TokenRequest): ${JSON.stringify(request.kind)}`);
  }
  const spec = objectAt(request, 'spec');
  const seconds = typeof spec.expirationSeconds === 'number' ? spec.expirationSeconds : DEFAULT_SECONDS;
  const invalid = (detail: string) =>
    errors.invalid({ group: 'authentication.k8s.io', kind: 'TokenRequest' }, account.name, [fieldErrors.invalid('spec.expirationSeconds', seconds, detail)]);
  if (seconds < MIN_SECONDS) throw invalid('may not specify a duration less than 10 minutes');
  if (seconds > MAX_SECONDS) throw invalid('may not specify a duration larger than 2^32 seconds');
  const audiences = Array.isArray(spec.audiences) && spec.audiences.length > 0 ? spec.audiences.map(String) : [API_AUDIENCE];
  const { token, expiresAt } = tokens.bound(account, audiences, seconds, nowMs);
  return {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name: account.name, namespace: account.namespace, creationTimestamp: timestamp(nowMs) },
    spec: { audiences, expirationSeconds: seconds, boundObjectRef: spec.boundObjectRef ?? null },
    status: { token, expirationTimestamp: timestamp(expiresAt) },
  };
}
