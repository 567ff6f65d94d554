/** Response shape of GET /me: exactly the resolved Caller (lambdas/shared/resolver.ts), nothing more. */
import { z } from 'zod';

export const Me = z.strictObject({
  userId: z.string().describe('The caller\'s internal user id'),
  via: z.enum(['user', 'client']).describe('Which kind of token made the call: a signed-in user\'s, or a credential\'s'),
  username: z.string().optional().describe('Cognito username (user tokens only)'),
  clientId: z.string().optional().describe('App client the token was issued to'),
  scopes: z.array(z.string()).describe('OAuth scopes of the token'),
});
export type Me = z.infer<typeof Me>;
