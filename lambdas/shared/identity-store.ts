/**
 * The identity store: users, the USERNAME and CLIENT lookup items and the user's credential list, in the
 * identity table (layout in ./contract/table.ts). Every read that authorizes is a strongly consistent GetItem.
 */
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { awsErrorName } from './aws-errors';
import {
  CRED_SK_PREFIX,
  clientKey,
  credentialKey,
  type CredentialStatus,
  userKey,
  usernameKey,
} from './contract/table';

export interface UserRecord {
  readonly userId: string;
  readonly username: string;
  readonly createdAt: string;
  readonly version: number;
  readonly activeCredentials: number;
  readonly lockOwner?: string;
  readonly lockExpiresAt?: string;
  /** eventId of the UserProvisioned event, recorded once PutEvents accepted it (see recordProvisionedEvent). */
  readonly provisionedEventId?: string;
}

export interface CredentialRecord {
  readonly clientId: string;
  readonly userId: string;
  readonly status: CredentialStatus;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly createdAt: string;
  readonly revokedAt?: string;
  readonly replacedBy?: string;
  /** The workflow operation that created the credential (written by its commit). */
  readonly operationId?: string;
}

/** What the resolver needs: the two authorizing lookups. */
export interface IdentityLookup {
  userIdForUsername(username: string): Promise<string | undefined>;
  clientMapping(clientId: string): Promise<Pick<CredentialRecord, 'userId' | 'status'> | undefined>;
}

export class IdentityStore implements IdentityLookup {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async userIdForUsername(username: string): Promise<string | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: usernameKey(username), ConsistentRead: true }),
    );
    const userId = out.Item?.['userId'];
    return typeof userId === 'string' ? userId : undefined;
  }

  async clientMapping(clientId: string): Promise<Pick<CredentialRecord, 'userId' | 'status'> | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: clientKey(clientId),
        ConsistentRead: true,
        ProjectionExpression: 'userId, #s',
        ExpressionAttributeNames: { '#s': 'status' },
      }),
    );
    const item = out.Item;
    if (!item || typeof item['userId'] !== 'string') return undefined;
    return { userId: item['userId'], status: item['status'] === 'active' ? 'active' : 'revoked' };
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: userKey(userId), ConsistentRead: true }),
    );
    return out.Item as UserRecord | undefined;
  }

  /**
   * One of the user's credentials, or `undefined`. Keyed by the user, so another user's client id is simply
   * not found: a caller can never learn whether someone else's credential exists.
   */
  async getCredential(userId: string, clientId: string): Promise<CredentialRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: credentialKey(userId, clientId), ConsistentRead: true }),
    );
    return out.Item as CredentialRecord | undefined;
  }

  /**
   * Records that the UserProvisioned event of this user was published. Written only after PutEvents accepted the
   * event, so a trigger that failed in between finds it missing and publishes again (with the same eventId).
   * Leaves `version` alone: it guards credential operations, and this attribute is none of their business (an
   * UpdateItem of one attribute cannot undo a concurrent update of others).
   */
  async recordProvisionedEvent(userId: string, eventId: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: userKey(userId),
        UpdateExpression: 'SET provisionedEventId = if_not_exists(provisionedEventId, :eventId)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':eventId': eventId },
      }),
    );
  }

  /** The user's credentials (active and revoked), oldest first. */
  async listCredentials(userId: string): Promise<CredentialRecord[]> {
    const items: CredentialRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': userKey(userId).pk, ':prefix': CRED_SK_PREFIX },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...((out.Items ?? []) as CredentialRecord[]));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return items.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /**
   * Provisions a user: the USERNAME lookup and the user item in one conditional transaction. Idempotent: when
   * the username is already provisioned, returns the existing id and `created: false`, writing nothing.
   */
  async provisionUser(
    username: string,
    newUserId: string,
    createdAt: string,
  ): Promise<{ userId: string; created: boolean }> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { ...usernameKey(username), type: 'username', userId: newUserId, username, createdAt },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...userKey(newUserId),
                  type: 'user',
                  userId: newUserId,
                  username,
                  createdAt,
                  version: 0,
                  activeCredentials: 0,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return { userId: newUserId, created: true };
    } catch (err) {
      if (awsErrorName(err) !== 'TransactionCanceledException') throw err;
      const existing = await this.userIdForUsername(username);
      if (existing === undefined) throw err;
      return { userId: existing, created: false };
    }
  }
}
