/**
 * The AWS side of the sweeper: the user pool's app clients (ListUserPoolClients, DeleteUserPoolClient; never
 * DescribeUserPoolClient, which returns secrets), the identity table (mappings, sweep markers, republished events)
 * and the credential workflow's failed runs (ListExecutions, DescribeExecution, GetExecutionHistory).
 */
import {
  type CognitoIdentityProviderClient,
  DeleteUserPoolClientCommand,
  ListUserPoolClientsCommand,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { awsErrorName } from '../shared/aws-errors';
import { CREDENTIAL_EVENT_TYPES, type EventDetailType } from '../shared/contract/events';
import type { WorkflowError } from '../shared/contract/workflow';
import type { ProductEvent } from '../shared/events-publisher';
import {
  CLIENT_PK_PREFIX,
  REVOKED_REASON_CLIENT_MISSING,
  SWEEP_PK_PREFIX,
  USERNAME_PK_PREFIX,
  USER_PK_PREFIX,
  USER_SK,
  clientKey,
  credentialKey,
  republishedRunKey,
  sweepMarkerKey,
  userKey,
} from '../shared/contract/table';
import { IdentityStore } from '../shared/identity-store';
import type {
  ClientMapping,
  ConfirmedUser,
  PoolClient,
  SweepMarker,
  SweeperPool,
  SweeperStore,
  SweeperWorkflows,
  UnannouncedRevocation,
} from './core';

/** ListUserPoolClients returns at most 60 clients a page. */
const CLIENTS_PAGE_SIZE = 60;
/** ListUsers returns at most 60 users a page. */
const USERS_PAGE_SIZE = 60;

export class CognitoPool implements SweeperPool {
  constructor(
    private readonly client: CognitoIdentityProviderClient,
    private readonly userPoolId: string,
  ) {}

  async *listClients(): AsyncIterable<readonly PoolClient[]> {
    let nextToken: string | undefined;
    do {
      const out = await this.client.send(
        new ListUserPoolClientsCommand({ UserPoolId: this.userPoolId, MaxResults: CLIENTS_PAGE_SIZE, NextToken: nextToken }),
      );
      yield (out.UserPoolClients ?? []).flatMap((c) =>
        typeof c.ClientId === 'string' && typeof c.ClientName === 'string'
          ? [{ clientId: c.ClientId, clientName: c.ClientName }]
          : [],
      );
      nextToken = out.NextToken;
    } while (nextToken);
  }

  async *confirmedUsers(): AsyncIterable<readonly ConfirmedUser[]> {
    let paginationToken: string | undefined;
    do {
      const out = await this.client.send(
        new ListUsersCommand({
          UserPoolId: this.userPoolId,
          Filter: 'cognito:user_status = "CONFIRMED"',
          // Only what the sweep needs: no email or other personal data passes through it.
          AttributesToGet: ['sub'],
          Limit: USERS_PAGE_SIZE,
          PaginationToken: paginationToken,
        }),
      );
      yield (out.Users ?? []).flatMap((u) =>
        typeof u.Username === 'string'
          ? [{ username: u.Username, ...(u.UserLastModifiedDate ? { lastModifiedMs: u.UserLastModifiedDate.getTime() } : {}) }]
          : [],
      );
      paginationToken = out.PaginationToken;
    } while (paginationToken);
  }

  async deleteClient(clientId: string): Promise<'deleted' | 'gone'> {
    try {
      await this.client.send(new DeleteUserPoolClientCommand({ UserPoolId: this.userPoolId, ClientId: clientId }));
      return 'deleted';
    } catch (err) {
      if (awsErrorName(err) === 'ResourceNotFoundException') return 'gone';
      throw err;
    }
  }
}

export class DynamoSweeperStore implements SweeperStore {
  private readonly identities: IdentityStore;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.identities = new IdentityStore(db, tableName);
  }

  clientMapping(clientId: string): Promise<Pick<ClientMapping, 'userId' | 'status'> | undefined> {
    return this.identities.clientMapping(clientId);
  }

  async scan(): Promise<{
    activeMappings: ClientMapping[];
    markers: SweepMarker[];
    unannounced: UnannouncedRevocation[];
    provisionedUsernames: Set<string>;
    unannouncedUsernames: Set<string>;
  }> {
    const activeMappings: ClientMapping[] = [];
    const markers: SweepMarker[] = [];
    const unannounced: UnannouncedRevocation[] = [];
    const provisionedUsernames = new Set<string>();
    const unannouncedUsernames = new Set<string>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          FilterExpression:
            '(begins_with(pk, :client) AND (#status = :active OR ' +
            '(revokedReason = :missing AND attribute_not_exists(revokedEventId)))) OR begins_with(pk, :sweep) OR ' +
            'begins_with(pk, :username) OR (begins_with(pk, :user) AND sk = :userSk AND attribute_not_exists(provisionedEventId))',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':client': CLIENT_PK_PREFIX,
            ':active': 'active',
            ':missing': REVOKED_REASON_CLIENT_MISSING,
            ':sweep': SWEEP_PK_PREFIX,
            ':username': USERNAME_PK_PREFIX,
            ':user': USER_PK_PREFIX,
            ':userSk': USER_SK,
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) {
        const pk = item['pk'];
        if (typeof pk !== 'string') continue;
        if (pk.startsWith(USERNAME_PK_PREFIX) || pk.startsWith(USER_PK_PREFIX)) {
          const username = item['username'];
          if (typeof username !== 'string') continue;
          if (pk.startsWith(USERNAME_PK_PREFIX)) provisionedUsernames.add(username);
          else unannouncedUsernames.add(username);
        } else if (pk.startsWith(SWEEP_PK_PREFIX)) {
          const firstSeenAt = item['firstSeenAt'];
          if (typeof firstSeenAt === 'number') markers.push({ clientId: pk.slice(SWEEP_PK_PREFIX.length), firstSeenAt });
        } else {
          const mapping = toMapping(item);
          const revokedAt = item['revokedAt'];
          if (mapping?.status === 'active') activeMappings.push(mapping);
          else if (
            mapping &&
            item['revokedReason'] === REVOKED_REASON_CLIENT_MISSING &&
            item['revokedEventId'] === undefined &&
            typeof revokedAt === 'string'
          ) {
            unannounced.push({ clientId: mapping.clientId, userId: mapping.userId, revokedAt });
          }
        }
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return { activeMappings, markers, unannounced, provisionedUsernames, unannouncedUsernames };
  }

  async markFirstSeen(clientId: string, nowMs: number): Promise<{ firstSeenAt: number; created: boolean }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...sweepMarkerKey(clientId), type: 'sweep-marker', clientId, firstSeenAt: nowMs },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { firstSeenAt: nowMs, created: true };
    } catch (err) {
      if (awsErrorName(err) !== 'ConditionalCheckFailedException') throw err;
      const out = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: sweepMarkerKey(clientId), ConsistentRead: true }),
      );
      const firstSeenAt = out.Item?.['firstSeenAt'];
      // A marker that vanished between the two calls: another run just deleted the client; count it as new.
      return typeof firstSeenAt === 'number' ? { firstSeenAt, created: false } : { firstSeenAt: nowMs, created: true };
    }
  }

  async forget(clientId: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: sweepMarkerKey(clientId) }));
  }

  async revokeMissingClient(mapping: ClientMapping, nowIso: string): Promise<'revoked' | 'changed'> {
    const stillActive = {
      ConditionExpression: '#status = :active AND userId = :userId',
      UpdateExpression: 'SET #status = :revoked, revokedAt = :now, revokedReason = :reason',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':active': 'active',
        ':revoked': 'revoked',
        ':userId': mapping.userId,
        ':now': nowIso,
        ':reason': REVOKED_REASON_CLIENT_MISSING,
      },
    };
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Update: { TableName: this.tableName, Key: clientKey(mapping.clientId), ...stillActive } },
            { Update: { TableName: this.tableName, Key: credentialKey(mapping.userId, mapping.clientId), ...stillActive } },
            {
              Update: {
                TableName: this.tableName,
                Key: userKey(mapping.userId),
                UpdateExpression: 'SET activeCredentials = activeCredentials - :one',
                ConditionExpression: 'activeCredentials > :zero',
                ExpressionAttributeValues: { ':one': 1, ':zero': 0 },
              },
            },
          ],
        }),
      );
      return 'revoked';
    } catch (err) {
      if (awsErrorName(err) === 'TransactionCanceledException') return 'changed';
      throw err;
    }
  }

  async isRepublished(executionArn: string): Promise<boolean> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: republishedRunKey(executionArn), ConsistentRead: true }),
    );
    return out.Item !== undefined;
  }

  async recordRepublished(executionArn: string, eventId: string, nowIso: string): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...republishedRunKey(executionArn), type: 'republished-run', executionArn, eventId, republishedAt: nowIso },
      }),
    );
  }

  async recordRevokedEvent(clientId: string, eventId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: clientKey(clientId),
          UpdateExpression: 'SET revokedEventId = :eventId',
          // Only on a mapping the sweeper revoked: an UpdateItem on a missing key would create an item.
          ConditionExpression: 'revokedReason = :missing',
          ExpressionAttributeValues: { ':eventId': eventId, ':missing': REVOKED_REASON_CLIENT_MISSING },
        }),
      );
    } catch (err) {
      if (awsErrorName(err) !== 'ConditionalCheckFailedException') throw err;
    }
  }
}

/** The Fail error of a run that committed its change but could not publish its event. */
const EVENT_NOT_PUBLISHED: WorkflowError = 'EventNotPublished';

export class StepFunctionsWorkflows implements SweeperWorkflows {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async *unpublishedRuns(sinceMs: number, shouldStop: () => boolean): AsyncIterable<string> {
    let nextToken: string | undefined;
    do {
      if (shouldStop()) return;
      // Newest first (as Step Functions lists them), so the listing stops at the first run older than the window.
      const page = await this.client.send(
        new ListExecutionsCommand({ stateMachineArn: this.stateMachineArn, statusFilter: 'FAILED', maxResults: 100, nextToken }),
      );
      for (const execution of page.executions ?? []) {
        const executionArn = execution.executionArn;
        if (executionArn === undefined) continue;
        if (execution.startDate !== undefined && execution.startDate.getTime() < sinceMs) return;
        if (shouldStop()) return;
        const described = await this.client.send(new DescribeExecutionCommand({ executionArn }));
        if (described.error !== EVENT_NOT_PUBLISHED) continue;
        yield executionArn;
      }
      nextToken = page.nextToken;
    } while (nextToken);
  }

  /** The event of the run's last events:putEvents task, read from its history (newest first). */
  async requestedEvent(executionArn: string): Promise<ProductEvent | undefined> {
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100, includeExecutionData: true, nextToken }),
      );
      for (const event of page.events ?? []) {
        const requested = putEventsRequest(event);
        if (requested !== 'other') return requested;
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return undefined;
  }
}

/**
 * The credential event a TaskScheduled of `events:putEvents` asked for; `'other'` for any other history event.
 * Parameters hold `Entries` as the definition built them (Detail an object, or a string when serialized first).
 */
export function putEventsRequest(event: HistoryEvent): ProductEvent | undefined | 'other' {
  const details = event.taskScheduledEventDetails;
  if (event.type !== 'TaskScheduled' || details?.resourceType !== 'events' || details.resource !== 'putEvents') return 'other';
  const entry = parseObject(details.parameters)?.['Entries'];
  const first = Array.isArray(entry) && entry.length === 1 ? (entry[0] as Record<string, unknown>) : undefined;
  const detailType = first?.['DetailType'];
  const rawDetail = first?.['Detail'];
  const detail = typeof rawDetail === 'string' ? parseObject(rawDetail) : (rawDetail as Record<string, unknown> | undefined);
  if (typeof detailType !== 'string' || !(CREDENTIAL_EVENT_TYPES as readonly string[]).includes(detailType)) return undefined;
  if (detail === null || typeof detail !== 'object' || typeof detail['eventId'] !== 'string') return undefined;
  return { detailType: detailType as EventDetailType, detail: detail as ProductEvent['detail'] };
}

function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function toMapping(item: Record<string, unknown> | undefined): ClientMapping | undefined {
  if (!item) return undefined;
  const { clientId, userId, status, createdAt } = item;
  if (typeof clientId !== 'string' || typeof userId !== 'string') return undefined;
  return {
    clientId,
    userId,
    status: status === 'active' ? 'active' : 'revoked',
    ...(typeof createdAt === 'string' ? { createdAt } : {}),
  };
}
