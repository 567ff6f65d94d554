/** Product announcements: a static list shipped with the function (sample data readable by any valid caller). */
import { z } from 'zod';

export const Announcement = z.strictObject({
  id: z.string(),
  title: z.string(),
  body: z.string(),
  publishedAt: z.iso.datetime(),
});
export type Announcement = z.infer<typeof Announcement>;

export const AnnouncementList = z.strictObject({ announcements: z.array(Announcement) });

export const ANNOUNCEMENTS: readonly Announcement[] = Object.freeze([
  {
    id: 'developer-api-access',
    title: 'Developer API access',
    body: 'Members of the developers group can create a client id and secret (POST /v1/credentials) and call the API as themselves.',
    publishedAt: '2026-11-02T09:00:00.000Z',
  },
  {
    id: 'credential-reset',
    title: 'Reset a credential in one step',
    body: 'Resetting a credential issues a new client id and secret; the old pair stops working at once.',
    publishedAt: '2026-11-20T09:00:00.000Z',
  },
  {
    id: 'notes-api',
    title: 'Notes over the API',
    body: 'GET, POST and DELETE /v1/notes work with the read and write scopes of your credential.',
    publishedAt: '2026-12-01T09:00:00.000Z',
  },
]);
