import { describe, expect, it } from 'vitest';
import { USER_ADMIN_SCOPE, fullScope } from '../../lambdas/shared/contract/names';
import { parseScopes, resolveCaller } from '../../lambdas/shared/resolver';
import { MapLookup, clientClaims, userClaims } from './support/api';

const ALICE = 'a1a1a1a1-0000-4000-8000-000000000001';
const BOB = 'b0b0b0b0-0000-4000-8000-000000000002';
const ALICE_CLIENT = 'alice0client0000000000000a';
const BOB_CLIENT = 'bob0client00000000000000bb';
const REVOKED_CLIENT = 'revoked0client00000000000r';

function lookup(): MapLookup {
  return new MapLookup(
    { alice: ALICE, bob: BOB },
    {
      [ALICE_CLIENT]: { userId: ALICE, status: 'active' },
      [BOB_CLIENT]: { userId: BOB, status: 'active' },
      [REVOKED_CLIENT]: { userId: ALICE, status: 'revoked' },
    },
  );
}

describe('resolveCaller', () => {
  it('resolves a user token by its username', async () => {
    // Prepare
    const ids = lookup();
    // Act
    const result = await resolveCaller(userClaims('alice'), ids);
    // Assess
    expect(result).toEqual({
      ok: true,
      caller: {
        userId: ALICE,
        via: 'user',
        username: 'alice',
        clientId: 'uiclient0000000000000000ab',
        scopes: ['openid', USER_ADMIN_SCOPE],
      },
    });
    expect(ids.calls).toEqual(['username:alice']);
  });

  it('resolves a client token to the user its client is bound to', async () => {
    const ids = lookup();
    const result = await resolveCaller(clientClaims(ALICE_CLIENT), ids);
    expect(result).toEqual({
      ok: true,
      caller: { userId: ALICE, via: 'client', clientId: ALICE_CLIENT, scopes: [fullScope('read'), fullScope('write')] },
    });
    expect(ids.calls).toEqual([`client:${ALICE_CLIENT}`]);
  });

  it('refuses a token from a revoked or reset client', async () => {
    const result = await resolveCaller(clientClaims(REVOKED_CLIENT), lookup());
    expect(result).toEqual({ ok: false, denial: { code: 'unauthorized', reason: 'revoked_client' } });
  });

  it('refuses a token from a client that maps to no user', async () => {
    const result = await resolveCaller(clientClaims('unknown0client000000000000'), lookup());
    expect(result).toEqual({ ok: false, denial: { code: 'unauthorized', reason: 'unknown_client' } });
  });

  it('refuses a user token whose username was never provisioned', async () => {
    const result = await resolveCaller(userClaims('mallory'), lookup());
    expect(result).toEqual({ ok: false, denial: { code: 'unauthorized', reason: 'unknown_user' } });
  });

  it('refuses an ID token even when it names a known user', async () => {
    const ids = lookup();
    const result = await resolveCaller(userClaims('alice', USER_ADMIN_SCOPE, { token_use: 'id' }), ids);
    expect(result).toEqual({ ok: false, denial: { code: 'unauthorized', reason: 'not_access_token' } });
    expect(ids.calls).toEqual([]);
  });

  it('refuses claims without token_use', async () => {
    const { token_use: _omitted, ...claims } = clientClaims(ALICE_CLIENT);
    const result = await resolveCaller(claims, lookup());
    expect(result).toEqual({ ok: false, denial: { code: 'unauthorized', reason: 'not_access_token' } });
  });

  it('refuses missing claims', async () => {
    expect(await resolveCaller(undefined, lookup())).toEqual({
      ok: false,
      denial: { code: 'unauthorized', reason: 'no_claims' },
    });
    expect(await resolveCaller(null, lookup())).toMatchObject({ ok: false, denial: { reason: 'no_claims' } });
  });

  it('refuses an access token with neither username nor client_id, whatever its sub says', async () => {
    const ids = lookup();
    const result = await resolveCaller({ token_use: 'access', sub: ALICE_CLIENT, scope: fullScope('read') }, ids);
    expect(result).toEqual({ ok: false, denial: { code: 'unauthorized', reason: 'missing_identity' } });
    expect(ids.calls).toEqual([]);
  });

  it('ignores a sub that equals another user\'s client id', async () => {
    // A user token of alice whose sub happens to be bob's client id: the username decides, never the sub.
    const result = await resolveCaller(userClaims('alice', USER_ADMIN_SCOPE, { sub: BOB_CLIENT }), lookup());
    expect(result).toMatchObject({ ok: true, caller: { userId: ALICE, via: 'user' } });
    // A client token of alice's client whose sub names bob's client: the client_id decides.
    const client = await resolveCaller(clientClaims(ALICE_CLIENT, fullScope('read'), { sub: BOB_CLIENT }), lookup());
    expect(client).toMatchObject({ ok: true, caller: { userId: ALICE, via: 'client', clientId: ALICE_CLIENT } });
  });

  it('treats a token with a username claim as that user\'s token and never consults the client mapping', async () => {
    // Cognito never puts `username` in client-credentials tokens; if a token has one, the username decides and a
    // revoked client id next to it cannot lend the token a different identity.
    const ids = lookup();
    const result = await resolveCaller(clientClaims(REVOKED_CLIENT, fullScope('read'), { username: 'bob' }), ids);
    expect(result).toMatchObject({ ok: true, caller: { userId: BOB, via: 'user', username: 'bob' } });
    expect(ids.calls).toEqual(['username:bob']);
  });

  it('refuses a username or client id outside what Cognito issues', async () => {
    expect(await resolveCaller(userClaims('a\u0000b'), lookup())).toMatchObject({
      ok: false,
      denial: { reason: 'missing_identity' },
    });
    expect(await resolveCaller(userClaims('x'.repeat(129)), lookup())).toMatchObject({
      ok: false,
      denial: { reason: 'missing_identity' },
    });
    expect(await resolveCaller(clientClaims('client id with spaces'), lookup())).toMatchObject({
      ok: false,
      denial: { reason: 'missing_identity' },
    });
  });

  it('refuses a non-string username claim instead of coercing it', async () => {
    const claims = { ...clientClaims(ALICE_CLIENT), username: 42 } as unknown as Record<string, unknown>;
    const result = await resolveCaller(claims, lookup());
    // The username claim is ignored (not a string); the token resolves as the client token it otherwise is.
    expect(result).toMatchObject({ ok: true, caller: { via: 'client', userId: ALICE } });
  });

  describe('on user-only routes', () => {
    it('refuses every client token with forbidden before any lookup', async () => {
      const ids = lookup();
      const result = await resolveCaller(clientClaims(ALICE_CLIENT), ids, { userOnly: true });
      expect(result).toEqual({ ok: false, denial: { code: 'forbidden', reason: 'user_token_required' } });
      expect(ids.calls).toEqual([]);
    });

    it('accepts a user token', async () => {
      const result = await resolveCaller(userClaims('bob'), lookup(), { userOnly: true });
      expect(result).toMatchObject({ ok: true, caller: { userId: BOB, via: 'user' } });
    });

    it('still refuses an unknown user with unauthorized', async () => {
      const result = await resolveCaller(userClaims('mallory'), lookup(), { userOnly: true });
      expect(result).toMatchObject({ ok: false, denial: { code: 'unauthorized', reason: 'unknown_user' } });
    });
  });
});

describe('parseScopes', () => {
  it('splits a space-separated scope claim and drops empty entries', () => {
    expect(parseScopes('  devaccess/read   devaccess/write\topenid ')).toEqual([
      'devaccess/read',
      'devaccess/write',
      'openid',
    ]);
  });

  it('accepts an array of strings and drops anything else', () => {
    expect(parseScopes(['devaccess/read', 7, '', null, 'openid'])).toEqual(['devaccess/read', 'openid']);
  });

  it('returns no scopes for a missing or non-string claim', () => {
    expect(parseScopes(undefined)).toEqual([]);
    expect(parseScopes(12)).toEqual([]);
    expect(parseScopes('')).toEqual([]);
  });
});
