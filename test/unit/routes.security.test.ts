/**
 * Security cases generated from the route table: every protected route of every function refuses every kind of
 * token that must not reach it, before any of the function's dependencies is touched. A route added to the table
 * is covered here without writing a test.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createAnnouncementsHandler } from '../../lambdas/announcements/handler';
import { createCredentialsHandler } from '../../lambdas/credentials/handler';
import { createNotesHandler } from '../../lambdas/notes/handler';
import { createOpenApiHandler } from '../../lambdas/openapi/handler';
import { createProfileHandler } from '../../lambdas/profile/handler';
import { USER_ADMIN_SCOPE, fullScope } from '../../lambdas/shared/contract/names';
import { type ApiHandlerName, ROUTES, type RouteDef, pathParamNames } from '../../lambdas/shared/contract/routes';
import { type Claims, MapLookup, apiEvent, bodyOf, clientClaims, userClaims } from './support/api';

// The token endpoint is on the Cognito domain; the document names it absolutely.
const openApiHandler = createOpenApiHandler(() => 'https://devaccess.auth.us-east-1.amazoncognito.com/oauth2/token');

const ALICE = 'a1a1a1a1-0000-4000-8000-000000000001';
const ACTIVE = 'alice0client0000000000000a';
const REVOKED = 'revoked0client00000000000r';
const ALL_SCOPES = `${USER_ADMIN_SCOPE} ${fullScope('read')} ${fullScope('write')}`;

const EXAMPLE_PARAMS: Record<string, string> = {
  clientId: ACTIVE,
  id: '0f8fad5b-d9cb-469f-a165-70867728950e',
};

function build(name: ApiHandlerName) {
  const state = { reached: false };
  const lookup = new MapLookup(
    { alice: ALICE },
    { [ACTIVE]: { userId: ALICE, status: 'active' }, [REVOKED]: { userId: ALICE, status: 'revoked' } },
  );
  const unreachable = (): never => {
    state.reached = true;
    throw new Error('a refused request reached the function\'s dependencies');
  };
  const handlers: Record<ApiHandlerName, (e: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>> = {
    credentials: createCredentialsHandler(unreachable, () => lookup),
    notes: createNotesHandler(unreachable, () => lookup),
    profile: createProfileHandler(() => lookup),
    announcements: createAnnouncementsHandler(() => lookup),
    openapi: openApiHandler,
  };
  return { handler: handlers[name], state };
}

function eventFor(route: RouteDef, claims: Claims | null): APIGatewayProxyEvent {
  const pathParameters = Object.fromEntries(pathParamNames(route.path).map((n) => [n, EXAMPLE_PARAMS[n] ?? 'x']));
  return apiEvent(route, { claims, pathParameters, ...(route.body ? { body: {} } : {}) });
}

const protectedRoutes = ROUTES.filter((r) => r.access !== 'public');
const manageRoutes = protectedRoutes.filter((r) => r.access === 'manage');
const dataRoutes = protectedRoutes.filter((r) => r.access !== 'manage');

interface Case {
  readonly name: string;
  readonly claims: Claims | null;
  readonly status: 401 | 403;
}

const refusedEverywhere: Case[] = [
  { name: 'no token at all', claims: null, status: 401 },
  { name: 'an ID token of a known user', claims: userClaims('alice', ALL_SCOPES, { token_use: 'id' }), status: 401 },
  { name: 'claims without token_use', claims: { username: 'alice', scope: ALL_SCOPES }, status: 401 },
  { name: 'a user token of an unprovisioned user', claims: userClaims('mallory', ALL_SCOPES), status: 401 },
  {
    name: 'a token whose sub names an active client but that carries no identity claim',
    claims: { token_use: 'access', sub: ACTIVE, scope: ALL_SCOPES },
    status: 401,
  },
  { name: 'a user token without any API scope', claims: userClaims('alice', 'openid email profile'), status: 403 },
];

describe.each(protectedRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s', (_label, route) => {
  it.each(refusedEverywhere.map((c) => [c.name, c] as const))('refuses %s', async (_name, c) => {
    const { handler, state } = build(route.handler);
    const result = await handler(eventFor(route, c.claims));
    expect(result.statusCode).toBe(c.status);
    expect(result.headers?.['WWW-Authenticate']).toMatch(/^Bearer error="(invalid_token|insufficient_scope)"$/);
    expect(bodyOf(result).error.code).toBe(c.status === 401 ? 'unauthorized' : 'forbidden');
    expect(state.reached).toBe(false);
  });
});

describe.each(manageRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s (user tokens only)', (_label, route) => {
  it.each([
    ['an active client with every scope', clientClaims(ACTIVE, ALL_SCOPES)],
    ['a revoked client', clientClaims(REVOKED, ALL_SCOPES)],
  ])('refuses a token of %s with 403', async (_name, claims) => {
    const { handler, state } = build(route.handler);
    const result = await handler(eventFor(route, claims));
    expect(result.statusCode).toBe(403);
    expect(state.reached).toBe(false);
  });

  it('refuses a user token that has only API scopes', async () => {
    const { handler, state } = build(route.handler);
    const result = await handler(eventFor(route, userClaims('alice', `${fullScope('read')} ${fullScope('write')}`)));
    expect(result.statusCode).toBe(403);
    expect(state.reached).toBe(false);
  });
});

describe.each(dataRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s (user or client tokens)', (_label, route) => {
  it('refuses a revoked client with 401', async () => {
    const { handler, state } = build(route.handler);
    const result = await handler(eventFor(route, clientClaims(REVOKED, ALL_SCOPES)));
    expect(result.statusCode).toBe(401);
    expect(state.reached).toBe(false);
  });

  it('refuses an active client without the route\'s scope with 403', async () => {
    const other = route.access === 'read' ? fullScope('write') : fullScope('read');
    const { handler, state } = build(route.handler);
    const result = await handler(eventFor(route, clientClaims(ACTIVE, other)));
    expect(result.statusCode).toBe(403);
    expect(state.reached).toBe(false);
  });
});

describe('public routes', () => {
  it.each(ROUTES.filter((r) => r.access === 'public').map((r) => [r.id, r] as const))('%s answers without a token', async (_id, route) => {
    const { handler } = build(route.handler);
    const result = await handler(eventFor(route, null));
    expect(result.statusCode).toBe(route.status);
  });
});
