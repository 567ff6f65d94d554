import { describe, expect, it } from 'vitest';
import { ANNOUNCEMENTS, AnnouncementList } from '../../lambdas/announcements/announcements';
import { createAnnouncementsHandler } from '../../lambdas/announcements/handler';
import { fullScope } from '../../lambdas/shared/contract/names';
import { MapLookup, apiEvent, bodyOf, clientClaims, userClaims } from './support/api';

const ALICE = 'a1a1a1a1-0000-4000-8000-000000000001';
const BOB = 'b0b0b0b0-0000-4000-8000-000000000002';
const CLIENT = 'bob0client00000000000000bb';
const REVOKED = 'revoked0client00000000000r';

const lookup = new MapLookup(
  { alice: ALICE },
  { [CLIENT]: { userId: BOB, status: 'active' }, [REVOKED]: { userId: BOB, status: 'revoked' } },
);
const api = () => createAnnouncementsHandler(() => lookup);

describe('GET /announcements', () => {
  it('gives every valid caller the same list', async () => {
    const asUser = await api()(apiEvent('listAnnouncements', { claims: userClaims('alice') }));
    const asClient = await api()(apiEvent('listAnnouncements', { claims: clientClaims(CLIENT, fullScope('read')) }));
    expect(asUser.statusCode).toBe(200);
    expect(asClient.body).toBe(asUser.body);
    expect(AnnouncementList.parse(bodyOf(asUser)).announcements).toEqual([...ANNOUNCEMENTS]);
    expect(ANNOUNCEMENTS.length).toBeGreaterThan(0);
  });

  it('still refuses an unknown user and a revoked client', async () => {
    expect((await api()(apiEvent('listAnnouncements', { claims: userClaims('mallory') }))).statusCode).toBe(401);
    expect((await api()(apiEvent('listAnnouncements', { claims: clientClaims(REVOKED) }))).statusCode).toBe(401);
  });

  it('keeps the list immutable across requests', () => {
    expect(Object.isFrozen(ANNOUNCEMENTS)).toBe(true);
  });
});
