/**
 * The local gateway's Cognito authorizer under attack, route by route from the route table: which tokens reach a
 * handler and which get API Gateway's 401 UNAUTHORIZED gateway response. A refused request never reaches a
 * handler, never gets a 5xx, and never makes the verifier go to the network for keys.
 */
import { randomUUID } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import https from 'node:https';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GATEWAY_RESPONSES, gatewayResponseBody } from '../../lambdas/shared/contract/gateway-responses';
import { USER_ADMIN_SCOPE, fullScope } from '../../lambdas/shared/contract/names';
import { ROUTES, type RouteDef } from '../../lambdas/shared/contract/routes';
import {
  type Harness,
  type RawResponse,
  type SigningKey,
  b64url,
  bearer,
  clientAccessClaims,
  concretePath,
  idTokenClaims,
  newSigningKey,
  nowSeconds,
  send,
  sign,
  startGateway,
  userAccessClaims,
} from './gateway-fixture';

const PROTECTED = ROUTES.filter((r) => r.access !== 'public');
const bodyFor = (route: RouteDef) => (route.body ? '{}' : undefined);

let key: SigningKey;
let otherKey: SigningKey;
let gw: Harness;

beforeAll(async () => {
  [key, otherKey] = await Promise.all([newSigningKey('pool-key-1'), newSigningKey('attacker-key')]);
});

afterEach(async () => {
  vi.restoreAllMocks();
  syncBuiltinESMExports();
  await gw?.close();
});

const start = async (options: Partial<Parameters<typeof startGateway>[0]> = {}) => {
  gw = await startGateway({ keys: () => [key.publicJwk], ...options });
  return gw;
};

function call(route: RouteDef, headers: ReadonlyArray<readonly [string, string]>, pathSuffix = ''): Promise<RawResponse> {
  const body = bodyFor(route);
  return send(gw.port, {
    method: route.method,
    path: concretePath(route) + pathSuffix,
    headers: body ? [...headers, ['Content-Type', 'application/json']] : headers,
    ...(body ? { body } : {}),
  });
}

function expectUnauthorized(res: RawResponse): void {
  expect(res.status).toBe(401);
  expect(res.json()).toEqual(gatewayResponseBody(GATEWAY_RESPONSES.unauthorized));
  expect(res.headers['www-authenticate']).toBe('Bearer');
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.headers['x-amzn-errortype']).toBe('UnauthorizedException');
}

describe.each(PROTECTED.map((r) => [`${r.method} ${r.path}`, r] as const))('%s', (_name, route) => {
  it('refuses a request without a token', async () => {
    // Prepare
    await start();

    // Act
    const res = await call(route, []);

    // Assess
    expectUnauthorized(res);
    expect(gw.invocations).toHaveLength(0);
  });

  it('passes a signed-in user\'s access token to the route\'s function', async () => {
    // Prepare
    await start();
    const token = await sign(key, userAccessClaims());

    // Act
    const res = await call(route, [bearer(token)]);

    // Assess
    expect(res.status).toBe(200);
    expect(gw.invocations).toHaveLength(1);
    expect(gw.invocations[0]?.functionName).toBe(route.handler);
    expect(gw.invocations[0]?.event.resource).toBe(route.path);
    expect(gw.invocations[0]?.event.httpMethod).toBe(route.method);
  });

  const clientScopes = { read: [fullScope('read')], write: [fullScope('write')], manage: [] as string[] }[
    route.access as 'read' | 'write' | 'manage'
  ];
  if (route.access === 'manage') {
    it('refuses a client-credentials token even with every resource scope (no aws.cognito.signin.user.admin)', async () => {
      // Prepare
      await start();
      const token = await sign(key, clientAccessClaims(`${fullScope('read')} ${fullScope('write')}`));

      // Act
      const res = await call(route, [bearer(token)]);

      // Assess
      expectUnauthorized(res);
      expect(gw.invocations).toHaveLength(0);
    });
  } else {
    it(`passes a client-credentials token with ${clientScopes.join(' ')}`, async () => {
      // Prepare
      await start();
      const token = await sign(key, clientAccessClaims(clientScopes.join(' ')));

      // Act
      const res = await call(route, [bearer(token)]);

      // Assess
      expect(res.status).toBe(200);
      expect(gw.invocations[0]?.functionName).toBe(route.handler);
    });

    it('refuses a client-credentials token that lacks the route\'s scope', async () => {
      // Prepare
      await start();
      const wrong = route.access === 'read' ? fullScope('write') : fullScope('read');
      const token = await sign(key, clientAccessClaims(`${wrong} openid`));

      // Act
      const res = await call(route, [bearer(token)]);

      // Assess
      expectUnauthorized(res);
      expect(gw.invocations).toHaveLength(0);
    });
  }
});

describe('attacks on the authorizer', () => {
  const route = ROUTES.find((r) => r.id === 'getMe') as RouteDef;
  const manageRoute = ROUTES.find((r) => r.id === 'createCredential') as RouteDef;

  type Attack = () => Promise<ReadonlyArray<readonly [string, string]>>;
  const attacks: Array<[string, Attack]> = [
    ['alg none', async () => {
      const claims = userAccessClaims();
      return [bearer(`${b64url({ alg: 'none', kid: key.kid })}.${b64url(claims)}.`)];
    }],
    ['alg none with the real signature attached', async () => {
      const [, payload, signature] = (await sign(key, userAccessClaims())).split('.');
      return [bearer(`${b64url({ alg: 'none', kid: key.kid })}.${payload}.${signature}`)];
    }],
    ['HS256 signed with the public key as the secret', async () => {
      const { SignJWT } = await import('jose');
      const token = await new SignJWT(userAccessClaims())
        .setProtectedHeader({ alg: 'HS256', kid: key.kid })
        .sign(new TextEncoder().encode(key.publicPem));
      return [bearer(token)];
    }],
    ['a key the pool does not have (unknown kid)', async () => [bearer(await sign(otherKey, userAccessClaims()))]],
    ['another key claiming the pool\'s kid', async () => [bearer(await sign(otherKey, userAccessClaims(), { kid: key.kid }))]],
    ['no kid', async () => {
      const [, payload, signature] = (await sign(key, userAccessClaims())).split('.');
      return [bearer(`${b64url({ alg: 'RS256' })}.${payload}.${signature}`)];
    }],
    ['a tampered payload', async () => {
      const [header, , signature] = (await sign(key, userAccessClaims({ username: 'alice' }))).split('.');
      return [bearer(`${header}.${b64url(userAccessClaims({ username: 'mallory' }))}.${signature}`)];
    }],
    ['a tampered signature', async () => {
      const token = await sign(key, userAccessClaims());
      const last = token.at(-2) === 'A' ? 'B' : 'A';
      return [bearer(`${token.slice(0, -2)}${last}${token.at(-1)}`)];
    }],
    ['an expired token', async () => [bearer(await sign(key, userAccessClaims({ iat: nowSeconds() - 7200, exp: nowSeconds() - 10 })))]],
    ['a token not yet valid (nbf in the future)', async () => [bearer(await sign(key, userAccessClaims({ nbf: nowSeconds() + 600 })))]],
    ['a token without exp', async () => {
      const claims = userAccessClaims();
      delete claims.exp;
      return [bearer(await sign(key, claims))];
    }],
    ['another pool\'s issuer', async () => [
      bearer(await sign(key, userAccessClaims({ iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other0001' }))),
    ]],
    ['an issuer outside Cognito', async () => [bearer(await sign(key, userAccessClaims({ iss: 'https://evil.example.com/' })))]],
    ['no issuer', async () => {
      const claims = userAccessClaims();
      delete claims.iss;
      return [bearer(await sign(key, claims))];
    }],
    ['an ID token', async () => [bearer(await sign(key, idTokenClaims()))]],
    ['an ID token with a user scope claim', async () => [bearer(await sign(key, idTokenClaims({ scope: USER_ADMIN_SCOPE })))]],
    ['token_use refresh', async () => [bearer(await sign(key, userAccessClaims({ token_use: 'refresh' })))]],
    ['no token_use', async () => {
      const claims = userAccessClaims();
      delete claims['token_use'];
      return [bearer(await sign(key, claims))];
    }],
    ['no scope', async () => {
      const claims = userAccessClaims();
      delete claims['scope'];
      return [bearer(await sign(key, claims))];
    }],
    ['a scope that only starts like the user scope', async () => [
      bearer(await sign(key, userAccessClaims({ scope: `${USER_ADMIN_SCOPE}x devaccess/reader` }))),
    ]],
    ['a duplicated Authorization header', async () => {
      const good = await sign(key, userAccessClaims());
      return [bearer(good), bearer(good)];
    }],
    ['a duplicated Authorization header with differently cased names', async () => {
      const good = await sign(key, userAccessClaims());
      return [['Authorization', `Bearer ${good}`], ['authorization', 'Bearer garbage']];
    }],
    ['the Basic scheme', async () => [['Authorization', `Basic ${Buffer.from('a:b').toString('base64')}`]]],
    ['a Bearer scheme without a token', async () => [['Authorization', 'Bearer']]],
    ['an empty Authorization header', async () => [['Authorization', '']]],
    ['a token with extra words', async () => [['Authorization', `Bearer ${await sign(key, userAccessClaims())} extra`]]],
    ['garbage that is not a JWT', async () => [['Authorization', 'Bearer not.a.jwt!']]],
    ['a JWT whose parts are not JSON', async () => [['Authorization', 'Bearer aGVsbG8.d29ybGQ.c2ln']]],
    ['the token in another header', async () => [['X-Authorization', `Bearer ${await sign(key, userAccessClaims())}`]]],
  ];

  it.each(attacks)('refuses %s with 401 and never invokes the handler', async (_name, attack) => {
    // Prepare
    await start();
    const headers = await attack();

    // Act
    const res = await call(route, headers);

    // Assess
    expectUnauthorized(res);
    expect(gw.invocations).toHaveLength(0);
  });

  it('refuses a token sent only in the query string', async () => {
    // Prepare
    await start();
    const token = await sign(key, userAccessClaims());

    // Act
    const viaAccessToken = await call(route, [], `?access_token=${token}`);
    const viaAuthorization = await call(route, [], `?Authorization=${encodeURIComponent(`Bearer ${token}`)}`);

    // Assess
    expectUnauthorized(viaAccessToken);
    expectUnauthorized(viaAuthorization);
    expect(gw.invocations).toHaveLength(0);
  });

  it('refuses a client-credentials token on a credential-management route', async () => {
    // Prepare
    await start();
    const token = await sign(key, clientAccessClaims(`${fullScope('read')} ${fullScope('write')}`));

    // Act
    const res = await call(manageRoute, [bearer(token)]);

    // Assess
    expectUnauthorized(res);
    expect(gw.invocations).toHaveLength(0);
  });

  it.each([
    ['lower-case bearer', (t: string) => `bearer ${t}`],
    ['upper-case BEARER', (t: string) => `BEARER ${t}`],
    ['the bare token, as API Gateway\'s Cognito authorizer accepts it', (t: string) => t],
    ['surrounding whitespace', (t: string) => `  Bearer   ${t}  `],
  ])('accepts %s', async (_name, format) => {
    // Prepare
    await start();
    const token = await sign(key, userAccessClaims());

    // Act
    const res = await call(route, [['authorization', format(token)]]);

    // Assess
    expect(res.status).toBe(200);
    expect(gw.invocations).toHaveLength(1);
  });

  it('ignores a garbage Authorization header on the public route', async () => {
    // Prepare
    await start();
    const openapi = ROUTES.find((r) => r.access === 'public') as RouteDef;

    // Act
    const res = await call(openapi, [['Authorization', 'Bearer garbage']]);

    // Assess
    expect(res.status).toBe(200);
    expect(gw.invocations[0]?.event.requestContext.authorizer).toBeUndefined();
  });
});

describe('keys', () => {
  it('reads the local JWKS at most once more under a flood of random kids, and never goes to the network', async () => {
    // Prepare
    const tlsConnect = vi.spyOn(tls, 'connect').mockImplementation(() => {
      throw new Error('network I/O attempted');
    });
    const httpsRequest = vi.spyOn(https, 'request').mockImplementation(() => {
      throw new Error('network I/O attempted');
    });
    const httpsGet = vi.spyOn(https, 'get').mockImplementation(() => {
      throw new Error('network I/O attempted');
    });
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    syncBuiltinESMExports();
    await start();
    const claims = userAccessClaims();
    const tokens = await Promise.all(Array.from({ length: 60 }, () => sign(key, claims, { kid: randomUUID() })));

    // Act
    const responses: RawResponse[] = [];
    for (let i = 0; i < tokens.length; i += 20) {
      responses.push(...(await Promise.all(tokens.slice(i, i + 20).map((t) => call(route(), [bearer(t)])))));
    }
    const stillGood = await call(route(), [bearer(await sign(key, userAccessClaims()))]);

    // Assess
    for (const res of responses) expectUnauthorized(res);
    expect(gw.invocations).toHaveLength(1);
    expect(stillGood.status).toBe(200);
    // One priming read plus at most one refetch for the first unknown kid; the penalty box refuses the rest.
    expect(gw.jwksReads).toBeGreaterThanOrEqual(1);
    expect(gw.jwksReads).toBeLessThanOrEqual(2);
    expect(tlsConnect).not.toHaveBeenCalled();
    expect(httpsRequest).not.toHaveBeenCalled();
    expect(httpsGet).not.toHaveBeenCalled();
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('picks up a key the pool rotated in', async () => {
    // Prepare
    let keys = [key.publicJwk];
    await start({ keys: () => keys });
    const before = await call(route(), [bearer(await sign(key, userAccessClaims()))]);
    const rotated = await newSigningKey('pool-key-2');
    keys = [key.publicJwk, rotated.publicJwk];

    // Act
    const res = await call(route(), [bearer(await sign(rotated, userAccessClaims()))]);

    // Assess
    expect(before.status).toBe(200);
    expect(res.status).toBe(200);
    expect(gw.invocations).toHaveLength(2);
  });

  it('verifies tokens once the emulator serves keys, even if it had none at start', async () => {
    // Prepare
    let keys: typeof key.publicJwk[] = [];
    await start({ keys: () => keys });
    keys = [key.publicJwk];

    // Act
    const res = await call(route(), [bearer(await sign(key, userAccessClaims()))]);

    // Assess
    expect(res.status).toBe(200);
  });

  function route(): RouteDef {
    return ROUTES.find((r) => r.id === 'getMe') as RouteDef;
  }
});

describe('oversized headers', () => {
  it('answers a header beyond the server\'s limit with 431, never 500', async () => {
    // Prepare
    await start();

    // Act
    const res = await send(gw.port, { path: '/v1/me', headers: [['Authorization', `Bearer ${'a'.repeat(20_000)}`]] });

    // Assess
    expect(res.status).toBe(431);
    expect(gw.invocations).toHaveLength(0);
  });

  it('refuses an Authorization header over API Gateway\'s 10 KB value limit with 401', async () => {
    // Prepare
    await start({ maxHeaderSize: 64 * 1024 });
    const token = await sign(key, userAccessClaims({ padding: 'p'.repeat(12_000) }));

    // Act
    const res = await send(gw.port, { path: '/v1/me', headers: [bearer(token)] });

    // Assess
    expectUnauthorized(res);
    expect(gw.logs.find((l) => l.message === 'api request')?.attributes['reason']).toBe('token_too_long');
    expect(gw.invocations).toHaveLength(0);
  });
});
