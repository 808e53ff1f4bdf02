/**
 * `metav1.Status` failures exactly as kube-apiserver words them (k8s.io/apimachinery/pkg/api/errors), so code that
 * branches on `reason`/`code`, and people reading a failed test, see what a real cluster would send.
 */
import type { JsonObject } from './json.js';

export const StatusReason = {
  NotFound: 'NotFound',
  AlreadyExists: 'AlreadyExists',
  Conflict: 'Conflict',
  Invalid: 'Invalid',
  BadRequest: 'BadRequest',
  Expired: 'Expired',
  MethodNotAllowed: 'MethodNotAllowed',
  UnsupportedMediaType: 'UnsupportedMediaType',
  RequestEntityTooLarge: 'RequestEntityTooLarge',
  InternalError: 'InternalError',
  ServiceUnavailable: 'ServiceUnavailable',
  Forbidden: 'Forbidden',
  TooManyRequests: 'TooManyRequests',
} as const;
export type StatusReason = (typeof StatusReason)[keyof typeof StatusReason];

/** One field problem of an Invalid status (`details.causes[]`). */
export interface FieldCause {
  /** `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueForbidden`, ... */
  readonly reason: string;
  readonly field: string;
  /** The full `field: Reason: detail` text, as the real server puts it in `message`. */
  readonly message: string;
}

/** `group/kind/name` of the object a failure is about; `kind` is the resource or the Kind, as each reason uses. */
export interface StatusTarget {
  readonly group: string;
  readonly kind: string;
  readonly name?: string;
  readonly uid?: string;
}

/** A request failed; `status` is the body the server sends, `code` its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: { target?: StatusTarget; causes?: readonly FieldCause[]; retryAfterSeconds?: number },
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The `Status` object sent on the wire. */
  toStatus(): JsonObject {
    const details: JsonObject = {};
    const target = this.details?.target;
    if (target?.name !== undefined) details.name = target.name;
    if (target && target.group !== '') details.group = target.group;
    if (target) details.kind = target.kind;
    if (target?.uid !== undefined) details.uid = target.uid;
    if (this.details?.causes) {
      details.causes = this.details.causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field }));
    }
    if (this.details?.retryAfterSeconds !== undefined) details.retryAfterSeconds = this.details.retryAfterSeconds;
    const status: JsonObject = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (Object.keys(details).length > 0) status.details = details;
    return status;
  }
}

/** `experiments.kubeflow.org` or `pods` (core resources have no group suffix). */
export function qualifiedResource(group: string, resource: string): string {
  return group === '' ? resource : `${resource}.${group}`;
}

export function notFound(group: string, resource: string, name: string): ApiError {
  return new ApiError(404, StatusReason.NotFound, `${qualifiedResource(group, resource)} ${JSON.stringify(name)} not found`, {
    target: { group, kind: resource, name },
  });
}

/** The URL names no resource this server serves. */
export function noSuchResource(): ApiError {
  return new ApiError(404, StatusReason.NotFound, 'the server could not find the requested resource', {});
}

export function alreadyExists(group: string, resource: string, name: string): ApiError {
  return new ApiError(409, StatusReason.AlreadyExists, `${qualifiedResource(group, resource)} ${JSON.stringify(name)} already exists`, {
    target: { group, kind: resource, name },
  });
}

export function conflict(group: string, resource: string, name: string, why: string): ApiError {
  return new ApiError(409, StatusReason.Conflict, `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} ${JSON.stringify(name)}: ${why}`, {
    target: { group, kind: resource, name },
  });
}

/** The stale-resourceVersion conflict. */
export const OBJECT_MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

/** A field problem; `detail` follows `Invalid value: <value>: ` in the message. */
export function fieldInvalid(field: string, value: unknown, detail: string): FieldCause {
  return { reason: 'FieldValueInvalid', field, message: `${field}: Invalid value: ${renderValue(value)}: ${detail}` };
}

export function fieldRequired(field: string, detail = ''): FieldCause {
  return { reason: 'FieldValueRequired', field, message: `${field}: Required value${detail ? `: ${detail}` : ''}` };
}

export function fieldNotSupported(field: string, value: unknown, supported: readonly unknown[]): FieldCause {
  const list = supported.map((v) => renderValue(v)).join(', ');
  return { reason: 'FieldValueNotSupported', field, message: `${field}: Unsupported value: ${renderValue(value)}: supported values: ${list}` };
}

export function fieldForbidden(field: string, detail: string): FieldCause {
  return { reason: 'FieldValueForbidden', field, message: `${field}: Forbidden: ${detail}` };
}

/** `Kind.group "name" is invalid: cause` (several causes are listed in brackets, as the real aggregate prints). */
export function invalid(group: string, kind: string, name: string, causes: readonly FieldCause[]): ApiError {
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const text = causes.length === 1 ? (causes[0]?.message ?? '') : `[${causes.map((c) => c.message).join(', ')}]`;
  return new ApiError(422, StatusReason.Invalid, `${qualifiedKind} ${JSON.stringify(name)} is invalid: ${text}`, {
    target: { group, kind, name },
    causes,
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, StatusReason.BadRequest, message);
}

/** A watch or list from a resourceVersion older than the server's retained history. */
export function expired(requested: number, oldest: number): ApiError {
  return new ApiError(410, StatusReason.Expired, `too old resource version: ${requested} (${oldest})`);
}

export function methodNotAllowed(method: string): ApiError {
  return new ApiError(405, StatusReason.MethodNotAllowed, `the server does not allow this method on the requested resource (${method})`);
}

export function unsupportedMediaType(contentType: string, accepted: readonly string[]): ApiError {
  return new ApiError(
    415,
    StatusReason.UnsupportedMediaType,
    `the body of the request was in an unknown format (${contentType || 'none'}) - accepted media types include: ${accepted.join(', ')}`,
  );
}

export function tooLarge(limit: number): ApiError {
  return new ApiError(413, StatusReason.RequestEntityTooLarge, `etcdserver: request is too large (limit is ${limit} bytes)`);
}

/** How the real server renders a value in a field error: strings quoted, objects as Go would print them roughly. */
function renderValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'null';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
