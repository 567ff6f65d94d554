/**
 * Layout of the identity table (partition key `pk`, sort key `sk`, both strings). Every authorizing lookup is a
 * strongly consistent GetItem of a base-table item; the table has no GSI on purpose (a GSI is eventually
 * consistent, so a just-revoked client could pass for a moment).
 *
 * | item            | pk                   | sk              | attributes                                                      |
 * |-----------------|----------------------|-----------------|-----------------------------------------------------------------|
 * | user            | `USER#<userId>`      | `USER`          | userId, username, createdAt, version, activeCredentials,        |
 * |                 |                      |                 | lockOwner?, lockExpiresAt? (the per-user operation lock),       |
 * |                 |                      |                 | provisionedEventId? (UserProvisioned was published)             |
 * | username lookup | `USERNAME#<username>`| `USERNAME`      | userId, username, createdAt                                     |
 * | client lookup   | `CLIENT#<clientId>`  | `CLIENT`        | clientId, userId, status, scopes, name, createdAt, revokedAt?   |
 * |                 |                      |                 | revokedReason? (`client-missing`: revoked by the sweeper),      |
 * |                 |                      |                 | revokedEventId? (only here: its CredentialRevoked went out)     |
 * | credential      | `USER#<userId>`      | `CRED#<clientId>` | the same as the client lookup (the user's list, one Query)    |
 * | sweep marker    | `SWEEP#<clientId>`   | `SWEEP`         | clientId, firstSeenAt (epoch ms): when the sweeper first saw an |
 * |                 |                      |                 | unmapped credential client whose name carries no time          |
 * | republished run | `RUN#<executionArn>` | `REPUBLISHED`   | executionArn, eventId, republishedAt: the sweeper published    |
 * |                 |                      |                 | the event of a run that committed but ended EventNotPublished |
 *
 * The notes table (sample protected data) has `userId` (partition) and `noteId` (sort).
 */
export const TABLE_KEYS = { partition: 'pk', sort: 'sk' } as const;
export const NOTES_KEYS = { partition: 'userId', sort: 'noteId' } as const;

export const USER_SK = 'USER';
export const USERNAME_SK = 'USERNAME';
export const CLIENT_SK = 'CLIENT';
export const CRED_SK_PREFIX = 'CRED#';
export const SWEEP_SK = 'SWEEP';
export const USER_PK_PREFIX = 'USER#';
export const USERNAME_PK_PREFIX = 'USERNAME#';
export const CLIENT_PK_PREFIX = 'CLIENT#';
export const SWEEP_PK_PREFIX = 'SWEEP#';
export const REPUBLISHED_PK_PREFIX = 'RUN#';
export const REPUBLISHED_SK = 'REPUBLISHED';

export const userKey = (userId: string) => ({ pk: `${USER_PK_PREFIX}${userId}`, sk: USER_SK });
export const usernameKey = (username: string) => ({ pk: `${USERNAME_PK_PREFIX}${username}`, sk: USERNAME_SK });
export const clientKey = (clientId: string) => ({ pk: `${CLIENT_PK_PREFIX}${clientId}`, sk: CLIENT_SK });
export const credentialKey = (userId: string, clientId: string) => ({
  pk: `${USER_PK_PREFIX}${userId}`,
  sk: `${CRED_SK_PREFIX}${clientId}`,
});

export const sweepMarkerKey = (clientId: string) => ({ pk: `${SWEEP_PK_PREFIX}${clientId}`, sk: SWEEP_SK });
export const republishedRunKey = (executionArn: string) => ({ pk: `${REPUBLISHED_PK_PREFIX}${executionArn}`, sk: REPUBLISHED_SK });

export const CREDENTIAL_STATUSES = ['active', 'revoked'] as const;
export type CredentialStatus = (typeof CREDENTIAL_STATUSES)[number];

/** `revokedReason` of a mapping the sweeper revoked because its app client was gone (the workflow sets none). */
export const REVOKED_REASON_CLIENT_MISSING = 'client-missing';
