/**
 * Token attacks (RFC 8725, RFC 6750) against the whole local stack: real users, a real credential, real tokens
 * from the emulated Cognito, and forgeries made with keys of the attacker's own. Every attack is answered 401 with
 * a JSON body by the gateway before any handler runs (API Gateway's Cognito authorizer answers 401 for every token
 * problem, including the malformed requests for which RFC 6750 §3.1 would allow 400; the local gateway keeps
 * parity with AWS), never with a 5xx.
 *
 * The crossover cases (a client id that equals a user's sub or name, a user whose sub or name equals a client id)
 * cannot be forged through the gateway without Cognito's key, so they are fed as verified claims to the resolver
 * (with a fake lookup) and to the real handlers of the running stack (an API-Gateway-shaped event carrying the
 * claims, against the stack's real table): the resolver decides by `username` and `client_id`, never by `sub`.
 *
 * The gateway-level attack list of test/local/gateway.security.test.ts (self-signed fixtures, fake handlers) is
 * not repeated here; these run end to end.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import tls from 'node:tls';
import {
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { type CryptoKey, type JWK, type JWTPayload, SignJWT, exportJWK, exportSPKI, generateKeyPair, importJWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCAL_NAMES } from '../../infra/local/stack';
import type { FunctionName } from '../../lambdas/shared/contract/functions';
import { USER_ADMIN_SCOPE, fullScope } from '../../lambdas/shared/contract/names';
import { ROUTES, type RouteDef } from '../../lambdas/shared/contract/routes';
import { type ResolveResult, resolveCaller } from '../../lambdas/shared/resolver';
import { type RawResponse, send } from '../local/gateway-fixture';
import { TEST_PASSWORD, type TestCredential, type TestStack, type TestUser } from '../support/local-stack';
import { MapLookup, apiEvent } from '../unit/support/api';
import { type Answer, claimsOf, expectRefusal, gatewayLogOf, logLines, poolSigner, startSecurityStack } from './support/stack';

const route = (id: string) => ROUTES.find((r) => r.id === id) as RouteDef;
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function answerOfRaw(res: RawResponse): Answer {
  const type = res.headers['content-type'];
  return { status: res.status, contentType: Array.isArray(type) ? type[0] : type, text: res.text };
}

describe('category: token-attacks', () => {
  let ts: TestStack;
  let alice: TestUser;
  let bob: TestUser;
  let credential: TestCredential;
  let clientToken: string;
  let idToken: string;
  let refreshToken: string;
  let poolJwk: JWK;
  let poolPem: string;
  let signAsPool: (claims: JWTPayload) => Promise<string>;
  let attacker: { privateKey: CryptoKey; publicJwk: JWK };

  beforeAll(async () => {
    ts = await startSecurityStack();
    // Names made of word characters only, so a name can also pass as a client id where a case needs that.
    alice = await ts.createUser('tokalice', { developer: true });
    bob = await ts.createUser('tokbob', { developer: true });
    credential = await ts.createCredential(alice, ['read', 'write']);
    clientToken = await ts.clientToken(credential.clientId, credential.clientSecret);
    const auth = await ts.cognito.send(
      new InitiateAuthCommand({
        ClientId: ts.stack.endpoints.uiClientId,
        AuthFlow: 'USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME: alice.username, PASSWORD: TEST_PASSWORD },
      }),
    );
    idToken = auth.AuthenticationResult?.IdToken as string;
    refreshToken = auth.AuthenticationResult?.RefreshToken as string;
    const jwks = (await (await fetch(ts.stack.endpoints.jwksUrl)).json()) as { keys: JWK[] };
    poolJwk = jwks.keys[0] as JWK;
    poolPem = await exportSPKI((await importJWK(poolJwk, 'RS256')) as CryptoKey);
    signAsPool = await poolSigner(ts);
    const pair = await generateKeyPair('RS256', { extractable: true });
    attacker = { privateKey: pair.privateKey, publicJwk: { ...(await exportJWK(pair.publicKey)), alg: 'RS256' } };
  });

  afterAll(async () => {
    await ts?.close();
  });

  afterEach(() => {
    vi.restoreAllMocks();
    syncBuiltinESMExports();
  });

  const call = (headers: ReadonlyArray<readonly [string, string]>, path = '/v1/me', method = 'GET', body?: string) =>
    send(ts.stack.port, { method, path, headers, ...(body === undefined ? {} : { body }) });

  /** Refused by the gateway itself: 401, JSON, `WWW-Authenticate: Bearer`, and a logged reason (no handler ran). */
  function expectGatewayRefusal(res: RawResponse): void {
    expectRefusal(answerOfRaw(res), 401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    const line = gatewayLogOf(ts, res.headers['x-amzn-requestid'] as string | undefined);
    expect(line?.['status']).toBe(401);
    expect(line?.['reason']).toEqual(expect.any(String));
  }

  const realClaims = () => claimsOf(alice.token);
  const forge = (claims: JWTPayload, header: Record<string, unknown> = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: poolJwk.kid as string, ...header }).sign(attacker.privateKey);
  const parts = (token: string) => token.split('.') as [string, string, string];

  describe('forged and tampered tokens at the gateway', () => {
    type Attack = () => Promise<string>;
    const attacks: Array<[string, Attack]> = [
      ['alg none carrying a real token\'s claims', async () => `${b64url({ alg: 'none', kid: poolJwk.kid })}.${parts(alice.token)[1]}.`],
      ['alg none with the real signature kept', async () => {
        const [, payload, signature] = parts(alice.token);
        return `${b64url({ alg: 'none', kid: poolJwk.kid })}.${payload}.${signature}`;
      }],
      ['alg NONE (another spelling)', async () => `${b64url({ alg: 'NONE', typ: 'JWT' })}.${parts(alice.token)[1]}.`],
      ['HS256 signed with the pool\'s RSA public key (PEM) as the secret', async () =>
        new SignJWT(realClaims()).setProtectedHeader({ alg: 'HS256', kid: poolJwk.kid as string }).sign(new TextEncoder().encode(poolPem))],
      ['HS256 signed with the pool\'s public JWK (JSON) as the secret', async () =>
        new SignJWT(realClaims()).setProtectedHeader({ alg: 'HS256', kid: poolJwk.kid as string }).sign(new TextEncoder().encode(JSON.stringify(poolJwk)))],
      ['an attacker\'s RSA key under an unknown kid', async () => forge(realClaims(), { kid: randomUUID() })],
      ['an attacker\'s RSA key under the pool\'s kid', async () => forge(realClaims())],
      ['an attacker\'s key embedded in the header (jwk)', async () => forge(realClaims(), { jwk: attacker.publicJwk })],
      ['a header pointing at the attacker\'s key set (jku)', async () => forge(realClaims(), { jku: 'https://attacker.example/jwks.json' })],
      ['an attacker\'s ES256 key', async () => {
        const es = await generateKeyPair('ES256');
        return new SignJWT(realClaims()).setProtectedHeader({ alg: 'ES256', kid: poolJwk.kid as string }).sign(es.privateKey);
      }],
      ['the real token with the username changed to another user\'s', async () => {
        const [header, , signature] = parts(alice.token);
        return `${header}.${b64url({ ...realClaims(), username: bob.username })}.${signature}`;
      }],
      ['the real client token with client_id and sub changed', async () => {
        const [header, , signature] = parts(clientToken);
        const claims = claimsOf(clientToken);
        return `${header}.${b64url({ ...claims, client_id: 'a'.repeat(26), sub: 'a'.repeat(26) })}.${signature}`;
      }],
      ['the real token with its expiry pushed back a year', async () => {
        const [header, , signature] = parts(alice.token);
        return `${header}.${b64url({ ...realClaims(), exp: now() + 365 * 86400 })}.${signature}`;
      }],
      ['the real token with one signature character changed', async () => {
        const token = alice.token;
        const i = token.length - 5;
        return `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
      }],
      ['the real token without its signature', async () => `${parts(alice.token)[0]}.${parts(alice.token)[1]}.`],
      ['the real payload and signature under a header with another kid', async () => {
        const [, payload, signature] = parts(alice.token);
        return `${b64url({ alg: 'RS256', kid: randomUUID() })}.${payload}.${signature}`;
      }],
      ['a token of four parts', async () => `${alice.token}.${parts(alice.token)[2]}`],
      ['a JWE-shaped token (five parts)', async () => `${b64url({ alg: 'dir', enc: 'A256GCM' })}..${b64url('iv')}.${b64url('x')}.${b64url('tag')}`],
      ['a token whose parts are not base64url JSON', async () => 'eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln'],
    ];

    it.each(attacks)('refuses %s', async (_name, attack) => {
      // Prepare
      const token = await attack();

      // Act
      const res = await call([['Authorization', `Bearer ${token}`]]);

      // Assess
      expectGatewayRefusal(res);
    });

    it('refuses a tampered client token that adds the user scope, on a credential-management route', async () => {
      // Prepare: the attacker wants a machine token to pass for a signed-in user on POST /credentials.
      const [header, , signature] = parts(clientToken);
      const claims = claimsOf(clientToken);
      const tampered = `${header}.${b64url({ ...claims, scope: `${claims['scope'] as string} ${USER_ADMIN_SCOPE}`, username: alice.username })}.${signature}`;

      // Act
      const res = await call([['Authorization', `Bearer ${tampered}`], ['Content-Type', 'application/json']], '/v1/credentials', 'POST', '{}');

      // Assess
      expectGatewayRefusal(res);
    });
  });

  describe('tokens Cognito could have issued, refused as RFC 8725 and API Gateway require', () => {
    const cases: Array<[string, () => JWTPayload]> = [
      ['an access token that expired an hour ago', () => ({ ...claimsOf(alice.token), iat: now() - 7200, exp: now() - 3600 })],
      ['an access token that expired ten seconds ago', () => ({ ...claimsOf(alice.token), exp: now() - 10 })],
      ['an access token not valid for another hour (nbf)', () => ({ ...claimsOf(alice.token), nbf: now() + 3600 })],
      ['an access token without exp', () => {
        const { exp: _exp, ...claims } = claimsOf(alice.token);
        return claims;
      }],
      ['an access token of another user pool (iss)', () => ({
        ...claimsOf(alice.token),
        iss: `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_${randomBytes(6).toString('hex').slice(0, 9)}`,
      })],
      ['an access token whose iss has a trailing slash', () => ({ ...claimsOf(alice.token), iss: `${ts.stack.endpoints.issuer}/` })],
      ['an access token whose iss is http, not https', () => ({ ...claimsOf(alice.token), iss: ts.stack.endpoints.issuer.replace('https:', 'http:') })],
      ['an access token whose iss is an attacker\'s host with the pool id', () => ({
        ...claimsOf(alice.token),
        iss: `https://attacker.example/${ts.stack.endpoints.userPoolId}`,
      })],
      ['an access token without iss', () => {
        const { iss: _iss, ...claims } = claimsOf(alice.token);
        return claims;
      }],
      ['a token with token_use id but access-token claims', () => ({ ...claimsOf(alice.token), token_use: 'id' })],
      ['a token with token_use refresh', () => ({ ...claimsOf(alice.token), token_use: 'refresh' })],
      ['a token with token_use Access (another case)', () => ({ ...claimsOf(alice.token), token_use: 'Access' })],
      ['a token without token_use', () => {
        const { token_use: _use, ...claims } = claimsOf(alice.token);
        return claims;
      }],
      ['a token whose scope only looks like the user scope', () => ({ ...claimsOf(alice.token), scope: `${USER_ADMIN_SCOPE}.x devaccess/readx` })],
      ['a token with no scope', () => {
        const { scope: _scope, ...claims } = claimsOf(alice.token);
        return claims;
      }],
    ];

    it.each(cases)('refuses %s', async (_name, claims) => {
      // Prepare
      const token = await signAsPool(claims());

      // Act
      const res = await call([['Authorization', `Bearer ${token}`]]);

      // Assess
      expectGatewayRefusal(res);
    });

    it('accepts the same claims signed the same way when nothing is wrong (control)', async () => {
      // Prepare
      const token = await signAsPool({ ...claimsOf(alice.token), iat: now(), exp: now() + 600 });

      // Act
      const res = await call([['Authorization', `Bearer ${token}`]]);

      // Assess
      expect(res.status).toBe(200);
      expect((res.json() as { userId: string }).userId).toBe(alice.userId);
    });
  });

  describe('real tokens of the wrong kind', () => {
    it('refuses the user\'s real ID token as a bearer token', async () => {
      // Act
      const res = await call([['Authorization', `Bearer ${idToken}`]]);

      // Assess
      expect(claimsOf(idToken)['token_use']).toBe('id');
      expectGatewayRefusal(res);
    });

    it('refuses the user\'s real refresh token as a bearer token', async () => {
      // Act
      const res = await call([['Authorization', `Bearer ${refreshToken}`]]);

      // Assess
      expectGatewayRefusal(res);
    });

    it('refuses a real access token of another user pool on the same Cognito (same signing key, other iss)', async () => {
      // Prepare: the emulator signs every pool's tokens with one key, so only the issuer check separates them.
      const pool = await ts.cognito.send(new CreateUserPoolCommand({ PoolName: `other-${randomUUID().slice(0, 8)}` }));
      const poolId = pool.UserPool?.Id as string;
      const client = await ts.cognito.send(
        new CreateUserPoolClientCommand({ UserPoolId: poolId, ClientName: 'other', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH'] }),
      );
      await ts.cognito.send(new AdminCreateUserCommand({ UserPoolId: poolId, Username: alice.username, MessageAction: 'SUPPRESS' }));
      await ts.cognito.send(
        new AdminSetUserPasswordCommand({ UserPoolId: poolId, Username: alice.username, Password: TEST_PASSWORD, Permanent: true }),
      );
      const auth = await ts.cognito.send(
        new InitiateAuthCommand({
          ClientId: client.UserPoolClient?.ClientId as string,
          AuthFlow: 'USER_PASSWORD_AUTH',
          AuthParameters: { USERNAME: alice.username, PASSWORD: TEST_PASSWORD },
        }),
      );
      const foreign = auth.AuthenticationResult?.AccessToken as string;

      // Act
      const res = await call([['Authorization', `Bearer ${foreign}`]]);

      // Assess: same kid, same username, valid signature; only the pool differs.
      expect(claimsOf(foreign)['username']).toBe(alice.username);
      expect(claimsOf(foreign).iss).not.toBe(ts.stack.endpoints.issuer);
      expectGatewayRefusal(res);
    });

    it('refuses a valid client token once its credential is revoked (the handler, not the gateway, refuses it)', async () => {
      // Prepare
      const doomed = await ts.createCredential(bob, ['read']);
      const token = await ts.clientToken(doomed.clientId, doomed.clientSecret);
      const before = await call([['Authorization', `Bearer ${token}`]]);
      expect((await ts.api('DELETE', `/credentials/${doomed.clientId}`, bob.token)).status).toBe(204);

      // Act
      const res = await call([['Authorization', `Bearer ${token}`]]);

      // Assess
      expect(before.status).toBe(200);
      expectRefusal(answerOfRaw(res), 401);
      expect(gatewayLogOf(ts, res.headers['x-amzn-requestid'] as string)?.['reason']).toBeUndefined();
    });
  });

  describe('where and how the token is sent', () => {
    it('refuses a token sent only in the query string', async () => {
      // Act
      const asAccessToken = await call([], `/v1/me?access_token=${alice.token}`);
      const asAuthorization = await call([], `/v1/me?Authorization=${encodeURIComponent(`Bearer ${alice.token}`)}`);

      // Assess
      expectGatewayRefusal(asAccessToken);
      expectGatewayRefusal(asAuthorization);
    });

    it('refuses a token sent only in a form body (RFC 6750 §2.2)', async () => {
      // Act
      const res = await call(
        [['Content-Type', 'application/x-www-form-urlencoded']],
        '/v1/notes',
        'POST',
        new URLSearchParams({ access_token: alice.token, text: 'x' }).toString(),
      );

      // Assess
      expectGatewayRefusal(res);
    });

    it.each([
      ['a cookie', (t: string): [string, string] => ['Cookie', `access_token=${t}`]],
      ['X-Authorization', (t: string): [string, string] => ['X-Authorization', `Bearer ${t}`]],
      ['X-Amz-Security-Token', (t: string): [string, string] => ['X-Amz-Security-Token', t]],
      ['Proxy-Authorization', (t: string): [string, string] => ['Proxy-Authorization', `Bearer ${t}`]],
    ])('refuses a token sent only in %s', async (_name, header) => {
      // Act
      const res = await call([header(alice.token)]);

      // Assess
      expectGatewayRefusal(res);
    });

    it.each([
      ['the same token twice', () => [['Authorization', `Bearer ${alice.token}`], ['Authorization', `Bearer ${alice.token}`]]],
      ['two users\' tokens', () => [['Authorization', `Bearer ${alice.token}`], ['Authorization', `Bearer ${bob.token}`]]],
      ['a valid token and garbage, names cased differently', () => [['Authorization', `Bearer ${alice.token}`], ['authorization', 'Bearer x.y.z']]],
      ['two tokens joined by a comma in one header', () => [['Authorization', `Bearer ${alice.token}, Bearer ${bob.token}`]]],
      ['the Basic scheme with the client\'s id and secret', () => [
        ['Authorization', `Basic ${Buffer.from(`${credential.clientId}:${credential.clientSecret}`).toString('base64')}`],
      ]],
      ['another scheme (Token)', () => [['Authorization', `Token ${alice.token}`]]],
      ['the scheme without a token', () => [['Authorization', 'Bearer']]],
      ['an empty header', () => [['Authorization', '']]],
      ['the token followed by another word', () => [['Authorization', `Bearer ${alice.token} admin`]]],
      ['the token quoted', () => [['Authorization', `Bearer "${alice.token}"`]]],
      ['a tab inside the token', () => [['Authorization', `Bearer ${alice.token.slice(0, 20)}\t${alice.token.slice(20)}`]]],
    ] as Array<[string, () => Array<[string, string]>]>)('refuses %s in Authorization', async (_name, headers) => {
      // Act
      const res = await call(headers());

      // Assess
      expectGatewayRefusal(res);
    });

    it.each([
      ['lower-case bearer', (t: string) => `bearer ${t}`],
      ['upper-case BEARER', (t: string) => `BEARER ${t}`],
      ['extra spaces around the token', (t: string) => `Bearer   ${t}  `],
      ['the bare token, as API Gateway\'s Cognito authorizer takes it', (t: string) => t],
    ])('accepts %s', async (_name, format) => {
      // Act
      const res = await call([['authorization', format(alice.token)]]);

      // Assess
      expect(res.status).toBe(200);
      expect((res.json() as { userId: string }).userId).toBe(alice.userId);
    });
  });

  describe('oversized headers', () => {
    it('refuses an Authorization header over API Gateway\'s 10 KB limit with 401', async () => {
      // Prepare: a real-looking token, padded with a claim, signed by the attacker.
      const token = await forge({ ...realClaims(), padding: 'p'.repeat(11_000) });

      // Act
      const res = await call([['Authorization', `Bearer ${token}`]]);

      // Assess
      expectGatewayRefusal(res);
      expect(gatewayLogOf(ts, res.headers['x-amzn-requestid'] as string)?.['reason']).toBe('token_too_long');
    });

    it('answers headers beyond the server\'s limit with 431, never a 5xx, and keeps serving', async () => {
      // Prepare
      const many: Array<[string, string]> = Array.from({ length: 400 }, (_, i) => [`X-Pad-${i}`, 'v'.repeat(100)]);

      // Act
      const huge = await call([['Authorization', `Bearer ${'a'.repeat(70_000)}`]]);
      const tooMany = await call([['Authorization', `Bearer ${alice.token}`], ...many]);
      const after = await call([['Authorization', `Bearer ${alice.token}`]]);

      // Assess: node's HTTP parser answers before any of our code runs (no body), which is still not a 5xx.
      expect(huge.status).toBe(431);
      expect(tooMany.status).toBe(431);
      expect(after.status).toBe(200);
    });

    it('serves a valid token among many small headers under the limit', async () => {
      // Prepare
      const many: Array<[string, string]> = Array.from({ length: 80 }, (_, i) => [`X-Pad-${i}`, 'v'.repeat(40)]);

      // Act
      const res = await call([['Authorization', `Bearer ${alice.token}`], ...many]);

      // Assess
      expect(res.status).toBe(200);
    });
  });

  describe('key lookups', () => {
    it('reads the JWKS at most once under a flood of random kids, and never goes to the network', async () => {
      // Prepare
      const blocked = () => {
        throw new Error('network I/O attempted');
      };
      const tlsConnect = vi.spyOn(tls, 'connect').mockImplementation(blocked);
      const httpsRequest = vi.spyOn(https, 'request').mockImplementation(blocked);
      const httpsGet = vi.spyOn(https, 'get').mockImplementation(blocked);
      syncBuiltinESMExports();
      const jwksReads = vi.spyOn(ts.stack.cognito, 'jwks');
      const tokens = await Promise.all(Array.from({ length: 60 }, () => forge(realClaims(), { kid: randomUUID() })));

      // Act
      const responses: RawResponse[] = [];
      for (let i = 0; i < tokens.length; i += 20) {
        responses.push(...(await Promise.all(tokens.slice(i, i + 20).map((t) => call([['Authorization', `Bearer ${t}`]])))));
      }
      const stillGood = await call([['Authorization', `Bearer ${alice.token}`]]);

      // Assess: without the penalty box every unknown kid would refetch; with it, at most the first one does.
      for (const res of responses) expectGatewayRefusal(res);
      expect(jwksReads.mock.calls.length).toBeLessThanOrEqual(1);
      expect(stillGood.status).toBe(200);
      expect(tlsConnect).not.toHaveBeenCalled();
      expect(httpsRequest).not.toHaveBeenCalled();
      expect(httpsGet).not.toHaveBeenCalled();
    });
  });

  describe('crossover at the resolver (verified claims, fake lookup)', () => {
    // Identities as the stack holds them, filled in once the users exist.
    const ids = () => ({
      aliceSub: claimsOf(alice.token).sub as string,
      bobSub: claimsOf(bob.token).sub as string,
    });
    const lookup = () =>
      new MapLookup(
        { [alice.username]: alice.userId, [bob.username]: bob.userId },
        { [credential.clientId]: { userId: alice.userId, status: 'active' } },
      );
    const client = (clientId: string, extra: Record<string, string> = {}) => ({
      token_use: 'access',
      sub: clientId,
      client_id: clientId,
      scope: `${fullScope('read')} ${fullScope('write')}`,
      ...extra,
    });
    const user = (username: string, extra: Record<string, string> = {}) => ({
      token_use: 'access',
      sub: randomUUID(),
      client_id: ts.stack.endpoints.uiClientId,
      username,
      scope: USER_ADMIN_SCOPE,
      ...extra,
    });

    const denied = (r: ResolveResult) => {
      expect(r.ok).toBe(false);
      expect(JSON.stringify(r)).not.toContain(alice.userId);
      expect(JSON.stringify(r)).not.toContain(bob.userId);
    };

    it('refuses a client token whose client_id is a real user\'s sub', async () => {
      const result = await resolveCaller(client(ids().aliceSub), lookup());
      denied(result);
    });

    it('refuses a client token whose client_id is a real user\'s username', async () => {
      const seen = lookup();
      const result = await resolveCaller(client(alice.username), seen);
      denied(result);
      expect(seen.calls).toEqual([`client:${alice.username}`]);
    });

    it('refuses a client token whose client_id is a real user\'s internal id', async () => {
      denied(await resolveCaller(client(alice.userId), lookup()));
    });

    it('resolves a user token whose sub is a real client id to the token\'s username, never the client\'s owner', async () => {
      const seen = lookup();
      const result = await resolveCaller(user(bob.username, { sub: credential.clientId }), seen);
      expect(result).toMatchObject({ ok: true, caller: { userId: bob.userId, via: 'user', username: bob.username } });
      expect(seen.calls).toEqual([`username:${bob.username}`]);
    });

    it('resolves a client token whose sub names another user to the client\'s owner', async () => {
      const result = await resolveCaller(client(credential.clientId, { sub: ids().bobSub }), lookup());
      expect(result).toMatchObject({ ok: true, caller: { userId: alice.userId, via: 'client', clientId: credential.clientId } });
    });

    it('refuses a user token whose username is a real client id but no user\'s name', async () => {
      const seen = lookup();
      const result = await resolveCaller(user(credential.clientId), seen);
      denied(result);
      expect(seen.calls).toEqual([`username:${credential.clientId}`]);
    });

    it('ignores cognito:username on a client token: the client decides', async () => {
      const result = await resolveCaller(client(credential.clientId, { 'cognito:username': bob.username }), lookup());
      expect(result).toMatchObject({ ok: true, caller: { userId: alice.userId, via: 'client' } });
    });

    it('refuses an access token that names a user only by cognito:username, as ID tokens do', async () => {
      const seen = lookup();
      const result = await resolveCaller({ token_use: 'access', sub: ids().aliceSub, 'cognito:username': alice.username, scope: USER_ADMIN_SCOPE }, seen);
      expect(result).toEqual({ ok: false, denial: { code: 'unauthorized', reason: 'missing_identity' } });
      expect(seen.calls).toEqual([]);
    });

    it.each([['id'], ['refresh'], ['Access'], ['access '], [''], ['ACCESS']])(
      'refuses token_use %j before any lookup',
      async (use) => {
        const seen = lookup();
        const result = await resolveCaller(user(alice.username, { token_use: use }), seen);
        expect(result).toEqual({ ok: false, denial: { code: 'unauthorized', reason: 'not_access_token' } });
        expect(seen.calls).toEqual([]);
      },
    );

    it('refuses a token_use given as a list', async () => {
      const result = await resolveCaller({ ...user(alice.username), token_use: ['access'] }, lookup());
      expect(result).toMatchObject({ ok: false, denial: { reason: 'not_access_token' } });
    });

    it('refuses a client token on a credential-management route even when it claims the user scope', async () => {
      const seen = lookup();
      const result = await resolveCaller(client(credential.clientId, { scope: USER_ADMIN_SCOPE }), seen, { userOnly: true });
      expect(result).toEqual({ ok: false, denial: { code: 'forbidden', reason: 'user_token_required' } });
      expect(seen.calls).toEqual([]);
    });
  });

  describe('crossover at the handlers of the running stack (verified claims, real table)', () => {
    async function invoke(fn: FunctionName, routeId: string, claims: Record<string, string>): Promise<APIGatewayProxyResult> {
      const r = route(routeId);
      const result = await ts.stack.lambda.invoke(LOCAL_NAMES.function(fn), apiEvent(r, { claims, ...(r.body ? { body: {} } : {}) }));
      if ('error' in result) throw new Error(`${fn} failed: ${result.error.errorMessage}`);
      return result.payload as APIGatewayProxyResult;
    }
    const body = (res: APIGatewayProxyResult) => JSON.parse(res.body) as Record<string, any>;
    const clientClaims = (clientId: string, extra: Record<string, string> = {}) => ({
      token_use: 'access',
      sub: clientId,
      client_id: clientId,
      scope: `${fullScope('read')} ${fullScope('write')}`,
      iss: ts.stack.endpoints.issuer,
      ...extra,
    });
    const userClaims = (username: string, extra: Record<string, string> = {}) => ({
      token_use: 'access',
      sub: randomUUID(),
      client_id: ts.stack.endpoints.uiClientId,
      username,
      scope: USER_ADMIN_SCOPE,
      iss: ts.stack.endpoints.issuer,
      ...extra,
    });

    it.each([
      ['a real user\'s sub', () => claimsOf(alice.token).sub as string],
      ['a real user\'s username', () => alice.username],
      ['a real user\'s internal id', () => alice.userId],
    ])('answers 401 to a client token whose client_id is %s', async (_name, id) => {
      // Act
      const res = await invoke('profile', 'getMe', clientClaims(id()));

      // Assess
      expect(res.statusCode).toBe(401);
      expect(body(res).error.code).toBe('unauthorized');
      expect(res.body).not.toContain(alice.userId);
    });

    it('scopes a user token whose sub is a real client id to the token\'s own user', async () => {
      // Act
      const res = await invoke('profile', 'getMe', userClaims(bob.username, { sub: credential.clientId }));

      // Assess
      expect(res.statusCode).toBe(200);
      expect(body(res)).toMatchObject({ userId: bob.userId, via: 'user', username: bob.username });
    });

    it('answers 401 to a user token whose username is a real client id that no user has', async () => {
      // Act
      const res = await invoke('profile', 'getMe', userClaims(credential.clientId));

      // Assess
      expect(res.statusCode).toBe(401);
    });

    it('answers 403 to a client token that claims the user scope on a credential-management route, writing nothing', async () => {
      // Prepare
      const before = await ts.api('GET', '/credentials', alice.token);

      // Act
      const res = await invoke('credentials', 'createCredential', clientClaims(credential.clientId, { scope: USER_ADMIN_SCOPE }));
      const after = await ts.api('GET', '/credentials', alice.token);

      // Assess
      expect(res.statusCode).toBe(403);
      expect(after.body).toEqual(before.body);
    });

    it('keeps a real user whose username equals another user\'s client id to their own data', async () => {
      // Prepare: sign-up lets anyone pick a username shaped like a client id; the resolver must not care.
      const mallory = await ts.createUser(credential.clientId);
      expect((await ts.api('POST', '/notes', clientToken, { text: 'alice only' })).status).toBe(201);

      // Act
      const me = await ts.api('GET', '/me', mallory.token);
      const notes = await ts.api('GET', '/notes', mallory.token);

      // Assess
      expect(me.body).toMatchObject({ userId: mallory.userId, via: 'user', username: credential.clientId });
      expect(mallory.userId).not.toBe(alice.userId);
      expect(notes.body.notes).toEqual([]);
    });
  });

  it('never answered with a 5xx during any of the attacks', () => {
    // Act
    const statuses = logLines(ts)
      .filter((l) => l['message'] === 'api request')
      .map((l) => l['status'] as number);

    // Assess
    expect(statuses.length).toBeGreaterThan(100);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
  });
});
