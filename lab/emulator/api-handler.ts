import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, readTokenFile, type UserInfo } from './auth.ts';
import { SERVICE_ACCOUNT_TOKEN_TYPE } from './core-types.ts';
import {
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  SERVER_VERSION,
  servedGroups,
  type GroupVersions,
} from './discovery.ts';
import type { ApiContext, Exchange } from './exchange.ts';
import { readJsonBody, sendJson, sendStatus, apiHeaders, type CountBytes } from './http-io.ts';
import { impersonatedUser, impersonationChecks, impersonationOf } from './impersonation.ts';
import { objectAt } from './json.ts';
import { negotiateDiscovery } from './negotiation.ts';
import { groupVersionDocument, openApiIndex, parseOpenApiPath } from './openapi.ts';
import { authorize, forbiddenReason, type RbacObjects, type RequestAttributes } from './rbac.ts';
import { rbacObjects } from './rbac-objects.ts';
import { requestInfo, type RequestInfo } from './request-info.ts';
import type { RequestLog } from './request-log.ts';
import { serveResource } from './resource-handler.ts';
import { answerReview, REVIEW_RESOURCES, reviewResource } from './reviews.ts';
import { API_AUDIENCE } from './service-account-tokens.ts';
import { ApiError, errors } from './status.ts';

export interface RequestCounters {
  requests: number;
  bytesSent: number;
  byVerb: Record<string, number>;
}

export interface ApiHandlerOptions extends ApiContext {
  counters: RequestCounters;
  log: RequestLog;
}

/**
 * kube-apiserver's request pipeline: authentication (static tokens and
 * service account tokens), impersonation, authorization (RBAC), then
 * discovery, OpenAPI, reviews or a resource's REST verbs. Every request
 * is counted and logged with who made it and what it cost.
 */
export function createApiHandler(options: ApiHandlerOptions): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    handle(options, request, response).catch((error: unknown) => {
      options.logger.error({ err: error, method: request.method, url: request.url }, 'emulator: request failed');
      if (!response.headersSent) sendStatus(response, errors.internal((error as Error).message), () => undefined);
      else response.destroy();
    });
  };
}

function attributesOf(info: RequestInfo, user: UserInfo): RequestAttributes {
  if (info.kind === 'nonResource') {
    return { user, verb: info.verb, resourceRequest: false, path: info.path, apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '' };
  }
  return {
    user,
    verb: info.verb,
    resourceRequest: true,
    path: '',
    apiGroup: info.group,
    apiVersion: info.version,
    namespace: info.namespace,
    resource: info.resource,
    subresource: info.subresource,
    name: info.name,
  };
}

/** The 403 kube's authorization filter answers (responsewriters.Forbidden). */
function forbidden(attributes: RequestAttributes, reason: string): ApiError {
  const why = reason === '' ? forbiddenReason(attributes) : `${forbiddenReason(attributes)}: ${reason}`;
  if (!attributes.resourceRequest) return errors.forbidden(`forbidden: ${why}`, {});
  return errors.forbiddenResource({ group: attributes.apiGroup, resource: attributes.resource }, attributes.name, why);
}

/**
 * The user behind a service account token: the token must verify, its
 * account must still exist (same uid); a legacy token's Secret must still
 * hold it; a bound token must not have expired and must be for the API.
 */
function serviceAccountUser(context: ApiContext, token: string): UserInfo | null {
  const claims = context.tokens.verify(token);
  if (claims === null) return null;
  const { account } = claims;
  const stored = context.registry.byResource('', 'serviceaccounts')?.store.get(account.namespace, account.name);
  if (stored === undefined || stored.uid !== account.uid) return null;
  if (claims.kind === 'legacy') {
    const secret = context.registry.byResource('', 'secrets')?.store.get(account.namespace, claims.secretName);
    if (secret === undefined || secret.object.type !== SERVICE_ACCOUNT_TOKEN_TYPE) return null;
    if (objectAt(secret.object, 'data').token !== Buffer.from(token).toString('base64')) return null;
  } else if (claims.expiresAt <= context.now() || !claims.audiences.includes(API_AUDIENCE)) {
    return null;
  }
  return {
    name: `system:serviceaccount:${account.namespace}:${account.name}`,
    uid: account.uid,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${account.namespace}`, 'system:authenticated'],
  };
}

async function identify(context: ApiContext, request: IncomingMessage, rbac: RbacObjects): Promise<UserInfo> {
  const authenticated = authenticate(request.headers.authorization, await readTokenFile(context.tokensFile), (token) => serviceAccountUser(context, token));
  if (authenticated instanceof ApiError) throw authenticated;
  const wanted = impersonationOf(request.headersDistinct);
  if (wanted === null) return authenticated;
  for (const check of impersonationChecks(authenticated, wanted)) {
    const decision = authorize(check, rbac);
    if (!decision.allowed) throw forbidden(check, decision.reason);
  }
  return impersonatedUser(wanted);
}

async function handle(options: ApiHandlerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'https://emulator.invalid');
  const info = requestInfo(request.method ?? 'GET', url.pathname, url.searchParams);
  const { counters, log } = options;
  counters.requests++;
  const verbKey = info.kind === 'nonResource' ? 'discovery' : info.verb;
  counters.byVerb[verbKey] = (counters.byVerb[verbKey] ?? 0) + 1;
  const entry = log.begin({
    user: '',
    client: request.socket.remoteAddress ?? '',
    verb: info.verb,
    apiGroup: info.kind === 'resource' ? info.group : '',
    resource: info.kind === 'resource' ? (info.subresource === '' ? info.resource : `${info.resource}/${info.subresource}`) : '',
    namespace: info.kind === 'resource' ? info.namespace : '',
    name: info.kind === 'resource' ? info.name : '',
    path: url.pathname,
    watch: info.kind === 'resource' && info.verb === 'watch',
    startedAt: options.now(),
  });
  response.on('close', () => log.end(entry, response.statusCode, options.now()));
  const count: CountBytes = (bytes) => {
    counters.bytesSent += bytes;
    entry.bytesSent += bytes;
  };
  try {
    const rbac = rbacObjects(options.registry);
    const user = await identify(options, request, rbac);
    entry.user = user.name;
    const attributes = attributesOf(info, user);
    const decision = authorize(attributes, rbac);
    if (!decision.allowed) throw forbidden(attributes, decision.reason);
    const exchange: Exchange = { context: options, request, response, query: url.searchParams, user, count };
    if (info.kind === 'nonResource') {
      serveNonResource(exchange, url.pathname);
      return;
    }
    if (info.tooDeep) throw errors.pathNotFound();
    const review = reviewResource(info.group, info.version, info.resource);
    if (review !== undefined && info.subresource === '') {
      if (info.verb !== 'create') throw errors.methodNotAllowed();
      const answer = answerReview(review, await readJsonBody(request), user, rbac);
      sendJson(response, 201, JSON.stringify(answer), count);
      return;
    }
    const resource = options.registry.lookup(info.group, info.version, info.resource);
    if (resource === undefined) throw errors.pathNotFound();
    await serveResource(exchange, info, resource);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (response.headersSent) response.end();
    else sendStatus(response, error, count);
  }
}

function serveDiscovery(exchange: Exchange, groups: GroupVersions[], core: boolean): void {
  const format = negotiateDiscovery(exchange.request.headers.accept);
  if (format === null) throw errors.notAcceptable();
  const { response, count, context } = exchange;
  if (format !== 'legacy') {
    const contentType = `application/json;g=apidiscovery.k8s.io;v=${format};as=APIGroupDiscoveryList`;
    sendJson(response, 200, JSON.stringify(aggregatedDiscovery(groups, core, format)), count, { 'Content-Type': contentType, Vary: 'Accept' });
    return;
  }
  sendJson(response, 200, JSON.stringify(core ? apiVersions(context.serverAddress) : apiGroupList(groups)), count, { Vary: 'Accept' });
}

function serveNonResource(exchange: Exchange, path: string): void {
  const { response, count } = exchange;
  const json = (document: object) => sendJson(response, 200, JSON.stringify(document), count);
  if (path === '/healthz' || path === '/livez' || path === '/readyz') {
    count(2);
    response.writeHead(200, apiHeaders('text/plain; charset=utf-8'));
    response.end('ok');
    return;
  }
  if (path === '/version') return json(SERVER_VERSION);
  const groups = servedGroups(exchange.context.registry, REVIEW_RESOURCES);
  if (path === '/api') return serveDiscovery(exchange, groups, true);
  if (path === '/apis') return serveDiscovery(exchange, groups, false);
  if (path === '/openapi/v3') return json(openApiIndex(groups));
  const openApi = parseOpenApiPath(path);
  if (openApi !== null) {
    const group = groups.find((g) => g.group === openApi.group);
    const document = group === undefined ? null : groupVersionDocument(group, openApi.version);
    if (document === null) throw errors.pathNotFound();
    return json(document);
  }
  const m = /^\/(?:api\/(v1)|apis\/([^/]+)(?:\/([^/]+))?)\/?$/.exec(path);
  if (m !== null) {
    const groupName = m[1] !== undefined ? '' : (m[2] ?? '');
    const version = m[1] ?? m[3];
    const group = groups.find((g) => g.group === groupName);
    if (group !== undefined && version === undefined) return json(apiGroup(group));
    if (group !== undefined && version !== undefined && group.versions.includes(version)) return json(apiResourceList(group, version));
  }
  throw errors.pathNotFound();
}
