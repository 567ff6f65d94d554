/** GET /me: who the caller is, as every handler sees them. Lets a developer check a credential end to end. */
import { dynamoDocumentClient } from '../shared/clients';
import { loadConfig } from '../shared/config';
import { FUNCTIONS } from '../shared/contract/functions';
import { type ProxyHandler, type RouteImpl, createApiHandler } from '../shared/http';
import { type IdentityLookup, IdentityStore } from '../shared/identity-store';
import type { Caller } from '../shared/resolver';
import type { Me } from './schemas';

/** The caller, field by field: a new Caller field does not appear in the API until it is added here. */
export function describeCaller(caller: Caller): Me {
  return {
    userId: caller.userId,
    via: caller.via,
    ...(caller.username !== undefined ? { username: caller.username } : {}),
    ...(caller.clientId !== undefined ? { clientId: caller.clientId } : {}),
    scopes: [...caller.scopes],
  };
}

export const profileRoutes: Record<string, RouteImpl> = {
  getMe: async ({ caller }) => ({ status: 200, body: describeCaller(caller) }),
};

export function createProfileHandler(lookup: () => IdentityLookup): ProxyHandler {
  return createApiHandler({ name: 'profile', routes: profileRoutes, lookup });
}

let store: IdentityStore | undefined;
function productionLookup(): IdentityStore {
  store ??= new IdentityStore(dynamoDocumentClient(), loadConfig(FUNCTIONS.profile.config).IDENTITY_TABLE_NAME);
  return store;
}

export const handler: ProxyHandler = createProfileHandler(productionLookup);
