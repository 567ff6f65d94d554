/**
 * CORS at the local gateway, as the RestApi the CDK stack builds answers it: the preflight mock integration on
 * every resource (no token, no function), and the CORS headers on every gateway response. Handler responses carry
 * their own (lambdas/shared/http.ts, tested in test/unit/http.test.ts).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CORS_ALLOW_HEADERS,
  CORS_ALLOW_METHODS,
  CORS_MAX_AGE_SECONDS,
  PREFLIGHT_STATUS,
} from '../../lambdas/shared/contract/cors';
import { GATEWAY_RESPONSES, gatewayResponseBody } from '../../lambdas/shared/contract/gateway-responses';
import { DEFAULT_CORS_ORIGINS } from '../../lambdas/shared/contract/user-pool';
import { type Harness, type SigningKey, bearer, newSigningKey, send, sign, startGateway, userAccessClaims } from './gateway-fixture';

const APP = 'https://app.example.com';
const ADMIN = 'https://admin.example.com';

let key: SigningKey;
let gw: Harness;

beforeAll(async () => {
  key = await newSigningKey();
});

afterEach(async () => {
  await gw?.close();
});

const start = async (corsOrigins?: readonly string[]) => {
  gw = await startGateway({ keys: () => [key.publicJwk], ...(corsOrigins ? { corsOrigins } : {}) });
  return gw;
};

const preflight = (path: string, origin?: string) =>
  send(gw.port, {
    method: 'OPTIONS',
    path,
    headers: [
      ...(origin ? ([['Origin', origin]] as [string, string][]) : []),
      ['Access-Control-Request-Method', 'POST'],
      ['Access-Control-Request-Headers', 'authorization,content-type'],
    ],
  });

describe('the preflight', () => {
  it.each([
    ['a route', '/v1/notes'],
    ['a route with a path parameter', '/v1/notes/0f8fad5b-d9cb-469f-a165-70867728950e'],
    ['a resource on the way to a route', '/v1/credentials/abc123'],
    ['a nested route', '/v1/credentials/abc123/reset'],
    ['the public route', '/v1/openapi.json'],
    ['the root', '/v1/'],
    ['the bare stage', '/v1'],
  ])('answers OPTIONS on %s with 204 and the contract headers, without a token and without a function', async (_label, path) => {
    // Prepare
    await start();

    // Act
    const res = await preflight(path, DEFAULT_CORS_ORIGINS[0]);

    // Assess
    expect(res.status).toBe(PREFLIGHT_STATUS);
    expect(res.headers['access-control-allow-origin']).toBe(DEFAULT_CORS_ORIGINS[0]);
    expect(res.headers['access-control-allow-headers']).toBe(CORS_ALLOW_HEADERS.join(','));
    expect(res.headers['access-control-allow-methods']).toBe(CORS_ALLOW_METHODS.join(','));
    expect(res.headers['access-control-max-age']).toBe(String(CORS_MAX_AGE_SECONDS));
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers['vary']).toBe('Origin');
    expect(res.body.length).toBe(0);
    expect(gw.invocations).toHaveLength(0);
    expect(gw.jwksReads).toBe(0);
  });

  it('answers a preflight for an unknown path with the 404 gateway response', async () => {
    await start();
    const res = await preflight('/v1/nope', DEFAULT_CORS_ORIGINS[0]);
    expect(res.status).toBe(404);
    expect(res.json()).toEqual(gatewayResponseBody(GATEWAY_RESPONSES.notFound));
  });

  it('answers a listed origin other than the first with that origin, as the mock integration template does', async () => {
    await start([APP, ADMIN]);
    const res = await preflight('/v1/notes', ADMIN);
    expect(res.headers['access-control-allow-origin']).toBe(ADMIN);
  });

  it('answers an origin that is not listed with the first listed one, which the browser then refuses', async () => {
    await start([APP, ADMIN]);
    const res = await preflight('/v1/notes', 'https://evil.example');
    expect(res.status).toBe(PREFLIGHT_STATUS);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
  });

  it('never reads the preflight body', async () => {
    await start();
    const res = await send(gw.port, { method: 'OPTIONS', path: '/v1/notes', headers: [['Origin', APP]], body: 'x'.repeat(1000) });
    expect(res.status).toBe(PREFLIGHT_STATUS);
    expect(gw.invocations).toHaveLength(0);
  });
});

describe('gateway responses', () => {
  it('carry the one allowed origin, whatever the request Origin, so the front end can read a 401', async () => {
    // Prepare
    await start([APP]);

    // Act
    const fromApp = await send(gw.port, { path: '/v1/notes', headers: [['Origin', APP]] });
    const withoutOrigin = await send(gw.port, { path: '/v1/notes' });

    // Assess
    for (const res of [fromApp, withoutOrigin]) {
      expect(res.status).toBe(401);
      expect(res.headers['access-control-allow-origin']).toBe(APP);
      expect(res.headers['vary']).toBe('Origin');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('echo the request Origin when several are allowed, and send none without one', async () => {
    // Prepare
    await start([APP, ADMIN]);
    const token = await sign(key, userAccessClaims());

    // Act
    const notFound = await send(gw.port, { path: '/v1/nope', headers: [bearer(token), ['Origin', ADMIN]] });
    const withoutOrigin = await send(gw.port, { path: '/v1/nope', headers: [bearer(token)] });

    // Assess
    expect(notFound.status).toBe(404);
    expect(notFound.headers['access-control-allow-origin']).toBe(ADMIN);
    expect(withoutOrigin.headers['access-control-allow-origin']).toBeUndefined();
    expect(withoutOrigin.headers['vary']).toBe('Origin');
  });

  it('carry the CORS headers on the 5xx a failing function gets', async () => {
    await start([APP]);
    gw.respond = async () => {
      throw new Error('boom');
    };
    const res = await send(gw.port, { path: '/v1/openapi.json', headers: [['Origin', APP]] });
    expect(res.status).toBe(502);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
  });

  it('leave a handler response as the handler wrote it', async () => {
    await start([APP]);
    gw.respond = async () => ({ statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' });
    const res = await send(gw.port, { path: '/v1/openapi.json', headers: [['Origin', APP]] });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});
