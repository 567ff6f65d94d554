/**
 * The local AWS endpoint and its DynamoDB, through the real AWS SDK against a loopback server on port 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConditionalCheckFailedException,
  DescribeContinuousBackupsCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactGetItemsCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, ListEventBusesCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsEndpoint } from '../../infra/local/aws/endpoint';
import { ensureTable, startDynamoDb, type LocalDynamoDb } from '../../infra/local/aws/dynamodb';
import { AwsServiceError, LOCAL_ACCOUNT_ID, LOCAL_REGION, type AwsJsonService, type HttpRoute } from '../../infra/local/aws/types';

const TABLE: CreateTableCommandInput = {
  TableName: 'identity-test',
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
};

/** A JSON 1.1 service whose actions exercise the endpoint's error paths. */
const probeService: AwsJsonService = {
  targetPrefix: 'ProbeService',
  jsonVersion: '1.1',
  async handle(action, input, ctx) {
    if (action === 'Echo') return { input, region: ctx.region, accountId: ctx.accountId };
    if (action === 'Refuse') throw new AwsServiceError('ThingNotFoundException', 'No such thing', 404, { Thing: 'x' });
    if (action === 'Crash') throw new Error('secret internals: /etc/passwd at line 3');
    throw new AwsServiceError('UnknownOperationException', `Unknown ${action}`);
  },
};

const helloRoute: HttpRoute = async (req, res, url) => {
  if (req.method !== 'GET' || url.pathname !== '/hello') return false;
  res.end('hi');
  return true;
};

interface Stack {
  dataDir: string;
  dynamodb: LocalDynamoDb;
  server: Server;
  url: string;
  client: DynamoDBClient;
}

async function startStack(dataDir: string): Promise<Stack> {
  const dynamodb = await startDynamoDb({ dataDir });
  const endpoint = createAwsEndpoint({
    services: [probeService],
    dynamodb,
    routes: [helloRoute],
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    onInternalError: () => undefined,
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    endpoint(req, res, url)
      .then((handled) => {
        if (!handled) {
          res.statusCode = 404;
          res.end();
        }
      })
      .catch(() => {
        res.statusCode = 500;
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint: url,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  return { dataDir, dynamodb, server, url, client };
}

async function stopStack(stack: Stack): Promise<void> {
  stack.client.destroy();
  stack.server.closeAllConnections();
  await new Promise<void>((resolve) => stack.server.close(() => resolve()));
  await stack.dynamodb.close();
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'devaccess-endpoint-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const key = (pk: string) => ({ pk: { S: pk }, sk: { S: 'ITEM' } });

describe('local DynamoDB through the endpoint', () => {
  let stack: Stack;
  beforeEach(async () => {
    stack = await startStack(await tempDir());
    await ensureTable(stack.dynamodb, TABLE);
  });
  afterEach(async () => {
    await stopStack(stack);
  });

  it('puts and gets an item with the real SDK', async () => {
    // Prepare
    await stack.client.send(
      new PutItemCommand({ TableName: TABLE.TableName, Item: { ...key('USER#1'), name: { S: 'Ada' } } }),
    );

    // Act
    const out = await stack.client.send(
      new GetItemCommand({ TableName: TABLE.TableName, Key: key('USER#1'), ConsistentRead: true }),
    );

    // Assess
    expect(out.Item).toEqual({ ...key('USER#1'), name: { S: 'Ada' } });
  });

  it('creates a table once and treats the second ensureTable as done', async () => {
    // Act
    const again = await ensureTable(stack.dynamodb, TABLE);
    const other = await ensureTable(stack.client, { ...TABLE, TableName: 'notes-test' });
    const otherAgain = await ensureTable(stack.client, { ...TABLE, TableName: 'notes-test' });

    // Assess
    expect(again.created).toBe(false);
    expect(other.created).toBe(true);
    expect(otherAgain.created).toBe(false);
  });

  it('commits every write of a transaction whose conditions hold', async () => {
    // Prepare
    await stack.client.send(
      new PutItemCommand({ TableName: TABLE.TableName, Item: { ...key('CLIENT#old'), status: { S: 'active' } } }),
    );

    // Act
    await stack.client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Update: {
              TableName: TABLE.TableName,
              Key: key('CLIENT#old'),
              UpdateExpression: 'SET #s = :revoked',
              ConditionExpression: '#s = :active',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':revoked': { S: 'revoked' }, ':active': { S: 'active' } },
            },
          },
          {
            Put: {
              TableName: TABLE.TableName,
              Item: { ...key('CLIENT#new'), status: { S: 'active' } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );

    // Assess
    const items = await stack.client.send(
      new TransactGetItemsCommand({
        TransactItems: [
          { Get: { TableName: TABLE.TableName, Key: key('CLIENT#old') } },
          { Get: { TableName: TABLE.TableName, Key: key('CLIENT#new') } },
          { Get: { TableName: TABLE.TableName, Key: key('CLIENT#none') } },
        ],
      }),
    );
    expect(items.Responses?.map((r) => r.Item?.['status']?.S)).toEqual(['revoked', 'active', undefined]);
  });

  it('cancels the whole transaction with a reason per item when one condition fails', async () => {
    // Prepare
    await stack.client.send(
      new PutItemCommand({ TableName: TABLE.TableName, Item: { ...key('USERNAME#ada'), userId: { S: 'u-1' } } }),
    );

    // Act
    const failure = await stack.client
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Put: {
                TableName: TABLE.TableName,
                Item: { ...key('USER#u-2'), username: { S: 'ada' } },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: TABLE.TableName,
                Item: { ...key('USERNAME#ada'), userId: { S: 'u-2' } },
                ConditionExpression: 'attribute_not_exists(pk)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      )
      .catch((err: unknown) => err);

    // Assess
    expect(failure).toBeInstanceOf(TransactionCanceledException);
    const reasons = (failure as TransactionCanceledException).CancellationReasons;
    expect(reasons?.map((r) => r.Code)).toEqual(['None', 'ConditionalCheckFailed']);
    expect(reasons?.[1]?.Item).toEqual({ ...key('USERNAME#ada'), userId: { S: 'u-1' } });
    const first = await stack.client.send(new GetItemCommand({ TableName: TABLE.TableName, Key: key('USER#u-2') }));
    expect(first.Item).toBeUndefined();
  });

  it('undoes the applied writes when a later write of the transaction fails', async () => {
    // Prepare: `n` is a string, so `n + :one` fails only when the update is applied
    await stack.client.send(new PutItemCommand({ TableName: TABLE.TableName, Item: { ...key('A'), n: { S: 'x' } } }));
    await stack.client.send(new PutItemCommand({ TableName: TABLE.TableName, Item: { ...key('B'), v: { S: 'before' } } }));

    // Act
    const failure = await stack.client
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: TABLE.TableName, Item: { ...key('B'), v: { S: 'after' } } } },
            { Put: { TableName: TABLE.TableName, Item: { ...key('C'), v: { S: 'new' } } } },
            {
              Update: {
                TableName: TABLE.TableName,
                Key: key('A'),
                UpdateExpression: 'SET n = n + :one',
                ExpressionAttributeValues: { ':one': { N: '1' } },
              },
            },
          ],
        }),
      )
      .catch((err: unknown) => err);

    // Assess
    expect(failure).toBeInstanceOf(TransactionCanceledException);
    expect((failure as TransactionCanceledException).CancellationReasons?.map((r) => r.Code)).toEqual([
      'None',
      'None',
      'ValidationError',
    ]);
    const b = await stack.client.send(new GetItemCommand({ TableName: TABLE.TableName, Key: key('B') }));
    const c = await stack.client.send(new GetItemCommand({ TableName: TABLE.TableName, Key: key('C') }));
    expect(b.Item?.['v']?.S).toBe('before');
    expect(c.Item).toBeUndefined();
  });

  it('refuses a transaction with two operations on one item', async () => {
    // Act
    const failure = await stack.client
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: TABLE.TableName, Item: key('SAME') } },
            { Delete: { TableName: TABLE.TableName, Key: key('SAME') } },
          ],
        }),
      )
      .catch((err: unknown) => err);

    // Assess
    expect((failure as Error).name).toBe('ValidationException');
    expect((failure as Error).message).toBe('Transaction request cannot include multiple operations on one item');
  });

  it('lets exactly one of many concurrent conflicting transactions commit, whole', async () => {
    // Act: each transaction claims the same lookup item and writes its own item
    const attempts = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        stack.client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Put: {
                  TableName: TABLE.TableName,
                  Item: { ...key('USERNAME#race'), winner: { S: String(i) } },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              { Put: { TableName: TABLE.TableName, Item: { ...key(`USER#race-${i}`), n: { N: String(i) } } } },
            ],
          }),
        ),
      ),
    );

    // Assess
    const winners = attempts.flatMap((a, i) => (a.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const a of attempts) {
      if (a.status === 'rejected') expect((a.reason as Error).name).toBe('TransactionCanceledException');
    }
    const lookup = await stack.client.send(new GetItemCommand({ TableName: TABLE.TableName, Key: key('USERNAME#race') }));
    expect(lookup.Item?.['winner']?.S).toBe(String(winners[0]));
    const written = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        stack.client.send(new GetItemCommand({ TableName: TABLE.TableName, Key: key(`USER#race-${i}`) })),
      ),
    );
    expect(written.flatMap((w, i) => (w.Item ? [i] : []))).toEqual(winners);
  });

  it('commits a transaction once per ClientRequestToken and refuses the token for a different request', async () => {
    // Prepare
    const request = (value: string) =>
      new TransactWriteItemsCommand({
        ClientRequestToken: 'token-1',
        TransactItems: [{ Update: { TableName: TABLE.TableName, Key: key('COUNTER'), UpdateExpression: 'ADD n :v', ExpressionAttributeValues: { ':v': { N: value } } } }],
      });

    // Act
    await stack.client.send(request('1'));
    await stack.client.send(request('1'));
    const mismatch = await stack.client.send(request('2')).catch((err: unknown) => err);

    // Assess
    const counter = await stack.client.send(new GetItemCommand({ TableName: TABLE.TableName, Key: key('COUNTER') }));
    expect(counter.Item?.['n']?.N).toBe('1');
    expect((mismatch as Error).name).toBe('IdempotentParameterMismatchException');
  });

  it('returns the existing item with a failed conditional write when asked for ALL_OLD', async () => {
    // Prepare
    await stack.client.send(new PutItemCommand({ TableName: TABLE.TableName, Item: { ...key('X'), v: { S: 'old' } } }));

    // Act
    const failure = await stack.client
      .send(
        new PutItemCommand({
          TableName: TABLE.TableName,
          Item: { ...key('X'), v: { S: 'new' } },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      )
      .catch((err: unknown) => err);

    // Assess
    expect(failure).toBeInstanceOf(ConditionalCheckFailedException);
    expect((failure as ConditionalCheckFailedException).Item).toEqual({ ...key('X'), v: { S: 'old' } });
  });

  it('surfaces an operation the local DynamoDB lacks as UnknownOperationException', async () => {
    // Act
    const failure = await stack.client
      .send(new DescribeContinuousBackupsCommand({ TableName: TABLE.TableName }))
      .catch((err: unknown) => err);

    // Assess
    expect((failure as Error).name).toBe('UnknownOperationException');
  });

  it('keeps tables and items across a restart', async () => {
    // Prepare
    await stack.client.send(new PutItemCommand({ TableName: TABLE.TableName, Item: { ...key('KEEP'), v: { S: 'kept' } } }));
    await stopStack(stack);

    // Act
    stack = await startStack(stack.dataDir);
    const out = await stack.client.send(new GetItemCommand({ TableName: TABLE.TableName, Key: key('KEEP'), ConsistentRead: true }));

    // Assess
    expect(out.Item?.['v']?.S).toBe('kept');
  });
});

describe('AWS JSON protocol of the endpoint', () => {
  let stack: Stack;
  beforeEach(async () => {
    stack = await startStack(await tempDir());
  });
  afterEach(async () => {
    await stopStack(stack);
  });

  const call = (target: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${stack.url}/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': target, ...headers },
      body,
    });

  it('answers a service call with its JSON content type and a request id', async () => {
    // Act
    const res = await call('ProbeService.Echo', '{"a":1}');

    // Assess
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toEqual({ input: { a: 1 }, region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID });
  });

  it('writes a service error with its status, type header and extra fields', async () => {
    // Act
    const res = await call('ProbeService.Refuse', '{}');

    // Assess
    expect(res.status).toBe(404);
    expect(res.headers.get('x-amzn-errortype')).toBe('ThingNotFoundException');
    expect(await res.json()).toEqual({ __type: 'ThingNotFoundException', message: 'No such thing', Thing: 'x' });
  });

  it('hides the cause of an unexpected failure behind a 500 InternalFailure', async () => {
    // Act
    const res = await call('ProbeService.Crash', '{}');
    const text = await res.text();

    // Assess
    expect(res.status).toBe(500);
    expect(res.headers.get('x-amzn-errortype')).toBe('InternalFailure');
    expect(res.headers.get('x-amzn-requestid')).toBeTruthy();
    expect(text).not.toContain('secret');
    expect(JSON.parse(text)).toMatchObject({ __type: 'InternalFailure' });
  });

  it('refuses a body that is not JSON as SerializationException', async () => {
    // Act
    const res = await call('ProbeService.Echo', '{not json');

    // Assess
    expect(res.status).toBe(400);
    expect((await res.json()) as unknown).toMatchObject({ __type: 'SerializationException' });
  });

  it('refuses a body over the limit with 413', async () => {
    // Act
    const res = await call('ProbeService.Echo', JSON.stringify({ big: 'x'.repeat(1024 * 1024 + 10) }));

    // Assess
    expect(res.status).toBe(413);
  });

  it('surfaces a target no service serves as UnknownOperationException through the SDK', async () => {
    // Prepare: this endpoint has no EventBridge
    const events = new EventBridgeClient({
      endpoint: stack.url,
      region: LOCAL_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });

    // Act
    const failure = await events.send(new ListEventBusesCommand({})).catch((err: unknown) => err);
    events.destroy();

    // Assess
    expect((failure as Error).name).toBe('UnknownOperationException');
  });

  it('passes other requests to the routes and leaves unclaimed ones to the server', async () => {
    // Act
    const hello = await fetch(`${stack.url}/hello`);
    const missing = await fetch(`${stack.url}/nowhere`);

    // Assess
    expect(hello.status).toBe(200);
    expect(await hello.text()).toBe('hi');
    expect(hello.headers.get('x-amzn-requestid')).toBeTruthy();
    expect(missing.status).toBe(404);
  });
});
