import { TooManyRequestsException } from '@aws-sdk/client-cognito-identity-provider';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { MAX_BODY_BYTES, USER_ADMIN_SCOPE, fullScope } from '../../lambdas/shared/contract/names';
import { UpstreamError } from '../../lambdas/shared/errors';
import { type ApiRequest, type RouteImpl, createApiHandler, validate } from '../../lambdas/shared/http';
import { MapLookup, apiEvent, bodyOf, captureLogs, clientClaims, userClaims } from './support/api';

const ALICE = 'a1a1a1a1-0000-4000-8000-000000000001';
const CLIENT = 'alice0client0000000000000a';
const NOTE_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

function setup(overrides: Partial<Record<string, RouteImpl>> = {}) {
  const seen: ApiRequest[] = [];
  const ok: RouteImpl = async (req) => {
    seen.push(req);
    return { status: req.route.status, body: req.route.status === 204 ? undefined : { ok: true } };
  };
  const routes = { listNotes: ok, createNote: ok, getNote: ok, deleteNote: ok, ...overrides };
  const lookup = new MapLookup({ alice: ALICE }, { [CLIENT]: { userId: ALICE, status: 'active' } });
  const handler = createApiHandler({ name: 'notes', routes: routes as Record<string, RouteImpl>, lookup: () => lookup });
  return { handler, seen, lookup };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createApiHandler', () => {
  it('refuses to build a handler whose implementations differ from the route table', () => {
    const ok: RouteImpl = async () => ({ status: 200 });
    expect(() => createApiHandler({ name: 'notes', routes: { listNotes: ok }, lookup: () => new MapLookup() })).toThrow(
      /implements \[listNotes\] but the route table has/,
    );
  });

  it('passes the resolved caller, path parameters, headers and parsed body to the route', async () => {
    const { handler, seen } = setup();
    const result = await handler(
      apiEvent('createNote', { claims: clientClaims(CLIENT), body: { text: 'hi' }, headers: { 'X-Trace': 't1' } }),
    );
    expect(result.statusCode).toBe(201);
    expect(result.headers).toMatchObject({ 'X-Request-Id': 'req-0001', 'Cache-Control': 'no-store' });
    expect(seen[0]?.caller).toEqual({ userId: ALICE, via: 'client', clientId: CLIENT, scopes: [fullScope('read'), fullScope('write')] });
    expect(seen[0]?.body).toEqual({ text: 'hi' });
    expect(seen[0]?.headers['x-trace']).toBe('t1');
  });

  it('answers 404 for a route that is not in the table', async () => {
    const { handler } = setup();
    const event = { ...apiEvent('listNotes', { claims: userClaims('alice') }), resource: '/admin' };
    const result = await handler(event);
    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toEqual({ error: { code: 'not_found', message: 'No such route' } });
  });

  it('answers 404 for a route that belongs to another function', async () => {
    const { handler, lookup } = setup();
    const result = await handler(apiEvent('getMe', { claims: userClaims('alice') }));
    expect(result.statusCode).toBe(404);
    expect(lookup.calls).toEqual([]);
  });

  it('refuses a path parameter that does not match its pattern with 400, before the route runs', async () => {
    const { handler, seen } = setup();
    const result = await handler(
      apiEvent('getNote', { claims: userClaims('alice'), pathParameters: { id: '../../etc/passwd' } }),
    );
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result).error).toMatchObject({ code: 'bad_request', field: 'id' });
    expect(seen).toHaveLength(0);
  });

  it('accepts a well-formed path parameter', async () => {
    const { handler, seen } = setup();
    const result = await handler(apiEvent('getNote', { claims: userClaims('alice'), pathParameters: { id: NOTE_ID } }));
    expect(result.statusCode).toBe(200);
    expect(seen[0]?.pathParams).toEqual({ id: NOTE_ID });
  });

  it('refuses a body over the size limit with 413', async () => {
    const { handler, seen } = setup();
    const text = 'x'.repeat(MAX_BODY_BYTES);
    const result = await handler(apiEvent('createNote', { claims: userClaims('alice'), body: { text } }));
    expect(result.statusCode).toBe(413);
    expect(bodyOf(result).error.code).toBe('payload_too_large');
    expect(seen).toHaveLength(0);
  });

  it('measures the size limit in bytes, not characters', async () => {
    const { handler } = setup();
    // 6000 three-byte characters: under the limit in characters, over it in bytes.
    const result = await handler(apiEvent('createNote', { claims: userClaims('alice'), body: { text: '€'.repeat(6000) } }));
    expect(result.statusCode).toBe(413);
  });

  it('refuses malformed JSON with 400', async () => {
    const { handler } = setup();
    const result = await handler(apiEvent('createNote', { claims: userClaims('alice'), rawBody: '{"text": ' }));
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result).error).toEqual({ code: 'bad_request', message: 'Request body is not valid JSON', field: 'body' });
  });

  it('refuses a body that is not JSON by content type with 415', async () => {
    const { handler } = setup();
    const result = await handler(
      apiEvent('createNote', {
        claims: userClaims('alice'),
        rawBody: 'text=hi',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      }),
    );
    expect(result.statusCode).toBe(415);
    expect(bodyOf(result).error.code).toBe('unsupported_media_type');
  });

  it('accepts a JSON media type with parameters or a +json suffix', async () => {
    const { handler } = setup();
    for (const contentType of ['application/json; charset=utf-8', 'application/merge-patch+json']) {
      const result = await handler(
        apiEvent('createNote', { claims: userClaims('alice'), body: { text: 'x' }, headers: { 'Content-Type': contentType } }),
      );
      expect(result.statusCode).toBe(201);
    }
  });

  it('decodes a base64-encoded body', async () => {
    const { handler, seen } = setup();
    const rawBody = Buffer.from(JSON.stringify({ text: 'from base64' })).toString('base64');
    await handler(apiEvent('createNote', { claims: userClaims('alice'), rawBody, isBase64Encoded: true }));
    expect(seen[0]?.body).toEqual({ text: 'from base64' });
  });

  it('refuses a body on a route that takes none', async () => {
    const { handler, seen } = setup();
    const result = await handler(
      apiEvent('deleteNote', { claims: userClaims('alice'), pathParameters: { id: NOTE_ID }, body: { all: true } }),
    );
    expect(result.statusCode).toBe(400);
    expect(seen).toHaveLength(0);
  });

  it('answers 401 with a Bearer challenge when the claims resolve to no one', async () => {
    const { handler, seen } = setup();
    for (const claims of [null, userClaims('mallory'), clientClaims('unknown0client000000000000')]) {
      const result = await handler(apiEvent('listNotes', { claims }));
      expect(result.statusCode).toBe(401);
      expect(result.headers?.['WWW-Authenticate']).toBe('Bearer error="invalid_token"');
      expect(bodyOf(result).error.code).toBe('unauthorized');
    }
    expect(seen).toHaveLength(0);
  });

  it('answers 403 with an insufficient_scope challenge when the token lacks the route\'s scope', async () => {
    // Defense in depth: API Gateway checks method scopes first; a token that slips past still stops here.
    const { handler, seen } = setup();
    const readOnly = await handler(apiEvent('createNote', { claims: clientClaims(CLIENT, fullScope('read')), body: { text: 'x' } }));
    expect(readOnly.statusCode).toBe(403);
    expect(readOnly.headers?.['WWW-Authenticate']).toBe('Bearer error="insufficient_scope"');
    const openIdOnly = await handler(apiEvent('listNotes', { claims: userClaims('alice', 'openid email') }));
    expect(openIdOnly.statusCode).toBe(403);
    expect(seen).toHaveLength(0);
  });

  it('requires the scopes of the configured resource server, not the default one', async () => {
    // Prepare
    const lookup = new MapLookup({}, { [CLIENT]: { userId: ALICE, status: 'active' } });
    const ok: RouteImpl = async () => ({ status: 200, body: {} });
    const handler = createApiHandler({
      name: 'notes',
      routes: { listNotes: ok, createNote: ok, getNote: ok, deleteNote: ok },
      lookup: () => lookup,
      resourceServer: () => 'api.acme.example',
    });
    // Act
    const theirs = await handler(apiEvent('listNotes', { claims: clientClaims(CLIENT, 'api.acme.example/read') }));
    const ours = await handler(apiEvent('listNotes', { claims: clientClaims(CLIENT, fullScope('read')) }));
    // Assess
    expect([theirs.statusCode, ours.statusCode]).toEqual([200, 403]);
  });

  it('lets a user token with the user-admin scope through a read or write route', async () => {
    const { handler } = setup();
    const result = await handler(apiEvent('createNote', { claims: userClaims('alice', USER_ADMIN_SCOPE), body: { text: 'x' } }));
    expect(result.statusCode).toBe(201);
  });

  it('answers 403 to a client token on a user-only route', async () => {
    const ok: RouteImpl = async () => ({ status: 200, body: {} });
    const handler = createApiHandler({
      name: 'credentials',
      routes: { listCredentials: ok, createCredential: ok, resetCredential: ok, revokeCredential: ok },
      lookup: () => new MapLookup({}, { [CLIENT]: { userId: ALICE, status: 'active' } }),
    });
    const result = await handler(apiEvent('listCredentials', { claims: clientClaims(CLIENT, USER_ADMIN_SCOPE) }));
    expect(result.statusCode).toBe(403);
    expect(bodyOf(result).error.message).toMatch(/user tokens only/);
  });

  it('hides the internals of an unexpected error behind an opaque 500 and logs it', async () => {
    const logs = captureLogs();
    try {
      const { handler } = setup({
        listNotes: async () => {
          throw new Error('connect to table prod-notes-7f3a failed at 10.0.3.7');
        },
      });
      const result = await handler(apiEvent('listNotes', { claims: userClaims('alice') }));
      expect(result.statusCode).toBe(500);
      expect(bodyOf(result)).toEqual({ error: { code: 'internal_error', message: 'Internal error' } });
      expect(result.body).not.toContain('prod-notes');
      expect(logs.lines().join('\n')).toContain('prod-notes-7f3a');
    } finally {
      logs.stop();
    }
  });

  it('answers 429 with Retry-After when an AWS call is throttled, without the SDK message', async () => {
    const { handler } = setup({
      listNotes: async () => {
        throw new TooManyRequestsException({ message: 'Rate exceeded for us-east-1_SecretPool', $metadata: {} });
      },
    });
    const result = await handler(apiEvent('listNotes', { claims: userClaims('alice') }));
    expect(result.statusCode).toBe(429);
    expect(result.headers?.['Retry-After']).toBe('1');
    expect(bodyOf(result).error.code).toBe('throttled');
    expect(result.body).not.toContain('SecretPool');
  });

  it('answers 503 with Retry-After when an AWS dependency fails on its side', async () => {
    const { handler } = setup({
      listNotes: async () => {
        throw Object.assign(new Error('We encountered an internal error'), {
          name: 'InternalServerError',
          $fault: 'server',
          $metadata: { httpStatusCode: 500 },
        });
      },
    });
    const result = await handler(apiEvent('listNotes', { claims: userClaims('alice') }));
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['Retry-After']).toBe('1');
    expect(bodyOf(result).error.code).toBe('unavailable');
  });

  it('sends the Retry-After an error asks for', async () => {
    const { handler } = setup({
      listNotes: async () => {
        throw Object.assign(new UpstreamError('busy'), { details: { retryAfterSeconds: 7 } });
      },
    });
    const result = await handler(apiEvent('listNotes', { claims: userClaims('alice') }));
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['Retry-After']).toBe('7');
  });

  it('answers 429 when the identity lookup itself is throttled', async () => {
    const ok: RouteImpl = async () => ({ status: 200 });
    const handler = createApiHandler({
      name: 'notes',
      routes: { listNotes: ok, createNote: ok, getNote: ok, deleteNote: ok },
      lookup: () => ({
        userIdForUsername: async () => {
          throw Object.assign(new Error('Throughput exceeds the current capacity'), {
            name: 'ProvisionedThroughputExceededException',
            $metadata: { httpStatusCode: 400 },
          });
        },
        clientMapping: async () => undefined,
      }),
    });
    const result = await handler(apiEvent('listNotes', { claims: userClaims('alice') }));
    expect(result.statusCode).toBe(429);
  });
});

describe('validate', () => {
  const schema = z.strictObject({ name: z.string().max(3).optional(), tags: z.array(z.enum(['a', 'b'])).optional() });

  it('returns the parsed value', () => {
    expect(validate(schema, { name: 'abc' })).toEqual({ name: 'abc' });
  });

  it('names an unknown field in the error', () => {
    expect(() => validate(schema, { userId: 'u-1' })).toThrow(expect.objectContaining({ field: 'body.userId', status: 400 }));
  });

  it('names the nested field that failed', () => {
    expect(() => validate(schema, { tags: ['a', 'admin'] })).toThrow(expect.objectContaining({ field: 'body.tags.1' }));
  });

  it('names the root when the value is not an object at all', () => {
    expect(() => validate(schema, 'text')).toThrow(expect.objectContaining({ field: 'body' }));
  });
});

describe('CORS on handler responses', () => {
  const APP = 'https://app.example.com';
  const ADMIN = 'https://admin.example.com';
  function corsSetup(origins: readonly string[] = [APP, ADMIN], overrides: Partial<Record<string, RouteImpl>> = {}) {
    const ok: RouteImpl = async (req) => ({ status: req.route.status, body: { ok: true } });
    const routes = { listNotes: ok, createNote: ok, getNote: ok, deleteNote: ok, ...overrides };
    const lookup = new MapLookup({ alice: ALICE });
    let reads = 0;
    const handler = createApiHandler({
      name: 'notes',
      routes: routes as Record<string, RouteImpl>,
      lookup: () => lookup,
      corsOrigins: () => {
        reads += 1;
        return origins;
      },
    });
    return { handler, reads: () => reads };
  }

  it.each([APP, ADMIN])('allows the listed origin %s to read the response, and only that one', async (origin) => {
    // Prepare
    const { handler } = corsSetup();
    // Act
    const result = await handler(apiEvent('listNotes', { claims: userClaims('alice'), headers: { Origin: origin } }));
    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'Access-Control-Allow-Origin': origin, Vary: 'Origin' });
    expect(result.headers?.['Access-Control-Expose-Headers']).toContain('X-Request-Id');
    expect(result.headers).not.toHaveProperty('Access-Control-Allow-Credentials');
  });

  it.each([
    ['another site', 'https://evil.example'],
    ['a listed origin with another port', 'https://app.example.com:8443'],
    ['a listed origin with a trailing slash', `${APP}/`],
    ['a listed origin over http', 'http://app.example.com'],
    ['the null origin of a sandboxed page', 'null'],
  ])('gives %s no Access-Control-Allow-Origin, but still Vary: Origin', async (_label, origin) => {
    const { handler } = corsSetup();
    const result = await handler(apiEvent('listNotes', { claims: userClaims('alice'), headers: { origin } }));
    expect(result.headers).not.toHaveProperty('Access-Control-Allow-Origin');
    expect(result.headers?.['Vary']).toBe('Origin');
  });

  it('allows the listed origin on error responses too, so the front end can read why', async () => {
    const { handler } = corsSetup();
    const result = await handler(apiEvent('listNotes', { claims: userClaims('mallory'), headers: { origin: APP } }));
    expect(result.statusCode).toBe(401);
    expect(result.headers?.['Access-Control-Allow-Origin']).toBe(APP);
  });

  it('keeps a Vary the route sets and adds Origin to it', async () => {
    const { handler } = corsSetup([APP], {
      listNotes: async () => ({ status: 200, body: [], headers: { Vary: 'Accept-Language' } }),
    });
    const result = await handler(apiEvent('listNotes', { claims: userClaims('alice'), headers: { Origin: APP } }));
    expect(result.headers?.['Vary']).toBe('Accept-Language, Origin');
  });

  it('reads the allowed origins once, at the first request', async () => {
    const { handler, reads } = corsSetup();
    expect(reads()).toBe(0);
    await handler(apiEvent('listNotes', { claims: userClaims('alice') }));
    await handler(apiEvent('listNotes', { claims: userClaims('alice'), headers: { Origin: APP } }));
    expect(reads()).toBe(1);
  });

  it('allows the origins of CORS_ALLOWED_ORIGINS when none are given', async () => {
    // Prepare
    const saved = process.env['CORS_ALLOWED_ORIGINS'];
    process.env['CORS_ALLOWED_ORIGINS'] = `${ADMIN},http://localhost:5173`;
    try {
      const lookup = new MapLookup({ alice: ALICE });
      const ok: RouteImpl = async () => ({ status: 200, body: {} });
      const handler = createApiHandler({
        name: 'notes',
        routes: { listNotes: ok, createNote: ok, getNote: ok, deleteNote: ok },
        lookup: () => lookup,
      });
      // Act
      const allowed = await handler(apiEvent('listNotes', { claims: userClaims('alice'), headers: { Origin: 'http://localhost:5173' } }));
      const refused = await handler(apiEvent('listNotes', { claims: userClaims('alice'), headers: { Origin: APP } }));
      // Assess
      expect(allowed.headers?.['Access-Control-Allow-Origin']).toBe('http://localhost:5173');
      expect(refused.headers).not.toHaveProperty('Access-Control-Allow-Origin');
    } finally {
      if (saved === undefined) delete process.env['CORS_ALLOWED_ORIGINS'];
      else process.env['CORS_ALLOWED_ORIGINS'] = saved;
    }
  });

  it('answers an opaque 500 and allows no origin when the allowed origins are misconfigured', async () => {
    const lookup = new MapLookup({ alice: ALICE });
    const ok: RouteImpl = async () => ({ status: 200, body: {} });
    const logs = captureLogs();
    const handler = createApiHandler({
      name: 'notes',
      routes: { listNotes: ok, createNote: ok, getNote: ok, deleteNote: ok },
      lookup: () => lookup,
      corsOrigins: () => {
        throw new Error('Invalid configuration: CORS_ALLOWED_ORIGINS.0: must be an origin');
      },
    });
    const result = await handler(apiEvent('listNotes', { claims: userClaims('alice'), headers: { Origin: APP } }));
    expect(result.statusCode).toBe(500);
    expect(result.headers).not.toHaveProperty('Access-Control-Allow-Origin');
    expect(JSON.stringify(bodyOf(result))).not.toContain('CORS_ALLOWED_ORIGINS');
    const lines = logs.lines();
    logs.stop();
    expect(lines.some((l) => l.includes('CORS_ALLOWED_ORIGINS'))).toBe(true);
  });
});
