/**
 * The error hierarchy and the one error-to-status mapper used at the edge. Expected denials are values with a
 * `code`; thrown errors are DevAccessError subclasses; anything else is a 500 whose body never echoes internals.
 */

/** Error codes in response bodies, each with exactly one HTTP status. */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  limit_exceeded: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  /** An Idempotency-Key sent again with a different request (422, as draft-ietf-httpapi-idempotency-key-header asks). */
  idempotency_key_reused: 422,
  throttled: 429,
  internal_error: 500,
  unavailable: 503,
} as const satisfies Record<string, number>;
export type ErrorCode = keyof typeof ERROR_STATUS;

export function statusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

export class DevAccessError extends Error {
  override readonly name: string = 'DevAccessError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.details = options?.details;
  }
  readonly details?: Record<string, unknown>;
  get status(): number {
    return statusOf(this.code);
  }
}

/** Bad input: the offending field is named in `field` (and in the message). */
export class ValidationError extends DevAccessError {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly field?: string,
    code: 'validation_failed' | 'bad_request' | 'payload_too_large' | 'unsupported_media_type' = 'validation_failed',
  ) {
    super(code, message, field === undefined ? undefined : { details: { field } });
  }
}

export class UnauthorizedError extends DevAccessError {
  override readonly name = 'UnauthorizedError';
  constructor(message = 'The access token is missing, invalid or no longer valid') {
    super('unauthorized', message);
  }
}

export class ForbiddenError extends DevAccessError {
  override readonly name = 'ForbiddenError';
  constructor(message: string) {
    super('forbidden', message);
  }
}

export class NotFoundError extends DevAccessError {
  override readonly name = 'NotFoundError';
  constructor(message = 'Not found') {
    super('not_found', message);
  }
}

export class ConflictError extends DevAccessError {
  override readonly name = 'ConflictError';
  constructor(message: string, code: 'conflict' | 'limit_exceeded' = 'conflict') {
    super(code, message);
  }
}

/** A dependency (Cognito, DynamoDB, Step Functions) failed or timed out; safe to retry. */
export class UpstreamError extends DevAccessError {
  override readonly name = 'UpstreamError';
  constructor(message: string, cause?: unknown, code: 'unavailable' | 'throttled' = 'unavailable') {
    super(code, message, { cause });
  }
}

export interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly field?: string };
}

/** Maps anything thrown to a status and a body that is safe to return. Unknown errors become an opaque 500. */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof DevAccessError) {
    const field = err.details?.['field'];
    return {
      status: err.status,
      body: {
        error: { code: err.code, message: err.message, ...(typeof field === 'string' ? { field } : {}) },
      },
    };
  }
  return { status: 500, body: { error: { code: 'internal_error', message: 'Internal error' } } };
}
