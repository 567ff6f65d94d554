/**
 * The OpenAPI 3.1 document of the API, generated from the route table (contract/routes.ts) and the zod schemas
 * the handlers validate with, so it cannot list a route, a scope or a field the API does not have. Pure: the
 * openapi function serves it, the local stack and the tests import it.
 *
 * Security: every protected route accepts ANY ONE of its scopes (API Gateway's Cognito authorizer semantics), so
 * each scope is its own security requirement object (alternatives), not one object listing all of them (which
 * would mean "all of these").
 */
import { z } from 'zod';
import { AnnouncementList } from '../announcements/announcements';
import {
  CreateCredentialBody,
  CredentialList,
  IdempotencyKey,
  IssuedCredential,
  ReissuedCredential,
  ResetCredentialBody,
} from '../credentials/schemas';
import { CreateNoteBody, Note, NoteList } from '../notes/schemas';
import { Me } from '../profile/schemas';
import { API_STAGE, RESOURCE_SCOPES, RESOURCE_SERVER_IDENTIFIER, TOKEN_PATH, USER_ADMIN_SCOPE, resourceScope } from '../shared/contract/names';
import type { ResourceScope } from '../shared/contract/names';
import { PATH_PARAMS, ROUTES, type RouteDef, pathParamNames, routeScopes } from '../shared/contract/routes';
import { ERROR_STATUS, type ErrorCode } from '../shared/errors';

export type JsonObject = { [key: string]: unknown };

export interface OpenApiOptions {
  /** The OAuth 2.0 token endpoint (`https://<user pool domain>/oauth2/token`); a relative placeholder when unknown. */
  readonly tokenUrl?: string;
  /** Base URL of the API; defaults to the stage path, relative to wherever the document is served from. */
  readonly serverUrl?: string;
  /** The resource server whose scopes the routes require; defaults to RESOURCE_SERVER_IDENTIFIER. */
  readonly resourceServer?: string;
}

export const SECURITY_SCHEME = 'oauth2';

const ErrorBody = z.strictObject({
  error: z.strictObject({
    code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    field: z.string().optional().describe('The offending request field, for validation errors'),
  }),
});

/** Components: name -> (schema, whether it describes a request (input) or a response (output)). */
const SCHEMAS: Readonly<Record<string, { schema: z.ZodType; io: 'input' | 'output' }>> = {
  Error: { schema: ErrorBody, io: 'output' },
  Me: { schema: Me, io: 'output' },
  CredentialList: { schema: CredentialList, io: 'output' },
  CreateCredentialRequest: { schema: CreateCredentialBody, io: 'input' },
  ResetCredentialRequest: { schema: ResetCredentialBody, io: 'input' },
  IssuedCredential: { schema: IssuedCredential, io: 'output' },
  ReissuedCredential: { schema: ReissuedCredential, io: 'output' },
  NoteList: { schema: NoteList, io: 'output' },
  CreateNoteRequest: { schema: CreateNoteBody, io: 'input' },
  Note: { schema: Note, io: 'output' },
  AnnouncementList: { schema: AnnouncementList, io: 'output' },
};

interface OperationShape {
  readonly request?: string;
  /** Component name of the success body; none for 204 and for the document itself. */
  readonly response?: string;
  /** The route honours the Idempotency-Key header. */
  readonly idempotent?: boolean;
  /** Statuses this route can answer besides the ones every route of its kind can. */
  readonly errors?: readonly number[];
}

/** What the route table does not say about each route. A route missing here fails the build of the document. */
const OPERATIONS: Readonly<Record<string, OperationShape>> = {
  getOpenApi: {},
  getMe: { response: 'Me' },
  listCredentials: { response: 'CredentialList' },
  createCredential: {
    request: 'CreateCredentialRequest',
    response: 'IssuedCredential',
    idempotent: true,
    errors: [409, 503],
  },
  resetCredential: {
    request: 'ResetCredentialRequest',
    response: 'ReissuedCredential',
    idempotent: true,
    errors: [404, 409, 503],
  },
  revokeCredential: { idempotent: true, errors: [404, 409, 503] },
  listNotes: { response: 'NoteList' },
  createNote: { request: 'CreateNoteRequest', response: 'Note' },
  getNote: { response: 'Note', errors: [404] },
  deleteNote: { errors: [404] },
  listAnnouncements: { response: 'AnnouncementList' },
};

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  204: 'No content',
  400: 'Bad request: invalid path parameter, header or body (the body names the field)',
  401: 'The access token is missing, invalid or expired, or its user or client is unknown or revoked',
  403: 'The token lacks a required scope, is not a signed-in user\'s token, or the user lacks the group',
  404: 'No such resource for this caller',
  409: 'Conflict: another change is in progress, or the credential limit is reached',
  413: 'Request body too large',
  415: 'Request body is not application/json',
  422: 'The Idempotency-Key was already used with a different request',
  429: 'Too many requests; retry after the Retry-After delay',
  500: 'Internal error',
  503: 'Temporarily unavailable, or the change is still in progress; retry after the Retry-After delay',
};

function componentSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const json = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    // zod spells formats out as long regular expressions too; the format keyword says it better.
    override: (ctx) => {
      const format = ctx.jsonSchema.format;
      if (format === 'date-time' || format === 'uuid') delete ctx.jsonSchema.pattern;
    },
  }) as JsonObject;
  delete json['$schema'];
  return json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (name: string) => ({ 'application/json': { schema: ref(name) } });

function errorStatuses(route: RouteDef, shape: OperationShape): number[] {
  const statuses = new Set<number>([429, 500]);
  if (route.access !== 'public') [401, 403].forEach((s) => statuses.add(s));
  if (route.body) [400, 413, 415].forEach((s) => statuses.add(s));
  if (pathParamNames(route.path).length > 0 || shape.idempotent) statuses.add(400);
  if (shape.idempotent) statuses.add(422);
  (shape.errors ?? []).forEach((s) => statuses.add(s));
  return [...statuses].sort((a, b) => a - b);
}

/** The security requirement alternatives of a route: one per accepted scope; `[]` for a public route. */
export function securityOf(route: RouteDef, resourceServer: string = RESOURCE_SERVER_IDENTIFIER): Array<Record<string, string[]>> {
  return routeScopes(route.access, resourceServer).map((scope) => ({ [SECURITY_SCHEME]: [scope] }));
}

function operation(route: RouteDef, resourceServer: string): JsonObject {
  const shape = OPERATIONS[route.id];
  if (!shape) throw new Error(`The OpenAPI document has no shape for route ${route.id}`);

  const parameters: JsonObject[] = pathParamNames(route.path).map((name) => {
    const def = PATH_PARAMS[name];
    if (!def) throw new Error(`Route ${route.id} uses undeclared path parameter ${name}`);
    return { name, in: 'path', required: true, description: def.description, schema: { type: 'string', pattern: def.pattern } };
  });
  if (shape.idempotent) {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: IdempotencyKey.description,
      schema: componentSchema(IdempotencyKey, 'input'),
    });
  }

  const success: JsonObject = { description: STATUS_TEXT[route.status] ?? 'Success' };
  if (shape.response) success['content'] = jsonContent(shape.response);
  else if (route.id === 'getOpenApi') success['content'] = { 'application/json': { schema: { type: 'object' } } };
  if (route.id === 'createCredential' || route.id === 'resetCredential') {
    success['headers'] = {
      'Cache-Control': { description: 'Always `no-store`: the body holds a client secret', schema: { type: 'string' } },
    };
  }

  const responses: JsonObject = { [String(route.status)]: success };
  for (const status of errorStatuses(route, shape)) {
    const response: JsonObject = { description: STATUS_TEXT[status] ?? 'Error', content: jsonContent('Error') };
    if (status === 429 || status === 503) {
      response['headers'] = { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } };
    }
    if (status === 401 || status === 403) {
      response['headers'] = { 'WWW-Authenticate': { description: 'RFC 6750 Bearer challenge', schema: { type: 'string' } } };
    }
    responses[String(status)] = response;
  }

  return {
    operationId: route.id,
    summary: route.summary,
    tags: [route.handler],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(shape.request
      ? { requestBody: { required: false, content: jsonContent(shape.request) } }
      : {}),
    responses,
    security: securityOf(route, resourceServer),
  };
}

function scopeDescriptions(resourceServer: string): Record<string, string> {
  return Object.fromEntries(
    (Object.entries(RESOURCE_SCOPES) as Array<[ResourceScope, string]>).map(([name, text]) => [
      resourceScope(name, resourceServer),
      text,
    ]),
  );
}

/** Builds the document. Deterministic: the same route table gives the same document. */
export function buildOpenApiDocument(options: OpenApiOptions = {}): JsonObject {
  const tokenUrl = options.tokenUrl ?? TOKEN_PATH;
  const resourceServer = options.resourceServer ?? RESOURCE_SERVER_IDENTIFIER;
  const authorizationUrl = tokenUrl.replace(/\/oauth2\/token$/, '/oauth2/authorize');

  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of ROUTES) {
    const item = (paths[route.path] ??= {});
    const method = route.method.toLowerCase();
    if (item[method]) throw new Error(`Two routes for ${route.method} ${route.path}`);
    item[method] = operation(route, resourceServer);
  }

  const schemas = Object.fromEntries(
    Object.entries(SCHEMAS).map(([name, { schema, io }]) => [name, componentSchema(schema, io)]),
  );

  return {
    openapi: '3.1.0',
    info: {
      title: 'devaccess API',
      version: '1',
      description:
        'Call the product as yourself from your own programs. Create a credential (client id + secret) while ' +
        'signed in, get a token from the token endpoint with the client_credentials grant, and send it as ' +
        '`Authorization: Bearer <token>`.',
    },
    servers: [{ url: options.serverUrl ?? `/${API_STAGE}` }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'oauth2',
          description:
            'Cognito user pool. Machine clients use the client_credentials grant at the user pool domain\'s ' +
            '`/oauth2/token`; credential management takes a signed-in user\'s token.',
          flows: {
            clientCredentials: { tokenUrl, scopes: scopeDescriptions(resourceServer) },
            authorizationCode: {
              authorizationUrl,
              tokenUrl,
              scopes: { [USER_ADMIN_SCOPE]: 'A signed-in user (required to manage credentials)' },
            },
          },
        },
      },
    },
  };
}
