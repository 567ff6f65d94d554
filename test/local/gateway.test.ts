/**
 * The local API gateway as API Gateway REST behaves: routing under the stage, the REST proxy event the handlers
 * receive, how handler results and failures reach the client, limits and logging. The authorizer's attack cases
 * are in gateway.security.test.ts.
 */
import http from 'node:http';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_REQUEST_BYTES } from '../../infra/local/gateway';
import { RequestTooLargeError } from '../../infra/local/aws/lambda';
import { API_GATEWAY_DEFAULT_STATUS, GATEWAY_RESPONSES, gatewayResponseBody } from '../../lambdas/shared/contract/gateway-responses';
import { fullScope } from '../../lambdas/shared/contract/names';
import {
  type Harness,
  type SigningKey,
  bearer,
  clientAccessClaims,
  newSigningKey,
  send,
  sign,
  startGateway,
  userAccessClaims,
} from './gateway-fixture';

const NOTE_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

let key: SigningKey;
let gw: Harness;

beforeAll(async () => {
  key = await newSigningKey();
});

afterEach(async () => {
  await gw?.close();
});

const start = async (options: Partial<Parameters<typeof startGateway>[0]> = {}) => {
  gw = await startGateway({ keys: () => [key.publicJwk], ...options });
  return gw;
};

describe('routing', () => {
  it('serves the public route without a token and without an authorizer context', async () => {
    // Prepare
    await start();

    // Act
    const res = await send(gw.port, { path: '/v1/openapi.json' });

    // Assess
    expect(res.status).toBe(200);
    expect(gw.invocations).toHaveLength(1);
    const [{ functionName, event }] = gw.invocations as [(typeof gw.invocations)[0]];
    expect(functionName).toBe('openapi');
    expect(event.resource).toBe('/openapi.json');
    expect(event.requestContext.authorizer).toBeUndefined();
    expect(event.pathParameters).toBeNull();
    expect(event.queryStringParameters).toBeNull();
    expect(event.multiValueQueryStringParameters).toBeNull();
    expect(event.body).toBeNull();
  });

  it('answers an unknown path, an unknown method and the bare stage with the 404 gateway response', async () => {
    // Prepare
    await start();
    const token = await sign(key, userAccessClaims());

    // Act
    const responses = await Promise.all([
      send(gw.port, { path: '/v1/nope', headers: [bearer(token)] }),
      send(gw.port, { method: 'PUT', path: '/v1/notes', headers: [bearer(token)] }),
      send(gw.port, { method: 'PATCH', path: `/v1/notes/${NOTE_ID}`, headers: [bearer(token)] }),
      send(gw.port, { path: '/v1' }),
      send(gw.port, { path: '/v1/' }),
      send(gw.port, { path: '/v1/notes/a/b', headers: [bearer(token)] }),
    ]);

    // Assess
    for (const res of responses) {
      expect(res.status).toBe(404);
      expect(res.json()).toEqual(gatewayResponseBody(GATEWAY_RESPONSES.notFound));
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException');
    }
    expect(gw.invocations).toHaveLength(0);
  });

  it('leaves paths outside the stage to the next route', async () => {
    // Prepare
    await start();

    // Act
    const res = await send(gw.port, { path: '/v2/openapi.json' });
    const other = await send(gw.port, { path: '/v1openapi.json' });

    // Assess
    expect(res.status).toBe(418);
    expect(other.status).toBe(418);
    expect(gw.invocations).toHaveLength(0);
  });

  it('decodes path parameters but passes the path as the client encoded it', async () => {
    // Prepare
    await start();
    const token = await sign(key, userAccessClaims());
    const encoded = NOTE_ID.replace('ad5b', '%61d5b');

    // Act
    const res = await send(gw.port, { path: `/v1/notes/${encoded}`, headers: [bearer(token)] });

    // Assess
    expect(res.status).toBe(200);
    const event = gw.invocations[0]?.event;
    expect(event?.resource).toBe('/notes/{id}');
    expect(event?.pathParameters).toEqual({ id: NOTE_ID });
    expect(event?.path).toBe(`/notes/${encoded}`);
    expect(event?.requestContext.path).toBe(`/v1/notes/${encoded}`);
  });

  it('keeps an encoded slash inside one path parameter', async () => {
    // Prepare
    await start();
    const token = await sign(key, userAccessClaims());

    // Act
    const res = await send(gw.port, { path: '/v1/notes/a%2Fb', headers: [bearer(token)] });

    // Assess
    expect(res.status).toBe(200);
    expect(gw.invocations[0]?.event.pathParameters).toEqual({ id: 'a/b' });
  });

  it('refuses a path that is not valid percent-encoding with the 4xx gateway response', async () => {
    // Prepare
    await start();

    // Act
    const res = await send(gw.port, { path: '/v1/notes/%E0%A4%A' });

    // Assess
    expect(res.status).toBe(400);
    expect(res.json()).toEqual(gatewayResponseBody(GATEWAY_RESPONSES.default4xx));
    expect(gw.invocations).toHaveLength(0);
  });

  it('treats a trailing slash like none', async () => {
    // Prepare
    await start();
    const token = await sign(key, userAccessClaims());

    // Act
    const res = await send(gw.port, { path: '/v1/notes/', headers: [bearer(token)] });

    // Assess
    expect(res.status).toBe(200);
    expect(gw.invocations[0]?.event.resource).toBe('/notes');
    expect(gw.invocations[0]?.functionName).toBe('notes');
  });
});

describe('the proxy event', () => {
  it('has the shape API Gateway REST gives a Lambda proxy integration', async () => {
    // Prepare
    const fixedNow = Date.UTC(2026, 11, 4, 9, 5, 7, 123);
    await start({ now: () => fixedNow, accountId: '123456789012' });
    const claims = userAccessClaims({ auth_time: 1_800_000_000, iat: nowMinus(60), exp: nowPlus(3600) });
    const token = await sign(key, claims);
    const body = JSON.stringify({ name: 'laptop' });

    // Act
    const res = await send(gw.port, {
      method: 'POST',
      path: '/v1/credentials/abc123/reset?x=1&x=2&q=a%20b',
      headers: [
        bearer(token),
        ['Content-Type', 'application/json'],
        ['User-Agent', 'gw-test/1.0'],
        ['X-Custom', 'one'],
        ['x-custom', 'two'],
        ['X-Forwarded-For', '203.0.113.7'],
      ],
      body,
    });

    // Assess
    expect(res.status).toBe(200);
    expect(gw.invocations).toHaveLength(1);
    const { functionName, event } = gw.invocations[0] as NonNullable<(typeof gw.invocations)[0]>;
    expect(functionName).toBe('credentials');
    expect(event.resource).toBe('/credentials/{clientId}/reset');
    expect(event.path).toBe('/credentials/abc123/reset');
    expect(event.httpMethod).toBe('POST');
    expect(event.pathParameters).toEqual({ clientId: 'abc123' });
    expect(event.queryStringParameters).toEqual({ x: '2', q: 'a b' });
    expect(event.multiValueQueryStringParameters).toEqual({ x: ['1', '2'], q: ['a b'] });
    expect(event.stageVariables).toBeNull();
    expect(event.body).toBe(body);
    expect(event.isBase64Encoded).toBe(false);

    expect(event.headers['X-Custom']).toBe('two');
    expect(event.multiValueHeaders['X-Custom']).toEqual(['one', 'two']);
    expect(event.headers['Content-Type']).toBe('application/json');
    expect(event.headers['X-Forwarded-For']).toBe('203.0.113.7, 127.0.0.1');
    expect(event.headers['X-Forwarded-Port']).toBe(String(gw.port));
    expect(event.headers['X-Amzn-Trace-Id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);

    const ctx = event.requestContext;
    expect(ctx.accountId).toBe('123456789012');
    expect(ctx.apiId).toMatch(/^[a-z0-9]{10}$/);
    expect(ctx.resourceId).toMatch(/^[a-z0-9]{6}$/);
    expect(ctx.resourcePath).toBe('/credentials/{clientId}/reset');
    expect(ctx.httpMethod).toBe('POST');
    expect(ctx.path).toBe('/v1/credentials/abc123/reset');
    expect(ctx.stage).toBe('v1');
    expect(ctx.protocol).toBe('HTTP/1.1');
    expect(ctx.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ctx.requestTime).toBe('04/Dec/2026:09:05:07 +0000');
    expect(ctx.requestTimeEpoch).toBe(fixedNow);
    expect(ctx.identity.sourceIp).toBe('127.0.0.1');
    expect(ctx.identity.userAgent).toBe('gw-test/1.0');
    expect(ctx.identity.cognitoIdentityId).toBeNull();

    // The response carries the ids the handler saw.
    expect(res.headers['x-amzn-requestid']).toBe(ctx.requestId);
    expect(res.headers['x-amz-apigw-id']).toBe(ctx.extendedRequestId);
    expect(res.headers['x-amz-apigw-id']).toMatch(/^[A-Za-z0-9+/]{15}=$/);
  });

  it('renders the claims as API Gateway does: every value a string, dates in Java format, lists comma-joined', async () => {
    // Prepare
    await start();
    const exp = Date.UTC(2031, 0, 2, 3, 4, 5) / 1000;
    const iat = exp - 3600;
    const claims = userAccessClaims({ exp, iat, auth_time: 1_900_000_000, 'cognito:groups': ['developers', 'beta'] });
    // The exp is far in the future, which is what this test needs; aws-jwt-verify checks against the real clock.
    const token = await sign(key, claims);

    // Act
    await send(gw.port, { path: '/v1/me', headers: [bearer(token)] });

    // Assess
    const got = gw.invocations[0]?.event.requestContext.authorizer?.['claims'] as Record<string, unknown>;
    expect(got).toBeDefined();
    for (const value of Object.values(got)) expect(typeof value).toBe('string');
    expect(got['exp']).toBe('Thu Jan 02 03:04:05 UTC 2031');
    expect(got['iat']).toBe('Thu Jan 02 02:04:05 UTC 2031');
    expect(got['auth_time']).toBe('1900000000');
    expect(got['cognito:groups']).toBe('developers,beta');
    expect(got['username']).toBe('alice');
    expect(got['token_use']).toBe('access');
    expect(got['scope']).toBe('aws.cognito.signin.user.admin');
    expect(got['iss']).toBe(claims.iss);
  });

  it('passes headers and query parameters named like Object members as ordinary keys', async () => {
    // Prepare: found by the fuzzing suite; `?toString=` used to crash the gateway into a 502.
    await start();
    const token = await sign(key, userAccessClaims());

    // Act
    const res = await send(gw.port, {
      path: '/v1/me?toString=1&constructor=2&__proto__=3&__proto__=4',
      headers: [bearer(token), ['toString', 'a'], ['constructor', 'b'], ['__proto__', 'c'], ['__proto__', 'd']],
    });

    // Assess
    expect(res.status).toBe(200);
    const event = gw.invocations[0]?.event;
    expect(event?.queryStringParameters).toEqual({ toString: '1', constructor: '2', ['__proto__']: '4' });
    expect(event?.multiValueQueryStringParameters).toEqual({ toString: ['1'], constructor: ['2'], ['__proto__']: ['3', '4'] });
    expect(Object.getOwnPropertyDescriptor(event?.headers, '__proto__')?.value).toBe('d');
    expect(event?.multiValueHeaders['toString']).toEqual(['a']);
    expect(event?.multiValueHeaders['constructor']).toEqual(['b']);
    expect(Object.getOwnPropertyDescriptor(event?.multiValueHeaders, '__proto__')?.value).toEqual(['c', 'd']);
  });

  it('passes a client-credentials token\'s claims with a numeric version as a string', async () => {
    // Prepare
    await start();
    const token = await sign(key, clientAccessClaims(`${fullScope('read')} ${fullScope('write')}`));

    // Act
    const res = await send(gw.port, { path: '/v1/notes', headers: [bearer(token)] });

    // Assess
    expect(res.status).toBe(200);
    const got = gw.invocations[0]?.event.requestContext.authorizer?.['claims'] as Record<string, unknown>;
    expect(got['version']).toBe('2');
    expect(got['client_id']).toBe(got['sub']);
    expect(got['username']).toBeUndefined();
    expect(got['scope']).toBe('devaccess/read devaccess/write');
  });
});

describe('handler results', () => {
  it('writes the status, headers, multi-value headers and body the handler returns', async () => {
    // Prepare
    await start();
    gw.respond = async () => ({
      statusCode: 201,
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': 'abc', 'X-Count': 3 },
      multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] },
      body: '{"created":true}',
    });
    const token = await sign(key, userAccessClaims());

    // Act
    const res = await send(gw.port, { method: 'POST', path: '/v1/notes', headers: [bearer(token)], body: '{}' });

    // Assess
    expect(res.status).toBe(201);
    expect(res.json()).toEqual({ created: true });
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['x-request-id']).toBe('abc');
    expect(res.headers['x-count']).toBe('3');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength('{"created":true}')));
  });

  it('renames the headers API Gateway does not pass through, such as a handler\'s WWW-Authenticate', async () => {
    // Prepare
    await start();
    gw.respond = async () => ({
      statusCode: 401,
      headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"', Server: 'lambda', 'Content-Type': 'application/json' },
      body: '{"error":{"code":"unauthorized","message":"no"}}',
    });
    const token = await sign(key, userAccessClaims());

    // Act
    const res = await send(gw.port, { path: '/v1/me', headers: [bearer(token)] });

    // Assess
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.headers['x-amzn-remapped-www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(res.headers['x-amzn-remapped-server']).toBe('lambda');
  });

  it('labels a result without a Content-Type as JSON and sends no body for 204', async () => {
    // Prepare
    await start();
    gw.respond = async () => ({ statusCode: 204, body: '' });
    const token = await sign(key, userAccessClaims());

    // Act
    const res = await send(gw.port, { method: 'DELETE', path: `/v1/notes/${NOTE_ID}`, headers: [bearer(token)] });

    // Assess
    expect(res.status).toBe(204);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.body.length).toBe(0);
  });

  it('decodes a base64 result body', async () => {
    // Prepare
    await start();
    gw.respond = async () => ({
      statusCode: 200,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: Buffer.from([0, 1, 2, 255]).toString('base64'),
      isBase64Encoded: true,
    });

    // Act
    const res = await send(gw.port, { path: '/v1/openapi.json' });

    // Assess
    expect([...res.body]).toEqual([0, 1, 2, 255]);
  });

  it('answers the 5xx gateway response when the handler throws, without echoing the error', async () => {
    // Prepare
    await start();
    gw.respond = async () => {
      throw new Error('database password is hunter2');
    };

    // Act
    const res = await send(gw.port, { path: '/v1/openapi.json' });

    // Assess
    expect(res.status).toBe(502);
    expect(res.json()).toEqual(gatewayResponseBody(GATEWAY_RESPONSES.default5xx));
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.text).not.toContain('hunter2');
  });

  it.each([
    ['null', null],
    ['a string', 'ok'],
    ['no status', { body: '' }],
    ['a non-numeric status', { statusCode: 'abc', body: '' }],
    ['a status out of range', { statusCode: 99, body: '' }],
    ['an object body', { statusCode: 200, body: { ok: true } }],
    ['an object header value', { statusCode: 200, headers: { 'X-A': { b: 1 } }, body: '' }],
    ['a header name with a space', { statusCode: 200, headers: { 'Bad Name': 'x' }, body: '' }],
    ['a header value with CRLF', { statusCode: 200, headers: { 'X-A': 'a\r\nSet-Cookie: evil=1' }, body: '' }],
    ['multi-value headers that are not lists', { statusCode: 200, multiValueHeaders: { 'X-A': 'x' }, body: '' }],
    ['a non-boolean isBase64Encoded', { statusCode: 200, body: '', isBase64Encoded: 'yes' }],
  ])('answers 502 for a malformed proxy result: %s', async (_label, result) => {
    // Prepare
    await start();
    gw.respond = async () => result as never;

    // Act
    const res = await send(gw.port, { path: '/v1/openapi.json' });

    // Assess
    expect(res.status).toBe(502);
    expect(res.json()).toEqual(gatewayResponseBody(GATEWAY_RESPONSES.default5xx));
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('accepts a numeric-string status as API Gateway does', async () => {
    // Prepare
    await start();
    gw.respond = async () => ({ statusCode: '202', body: '' }) as never;

    // Act
    const res = await send(gw.port, { path: '/v1/openapi.json' });

    // Assess
    expect(res.status).toBe(202);
  });

  it('answers 504, INTEGRATION_TIMEOUT\'s own status, with the 5xx body when the handler outlives the integration timeout', async () => {
    // Prepare
    await start({ integrationTimeoutMs: 50 });
    gw.respond = () => new Promise(() => {});

    // Act
    const res = await send(gw.port, { path: '/v1/openapi.json' });

    // Assess
    expect(res.status).toBe(API_GATEWAY_DEFAULT_STATUS['INTEGRATION_TIMEOUT']);
    expect(res.status).toBe(504);
    expect(res.json()).toEqual(gatewayResponseBody(GATEWAY_RESPONSES.default5xx));
    expect(gw.logs.find((l) => l.message === 'api request')?.attributes['reason']).toBe('integration_timeout');
  });
});

describe('limits', () => {
  it('refuses a declared body over 10 MB with 413 before reading it', async () => {
    // Prepare
    await start();
    const token = await sign(key, userAccessClaims());

    // Act: declare one byte more than the limit and send only the head and a little of the body.
    const res = await new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: gw.port,
          method: 'POST',
          path: '/v1/notes',
          agent: false,
          headers: { Authorization: `Bearer ${token}`, 'Content-Length': String(MAX_REQUEST_BYTES + 1) },
        },
        (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body, connection: r.headers.connection }));
        },
      );
      req.on('error', reject);
      req.write('{"x":1');
    });

    // Assess
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual(gatewayResponseBody(GATEWAY_RESPONSES.requestTooLarge));
    expect(res.connection).toBe('close');
    expect(gw.invocations).toHaveLength(0);
  });

  it('refuses a streamed body that grows past 10 MB with 413', async () => {
    // Prepare
    await start();
    const token = await sign(key, userAccessClaims());
    const chunk = Buffer.alloc(1024 * 1024, 0x61);

    // Act
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: gw.port,
          method: 'POST',
          path: '/v1/notes',
          agent: false,
          headers: { Authorization: `Bearer ${token}`, 'Transfer-Encoding': 'chunked' },
        },
        (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      let sent = 0;
      const pump = () => {
        while (sent < 11) {
          sent += 1;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });

    // Assess
    expect(status).toBe(413);
    expect(gw.invocations).toHaveLength(0);
  });

  it('invokes nothing when the client goes away before its body arrives', async () => {
    // Prepare
    await start();
    const token = await sign(key, userAccessClaims());

    // Act
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: '127.0.0.1',
        port: gw.port,
        method: 'POST',
        path: '/v1/notes',
        agent: false,
        headers: { Authorization: `Bearer ${token}`, 'Content-Length': '1000' },
      });
      req.on('error', () => resolve());
      req.write('{"partial":', () => setTimeout(() => req.destroy(), 50));
    });
    await vi.waitFor(() => expect(gw.logs.some((l) => l.message === 'api request')).toBe(true));

    // Assess
    expect(gw.invocations).toHaveLength(0);
    const line = gw.logs.find((l) => l.message === 'api request');
    expect(line?.attributes['reason']).toBe('client_aborted');
    expect(line?.attributes['route']).toBe('createNote');
  });

  it('answers 413 with the 4xx body when Lambda refuses the event as over its 6 MB limit', async () => {
    // Prepare: API Gateway takes the body (under 10 MB); Lambda's Invoke refuses the event built around it.
    await start();
    const token = await sign(key, userAccessClaims());
    gw.respond = async () => {
      throw new RequestTooLargeError();
    };

    // Act
    const res = await send(gw.port, { method: 'POST', path: '/v1/notes', headers: [bearer(token)], body: '{"text":"x"}' });

    // Assess
    expect(res.status).toBe(413);
    expect(res.json()).toEqual(gatewayResponseBody(GATEWAY_RESPONSES.default4xx));
    expect(res.headers['x-amzn-errortype']).toBe('BadRequestException');
    expect(gw.logs.find((l) => l.message === 'api request')?.attributes['reason']).toBe('lambda_request_too_large');
  });

  it('passes a body under the limit through as text', async () => {
    // Prepare
    await start();
    const token = await sign(key, userAccessClaims());
    const body = JSON.stringify({ text: 'é'.repeat(20_000) });

    // Act
    const res = await send(gw.port, { method: 'POST', path: '/v1/notes', headers: [bearer(token)], body });

    // Assess
    expect(res.status).toBe(200);
    expect(gw.invocations[0]?.event.body).toBe(body);
  });
});

describe('logging', () => {
  it('logs one line per request with method, route, status and latency, and never the token', async () => {
    // Prepare
    await start();
    const token = await sign(key, userAccessClaims());

    // Act
    await send(gw.port, { path: '/v1/me', headers: [bearer(token)] });
    await send(gw.port, { path: `/v1/notes?access_token=${token}` });
    await send(gw.port, { path: '/v1/nope', headers: [bearer(token)] });

    // Assess
    const lines = gw.logs.filter((l) => l.message === 'api request');
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => [l.attributes['method'], l.attributes['route'], l.attributes['status']])).toEqual([
      ['GET', 'getMe', 200],
      ['GET', 'listNotes', 401],
      ['GET', null, 404],
    ]);
    for (const line of lines) expect(typeof line.attributes['latencyMs']).toBe('number');
    expect(lines[1]?.attributes['reason']).toBe('missing_token');
    const everything = JSON.stringify(gw.logs);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.split('.')[2] as string);
  });
});

function nowMinus(seconds: number): number {
  return Math.floor(Date.now() / 1000) - seconds;
}

function nowPlus(seconds: number): number {
  return Math.floor(Date.now() / 1000) + seconds;
}
