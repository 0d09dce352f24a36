import { aggregateText, errorBody, type FieldError } from './field-errors.ts';
import type { JsonObject } from './json.ts';

/**
 * metav1.Status bodies exactly as kube-apiserver writes them, so clients'
 * error handling (reason, code, details) is exercised for real.
 */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message: string; field?: string }[];
  retryAfterSeconds?: number;
}

export interface StatusBody extends JsonObject {
  kind: 'Status';
  apiVersion: 'v1';
}

/** A resource as errors name it: `leases.coordination.k8s.io`, or `nodes` in the core group. */
export interface GroupResource {
  readonly group: string;
  readonly resource: string;
}

/** A kind as 422s name it: `Lease.coordination.k8s.io`, or `Node`. */
export interface GroupKind {
  readonly group: string;
  readonly kind: string;
}

export function qualifiedResource({ group, resource }: GroupResource): string {
  return group === '' ? resource : `${resource}.${group}`;
}

export function qualifiedKind({ group, kind }: GroupKind): string {
  return group === '' ? kind : `${kind}.${group}`;
}

/** A request that failed with a Status the handler sends as is. */
export class ApiError extends Error {
  readonly code: number;
  readonly status: StatusBody;

  constructor(code: number, reason: string, message: string, details?: StatusDetails, continueToken?: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = failureStatus(code, reason, message, details, continueToken);
  }
}

function failureStatus(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
  continueToken?: string,
): StatusBody {
  const body: StatusBody = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: continueToken === undefined ? {} : { continue: continueToken },
    status: 'Failure',
    message,
    reason,
  };
  if (details !== undefined) body.details = details as JsonObject;
  body.code = code;
  return body;
}

/** Status details name a resource by `kind` (yes, the resource) and its group, omitted when empty. */
function resourceDetails(gr: GroupResource, name?: string, uid?: string): StatusDetails {
  const details: StatusDetails = {};
  if (name !== undefined && name !== '') details.name = name;
  if (gr.group !== '') details.group = gr.group;
  details.kind = gr.resource;
  if (uid !== undefined) details.uid = uid;
  return details;
}

/** What DELETE answers when the object is gone (the generic registry's finalizeDelete). */
export function deletedStatus(gr: GroupResource, name: string, uid: string): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: resourceDetails(gr, name, uid) as JsonObject };
}

const MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

export const errors = {
  notFound: (gr: GroupResource, name: string) =>
    new ApiError(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, resourceDetails(gr, name)),
  pathNotFound: () => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {}),
  /** What clients see for a kind the server does not serve (their REST mapping fails; this is the in-process form). */
  notFoundKind: (apiVersion: string, kind: string) =>
    new ApiError(404, 'NotFound', `no matches for kind "${kind}" in version "${apiVersion}"`, { kind }),
  alreadyExists: (gr: GroupResource, name: string) =>
    new ApiError(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, resourceDetails(gr, name)),
  conflict: (gr: GroupResource, name: string, why = MODIFIED) =>
    new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`, resourceDetails(gr, name)),
  badRequest: (message: string) => new ApiError(400, 'BadRequest', message),
  /** 422 with field causes, as apierrors.NewInvalid builds it. */
  invalid: (kind: GroupKind, name: string, fieldErrors: readonly FieldError[]) => {
    const details: StatusDetails = { name };
    if (kind.group !== '') details.group = kind.group;
    details.kind = kind.kind;
    details.causes = fieldErrors.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field }));
    return new ApiError(422, 'Invalid', `${qualifiedKind(kind)} "${name}" is invalid: ${aggregateText(fieldErrors)}`, details);
  },
  unprocessable: (message: string) => new ApiError(422, 'Invalid', message),
  methodNotAllowed: () =>
    new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}),
  unsupportedMediaType: (contentType: string, accepted: readonly string[]) =>
    new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')} (got ${contentType || 'none'})`,
    ),
  /** Without a message: no media type of the Accept header is served; with one, the transformation asked for does not apply (a list asked for as PartialObjectMetadata). */
  notAcceptable: (message = 'only the following media types are accepted: application/json') => new ApiError(406, 'NotAcceptable', message),
  tooLarge: () => new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'),
  unauthorized: () => new ApiError(401, 'Unauthorized', 'Unauthorized'),
  forbidden: (message: string, details?: StatusDetails) => new ApiError(403, 'Forbidden', message, details),
  /** apierrors.NewForbidden: `<resource> "<name>" is forbidden: <why>`. */
  forbiddenResource: (gr: GroupResource, name: string, why: string) =>
    new ApiError(
      403,
      'Forbidden',
      name === '' ? `${qualifiedResource(gr)} is forbidden: ${why}` : `${qualifiedResource(gr)} "${name}" is forbidden: ${why}`,
      resourceDetails(gr, name),
    ),
  /** A resourceVersion older than what is kept: list (HTTP) and watch (ERROR event) alike. */
  expired: (message: string, continueToken?: string) =>
    new ApiError(410, 'Expired', message, undefined, continueToken),
  tooLargeResourceVersion: (requested: number, current: number) =>
    new ApiError(504, 'Timeout', `Timeout: Too large resource version: ${requested}, current: ${current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    }),
  internal: (message: string) => new ApiError(500, 'InternalError', `Internal error occurred: ${message}`),
};
