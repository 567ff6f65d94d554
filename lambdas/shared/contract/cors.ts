/**
 * CORS for the browser front end the UI client signs users in to: which request headers and methods a preflight
 * allows and how long a browser may cache it. Which origins are allowed is deployment configuration
 * (CORS_ALLOWED_ORIGINS, default DEFAULT_CORS_ORIGINS in user-pool.ts, next to the callback URLs it derives from).
 *
 * Who answers what, on both stacks:
 * - `OPTIONS` on every resource: API Gateway's mock integration (CDK `defaultCorsPreflightOptions`), emulated by
 *   the local gateway with `preflightHeaders`; no token needed, no function runs.
 * - Gateway responses (401, 404, 5xx, ...): `gatewayCorsHeaders`, so a browser can read why it was refused.
 * - Handler responses: lambdas/shared/http.ts, `Access-Control-Allow-Origin` only for an allowed `Origin`.
 * Tokens travel in the Authorization header, never in cookies, so no response allows credentials.
 */
import { ROUTES } from './routes';

/** Request headers a browser may send: the bearer token, the JSON body type and the idempotency key. */
export const CORS_ALLOW_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key'] as const;

/** The methods of the route table, plus OPTIONS. */
export const CORS_ALLOW_METHODS: readonly string[] = [...new Set(['OPTIONS', ...ROUTES.map((r) => r.method)])];

/** How long a browser may reuse a preflight answer (browsers cap it: Chromium at 2 hours). */
export const CORS_MAX_AGE_SECONDS = 600;

/** Response headers beyond the CORS-safelisted ones that front-end code may read. */
export const CORS_EXPOSE_HEADERS = ['X-Request-Id', 'Retry-After'] as const;

/** `origin` when it is exactly one of `allowed` (origins compare as strings, as browsers send them). */
export function allowedOrigin(origin: string | undefined, allowed: readonly string[]): string | undefined {
  return origin !== undefined && allowed.includes(origin) ? origin : undefined;
}

/**
 * The headers of API Gateway's answer to a preflight, as the mock integration CDK's `addCorsPreflight` builds
 * answers (status 204): the first allowed origin, or the request's `Origin` when it is one of the others. A
 * browser whose origin is not allowed sees another origin and refuses the response itself.
 */
export function preflightHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> {
  const [first] = allowed;
  if (first === undefined) throw new Error('CORS needs at least one allowed origin');
  return {
    'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS.join(','),
    'Access-Control-Allow-Origin': allowedOrigin(origin, allowed) ?? first,
    Vary: 'Origin',
    'Access-Control-Allow-Methods': CORS_ALLOW_METHODS.join(','),
    'Access-Control-Max-Age': String(CORS_MAX_AGE_SECONDS),
  };
}

/** The status of API Gateway's preflight answer (CDK's default for `defaultCorsPreflightOptions`). */
export const PREFLIGHT_STATUS = 204;

/** A gateway response header value: a literal, or a request header's value (API Gateway parameter mapping). */
export type GatewayHeaderValue = { readonly literal: string } | { readonly requestHeader: string };

/**
 * The CORS headers of every gateway response. Gateway responses can only map literals and request parameters, not
 * choose among values: with one allowed origin it is that literal; with several, the request's `Origin` is echoed.
 * Echoing is harmless here: a gateway response body is a fixed error message, and everything that carries data
 * comes from a handler, which allows exactly the listed origins.
 */
export function gatewayCorsHeaders(allowed: readonly string[]): Record<string, GatewayHeaderValue> {
  const [only, ...others] = allowed;
  if (only === undefined) throw new Error('CORS needs at least one allowed origin');
  return {
    'Access-Control-Allow-Origin': others.length === 0 ? { literal: only } : { requestHeader: 'Origin' },
    Vary: { literal: 'Origin' },
  };
}
