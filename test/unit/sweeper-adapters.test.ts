/**
 * The sweeper's AWS adapters (lambdas/sweeper/adapters.ts) against mocked SDK clients: the requests they send
 * (pagination, conditions, the revoke transaction) and how they read AWS errors. The operation ids of the
 * credential workflow (lambdas/shared/uuidv7.ts), whose time the sweeper reads, are tested here too.
 */
import {
  CognitoIdentityProviderClient,
  DeleteUserPoolClientCommand,
  DescribeUserPoolClientCommand,
  ListUserPoolClientsCommand,
  ListUsersCommand,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-cognito-identity-provider';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
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
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { uuidv7, uuidv7Time } from '../../lambdas/shared/uuidv7';
import { CognitoPool, DynamoSweeperStore, StepFunctionsWorkflows, putEventsRequest } from '../../lambdas/sweeper/adapters';
import type { ConfirmedUser } from '../../lambdas/sweeper/core';

const POOL_ID = 'us-east-1_Test1';
const TABLE = 'identity';
const cognito = mockClient(CognitoIdentityProviderClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

afterEach(() => {
  cognito.reset();
  dynamo.reset();
  sfn.reset();
});

const pool = () => new CognitoPool(new CognitoIdentityProviderClient({ region: 'us-east-1' }), POOL_ID);
const store = () => new DynamoSweeperStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), TABLE);

describe('CognitoPool', () => {
  it('lists every page of app clients, 60 at a time', async () => {
    // Prepare
    cognito
      .on(ListUserPoolClientsCommand)
      .resolvesOnce({ UserPoolClients: [{ ClientId: 'a', ClientName: 'one' }], NextToken: 'next' })
      .resolvesOnce({ UserPoolClients: [{ ClientId: 'b', ClientName: 'two' }, { ClientId: 'c' }] });
    // Act
    const pages = [];
    for await (const page of pool().listClients()) pages.push(page);
    // Assess
    expect(pages).toEqual([[{ clientId: 'a', clientName: 'one' }], [{ clientId: 'b', clientName: 'two' }]]);
    const inputs = cognito.commandCalls(ListUserPoolClientsCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { UserPoolId: POOL_ID, MaxResults: 60, NextToken: undefined },
      { UserPoolId: POOL_ID, MaxResults: 60, NextToken: 'next' },
    ]);
  });

  it('deletes a client, and counts one already gone as gone', async () => {
    // Prepare
    cognito
      .on(DeleteUserPoolClientCommand)
      .resolvesOnce({})
      .rejectsOnce(new ResourceNotFoundException({ message: 'no such client', $metadata: {} }));
    // Act
    const outcomes = [await pool().deleteClient('a'), await pool().deleteClient('b')];
    // Assess
    expect(outcomes).toEqual(['deleted', 'gone']);
    expect(cognito.commandCalls(DeleteUserPoolClientCommand)[0]?.args[0].input).toEqual({ UserPoolId: POOL_ID, ClientId: 'a' });
  });

  it('lets throttling through to the sweep, which paces itself', async () => {
    cognito.on(DeleteUserPoolClientCommand).rejects(new TooManyRequestsException({ message: 'slow', $metadata: {} }));
    await expect(pool().deleteClient('a')).rejects.toMatchObject({ name: 'TooManyRequestsException' });
  });

  it('never asks Cognito to describe a client (that answer holds the secret)', async () => {
    cognito.on(ListUserPoolClientsCommand).resolves({ UserPoolClients: [{ ClientId: 'a', ClientName: 'x' }] });
    for await (const _page of pool().listClients()) void _page;
    await pool().deleteClient('a');
    expect(cognito.commandCalls(DescribeUserPoolClientCommand)).toHaveLength(0);
  });
});

describe('DynamoSweeperStore', () => {
  it('reads a mapping with a strongly consistent read', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({ Item: { clientId: 'a', userId: 'u', status: 'active', createdAt: '2026-12-01T00:00:00.000Z' } });
    // Act
    const mapping = await store().clientMapping('a');
    // Assess
    expect(mapping).toEqual({ userId: 'u', status: 'active' });
    expect(dynamo.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({
      TableName: TABLE,
      Key: { pk: 'CLIENT#a', sk: 'CLIENT' },
      ConsistentRead: true,
    });
  });

  it('scans every page for active mappings and sweep markers', async () => {
    // Prepare
    dynamo
      .on(ScanCommand)
      .resolvesOnce({
        Items: [
          { pk: 'CLIENT#a', sk: 'CLIENT', clientId: 'a', userId: 'u', status: 'active' },
          { pk: 'SWEEP#b', sk: 'SWEEP', clientId: 'b', firstSeenAt: 5 },
          { pk: 'USERNAME#ada', sk: 'USERNAME', userId: 'u', username: 'ada' },
        ],
        LastEvaluatedKey: { pk: 'SWEEP#b', sk: 'SWEEP' },
      })
      .resolvesOnce({
        Items: [
          { pk: 'CLIENT#c', sk: 'CLIENT', clientId: 'c', userId: 'v', status: 'revoked' },
          { pk: 'USERNAME#bob', sk: 'USERNAME', userId: 'v', username: 'bob' },
          // The filter returns only user items without provisionedEventId: bob's UserProvisioned did not go out.
          { pk: 'USER#v', sk: 'USER', userId: 'v', username: 'bob' },
        ],
      });
    // Act
    const result = await store().scan();
    // Assess
    expect(result).toEqual({
      activeMappings: [{ clientId: 'a', userId: 'u', status: 'active' }],
      markers: [{ clientId: 'b', firstSeenAt: 5 }],
      unannounced: [],
      provisionedUsernames: new Set(['ada', 'bob']),
      unannouncedUsernames: new Set(['bob']),
    });
    const inputs = dynamo.commandCalls(ScanCommand).map((c) => c.args[0].input);
    expect(inputs[0]).toMatchObject({ TableName: TABLE, ConsistentRead: true, ExclusiveStartKey: undefined });
    expect(inputs[1]?.ExclusiveStartKey).toEqual({ pk: 'SWEEP#b', sk: 'SWEEP' });
  });

  it('finds the mappings the sweeper revoked whose CredentialRevoked is not recorded as published', async () => {
    // Prepare
    const revokedAt = '2026-12-01T00:00:00.000Z';
    const revoked = { sk: 'CLIENT', userId: 'u', status: 'revoked', revokedAt };
    dynamo.on(ScanCommand).resolves({
      Items: [
        { pk: 'CLIENT#a', clientId: 'a', ...revoked, revokedReason: 'client-missing' },
        { pk: 'CLIENT#b', clientId: 'b', ...revoked, revokedReason: 'client-missing', revokedEventId: 'e' },
        { pk: 'CLIENT#c', clientId: 'c', ...revoked },
      ],
    });
    // Act
    const result = await store().scan();
    // Assess
    expect(result.unannounced).toEqual([{ clientId: 'a', userId: 'u', revokedAt }]);
    expect(result.activeMappings).toEqual([]);
    const input = dynamo.commandCalls(ScanCommand)[0]?.args[0].input;
    expect(input?.FilterExpression).toBe(
      '(begins_with(pk, :client) AND (#status = :active OR (revokedReason = :missing AND attribute_not_exists(revokedEventId)))) ' +
        'OR begins_with(pk, :sweep) OR begins_with(pk, :username) ' +
        'OR (begins_with(pk, :user) AND sk = :userSk AND attribute_not_exists(provisionedEventId))',
    );
    expect(input?.ExpressionAttributeValues).toMatchObject({ ':missing': 'client-missing' });
  });

  it('writes a first-seen marker only where none exists, and returns the one in force otherwise', async () => {
    // Prepare
    dynamo
      .on(PutCommand)
      .resolvesOnce({})
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    dynamo.on(GetCommand).resolves({ Item: { firstSeenAt: 1000 } });
    // Act
    const created = await store().markFirstSeen('a', 2000);
    const existing = await store().markFirstSeen('a', 3000);
    // Assess
    expect(created).toEqual({ firstSeenAt: 2000, created: true });
    expect(existing).toEqual({ firstSeenAt: 1000, created: false });
    expect(dynamo.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Item: { pk: 'SWEEP#a', sk: 'SWEEP', type: 'sweep-marker', clientId: 'a', firstSeenAt: 2000 },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('revokes a mapping, its credential item and the user\'s count in one conditional transaction', async () => {
    // Prepare
    dynamo.on(TransactWriteCommand).resolves({});
    // Act
    const result = await store().revokeMissingClient({ clientId: 'a', userId: 'u', status: 'active' }, '2026-12-01T00:00:00.000Z');
    // Assess
    expect(result).toBe('revoked');
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((i) => i.Update?.Key)).toEqual([
      { pk: 'CLIENT#a', sk: 'CLIENT' },
      { pk: 'USER#u', sk: 'CRED#a' },
      { pk: 'USER#u', sk: 'USER' },
    ]);
    expect(items[0]?.Update?.ConditionExpression).toBe('#status = :active AND userId = :userId');
    expect(items[1]?.Update?.ConditionExpression).toBe('#status = :active AND userId = :userId');
    expect(items[2]?.Update?.UpdateExpression).toBe('SET activeCredentials = activeCredentials - :one');
    expect(items[2]?.Update?.ConditionExpression).toBe('activeCredentials > :zero');
  });

  it('reports a mapping someone changed first as changed', async () => {
    dynamo.on(TransactWriteCommand).rejects(new TransactionCanceledException({ message: 'cancelled', $metadata: {} }));
    await expect(store().revokeMissingClient({ clientId: 'a', userId: 'u', status: 'active' }, 'now')).resolves.toBe('changed');
  });

  it('records the published eventId on a mapping the sweeper revoked, and never creates an item', async () => {
    // Prepare
    dynamo
      .on(UpdateCommand)
      .resolvesOnce({})
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
    // Act
    await store().recordRevokedEvent('a', 'e-1');
    const missing = store().recordRevokedEvent('gone', 'e-2');
    // Assess
    await expect(missing).resolves.toBeUndefined();
    expect(dynamo.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: 'CLIENT#a', sk: 'CLIENT' },
      UpdateExpression: 'SET revokedEventId = :eventId',
      ConditionExpression: 'revokedReason = :missing',
      ExpressionAttributeValues: { ':eventId': 'e-1', ':missing': 'client-missing' },
    });
  });

  it('lets any other error of that record through', async () => {
    dynamo.on(UpdateCommand).rejects(Object.assign(new Error('slow'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(store().recordRevokedEvent('a', 'e')).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
  });
});

describe('uuidv7', () => {
  it('makes RFC 9562 version-7 ids that carry the time they were made', () => {
    const at = Date.parse('2026-12-01T12:34:56.789Z');
    const id = uuidv7(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidv7Time(id)).toBe(at);
  });

  it('sorts ids by the time they were made', () => {
    const ids = [3, 1, 2].map((i) => uuidv7(1_800_000_000_000 + i * 1000));
    expect([...ids].sort()).toEqual([ids[1], ids[2], ids[0]]);
  });

  it('differs for two ids of the same millisecond', () => {
    expect(uuidv7(1_800_000_000_000)).not.toBe(uuidv7(1_800_000_000_000));
  });

  it('reads no time from anything but a lower-case v7', () => {
    expect(uuidv7Time(crypto.randomUUID())).toBeUndefined();
    expect(uuidv7Time(uuidv7(5).toUpperCase())).toBeUndefined();
    expect(uuidv7Time('not-a-uuid')).toBeUndefined();
  });

  it('refuses a time it cannot hold in 48 bits', () => {
    expect(() => uuidv7(-1)).toThrow(RangeError);
    expect(() => uuidv7(2 ** 48)).toThrow(RangeError);
    expect(() => uuidv7(1.5)).toThrow(RangeError);
  });
});

describe('CognitoPool.confirmedUsers', () => {
  it('pages through the confirmed users, asking for no attribute but sub', async () => {
    // Prepare
    cognito
      .on(ListUsersCommand)
      .resolvesOnce({ Users: [{ Username: 'ada', UserLastModifiedDate: new Date(5000) }, { Username: 'bob' }], PaginationToken: 'next' })
      .resolvesOnce({ Users: [{ Username: 'cy' }, {}] });
    const users: ConfirmedUser[][] = [];
    // Act
    for await (const page of new CognitoPool(new CognitoIdentityProviderClient({}), POOL_ID).confirmedUsers()) users.push([...page]);
    // Assess
    expect(users).toEqual([[{ username: 'ada', lastModifiedMs: 5000 }, { username: 'bob' }], [{ username: 'cy' }]]);
    expect(cognito.commandCalls(ListUsersCommand).map((c) => c.args[0].input)).toEqual([
      { UserPoolId: POOL_ID, Filter: 'cognito:user_status = "CONFIRMED"', AttributesToGet: ['sub'], Limit: 60, PaginationToken: undefined },
      { UserPoolId: POOL_ID, Filter: 'cognito:user_status = "CONFIRMED"', AttributesToGet: ['sub'], Limit: 60, PaginationToken: 'next' },
    ]);
  });
});

describe('StepFunctionsWorkflows', () => {
  const MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:devaccess-credential-workflow';
  const exec = (name: string) => `arn:aws:states:us-east-1:000000000000:execution:devaccess-credential-workflow:${name}`;
  const T = Date.parse('2026-12-04T12:00:00.000Z');
  const detail = { eventId: 'e-1', version: 1, userId: 'u', clientId: 'c', actor: { type: 'user', username: 'ada' } };
  const scheduled = (resource: string, parameters: unknown): HistoryEvent => ({
    type: 'TaskScheduled',
    id: 10,
    timestamp: new Date(T),
    taskScheduledEventDetails: { resourceType: resource.split(':')[0], resource: resource.split(':')[1], region: 'us-east-1', parameters: JSON.stringify(parameters) },
  });
  const putEvents = (entry: Record<string, unknown>) => scheduled('events:putEvents', { Entries: [entry] });

  const workflows = () => new StepFunctionsWorkflows(new SFNClient({}), MACHINE);
  async function collect(since: number, shouldStop = () => false) {
    const runs: string[] = [];
    for await (const executionArn of workflows().unpublishedRuns(since, shouldStop)) runs.push(executionArn);
    return runs;
  }

  it('lists failed runs newest first, stops at the window, and keeps those that ended EventNotPublished', async () => {
    // Prepare
    sfn
      .on(ListExecutionsCommand)
      .resolvesOnce({
        executions: [
          { executionArn: exec('a'), stateMachineArn: MACHINE, name: 'a', status: 'FAILED', startDate: new Date(T) },
          { executionArn: exec('b'), stateMachineArn: MACHINE, name: 'b', status: 'FAILED', startDate: new Date(T - 1000) },
        ],
        nextToken: 'page2',
      })
      .resolvesOnce({
        executions: [{ executionArn: exec('old'), stateMachineArn: MACHINE, name: 'old', status: 'FAILED', startDate: new Date(T - 10_000) }],
        nextToken: 'page3',
      });
    sfn.on(DescribeExecutionCommand, { executionArn: exec('a') }).resolves({ status: 'FAILED', error: 'EventNotPublished' });
    sfn.on(DescribeExecutionCommand, { executionArn: exec('b') }).resolves({ status: 'FAILED', error: 'Conflict' });
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        { type: 'ExecutionFailed', id: 12, timestamp: new Date(T) },
        putEvents({ EventBusName: 'bus', Source: 'devaccess', DetailType: 'CredentialReset', Detail: detail }),
        scheduled('dynamodb:updateItem', { TableName: 't' }),
      ],
    });
    // Act
    const runs = await collect(T - 5000);
    const event = await workflows().requestedEvent(exec('a'));
    // Assess
    expect(runs).toEqual([exec('a')]);
    expect(event).toEqual({ detailType: 'CredentialReset', detail });
    expect(sfn.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input)).toEqual([
      { stateMachineArn: MACHINE, statusFilter: 'FAILED', maxResults: 100, nextToken: undefined },
      { stateMachineArn: MACHINE, statusFilter: 'FAILED', maxResults: 100, nextToken: 'page2' },
    ]);
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn)).toEqual([exec('a'), exec('b')]);
    expect(sfn.commandCalls(GetExecutionHistoryCommand)[0]?.args[0].input).toMatchObject({ executionArn: exec('a'), reverseOrder: true });
  });

  it('makes no further call once told to stop', async () => {
    // Prepare
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        { executionArn: exec('a'), stateMachineArn: MACHINE, name: 'a', status: 'FAILED', startDate: new Date(T) },
        { executionArn: exec('b'), stateMachineArn: MACHINE, name: 'b', status: 'FAILED', startDate: new Date(T) },
      ],
      nextToken: 'more',
    });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'EventNotPublished' });
    let calls = 0;
    // Act: the budget allows the listing and one DescribeExecution
    const runs = await collect(T - 5000, () => ++calls > 2);
    // Assess
    expect(runs).toEqual([exec('a')]);
    expect(sfn.commandCalls(ListExecutionsCommand)).toHaveLength(1);
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(1);
  });

  it('pages through a long history to the Publish step', async () => {
    // Prepare
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: [{ type: 'ExecutionFailed', id: 200, timestamp: new Date(T) }], nextToken: 'more' })
      .resolvesOnce({ events: [putEvents({ DetailType: 'CredentialCreated', Detail: JSON.stringify(detail) })] });
    // Act
    const event = await workflows().requestedEvent(exec('a'));
    // Assess
    expect(event).toEqual({ detailType: 'CredentialCreated', detail });
    expect(sfn.commandCalls(GetExecutionHistoryCommand)[1]?.args[0].input.nextToken).toBe('more');
  });

  it.each([
    ['an event type that is not a credential event', { DetailType: 'UserProvisioned', Detail: detail }],
    ['a detail without an eventId', { DetailType: 'CredentialRevoked', Detail: { userId: 'u' } }],
    ['a detail that is not JSON', { DetailType: 'CredentialRevoked', Detail: '{not json' }],
  ])('reads no event from %s', (_what, entry) => {
    expect(putEventsRequest(putEvents(entry))).toBeUndefined();
  });

  it('tells other history events apart from an unreadable Publish step', () => {
    expect(putEventsRequest(scheduled('dynamodb:updateItem', {}))).toBe('other');
    expect(putEventsRequest({ type: 'TaskSucceeded', id: 1, timestamp: new Date(T) })).toBe('other');
    expect(putEventsRequest(scheduled('events:putEvents', { Entries: [] }))).toBeUndefined();
  });
});

describe('DynamoSweeperStore: republished events', () => {
  it('records a run whose event it published under the run\'s own key and reads it back consistently', async () => {
    // Prepare
    dynamo.on(PutCommand).resolves({});
    dynamo.on(GetCommand).resolvesOnce({}).resolvesOnce({ Item: { pk: 'RUN#arn:exec', sk: 'REPUBLISHED' } });
    const store = new DynamoSweeperStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), TABLE);
    // Act
    const before = await store.isRepublished('arn:exec');
    await store.recordRepublished('arn:exec', 'e-1', '2026-12-04T12:00:00.000Z');
    const after = await store.isRepublished('arn:exec');
    // Assess
    expect([before, after]).toEqual([false, true]);
    expect(dynamo.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: 'RUN#arn:exec', sk: 'REPUBLISHED' },
      ConsistentRead: true,
    });
    expect(dynamo.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Item: {
        pk: 'RUN#arn:exec',
        sk: 'REPUBLISHED',
        type: 'republished-run',
        executionArn: 'arn:exec',
        eventId: 'e-1',
        republishedAt: '2026-12-04T12:00:00.000Z',
      },
    });
  });
});
