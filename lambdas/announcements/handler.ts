/** GET /announcements: the same static list for every valid caller (no per-user data behind it). */
import { dynamoDocumentClient } from '../shared/clients';
import { loadConfig } from '../shared/config';
import { FUNCTIONS } from '../shared/contract/functions';
import { type ProxyHandler, type RouteImpl, createApiHandler } from '../shared/http';
import { type IdentityLookup, IdentityStore } from '../shared/identity-store';
import { ANNOUNCEMENTS } from './announcements';

export const announcementRoutes: Record<string, RouteImpl> = {
  listAnnouncements: async () => ({ status: 200, body: { announcements: ANNOUNCEMENTS } }),
};

/** The caller is still resolved: a revoked client or an unknown user gets 401 here as on every protected route. */
export function createAnnouncementsHandler(lookup: () => IdentityLookup): ProxyHandler {
  return createApiHandler({ name: 'announcements', routes: announcementRoutes, lookup });
}

let store: IdentityStore | undefined;
function productionLookup(): IdentityStore {
  store ??= new IdentityStore(dynamoDocumentClient(), loadConfig(FUNCTIONS.announcements.config).IDENTITY_TABLE_NAME);
  return store;
}

export const handler: ProxyHandler = createAnnouncementsHandler(productionLookup);
