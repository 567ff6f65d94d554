/**
 * Builders for API Gateway REST proxy events as the Cognito authorizer hands them to a function, token claims of
 * each kind Cognito issues, an in-memory identity lookup, a fake clock and a log capture.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { vi } from 'vitest';
import type { Clock } from '../../../lambdas/shared/clock';
import { USER_ADMIN_SCOPE, fullScope } from '../../../lambdas/shared/contract/names';
import { ROUTES, type RouteDef } from '../../../lambdas/shared/contract/routes';
import type { CredentialRecord, IdentityLookup } from '../../../lambdas/shared/identity-store';
import { logger } from '../../../lambdas/shared/logger';

export type Claims = Record<string, string>;

/** Claims of a signed-in user's access token (API Gateway passes claim values as strings). */
export function userClaims(username: string, scope = `openid ${USER_ADMIN_SCOPE}`, extra: Claims = {}): Claims {
  return {
    sub: '5d2c6f1e-0000-4000-8000-00000000a11c',
    token_use: 'access',
    scope,
    username,
    client_id: 'uiclient0000000000000000ab',
    iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test',
    ...extra,
  };
}

/** Claims of a client-credentials access token: `sub` is the client id, no username. */
export function clientClaims(
  clientId: string,
  scope = `${fullScope('read')} ${fullScope('write')}`,
  extra: Claims = {},
): Claims {
  return {
    sub: clientId,
    token_use: 'access',
    scope,
    client_id: clientId,
    iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test',
    ...extra,
  };
}

export function route(id: string): RouteDef {
  const found = ROUTES.find((r) => r.id === id);
  if (!found) throw new Error(`No route ${id}`);
  return found;
}

export interface EventOptions {
  readonly claims?: Claims | null;
  readonly pathParameters?: Record<string, string>;
  readonly body?: unknown;
  /** Sent as is (no JSON encoding). */
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
  readonly isBase64Encoded?: boolean;
}

/** A REST proxy event for a route of the route table. */
export function apiEvent(routeOrId: RouteDef | string, options: EventOptions = {}): APIGatewayProxyEvent {
  const r = typeof routeOrId === 'string' ? route(routeOrId) : routeOrId;
  const body =
    options.rawBody !== undefined ? options.rawBody : options.body === undefined ? null : JSON.stringify(options.body);
  let path = r.path;
  for (const [name, value] of Object.entries(options.pathParameters ?? {})) path = path.replace(`{${name}}`, value);
  return {
    resource: r.path,
    path,
    httpMethod: r.method,
    headers: {
      ...(body !== null ? { 'Content-Type': 'application/json' } : {}),
      ...options.headers,
    },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: options.pathParameters ?? null,
    stageVariables: null,
    body,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      requestId: 'req-0001',
      stage: 'v1',
      resourcePath: r.path,
      httpMethod: r.method,
      authorizer: options.claims === null || options.claims === undefined ? null : { claims: options.claims },
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

export function bodyOf(result: APIGatewayProxyResult): any {
  return result.body === '' ? undefined : JSON.parse(result.body);
}

/** An identity lookup over plain maps; records every call so tests can see what was (not) looked up. */
export class MapLookup implements IdentityLookup {
  readonly calls: string[] = [];
  constructor(
    readonly users: Record<string, string> = {},
    readonly clients: Record<string, Pick<CredentialRecord, 'userId' | 'status'>> = {},
  ) {}

  async userIdForUsername(username: string): Promise<string | undefined> {
    this.calls.push(`username:${username}`);
    return this.users[username];
  }

  async clientMapping(clientId: string): Promise<Pick<CredentialRecord, 'userId' | 'status'> | undefined> {
    this.calls.push(`client:${clientId}`);
    return this.clients[clientId];
  }
}

/** A clock whose sleep advances time instantly; `sleeps` records every pause. */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public current = Date.parse('2026-12-04T10:00:00.000Z')) {}
  now(): number {
    return this.current;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.current += ms;
  }
}

/** Captures every log line the shared logger writes (at DEBUG) until `stop()`. */
export function captureLogs(): { lines: () => string[]; stop: () => void } {
  const lines: string[] = [];
  const capture = (chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture as typeof process.stdout.write);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture as typeof process.stderr.write);
  logger.setLogLevel('DEBUG');
  return {
    lines: () => [...lines],
    stop: () => {
      logger.setLogLevel('SILENT');
      out.mockRestore();
      err.mockRestore();
    },
  };
}
