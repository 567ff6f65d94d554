/**
 * What the API gateway itself answers before any handler runs (API Gateway "gateway responses"). The CDK stack
 * configures these on the RestApi and the local gateway answers the same, so a client sees one behaviour on both.
 * 401/403 carry `WWW-Authenticate: Bearer` (RFC 6750 §3); bodies use the error codes of lambdas/shared/errors.ts.
 */
import type { ErrorCode } from '../errors';

export interface GatewayResponseDef {
  /** API Gateway ResponseType. */
  readonly type: string;
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
}

const bearer = (error?: string) => ({ 'WWW-Authenticate': error ? `Bearer error="${error}"` : 'Bearer' });

export const GATEWAY_RESPONSES = {
  /** No token, invalid/expired token, or a token without any of the method's scopes. */
  unauthorized: {
    type: 'UNAUTHORIZED',
    status: 401,
    code: 'unauthorized',
    message: 'The access token is missing, invalid or expired, or lacks a scope this route requires',
    headers: bearer(),
  },
  accessDenied: {
    type: 'ACCESS_DENIED',
    status: 403,
    code: 'forbidden',
    message: 'Access denied',
    headers: bearer('insufficient_scope'),
  },
  /** API Gateway answers an unknown path or method with MISSING_AUTHENTICATION_TOKEN; we make it a plain 404. */
  notFound: {
    type: 'MISSING_AUTHENTICATION_TOKEN',
    status: 404,
    code: 'not_found',
    message: 'No such route',
    headers: {},
  },
  throttled: {
    type: 'THROTTLED',
    status: 429,
    code: 'throttled',
    message: 'Too many requests',
    headers: {},
  },
  badRequestBody: {
    type: 'BAD_REQUEST_BODY',
    status: 400,
    code: 'bad_request',
    message: 'Bad request',
    headers: {},
  },
  requestTooLarge: {
    type: 'REQUEST_TOO_LARGE',
    status: 413,
    code: 'payload_too_large',
    message: 'Request too large',
    headers: {},
  },
  default4xx: {
    type: 'DEFAULT_4XX',
    status: 400,
    code: 'bad_request',
    message: 'Bad request',
    headers: {},
  },
  default5xx: {
    type: 'DEFAULT_5XX',
    status: 502,
    code: 'internal_error',
    message: 'Internal error',
    headers: {},
  },
} as const satisfies Record<string, GatewayResponseDef>;

/** The JSON body of a gateway response. */
export function gatewayResponseBody(def: GatewayResponseDef): { error: { code: ErrorCode; message: string } } {
  return { error: { code: def.code, message: def.message } };
}
