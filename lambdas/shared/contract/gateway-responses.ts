/**
 * What the API gateway itself answers before any handler runs (API Gateway "gateway responses"). The CDK stack
 * configures these on the RestApi and the local gateway answers the same, so a client sees one behaviour on both.
 * 401/403 carry `WWW-Authenticate: Bearer` (RFC 6750 §3); bodies use the error codes of lambdas/shared/errors.ts.
 * Every gateway response also carries the CORS headers of contract/cors.ts (they depend on the deployment's
 * allowed origins, so they are added where the origins are known).
 */
import type { ErrorCode } from '../errors';

export interface GatewayResponseDef {
  /** API Gateway ResponseType. */
  readonly type: string;
  /**
   * The status this response type answers with. Left unset on DEFAULT_4XX and DEFAULT_5XX: a status there would
   * become the status of every response type not customised (INTEGRATION_TIMEOUT 504 -> 502, QUOTA_EXCEEDED
   * 429 -> 400, ...), per "Gateway response types for API Gateway" in the API Gateway developer guide.
   */
  readonly status?: number;
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
  /** Body and headers of every 4xx type above does not customise; the status stays the type's own. */
  default4xx: {
    type: 'DEFAULT_4XX',
    code: 'bad_request',
    message: 'Bad request',
    headers: {},
  },
  /** Body and headers of every 5xx type above does not customise; the status stays the type's own. */
  default5xx: {
    type: 'DEFAULT_5XX',
    code: 'internal_error',
    message: 'Internal error',
    headers: {},
  },
} as const satisfies Record<string, GatewayResponseDef>;

/**
 * API Gateway's own status for each response type ("Gateway response types for API Gateway"); DEFAULT_4XX and
 * DEFAULT_5XX have none. A type not in GATEWAY_RESPONSES answers with this status and the default body.
 */
export const API_GATEWAY_DEFAULT_STATUS: Readonly<Record<string, number>> = {
  ACCESS_DENIED: 403,
  API_CONFIGURATION_ERROR: 500,
  AUTHORIZER_CONFIGURATION_ERROR: 500,
  AUTHORIZER_FAILURE: 500,
  BAD_REQUEST_PARAMETERS: 400,
  BAD_REQUEST_BODY: 400,
  EXPIRED_TOKEN: 403,
  INTEGRATION_FAILURE: 504,
  INTEGRATION_TIMEOUT: 504,
  INVALID_API_KEY: 403,
  INVALID_SIGNATURE: 403,
  MISSING_AUTHENTICATION_TOKEN: 403,
  QUOTA_EXCEEDED: 429,
  REQUEST_TOO_LARGE: 413,
  RESOURCE_NOT_FOUND: 404,
  THROTTLED: 429,
  UNAUTHORIZED: 401,
  UNSUPPORTED_MEDIA_TYPE: 415,
  WAF_FILTERED: 403,
};

/** One answer of the gateway: its response type, its status, and the definition whose body and headers it has. */
export interface GatewayAnswer {
  readonly type: string;
  readonly status: number;
  readonly def: GatewayResponseDef;
}

/**
 * What API Gateway answers for a response type: the customised definition if there is one, else the type's own
 * status (or `status`, when API Gateway gives this occurrence another one, as it answers 502 for a failed Lambda
 * function under INTEGRATION_FAILURE) with the DEFAULT_4XX or DEFAULT_5XX body and headers.
 */
export function gatewayAnswer(type: string, status?: number): GatewayAnswer {
  const customised: GatewayResponseDef | undefined = Object.values(GATEWAY_RESPONSES).find(
    (def: GatewayResponseDef) => def.type === type && def.status !== undefined,
  );
  if (customised?.status !== undefined) return { type, status: customised.status, def: customised };
  const resolved = status ?? API_GATEWAY_DEFAULT_STATUS[type];
  if (resolved === undefined || resolved < 400 || resolved > 599) {
    throw new Error(`No status for gateway response type ${type}`);
  }
  return { type, status: resolved, def: resolved < 500 ? GATEWAY_RESPONSES.default4xx : GATEWAY_RESPONSES.default5xx };
}

/** The JSON body of a gateway response. */
export function gatewayResponseBody(def: GatewayResponseDef): { error: { code: ErrorCode; message: string } } {
  return { error: { code: def.code, message: def.message } };
}
