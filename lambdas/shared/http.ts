/**
 * The edge of every API handler: API Gateway REST proxy event in, proxy result out. `createApiHandler` finds the
 * route in the route table, runs the resolver (the one place a caller's identity is decided), validates path
 * parameters and the body envelope, calls the route's implementation and maps whatever it throws to a JSON error
 * body with one status per error code. Route implementations stay free of HTTP and identity plumbing.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { z } from 'zod';
import { loadConfig } from './config';
import { CORS_EXPOSE_HEADERS, allowedOrigin } from './contract/cors';
import { MAX_BODY_BYTES } from './contract/names';
import {
  type ApiHandlerName,
  PATH_PARAMS,
  PATH_PARAM_PATTERNS,
  ROUTES,
  type RouteDef,
  findRoute,
  pathParamNames,
  routeScopes,
} from './contract/routes';
import { upstreamErrorFor } from './aws-errors';
import { DevAccessError, ForbiddenError, NotFoundError, UnauthorizedError, ValidationError, toErrorResponse } from './errors';
import type { IdentityLookup } from './identity-store';
import { logger } from './logger';
import { type Caller, resolveCaller } from './resolver';

export interface ApiRequest {
  readonly route: RouteDef;
  readonly caller: Caller;
  readonly pathParams: Readonly<Record<string, string>>;
  /** Request headers with lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body (`undefined` when the request has none). */
  readonly body: unknown;
  readonly requestId: string;
}

export interface PublicRequest extends Omit<ApiRequest, 'caller'> {
  readonly caller?: undefined;
}

export interface ApiResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export type RouteImpl = (req: ApiRequest) => Promise<ApiResult>;
export type PublicRouteImpl = (req: PublicRequest) => Promise<ApiResult>;

const JSON_HEADERS = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
} as const;

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { ...JSON_HEADERS, ...headers },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}

/**
 * The error response for anything thrown; 401/403 carry `WWW-Authenticate: Bearer` (RFC 6750 §3); 429/503 carry
 * `Retry-After` (RFC 9110 §10.2.3), from `details.retryAfterSeconds` when the error sets it.
 */
export function errorResponse(err: unknown, requestId?: string): APIGatewayProxyResult {
  const { status, body } = toErrorResponse(err);
  const headers: Record<string, string> = requestId ? { 'X-Request-Id': requestId } : {};
  if (status === 401) headers['WWW-Authenticate'] = 'Bearer error="invalid_token"';
  if (status === 403) headers['WWW-Authenticate'] = 'Bearer error="insufficient_scope"';
  if (status === 429 || status === 503) {
    const retryAfter = err instanceof DevAccessError ? err.details?.['retryAfterSeconds'] : undefined;
    headers['Retry-After'] = String(typeof retryAfter === 'number' ? retryAfter : 1);
  }
  return jsonResponse(status, body, headers);
}

/**
 * CORS headers of a handler response: `Access-Control-Allow-Origin` only for an origin on the list (exactly as the
 * browser sends it), and `Vary: Origin` always, since the answer depends on it. No `Allow-Credentials`: the token
 * travels in the Authorization header, never in a cookie.
 */
export function corsHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> {
  const match = allowedOrigin(origin, allowed);
  if (match === undefined) return { Vary: 'Origin' };
  return {
    'Access-Control-Allow-Origin': match,
    'Access-Control-Expose-Headers': CORS_EXPOSE_HEADERS.join(', '),
    Vary: 'Origin',
  };
}

/** Adds the CORS headers to a response, keeping any `Vary` the route set. */
function withCors(response: APIGatewayProxyResult, cors: Record<string, string>): APIGatewayProxyResult {
  const headers: Record<string, string | number | boolean> = { ...response.headers };
  const varyKey = Object.keys(headers).find((name) => name.toLowerCase() === 'vary');
  const vary = varyKey === undefined ? undefined : String(headers[varyKey]);
  if (varyKey !== undefined) delete headers[varyKey];
  Object.assign(headers, cors);
  if (vary !== undefined) {
    headers['Vary'] = vary.split(',').some((v) => v.trim().toLowerCase() === 'origin') ? vary : `${vary}, Origin`;
  }
  return { ...response, headers };
}

function lowerCaseHeaders(headers: APIGatewayProxyEvent['headers'] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (typeof value === 'string') out[name.toLowerCase()] = value;
  }
  return out;
}

function checkPathParams(route: RouteDef, raw: APIGatewayProxyEvent['pathParameters']): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name of pathParamNames(route.path)) {
    const value = raw?.[name];
    const def = PATH_PARAMS[name];
    const pattern = PATH_PARAM_PATTERNS[name];
    if (typeof value !== 'string' || !def || !pattern || !pattern.test(value)) {
      throw new ValidationError(`Path parameter '${name}' is not a valid ${def?.description ?? name}`, name, 'bad_request');
    }
    params[name] = value;
  }
  return params;
}

function parseBody(route: RouteDef, event: APIGatewayProxyEvent, headers: Record<string, string>): unknown {
  const raw = event.body;
  if (raw === null || raw === undefined || raw === '') return undefined;
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    throw new ValidationError(`Request body is larger than ${MAX_BODY_BYTES} bytes`, 'body', 'payload_too_large');
  }
  if (!route.body) {
    throw new ValidationError('This route takes no request body', 'body', 'bad_request');
  }
  const contentType = headers['content-type'];
  if (contentType !== undefined && !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType)) {
    throw new ValidationError('Request body must be application/json', 'content-type', 'unsupported_media_type');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ValidationError('Request body is not valid JSON', 'body', 'bad_request');
  }
}

/** Parses a value with a zod schema; the first problem becomes a 400 naming the offending field. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, root = 'body'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const segments = issue ? issue.path.map(String) : [];
  // A strict object reports an unknown key at the object itself; name the key, so `{"userId": ...}` is refused
  // as `body.userId`, not as `body`.
  if (issue?.code === 'unrecognized_keys' && issue.keys[0] !== undefined) segments.push(issue.keys[0]);
  const path = segments.length > 0 ? `${root}.${segments.join('.')}` : root;
  throw new ValidationError(`${path}: ${issue?.message ?? 'invalid'}`, path);
}

export interface ApiHandlerOptions {
  /** Which function this is; its implementations must cover exactly this function's routes in the route table. */
  readonly name: ApiHandlerName;
  readonly routes: Readonly<Record<string, RouteImpl | PublicRouteImpl>>;
  /** The identity lookups, built once by the function's composition root (lazily, at the first request). */
  readonly lookup: () => IdentityLookup;
  /**
   * Browser origins whose requests may read the responses (CORS); read once, at the first request.
   * @default CORS_ALLOWED_ORIGINS of the function's configuration
   */
  readonly corsOrigins?: () => readonly string[];
  /**
   * The resource server whose scopes the routes require (defense in depth behind API Gateway); read once.
   * @default RESOURCE_SERVER_IDENTIFIER of the function's configuration
   */
  readonly resourceServer?: () => string;
}

export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** Builds a Lambda handler for the routes of one function of the route table. */
export function createApiHandler(options: ApiHandlerOptions): ProxyHandler {
  const expected = ROUTES.filter((r) => r.handler === options.name).map((r) => r.id).sort();
  const given = Object.keys(options.routes).sort();
  if (expected.join() !== given.join()) {
    throw new Error(`Handler '${options.name}' implements [${given.join()}] but the route table has [${expected.join()}]`);
  }

  let origins: readonly string[] | undefined;
  const corsOrigins = (): readonly string[] =>
    (origins ??= (options.corsOrigins ?? (() => loadConfig(['CORS_ALLOWED_ORIGINS']).CORS_ALLOWED_ORIGINS))());
  let identifier: string | undefined;
  const resourceServer = (): string =>
    (identifier ??= (options.resourceServer ?? (() => loadConfig(['RESOURCE_SERVER_IDENTIFIER']).RESOURCE_SERVER_IDENTIFIER))());

  return async (event) => {
    const requestId = event.requestContext?.requestId ?? 'unknown';
    const headers = lowerCaseHeaders(event.headers);
    // Without the list (a configuration error, answered 500 below) no origin is allowed.
    let cors: Record<string, string> = { Vary: 'Origin' };
    try {
      cors = corsHeaders(headers['origin'], corsOrigins());
      const route = findRoute(event.httpMethod, event.resource);
      if (!route || route.handler !== options.name) throw new NotFoundError('No such route');
      const impl = options.routes[route.id];
      if (!impl) throw new NotFoundError('No such route');

      let caller: Caller | undefined;
      if (route.access !== 'public') {
        const resolved = await resolveCaller(event.requestContext?.authorizer?.['claims'], options.lookup(), {
          userOnly: route.access === 'manage',
        });
        if (!resolved.ok) {
          logger.info('caller refused', { route: route.id, reason: resolved.denial.reason });
          throw resolved.denial.code === 'forbidden'
            ? new ForbiddenError('This route accepts signed-in user tokens only')
            : new UnauthorizedError();
        }
        // Defense in depth: API Gateway already enforced the method scopes; a caller without one never passes.
        const required = routeScopes(route.access, resourceServer());
        if (!resolved.caller.scopes.some((s) => required.includes(s))) {
          throw new ForbiddenError(`This route requires one of the scopes: ${required.join(', ')}`);
        }
        caller = resolved.caller;
      }
      const pathParams = checkPathParams(route, event.pathParameters);
      const body = parseBody(route, event, headers);
      const result = await (impl as RouteImpl)({ route, caller: caller as Caller, pathParams, headers, body, requestId });
      return withCors(jsonResponse(result.status, result.body, { 'X-Request-Id': requestId, ...result.headers }), cors);
    } catch (err) {
      // A throttled or failing AWS dependency is a retryable 429/503, not an opaque 500.
      const failure = err instanceof DevAccessError ? err : (upstreamErrorFor(err) ?? err);
      if (!(failure instanceof DevAccessError) || failure.status >= 500) {
        logger.error('request failed', { requestId, error: err as Error });
      } else if (failure.status === 429) {
        logger.warn('dependency throttled', { requestId, error: err as Error });
      }
      return withCors(errorResponse(failure, requestId), cors);
    }
  };
}
