/**
 * The local API Gateway: API Gateway REST with a COGNITO_USER_POOLS authorizer and Lambda proxy integrations,
 * serving the route table under the stage prefix (`/v1/...`) on the local stack's one port.
 *
 * Per request, in API Gateway's order: the 10 MB payload limit, route matching (unknown path or method is the
 * MISSING_AUTHENTICATION_TOKEN response, a 404 here; OPTIONS on a resource is the CORS preflight, answered by the
 * mock integration without a token), the Cognito authorizer on every non-public method (401 UNAUTHORIZED for any
 * token problem, including a missing method scope), then the proxy event to the route's function and its result
 * back to the client. A function that fails or returns something unusable is INTEGRATION_FAILURE (502), one that
 * outlives the integration timeout INTEGRATION_TIMEOUT (504), and an event Lambda refuses as larger than its 6 MB
 * request limit (a body between about 6 and 10 MB) a 413: API Gateway accepts up to 10 MB, Lambda does not.
 * Every answer the gateway makes itself is a gateway response from the shared contract, the same ones the CDK
 * stack configures, with the CORS headers. One log line per request, never with a token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { gatewayCorsHeaders } from '../../lambdas/shared/contract/cors';
import { type GatewayAnswer, gatewayAnswer } from '../../lambdas/shared/contract/gateway-responses';
import { API_STAGE } from '../../lambdas/shared/contract/names';
import { type ApiHandlerName, type RouteDef, routeScopes } from '../../lambdas/shared/contract/routes';
import { DEFAULT_CORS_ORIGINS } from '../../lambdas/shared/contract/user-pool';
import { logger as sharedLogger } from '../../lambdas/shared/logger';
import { type HttpRoute, LOCAL_ACCOUNT_ID } from './aws/types';
import { type GatewayClaims, type JwksLike, createCognitoAuthorizer } from './gateway/authorizer';
import { type RequestIds, buildProxyEvent, checkProxyResult, headerValues, newRequestIds, writeProxyResult } from './gateway/proxy';
import { writeGatewayResponse, writePreflight } from './gateway/responses';
import { createRouter } from './gateway/routing';

export type { JwksLike } from './gateway/authorizer';

/** The part of the Powertools logger the gateway uses. */
export interface GatewayLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface LocalGatewayOptions {
  readonly region: string;
  readonly userPoolId: string;
  /** The pool's public JWKS (from the Cognito emulator); read on first use and when an unknown kid shows up. */
  readonly jwks: () => JwksLike;
  /**
   * Runs the route's Lambda function (the same `handler` export that is deployed) with the proxy event. Rejects
   * with an error named `RequestTooLargeException` when Lambda refuses the event as too large (Lambda's Invoke).
   */
  readonly invoke: (functionName: ApiHandlerName, event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  /** Browser origins allowed to call the API (CORS). @default DEFAULT_CORS_ORIGINS */
  readonly corsOrigins?: readonly string[];
  /** @default LOCAL_ACCOUNT_ID */
  readonly accountId?: string;
  /** The RestApi id in `requestContext.apiId`. @default 'localapi01' */
  readonly apiId?: string;
  /**
   * Clock for `requestTime`/`requestTimeEpoch`, in epoch milliseconds. Token `exp`/`nbf` are checked by
   * aws-jwt-verify against the real clock, as on AWS. @default Date.now
   */
  readonly now?: () => number;
  /** @default the shared Powertools logger */
  readonly logger?: GatewayLogger;
  /** API Gateway's integration timeout. @default 29000 */
  readonly integrationTimeoutMs?: number;
  /** How long an unknown kid blocks further JWKS reads. @default 10 */
  readonly unknownKidWaitSeconds?: number;
}

/** API Gateway REST's request payload limit. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000;

type BodyRead = { readonly kind: 'ok'; readonly body: Buffer } | { readonly kind: 'too_large' } | { readonly kind: 'aborted' };

/** Reads the request body up to `limit` bytes; past it, the rest is drained and discarded by the server. */
function readBody(req: IncomingMessage, limit: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    // The client may have gone while the authorizer ran; its 'close' has then been emitted already.
    if (req.destroyed) return resolve({ kind: 'aborted' });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyRead) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        settle({ kind: 'too_large' });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => settle({ kind: 'ok', body: Buffer.concat(chunks) }));
    req.on('error', () => settle({ kind: 'aborted' }));
    req.on('close', () => settle({ kind: 'aborted' }));
  });
}

class IntegrationTimeout extends Error {
  override readonly name = 'IntegrationTimeout';
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new IntegrationTimeout(`No result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Outcome {
  readonly status: number;
  readonly route?: RouteDef;
  /** Why the gateway answered itself, for the log line (never a token). */
  readonly reason?: string;
}

export function createLocalGateway(options: LocalGatewayOptions): HttpRoute {
  const log = options.logger ?? sharedLogger;
  const now = options.now ?? Date.now;
  const accountId = options.accountId ?? LOCAL_ACCOUNT_ID;
  const apiId = options.apiId ?? 'localapi01';
  const integrationTimeoutMs = options.integrationTimeoutMs ?? DEFAULT_INTEGRATION_TIMEOUT_MS;
  const stagePrefix = `/${API_STAGE}`;
  const corsOrigins = options.corsOrigins ?? DEFAULT_CORS_ORIGINS;
  const corsHeaders = gatewayCorsHeaders(corsOrigins);
  const route = createRouter();
  const authorizer = createCognitoAuthorizer({
    region: options.region,
    userPoolId: options.userPoolId,
    jwks: options.jwks,
    ...(options.unknownKidWaitSeconds === undefined ? {} : { unknownKidWaitSeconds: options.unknownKidWaitSeconds }),
  });

  async function serve(req: IncomingMessage, res: ServerResponse, url: URL, ids: RequestIds, epochMs: number): Promise<Outcome> {
    const answer = (a: GatewayAnswer, close = false) =>
      writeGatewayResponse(req, res, a, ids, { close, extraHeaders: corsHeaders });
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_REQUEST_BYTES) {
      return { status: answer(gatewayAnswer('REQUEST_TOO_LARGE'), true), reason: 'too_large' };
    }

    const match = route(req.method ?? '', url.pathname.slice(stagePrefix.length));
    if (match.kind === 'bad_path') {
      return { status: answer(gatewayAnswer('DEFAULT_4XX', 400)), reason: 'bad_path' };
    }
    if (match.kind === 'not_found') {
      return { status: answer(gatewayAnswer('MISSING_AUTHENTICATION_TOKEN')), reason: 'no_route' };
    }
    if (match.kind === 'preflight') {
      req.resume();
      return { status: writePreflight(req, res, corsOrigins, ids), reason: 'cors_preflight' };
    }
    const matched = match.route;

    let claims: GatewayClaims | undefined;
    if (matched.access !== 'public') {
      const auth = await authorizer.authorize(headerValues(req.rawHeaders, 'authorization'), routeScopes(matched.access));
      if (!auth.ok) {
        return { status: answer(gatewayAnswer('UNAUTHORIZED')), route: matched, reason: auth.reason };
      }
      claims = auth.claims;
    }

    const read = await readBody(req, MAX_REQUEST_BYTES);
    if (read.kind === 'aborted') {
      res.destroy();
      return { status: 0, route: matched, reason: 'client_aborted' };
    }
    if (read.kind === 'too_large') {
      return { status: answer(gatewayAnswer('REQUEST_TOO_LARGE'), true), route: matched, reason: 'too_large' };
    }

    const event = buildProxyEvent({
      req,
      url,
      route: matched,
      pathParameters: match.pathParameters,
      claims,
      body: read.body,
      ids,
      epochMs,
      accountId,
      apiId,
    });
    let result: unknown;
    try {
      result = await withTimeout(options.invoke(matched.handler, event), integrationTimeoutMs);
    } catch (err) {
      if (err instanceof IntegrationTimeout) {
        return { status: answer(gatewayAnswer('INTEGRATION_TIMEOUT')), route: matched, reason: 'integration_timeout' };
      }
      const name = err instanceof Error ? err.name : typeof err;
      if (name === 'RequestTooLargeException') {
        // Lambda refused the event (its 6 MB request limit); API Gateway answers 413 with its DEFAULT_4XX
        // response, not the REQUEST_TOO_LARGE one (that is its own 10 MB limit).
        return { status: answer(gatewayAnswer('DEFAULT_4XX', 413)), route: matched, reason: 'lambda_request_too_large' };
      }
      // A failed Lambda function: API Gateway's INTEGRATION_FAILURE, with 502 rather than the type's 504.
      return { status: answer(gatewayAnswer('INTEGRATION_FAILURE', 502)), route: matched, reason: `handler_failed:${name}` };
    }
    const checked = checkProxyResult(result);
    if (!checked.ok) {
      return {
        status: answer(gatewayAnswer('INTEGRATION_FAILURE', 502)),
        route: matched,
        reason: `malformed_result:${checked.reason}`,
      };
    }
    writeProxyResult(res, checked.result, ids);
    return { status: checked.result.statusCode, route: matched };
  }

  return async (req, res, url) => {
    if (url.pathname !== stagePrefix && !url.pathname.startsWith(`${stagePrefix}/`)) return false;
    const started = performance.now();
    const epochMs = now();
    const ids = newRequestIds(epochMs);
    let outcome: Outcome;
    try {
      outcome = await serve(req, res, url, ids, epochMs);
    } catch (err) {
      // A defect in the gateway itself: answer like API Gateway's own 5xx rather than leave the client hanging.
      log.error('local gateway failed', { requestId: ids.requestId, error: err instanceof Error ? err.message : String(err) });
      if (res.headersSent) res.destroy();
      outcome = {
        status: res.headersSent
          ? 0
          : writeGatewayResponse(req, res, gatewayAnswer('DEFAULT_5XX', 500), ids, { extraHeaders: corsHeaders }),
        reason: 'gateway_error',
      };
    }
    // The path, not the URL: a query string may carry a token someone put there by mistake.
    log.info('api request', {
      method: req.method,
      path: url.pathname,
      route: outcome.route?.id ?? null,
      status: outcome.status,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
      requestId: ids.requestId,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
    });
    return true;
  };
}
