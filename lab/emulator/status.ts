import type { JsonObject } from './json.ts';

/**
 * metav1.Status bodies exactly as kube-apiserver writes them, so clients'
 * error handling (reason, code, details) is exercised for real.
 */
export interface StatusDetails {
  name?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message: string; field?: string }[];
  retryAfterSeconds?: number;
}

export interface StatusBody extends JsonObject {
  kind: 'Status';
  apiVersion: 'v1';
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

/** What DELETE of a node returns (the generic registry's finalizeDelete). */
export function deletedStatus(name: string, uid: string): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: 'nodes', uid } };
}

const NODES = 'nodes';

export const errors = {
  notFound: (name: string) => new ApiError(404, 'NotFound', `nodes "${name}" not found`, { name, kind: NODES }),
  pathNotFound: () => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {}),
  alreadyExists: (name: string) =>
    new ApiError(409, 'AlreadyExists', `nodes "${name}" already exists`, { name, kind: NODES }),
  conflict: (name: string) =>
    new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on nodes "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, kind: NODES },
    ),
  badRequest: (message: string) => new ApiError(400, 'BadRequest', message),
  invalid: (name: string, field: string, message: string) =>
    new ApiError(422, 'Invalid', `Node "${name}" is invalid: ${field}: ${message}`, {
      name,
      kind: 'Node',
      causes: [{ reason: 'FieldValueInvalid', message, field }],
    }),
  unprocessable: (message: string) => new ApiError(422, 'Invalid', message),
  methodNotAllowed: () =>
    new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}),
  unsupportedMediaType: (contentType: string) =>
    new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${contentType || 'none'})`,
    ),
  notAcceptable: () =>
    new ApiError(406, 'NotAcceptable', 'only the following media types are accepted: application/json'),
  tooLarge: () => new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'),
  unauthorized: () => new ApiError(401, 'Unauthorized', 'Unauthorized'),
  forbidden: (message: string, details?: StatusDetails) => new ApiError(403, 'Forbidden', message, details),
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
