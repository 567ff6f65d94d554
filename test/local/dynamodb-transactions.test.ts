/**
 * The local DynamoDB's TransactWriteItems as one LevelDB batch (infra/local/aws/dynamodb.ts): the items and their
 * index entries land together, and a ClientRequestToken outlives a restart. The kill-mid-transaction test is in
 * test/resilience/crash.test.ts (it needs child processes).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureTable, startDynamoDb, type LocalDynamoDb } from '../../infra/local/aws/dynamodb';
import { AwsServiceError, LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../infra/local/aws/types';

const TABLE = 'tx-durability';
const context = { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID };
const key = (pk: string) => ({ pk: { S: pk }, sk: { S: 'ITEM' } });

describe('local DynamoDB transactions as one batch', () => {
  let dataDir: string;
  let db: LocalDynamoDb;
  const call = (action: string, input: Record<string, unknown>) => db.service.handle(action, input, context) as Promise<Record<string, any>>;
  const byOwner = (owner: string) =>
    call('Query', {
      TableName: TABLE,
      IndexName: 'byOwner',
      KeyConditionExpression: '#o = :o',
      ExpressionAttributeNames: { '#o': 'owner' },
      ExpressionAttributeValues: { ':o': { S: owner } },
    }).then((out) => (out['Items'] as Record<string, { S: string }>[]).map((i) => i['pk']?.S).sort());

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'devaccess-tx-'));
    db = await startDynamoDb({ dataDir });
    await ensureTable(db, {
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'owner', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        { IndexName: 'byOwner', KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } },
      ],
    });
  });

  afterEach(async () => {
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes the index entries of a transaction with its items, and moves or drops them with updates and deletes', async () => {
    // Prepare
    await call('TransactWriteItems', {
      TransactItems: [
        { Put: { TableName: TABLE, Item: { ...key('A'), owner: { S: 'ann' } } } },
        { Put: { TableName: TABLE, Item: { ...key('B'), owner: { S: 'ann' } } } },
      ],
    });
    const before = await byOwner('ann');

    // Act
    await call('TransactWriteItems', {
      TransactItems: [
        { Update: { TableName: TABLE, Key: key('A'), UpdateExpression: 'SET #o = :bob', ExpressionAttributeNames: { '#o': 'owner' }, ExpressionAttributeValues: { ':bob': { S: 'bob' } } } },
        { Delete: { TableName: TABLE, Key: key('B') } },
        { Put: { TableName: TABLE, Item: { ...key('C'), owner: { S: 'bob' } } } },
      ],
    });

    // Assess
    expect(before).toEqual(['A', 'B']);
    expect(await byOwner('ann')).toEqual([]);
    expect(await byOwner('bob')).toEqual(['A', 'C']);
    const b = await call('GetItem', { TableName: TABLE, Key: key('B'), ConsistentRead: true });
    expect(b['Item']).toBeUndefined();
  });

  it('honours a ClientRequestToken after a restart: the same request succeeds without writing, another is refused', async () => {
    // Prepare: a counter committed once under token t-1, then the store is closed and reopened
    const request = (by: string) => ({
      ClientRequestToken: 't-1',
      TransactItems: [{ Update: { TableName: TABLE, Key: key('COUNTER'), UpdateExpression: 'ADD n :v', ExpressionAttributeValues: { ':v': { N: by } } } }],
    });
    await call('TransactWriteItems', request('1'));
    await db.close();
    db = await startDynamoDb({ dataDir });

    // Act
    await call('TransactWriteItems', request('1'));
    const mismatch = await call('TransactWriteItems', request('2')).catch((err: unknown) => err);

    // Assess
    const counter = await call('GetItem', { TableName: TABLE, Key: key('COUNTER'), ConsistentRead: true });
    expect(counter['Item']?.['n']).toEqual({ N: '1' });
    expect(mismatch).toBeInstanceOf(AwsServiceError);
    expect((mismatch as AwsServiceError).type).toBe('IdempotentParameterMismatchException');
  });

  it('writes nothing of a transaction whose later item fails validation', async () => {
    // Prepare: `n` is a string, so `n + :one` fails only when the update is computed
    await call('PutItem', { TableName: TABLE, Item: { ...key('S'), n: { S: 'x' } } });

    // Act
    const failure = await call('TransactWriteItems', {
      ClientRequestToken: 't-invalid',
      TransactItems: [
        { Put: { TableName: TABLE, Item: { ...key('NEW'), owner: { S: 'cat' } } } },
        { Update: { TableName: TABLE, Key: key('S'), UpdateExpression: 'SET n = n + :one', ExpressionAttributeValues: { ':one': { N: '1' } } } },
      ],
    }).catch((err: unknown) => err);

    // Assess: neither the item, nor its index entry, nor the token (a fixed retry must be able to commit)
    expect((failure as AwsServiceError).type).toBe('TransactionCanceledException');
    const created = await call('GetItem', { TableName: TABLE, Key: key('NEW'), ConsistentRead: true });
    expect(created['Item']).toBeUndefined();
    expect(await byOwner('cat')).toEqual([]);
    await call('PutItem', { TableName: TABLE, Item: { ...key('S'), n: { N: '1' } } });
    await call('TransactWriteItems', {
      ClientRequestToken: 't-invalid',
      TransactItems: [
        { Put: { TableName: TABLE, Item: { ...key('NEW'), owner: { S: 'cat' } } } },
        { Update: { TableName: TABLE, Key: key('S'), UpdateExpression: 'SET n = n + :one', ExpressionAttributeValues: { ':one': { N: '1' } } } },
      ],
    });
    expect(await byOwner('cat')).toEqual(['NEW']);
  });
});
