import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { describe, expect, it, vi } from 'vitest';
import { SECURITY_SCHEME, buildOpenApiDocument } from '../../lambdas/openapi/document';
import { handler } from '../../lambdas/openapi/handler';
import { RESOURCE_SCOPE_NAMES, USER_ADMIN_SCOPE, fullScope } from '../../lambdas/shared/contract/names';
import { ROUTES, pathParamNames, routeScopes } from '../../lambdas/shared/contract/routes';
import { ERROR_STATUS } from '../../lambdas/shared/errors';
import { apiEvent, bodyOf } from './support/api';

const doc = buildOpenApiDocument() as any;
const operations = ROUTES.map((route) => ({ route, op: doc.paths?.[route.path]?.[route.method.toLowerCase()] }));

function componentValidator(name: string) {
  const ajv = new Ajv2020({ strict: false });
  addFormats(ajv);
  return ajv.compile({ ...doc.components.schemas[name], $defs: undefined });
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with the stage as its server', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: '/v1' }]);
  });

  it('has an operation for every route and nothing else', () => {
    for (const { route, op } of operations) expect(op, `${route.method} ${route.path}`).toBeDefined();
    const count = Object.values(doc.paths).reduce((n: number, item: any) => n + Object.keys(item).length, 0);
    expect(count).toBe(ROUTES.length);
  });

  it('uses the route ids as unique operationIds', () => {
    const ids = operations.map(({ op }) => op.operationId);
    expect(ids).toEqual(ROUTES.map((r) => r.id));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('requires any one of each route\'s scopes, as the authorizer does', () => {
    for (const { route, op } of operations) {
      // One requirement object per scope: alternatives. A single object listing several scopes would mean "all".
      expect(op.security).toEqual(routeScopes(route.access).map((scope) => ({ [SECURITY_SCHEME]: [scope] })));
    }
  });

  it('marks only the document itself as public', () => {
    const open = operations.filter(({ op }) => op.security.length === 0).map(({ route }) => route.id);
    expect(open).toEqual(ROUTES.filter((r) => r.access === 'public').map((r) => r.id));
  });

  it('declares every scope a route requires in its security scheme', () => {
    const flows = doc.components.securitySchemes[SECURITY_SCHEME].flows;
    const declared = new Set([...Object.keys(flows.clientCredentials.scopes), ...Object.keys(flows.authorizationCode.scopes)]);
    for (const route of ROUTES) for (const scope of routeScopes(route.access)) expect(declared).toContain(scope);
    expect(Object.keys(flows.clientCredentials.scopes)).toEqual(RESOURCE_SCOPE_NAMES.map(fullScope));
  });

  it('names the scopes of the configured resource server', () => {
    const custom = buildOpenApiDocument({ resourceServer: 'api.acme.example' }) as any;
    const scopes = Object.keys(custom.components.securitySchemes[SECURITY_SCHEME].flows.clientCredentials.scopes);
    expect(scopes).toEqual(['api.acme.example/read', 'api.acme.example/write']);
    expect(custom.paths['/notes'].post.security).toEqual([
      { [SECURITY_SCHEME]: [USER_ADMIN_SCOPE] },
      { [SECURITY_SCHEME]: ['api.acme.example/write'] },
    ]);
  });

  it('puts a given token URL in the OAuth flows, and a relative placeholder otherwise', () => {
    const withUrl = buildOpenApiDocument({ tokenUrl: 'https://auth.example.com/oauth2/token' }) as any;
    const flows = withUrl.components.securitySchemes[SECURITY_SCHEME].flows;
    expect(flows.clientCredentials.tokenUrl).toBe('https://auth.example.com/oauth2/token');
    expect(flows.authorizationCode.authorizationUrl).toBe('https://auth.example.com/oauth2/authorize');
    expect(doc.components.securitySchemes[SECURITY_SCHEME].flows.clientCredentials.tokenUrl).toBe('/oauth2/token');
  });

  it('declares every path parameter with the pattern the edge enforces', () => {
    for (const { route, op } of operations) {
      const params = (op.parameters ?? []).filter((p: any) => p.in === 'path');
      expect(params.map((p: any) => p.name)).toEqual(pathParamNames(route.path));
      for (const p of params) expect(p.required).toBe(true);
    }
  });

  it('documents the success status of each route, with a body except for 204', () => {
    for (const { route, op } of operations) {
      const success = op.responses[String(route.status)];
      expect(success, route.id).toBeDefined();
      if (route.status === 204) expect(success.content).toBeUndefined();
      else expect(success.content['application/json'].schema).toBeDefined();
    }
  });

  it('gives every route with a body a request schema, and no other route one', () => {
    for (const { route, op } of operations) expect(op.requestBody !== undefined, route.id).toBe(route.body === true);
  });

  it('resolves every $ref', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const name = ref.replace(/^"\$ref":"#\/components\/schemas\//, '').replace(/"$/, '');
      expect(doc.components.schemas[name], ref).toBeDefined();
    }
  });

  it('documents 422 on exactly the routes that take an Idempotency-Key', () => {
    for (const { route, op } of operations) {
      const keyed = (op.parameters ?? []).some((p: any) => p.in === 'header' && p.name === 'Idempotency-Key');
      expect(op.responses['422'] !== undefined, route.id).toBe(keyed);
    }
    expect(operations.filter(({ op }) => op.responses['422'] !== undefined).map(({ route }) => route.id).sort()).toEqual([
      'createCredential',
      'resetCredential',
      'revokeCredential',
    ]);
  });

  it('describes error bodies with every error code', () => {
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual(Object.keys(ERROR_STATUS));
  });

  it('has request schemas that refuse what the handler refuses', () => {
    const create = componentValidator('CreateCredentialRequest');
    expect(create({})).toBe(true);
    expect(create({ name: 'ci', scopes: ['read'] })).toBe(true);
    expect(create({ userId: 'x' })).toBe(false);
    expect(create({ scopes: ['admin'] })).toBe(false);
    expect(create({ scopes: ['read', 'read'] })).toBe(false);
    const note = componentValidator('CreateNoteRequest');
    expect(note({ text: 'x' })).toBe(true);
    expect(note({ text: 'x'.repeat(4001) })).toBe(false);
  });

  it('has a credential response schema that admits a real response and nothing extra', () => {
    const issued = componentValidator('IssuedCredential');
    const body = {
      clientId: 'abc123',
      clientSecret: 's3cr3t',
      name: 'ci',
      scopes: ['read'],
      tokenUrl: 'https://auth.example.com/oauth2/token',
      createdAt: '2026-12-04T10:00:00.000Z',
    };
    expect(issued(body)).toBe(true);
    expect(issued({ ...body, userId: 'u' })).toBe(false);
  });

  it('is served by the openapi function without a token, naming the token endpoint absolutely', async () => {
    // On AWS the token endpoint is on the Cognito domain, not the API's host: a relative URL would be wrong.
    vi.stubEnv('TOKEN_URL', 'https://devaccess.auth.us-east-1.amazoncognito.com/oauth2/token');
    const result = await handler(apiEvent('getOpenApi'));
    vi.unstubAllEnvs();
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual(
      buildOpenApiDocument({ tokenUrl: 'https://devaccess.auth.us-east-1.amazoncognito.com/oauth2/token' }),
    );
    expect(JSON.stringify(bodyOf(result))).toContain('"tokenUrl":"https://devaccess.auth.us-east-1.amazoncognito.com/oauth2/token"');
    expect(result.headers?.['Cache-Control']).toBe('public, max-age=300');
  });
});
