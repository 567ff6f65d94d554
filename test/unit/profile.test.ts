import { describe, expect, it } from 'vitest';
import { createProfileHandler } from '../../lambdas/profile/handler';
import { Me } from '../../lambdas/profile/schemas';
import { USER_ADMIN_SCOPE, fullScope } from '../../lambdas/shared/contract/names';
import { MapLookup, apiEvent, bodyOf, clientClaims, userClaims } from './support/api';

const ALICE = 'a1a1a1a1-0000-4000-8000-000000000001';
const CLIENT = 'alice0client0000000000000a';
const REVOKED = 'revoked0client00000000000r';

const api = () =>
  createProfileHandler(
    () =>
      new MapLookup(
        { alice: ALICE },
        { [CLIENT]: { userId: ALICE, status: 'active' }, [REVOKED]: { userId: ALICE, status: 'revoked' } },
      ),
  );

describe('GET /me', () => {
  it('describes a user-token caller exactly as resolved', async () => {
    const result = await api()(apiEvent('getMe', { claims: userClaims('alice', `openid ${USER_ADMIN_SCOPE}`) }));
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({
      userId: ALICE,
      via: 'user',
      username: 'alice',
      clientId: 'uiclient0000000000000000ab',
      scopes: ['openid', USER_ADMIN_SCOPE],
    });
  });

  it('describes a client-token caller as the user the client is bound to, without a username', async () => {
    const result = await api()(apiEvent('getMe', { claims: clientClaims(CLIENT, fullScope('read')) }));
    const body = Me.parse(bodyOf(result));
    expect(body).toEqual({ userId: ALICE, via: 'client', clientId: CLIENT, scopes: [fullScope('read')] });
  });

  it('shows no other claim of the token', async () => {
    const result = await api()(
      apiEvent('getMe', { claims: clientClaims(CLIENT, fullScope('read'), { 'cognito:groups': 'admins', email: 'a@x' }) }),
    );
    expect(Object.keys(bodyOf(result)).sort()).toEqual(['clientId', 'scopes', 'userId', 'via']);
  });

  it('refuses a revoked client', async () => {
    const result = await api()(apiEvent('getMe', { claims: clientClaims(REVOKED, fullScope('read')) }));
    expect(result.statusCode).toBe(401);
  });

  it('refuses a client token with only the write scope', async () => {
    const result = await api()(apiEvent('getMe', { claims: clientClaims(CLIENT, fullScope('write')) }));
    expect(result.statusCode).toBe(403);
  });
});
