/**
 * The route table: the one list of the API's routes. The CDK stack builds API Gateway methods from it, the local
 * gateway serves it, the handlers dispatch on it, the OpenAPI document is generated from it and the security
 * tests are generated from it. A route added here exists everywhere.
 */
import { API_STAGE, RESOURCE_SERVER_IDENTIFIER, USER_ADMIN_SCOPE, resourceScope } from './names';

/** The Lambda functions behind the routes; each is `lambdas/<name>/handler.ts`. */
export const API_HANDLERS = ['credentials', 'profile', 'notes', 'announcements', 'openapi'] as const;
export type ApiHandlerName = (typeof API_HANDLERS)[number];

/**
 * Who may call a route.
 * - `public`: no token (only the OpenAPI document).
 * - `read`: a user token, or a client token with the `read` scope.
 * - `write`: a user token, or a client token with the `write` scope.
 * - `manage`: a user token only (credential management); client tokens never reach the handler.
 */
export type RouteAccess = 'public' | 'read' | 'write' | 'manage';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface PathParam {
  /** Regular expression the value must match in full; anything else is 400 before any lookup. */
  readonly pattern: string;
  readonly description: string;
}

export interface RouteDef {
  /** Unique id; also the OpenAPI operationId. */
  readonly id: string;
  readonly method: HttpMethod;
  /** Path below the stage, API Gateway style: `/credentials/{clientId}/reset`. */
  readonly path: string;
  readonly handler: ApiHandlerName;
  readonly access: RouteAccess;
  readonly summary: string;
  /** Whether the route reads a JSON request body. */
  readonly body?: boolean;
  /** Success status code. */
  readonly status: number;
}

/** Path parameters used by the routes, with the values they accept. */
export const PATH_PARAMS: Readonly<Record<string, PathParam>> = {
  // Cognito app client ids: AWS documents `[\w+]+`, 1-128 characters; Cognito issues 26 lowercase alphanumerics.
  clientId: { pattern: '^[a-z0-9]{1,128}$', description: 'Cognito app client id of the credential' },
  id: {
    pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
    description: 'Note id (a UUID)',
  },
};

/** PATH_PARAMS' patterns, compiled once (no `g` flag, so `test` keeps no state between calls). */
export const PATH_PARAM_PATTERNS: Readonly<Record<string, RegExp>> = Object.fromEntries(
  Object.entries(PATH_PARAMS).map(([name, def]) => [name, new RegExp(def.pattern)]),
);

export const ROUTES: readonly RouteDef[] = [
  { id: 'getOpenApi', method: 'GET', path: '/openapi.json', handler: 'openapi', access: 'public', status: 200,
    summary: 'This API\'s OpenAPI 3.1 document' },
  { id: 'getMe', method: 'GET', path: '/me', handler: 'profile', access: 'read', status: 200,
    summary: 'Who the caller is: internal user id, token kind, scopes' },
  { id: 'listCredentials', method: 'GET', path: '/credentials', handler: 'credentials', access: 'manage', status: 200,
    summary: 'List the caller\'s credentials (never their secrets)' },
  { id: 'createCredential', method: 'POST', path: '/credentials', handler: 'credentials', access: 'manage', body: true,
    status: 201, summary: 'Create a client id + secret bound to the caller; the secret is shown once' },
  { id: 'resetCredential', method: 'POST', path: '/credentials/{clientId}/reset', handler: 'credentials',
    access: 'manage', body: true, status: 200,
    summary: 'Replace a credential with a new pair; the old one stops working at once' },
  { id: 'revokeCredential', method: 'DELETE', path: '/credentials/{clientId}', handler: 'credentials',
    access: 'manage', status: 204, summary: 'Revoke a credential; it stops working at once' },
  { id: 'listNotes', method: 'GET', path: '/notes', handler: 'notes', access: 'read', status: 200,
    summary: 'List the caller\'s notes' },
  { id: 'createNote', method: 'POST', path: '/notes', handler: 'notes', access: 'write', body: true, status: 201,
    summary: 'Create a note owned by the caller' },
  { id: 'getNote', method: 'GET', path: '/notes/{id}', handler: 'notes', access: 'read', status: 200,
    summary: 'Read one of the caller\'s notes' },
  { id: 'deleteNote', method: 'DELETE', path: '/notes/{id}', handler: 'notes', access: 'write', status: 204,
    summary: 'Delete one of the caller\'s notes' },
  { id: 'listAnnouncements', method: 'GET', path: '/announcements', handler: 'announcements', access: 'read',
    status: 200, summary: 'Product announcements, readable by any valid caller' },
];

/**
 * The OAuth scopes API Gateway's Cognito authorizer requires for a route (any one of them passes). Every
 * non-public method has scopes: without them API Gateway would expect ID tokens.
 */
export function routeScopes(access: RouteAccess, resourceServer: string = RESOURCE_SERVER_IDENTIFIER): readonly string[] {
  switch (access) {
    case 'public':
      return [];
    case 'read':
      return [USER_ADMIN_SCOPE, resourceScope('read', resourceServer)];
    case 'write':
      return [USER_ADMIN_SCOPE, resourceScope('write', resourceServer)];
    case 'manage':
      return [USER_ADMIN_SCOPE];
  }
}

/** Names of the path parameters in a route path, in order. */
export function pathParamNames(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
}

/** Full request path of a route including the stage prefix, e.g. `/v1/credentials/{clientId}`. */
export function stagePath(route: RouteDef): string {
  return `/${API_STAGE}${route.path}`;
}

/** Finds the route for an API Gateway `resource` + `httpMethod` pair. */
export function findRoute(method: string, resource: string): RouteDef | undefined {
  return ROUTES.find((r) => r.method === method && r.path === resource);
}
