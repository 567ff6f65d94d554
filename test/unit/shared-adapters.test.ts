import { TooManyRequestsException } from '@aws-sdk/client-cognito-identity-provider';
import { ConditionalCheckFailedException, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { upstreamErrorFor } from '../../lambdas/shared/aws-errors';
import { EVENT_SOURCE } from '../../lambdas/shared/contract/names';
import { credentialKey, userKey } from '../../lambdas/shared/contract/table';
import { UpstreamError } from '../../lambdas/shared/errors';
import { EventBridgePublisher, EventPublishError } from '../../lambdas/shared/events-publisher';
import { IdentityStore } from '../../lambdas/shared/identity-store';
import { FakeDynamo } from './support/fake-dynamo';

describe('upstreamErrorFor', () => {
  it.each([
    ['a Cognito TooManyRequestsException', new TooManyRequestsException({ message: 'x', $metadata: {} })],
    ['a DynamoDB ProvisionedThroughputExceededException', new ProvisionedThroughputExceededException({ message: 'x', $metadata: {} })],
    ['an unmodelled ThrottlingException', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })],
    ['any HTTP 429', Object.assign(new Error('slow down'), { name: 'Whatever', $metadata: { httpStatusCode: 429 } })],
  ])('makes %s a 429', (_name, err) => {
    const mapped = upstreamErrorFor(err);
    expect(mapped).toBeInstanceOf(UpstreamError);
    expect(mapped?.status).toBe(429);
    expect(mapped?.cause).toBe(err);
  });

  it.each([
    ['a server fault', Object.assign(new Error('x'), { name: 'InternalServerError', $fault: 'server' })],
    ['an HTTP 503', Object.assign(new Error('x'), { name: 'Unknown', $metadata: { httpStatusCode: 503 } })],
    ['a socket reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['an SDK timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
  ])('makes %s a 503', (_name, err) => {
    expect(upstreamErrorFor(err)?.status).toBe(503);
  });

  it('leaves our own mistakes alone (they stay 500s)', () => {
    expect(upstreamErrorFor(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }))).toBeUndefined();
    expect(upstreamErrorFor(Object.assign(new Error('bad'), { name: 'ValidationException', $fault: 'client' }))).toBeUndefined();
    expect(upstreamErrorFor(new TypeError('x is undefined'))).toBeUndefined();
    expect(upstreamErrorFor('a string')).toBeUndefined();
  });

  it('never copies the SDK message into the error it returns', () => {
    const mapped = upstreamErrorFor(new TooManyRequestsException({ message: 'pool us-east-1_Secret', $metadata: {} }));
    expect(mapped?.message).not.toContain('us-east-1_Secret');
  });
});

describe('EventBridgePublisher', () => {
  const events = mockClient(EventBridgeClient);
  afterEach(() => events.reset());
  const publisher = () => new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-1' }), 'bus-1');
  const event = { detailType: 'UserProvisioned' as const, detail: { eventId: 'e-1', userId: 'u-1' } };

  it('puts one entry on the bus with the product source', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'x' }] });
    await publisher().publish(event);
    const input = events.commandCalls(PutEventsCommand)[0]?.args[0].input;
    expect(input?.Entries).toEqual([
      { Source: EVENT_SOURCE, DetailType: 'UserProvisioned', Detail: '{"eventId":"e-1","userId":"u-1"}', EventBusName: 'bus-1' },
    ]);
  });

  it('throws when PutEvents answers 200 with a failed entry', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'x' }] });
    const err = await publisher().publish(event).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventPublishError);
    expect((err as EventPublishError).errorCode).toBe('ThrottlingException');
  });
});

describe('IdentityStore additions', () => {
  const TABLE = 'identity';
  let dynamo: FakeDynamo | undefined;
  afterEach(() => dynamo?.restore());

  it('reads a credential only under its owner, consistently', async () => {
    dynamo = new FakeDynamo({ [TABLE]: { partition: 'pk', sort: 'sk' } });
    dynamo.seed(TABLE, { ...credentialKey('u-1', 'c1'), clientId: 'c1', userId: 'u-1', status: 'active' });
    const store = new IdentityStore(dynamo.client(), TABLE);
    expect(await store.getCredential('u-1', 'c1')).toMatchObject({ clientId: 'c1', status: 'active' });
    expect(await store.getCredential('u-2', 'c1')).toBeUndefined();
    expect(dynamo.mock.commandCalls(GetCommand).every((c) => c.args[0].input.ConsistentRead === true)).toBe(true);
  });

  it('records the provisioned event once and keeps the first id', async () => {
    dynamo = new FakeDynamo({ [TABLE]: { partition: 'pk', sort: 'sk' } });
    dynamo.seed(TABLE, { ...userKey('u-1'), userId: 'u-1', version: 3 });
    const store = new IdentityStore(dynamo.client(), TABLE);
    await store.recordProvisionedEvent('u-1', 'e-1');
    await store.recordProvisionedEvent('u-1', 'e-2');
    expect(dynamo.item(TABLE, userKey('u-1'))).toMatchObject({ provisionedEventId: 'e-1', version: 3 });
  });

  it('refuses to record an event for a user that does not exist', async () => {
    dynamo = new FakeDynamo({ [TABLE]: { partition: 'pk', sort: 'sk' } });
    const store = new IdentityStore(dynamo.client(), TABLE);
    await expect(store.recordProvisionedEvent('ghost', 'e-1')).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect(dynamo.all(TABLE)).toEqual([]);
  });
});
