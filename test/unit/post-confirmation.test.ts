import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { PostConfirmationTriggerEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPostConfirmationHandler } from '../../lambdas/post-confirmation/handler';
import { type ProvisioningDeps, userProvisionedEventId } from '../../lambdas/shared/provisioning';
import { uuidV5 } from '../../lambdas/shared/uuidv5';
import { eventSchemaFile } from '../../lambdas/shared/contract/events';
import { EVENT_SOURCE } from '../../lambdas/shared/contract/names';
import { userKey, usernameKey } from '../../lambdas/shared/contract/table';
import { EventBridgePublisher } from '../../lambdas/shared/events-publisher';
import { IdentityStore } from '../../lambdas/shared/identity-store';
import { FakeClock } from './support/api';
import { FakeDynamo } from './support/fake-dynamo';

const TABLE = 'devaccess-identity';
const BUS = 'devaccess-bus';
const SCHEMA_DIR = join(import.meta.dirname, '../../lambdas/shared/contract/schemas');

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validateDetail = ajv.compile(
  JSON.parse(readFileSync(join(SCHEMA_DIR, eventSchemaFile('UserProvisioned')), 'utf8')) as object,
);
const FIRST_ID = '11111111-1111-4111-8111-111111111111';

let dynamo: FakeDynamo;
const mockEvents = () => mockClient(EventBridgeClient);
let events: ReturnType<typeof mockEvents>;
let clock: FakeClock;
let ids: string[];

beforeEach(() => {
  dynamo = new FakeDynamo({ [TABLE]: { partition: 'pk', sort: 'sk' } });
  events = mockEvents();
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'eb-1' }] });
  clock = new FakeClock();
  ids = [FIRST_ID, '22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333'];
});

afterEach(() => {
  dynamo.restore();
  events.restore();
});

function trigger() {
  const deps: ProvisioningDeps = {
    store: new IdentityStore(dynamo.client(), TABLE),
    events: new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-1' }), BUS),
    clock,
    newId: () => ids.shift() ?? crypto.randomUUID(),
  };
  return createPostConfirmationHandler(() => deps);
}

function cognitoEvent(triggerSource: string, userName = 'alice'): PostConfirmationTriggerEvent {
  return {
    version: '1',
    region: 'us-east-1',
    userPoolId: 'us-east-1_TestPool1',
    userName,
    triggerSource,
    callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: 'uiclient0000000000000000ab' },
    request: { userAttributes: { sub: '5d2c6f1e-0000-4000-8000-00000000a11c', email: 'alice@example.com', email_verified: 'true' } },
    response: {},
  } as PostConfirmationTriggerEvent;
}

const published = (): PutEventsRequestEntry[] =>
  events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);

describe('post-confirmation trigger', () => {
  it('provisions a new user id for a confirmed sign-up and returns the event unchanged', async () => {
    // Prepare
    const event = cognitoEvent('PostConfirmation_ConfirmSignUp');
    const before = structuredClone(event);
    // Act
    const returned = await trigger()(event);
    // Assess
    expect(returned).toEqual(before);
    expect(dynamo.item(TABLE, usernameKey('alice'))).toMatchObject({ userId: FIRST_ID });
    expect(dynamo.item(TABLE, userKey(FIRST_ID))).toMatchObject({
      username: 'alice',
      version: 0,
      activeCredentials: 0,
      createdAt: '2026-12-04T10:00:00.000Z',
      provisionedEventId: userProvisionedEventId(FIRST_ID),
    });
  });

  it('publishes one UserProvisioned event that matches its JSON schema', async () => {
    await trigger()(cognitoEvent('PostConfirmation_ConfirmSignUp'));
    const entries = published();
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry).toMatchObject({ Source: EVENT_SOURCE, DetailType: 'UserProvisioned', EventBusName: BUS });
    const detail = JSON.parse(entry?.Detail ?? '{}');
    const valid = validateDetail(detail);
    expect(validateDetail.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(detail).toEqual({
      eventId: userProvisionedEventId(FIRST_ID),
      version: 1,
      occurredAt: '2026-12-04T10:00:00.000Z',
      userId: FIRST_ID,
      username: 'alice',
      actor: { type: 'user', username: 'alice' },
    });
  });

  it('holds events to their schema: an extra field fails the check', () => {
    const detail = {
      eventId: userProvisionedEventId(FIRST_ID),
      version: 1,
      occurredAt: '2026-12-04T10:00:00.000Z',
      userId: FIRST_ID,
      username: 'alice',
      actor: { type: 'user', username: 'alice' },
    };
    expect(validateDetail(detail)).toBe(true);
    expect(validateDetail({ ...detail, password: 'hunter2' })).toBe(false);
    expect(validateDetail({ ...detail, eventId: 'not-a-uuid' })).toBe(false);
  });

  it('keeps one user id and publishes nothing more when the trigger is retried', async () => {
    const handler = trigger();
    await handler(cognitoEvent('PostConfirmation_ConfirmSignUp'));
    await handler(cognitoEvent('PostConfirmation_ConfirmSignUp'));
    expect(dynamo.all(TABLE).filter((i) => i['type'] === 'user')).toHaveLength(1);
    expect(dynamo.item(TABLE, usernameKey('alice'))?.['userId']).toBe(FIRST_ID);
    expect(published()).toHaveLength(1);
  });

  it('keeps the user id of a provisioned user on a forgot-password confirmation', async () => {
    const handler = trigger();
    await handler(cognitoEvent('PostConfirmation_ConfirmSignUp'));
    await handler(cognitoEvent('PostConfirmation_ConfirmForgotPassword'));
    expect(dynamo.item(TABLE, usernameKey('alice'))?.['userId']).toBe(FIRST_ID);
    expect(dynamo.all(TABLE)).toHaveLength(2);
    expect(published()).toHaveLength(1);
  });

  it('provisions a never-provisioned user on a forgot-password confirmation', async () => {
    await trigger()(cognitoEvent('PostConfirmation_ConfirmForgotPassword', 'legacy-user'));
    expect(dynamo.item(TABLE, usernameKey('legacy-user'))).toBeDefined();
    expect(published()).toHaveLength(1);
  });

  it('throws when EventBridge rejects the event, and publishes it with the same id on the retry', async () => {
    // Prepare: the first PutEvents reports a failed entry (HTTP 200, FailedEntryCount 1)
    events
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'eb-2' }] });
    const handler = trigger();
    // Act + Assess: the first run fails after provisioning, without recording the event
    await expect(handler(cognitoEvent('PostConfirmation_ConfirmSignUp'))).rejects.toThrow(/InternalFailure/);
    const userId = String(dynamo.item(TABLE, usernameKey('alice'))?.['userId']);
    expect(dynamo.item(TABLE, userKey(userId))?.['provisionedEventId']).toBeUndefined();
    // The retry finds the user provisioned but unannounced: it publishes, with the same event id, and records it
    await handler(cognitoEvent('PostConfirmation_ConfirmSignUp'));
    const [failed, retried] = published().map((e) => JSON.parse(e.Detail ?? '{}'));
    expect(retried.eventId).toBe(failed.eventId);
    expect(retried.occurredAt).toBe(failed.occurredAt);
    expect(dynamo.item(TABLE, userKey(userId))?.['provisionedEventId']).toBe(retried.eventId);
    // A third run has nothing left to do
    await handler(cognitoEvent('PostConfirmation_ConfirmSignUp'));
    expect(published()).toHaveLength(2);
    expect(dynamo.item(TABLE, usernameKey('alice'))?.['userId']).toBe(userId);
  });

  it('throws when PutEvents itself fails, so Cognito reports the failure', async () => {
    events.on(PutEventsCommand).rejects(Object.assign(new Error('unavailable'), { name: 'InternalException' }));
    await expect(trigger()(cognitoEvent('PostConfirmation_ConfirmSignUp'))).rejects.toThrow();
  });

  it('does nothing for other trigger sources and returns the event as is', async () => {
    const event = cognitoEvent('PostConfirmation_SomethingNew');
    const returned = await trigger()(event);
    expect(returned).toBe(event);
    expect(dynamo.mock.calls()).toHaveLength(0);
    expect(events.calls()).toHaveLength(0);
  });

  it('gives two users two different ids and two different event ids', async () => {
    const handler = trigger();
    await handler(cognitoEvent('PostConfirmation_ConfirmSignUp', 'alice'));
    await handler(cognitoEvent('PostConfirmation_ConfirmSignUp', 'bob'));
    const [a, b] = published().map((e) => JSON.parse(e.Detail ?? '{}'));
    expect(a.userId).not.toBe(b.userId);
    expect(a.eventId).not.toBe(b.eventId);
  });
});

describe('uuidV5', () => {
  it('matches the RFC 9562 test vector', () => {
    // RFC 9562 Appendix A.4: UUIDv5 of "www.example.com" in the DNS namespace.
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});
