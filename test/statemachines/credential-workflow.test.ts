import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { beforeEach, describe, expect, it } from 'vitest';
import { type EventDetailType, eventSchemaFile } from '../../lambdas/shared/contract/events';
import { clientKey } from '../../lambdas/shared/contract/table';
import type { CredentialWorkflowInput } from '../../lambdas/shared/contract/workflow';
import { type RunResult, SUBSTITUTIONS, WorkflowWorld } from './harness';

const SCHEMA_DIR = fileURLToPath(new URL('../../lambdas/shared/contract/schemas/', import.meta.url));
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validators = Object.fromEntries(
  (['CredentialCreated', 'CredentialReset', 'CredentialRevoked'] as const).map((type) => [
    type,
    ajv.compile(JSON.parse(readFileSync(`${SCHEMA_DIR}${eventSchemaFile(type)}`, 'utf8')) as object),
  ]),
) as Record<EventDetailType, ReturnType<typeof ajv.compile>>;

const USER_ID = 'a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607';
const USERNAME = 'ada@example.com';
const NOW = '2026-12-04T10:00:00.000Z';
const LOCK_UNTIL = '2026-12-04T10:05:00.000Z';
const REQUESTED_AT = '2026-12-04T09:59:59.500Z';
const READ_WRITE = ['devaccess/read', 'devaccess/write'];

let world: WorkflowWorld;

beforeEach(async () => {
  world = await WorkflowWorld.create();
  world.now = NOW;
});

function input(operation: CredentialWorkflowInput['operation'], extra: Partial<CredentialWorkflowInput> = {}): CredentialWorkflowInput {
  return {
    operation,
    operationId: randomUUID(),
    userId: USER_ID,
    username: USERNAME,
    expectedVersion: 3,
    lockExpiresAt: LOCK_UNTIL,
    requestedAt: REQUESTED_AT,
    ...(operation === 'revoke' ? {} : { name: 'CI pipeline', scopes: READ_WRITE }),
    ...extra,
  };
}

/** Runs the workflow and checks what holds for every run, whatever its path. */
async function run(workflowInput: CredentialWorkflowInput | Record<string, unknown>): Promise<RunResult> {
  const result = await world.run(workflowInput);
  expect(world.malformed, 'requests a real service would refuse as malformed').toEqual([]);
  const history = JSON.stringify(result.events);
  for (const secret of world.pool.issuedSecrets) expect(history).not.toContain(secret);
  for (const event of world.bus.delivered) {
    const validate = validators[event.detailType as EventDetailType];
    expect(validate, `schema for ${event.detailType}`).toBeDefined();
    expect(validate?.(event.detail), JSON.stringify(validate?.errors)).toBe(true);
  }
  return result;
}

/** The input of the first time `state` was entered. */
function inputOf(result: RunResult, state: string): Record<string, unknown> {
  const event = result.events.find((e) => e.type === 'StateEntered' && e.state?.name === state);
  if (!event?.state) throw new Error(`${state} was never entered`);
  return event.state.input as Record<string, unknown>;
}

describe('create', () => {
  it('creates the client, commits the mapping and publishes CredentialCreated, step by step', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });
    const request = input('create');

    // Act
    const result = await run(request);

    // Assess
    expect(result.steps).toEqual([
      'ValidateInput',
      'PrepareScopes',
      'Serialize',
      'ChooseOperation',
      'CreateClient',
      'ChooseCommit',
      'CommitCreate',
      'PublishCreated',
      'CheckEventPublished',
      'ReportCreated',
      'Done',
    ]);
    expect(result.retried).toEqual([]);
    const [client, ...others] = [...world.pool.clients.values()];
    expect(others).toEqual([]);
    expect(client?.clientName).toBe(`devaccess-${USER_ID}-${request.operationId}`);
    expect(client?.request.AllowedOAuthScopes).toEqual(READ_WRITE);
    const clientId = client?.clientId ?? '';
    expect(result.output).toEqual({
      operation: 'create',
      userId: USER_ID,
      clientId,
      scopes: READ_WRITE,
      eventId: world.bus.delivered[0]?.detail['eventId'],
    });
  });

  it('leaves the user unlocked with one more active credential and both mapping items active', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });
    const request = input('create');

    // Act
    const result = await run(request);

    // Assess
    const clientId = String(result.output?.['clientId']);
    expect(await world.table.user(USER_ID)).toEqual(
      expect.objectContaining({ version: 4, activeCredentials: 1 }),
    );
    expect(await world.table.user(USER_ID)).not.toHaveProperty('lockOwner');
    expect(await world.table.user(USER_ID)).not.toHaveProperty('lockExpiresAt');
    const expected = {
      type: 'client',
      clientId,
      userId: USER_ID,
      status: 'active',
      name: 'CI pipeline',
      scopes: READ_WRITE,
      createdAt: REQUESTED_AT,
      operationId: request.operationId,
    };
    expect(await world.table.client(clientId)).toEqual({ ...clientKey(clientId), ...expected });
    expect(await world.table.credential(USER_ID, clientId)).toEqual({
      pk: `USER#${USER_ID}`,
      sk: `CRED#${clientId}`,
      ...expected,
      type: 'credential',
    });
    // A DynamoDB list of strings, which the document client reads back as a plain array.
    const raw = await world.table.getItem(clientKey(clientId));
    expect(raw?.['scopes']).toEqual({ L: [{ S: 'devaccess/read' }, { S: 'devaccess/write' }] });
  });

  it('publishes an event that carries the actor, the execution and the commit time', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });

    // Act
    const result = await run(input('create'));

    // Assess
    expect(world.bus.delivered).toHaveLength(1);
    expect(world.bus.delivered[0]).toEqual({
      source: SUBSTITUTIONS.EventSource,
      detailType: 'CredentialCreated',
      detail: {
        eventId: result.output?.['eventId'],
        version: 1,
        occurredAt: NOW,
        userId: USER_ID,
        clientId: result.output?.['clientId'],
        scopes: READ_WRITE,
        actor: { type: 'user', username: USERNAME },
        executionId: result.executionArn,
      },
    });
  });

  it('sends each service exactly the request it should', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });
    const request = input('create');

    // Act
    const result = await run(request);

    // Assess
    const clientId = String(result.output?.['clientId']);
    expect(world.callsOf('Serialize')[0]?.params).toEqual({
      TableName: SUBSTITUTIONS.IdentityTableName,
      Key: { pk: { S: `USER#${USER_ID}` }, sk: { S: 'USER' } },
      UpdateExpression: 'SET lockOwner = :operationId, lockExpiresAt = :lockExpiresAt, #version = #version + :one',
      ConditionExpression:
        '(#version = :expectedVersion AND (attribute_not_exists(lockOwner) OR lockExpiresAt < :now)) OR lockOwner = :operationId',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: {
        ':operationId': { S: request.operationId },
        ':lockExpiresAt': { S: LOCK_UNTIL },
        ':one': { N: '1' },
        ':expectedVersion': { N: '3' },
        ':now': { S: NOW },
      },
    });
    expect(world.callsOf('CreateClient')[0]?.params).toEqual({
      FunctionName: SUBSTITUTIONS.CredentialTasksFunctionArn,
      Payload: { task: 'createClient', userId: USER_ID, operationId: request.operationId, scopes: READ_WRITE },
    });
    const commit = world.callsOf('CommitCreate')[0]?.params as {
      ClientRequestToken: string;
      TransactItems: Record<string, { TableName: string; ConditionExpression: string; Key?: unknown; Item?: Record<string, unknown> }>[];
    };
    expect(commit.ClientRequestToken).toBe(request.operationId);
    expect(commit.TransactItems.map((m) => Object.keys(m)[0])).toEqual(['Update', 'Put', 'Put']);
    const [user, lookup, credential] = commit.TransactItems;
    expect(user?.['Update']).toMatchObject({
      TableName: SUBSTITUTIONS.IdentityTableName,
      Key: { pk: { S: `USER#${USER_ID}` }, sk: { S: 'USER' } },
      ConditionExpression: 'lockOwner = :operationId AND activeCredentials < :max',
      ExpressionAttributeValues: { ':max': { N: SUBSTITUTIONS.MaxCredentialsPerUser } },
    });
    expect(lookup?.['Put']).toMatchObject({
      TableName: SUBSTITUTIONS.IdentityTableName,
      Item: { pk: { S: `CLIENT#${clientId}` }, sk: { S: 'CLIENT' } },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(credential?.['Put']).toMatchObject({
      TableName: SUBSTITUTIONS.IdentityTableName,
      Item: { pk: { S: `USER#${USER_ID}` }, sk: { S: `CRED#${clientId}` } },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(world.callsOf('PublishCreated')[0]?.params).toMatchObject({
      Entries: [{ EventBusName: SUBSTITUTIONS.EventBusName, Source: SUBSTITUTIONS.EventSource, DetailType: 'CredentialCreated' }],
    });
  });

  it('retries a throttled CreateClient and then creates exactly one client', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });
    world.pool.throttleCreates(2);

    // Act
    const result = await run(input('create'));

    // Assess
    expect(result.retried).toEqual(['CreateClient', 'CreateClient']);
    expect(result.output?.['operation']).toBe('create');
    expect(world.pool.clients.size).toBe(1);
    expect(world.callsOf('CreateClient')).toHaveLength(3);
  });

  it('releases the lock and fails with Failed when Cognito refuses the client', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });
    world.pool.refuseCreates(1);

    // Act
    const result = await run(input('create'));

    // Assess
    expect(result.steps).toEqual([
      'ValidateInput',
      'PrepareScopes',
      'Serialize',
      'ChooseOperation',
      'CreateClient',
      'ReleaseLockAfterFailure',
      'CreateClientFailed',
    ]);
    expect(result.retried).toEqual([]);
    expect(result.error?.Error).toBe('Failed');
    expect(await world.table.user(USER_ID)).not.toHaveProperty('lockOwner');
    expect(await world.table.user(USER_ID)).toEqual(expect.objectContaining({ activeCredentials: 0 }));
    expect(world.bus.delivered).toEqual([]);
  });

  it('gives up on CreateClient after the throttling retries and releases the lock', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });
    world.pool.throttleCreates(100);

    // Act
    const result = await run(input('create'));

    // Assess
    expect(result.retried.filter((s) => s === 'CreateClient')).toHaveLength(5);
    expect(result.steps.slice(-2)).toEqual(['ReleaseLockAfterFailure', 'CreateClientFailed']);
    expect(result.error?.Error).toBe('Failed');
    expect(world.pool.clients.size).toBe(0);
    expect(await world.table.user(USER_ID)).not.toHaveProperty('lockOwner');
  });

  it('compensates a failed commit: deletes the new client, releases the lock and fails with Conflict', async () => {
    // Prepare: the user reached the cap after the API checked it, without the version moving
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 1 });

    // Act
    const result = await run(input('create'));

    // Assess
    expect(result.steps).toEqual([
      'ValidateInput',
      'PrepareScopes',
      'Serialize',
      'ChooseOperation',
      'CreateClient',
      'ChooseCommit',
      'CommitCreate',
      'CheckNewClientCommitted',
      'ChooseAfterCommitCheck',
      'CompensateDeleteNewClient',
      'ReleaseLockAfterConflict',
      'CommitConflict',
    ]);
    expect(result.retried).toEqual(['CommitCreate', 'CommitCreate']);
    expect(result.error?.Error).toBe('Conflict');
    const newClientId = (inputOf(result, 'CompensateDeleteNewClient')['newClient'] as { clientId: string }).clientId;
    expect(world.callsOf('CheckNewClientCommitted')[0]?.params).toEqual({
      TableName: SUBSTITUTIONS.IdentityTableName,
      Key: { pk: { S: `CLIENT#${newClientId}` }, sk: { S: 'CLIENT' } },
      ConsistentRead: true,
      ProjectionExpression: 'operationId, #status',
      ExpressionAttributeNames: { '#status': 'status' },
    });
    expect(world.callsOf('CompensateDeleteNewClient')[0]?.params).toEqual({
      UserPoolId: SUBSTITUTIONS.UserPoolId,
      ClientId: newClientId,
    });
    expect(world.pool.clients.size).toBe(0);
    expect(await world.table.client(newClientId)).toBeUndefined();
    const user = await world.table.user(USER_ID);
    expect(user).toEqual(expect.objectContaining({ activeCredentials: 1 }));
    expect(user).not.toHaveProperty('lockOwner');
    expect(world.bus.delivered).toEqual([]);
  });

  it('commits once when the commit response is lost and the retry repeats it', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });
    world.loseResponse('CommitCreate', 'DynamoDb.InternalServerErrorException', 1);

    // Act
    const result = await run(input('create'));

    // Assess
    expect(result.retried).toEqual(['CommitCreate']);
    expect(result.steps).not.toContain('CompensateDeleteNewClient');
    expect(result.output?.['operation']).toBe('create');
    expect(await world.table.user(USER_ID)).toEqual(expect.objectContaining({ activeCredentials: 1 }));
    expect(world.pool.clients.has(String(result.output?.['clientId']))).toBe(true);
  });

  it('keeps a client whose commit took effect though every commit attempt reported a failure', async () => {
    // Prepare: the first attempt commits and its answer is lost; every retry is answered with an error too
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });
    const request = input('create');
    world.loseResponse('CommitCreate', 'DynamoDb.InternalServerErrorException', 100);

    // Act
    const result = await run(request);

    // Assess
    expect(result.retried).toEqual(['CommitCreate', 'CommitCreate', 'CommitCreate']);
    expect(result.steps.slice(6)).toEqual([
      'CommitCreate',
      'CheckNewClientCommitted',
      'ChooseAfterCommitCheck',
      'RecordCommitFromCheck',
      'ContinueAfterCommit',
      'PublishCreated',
      'CheckEventPublished',
      'ReportCreated',
      'Done',
    ]);
    expect(world.callsOf('CompensateDeleteNewClient')).toEqual([]);
    const clientId = String(result.output?.['clientId']);
    expect(world.pool.clients.has(clientId)).toBe(true);
    expect(await world.table.client(clientId)).toEqual(
      expect.objectContaining({ status: 'active', operationId: request.operationId, userId: USER_ID }),
    );
    const user = await world.table.user(USER_ID);
    expect(user).toEqual(expect.objectContaining({ activeCredentials: 1 }));
    expect(user).not.toHaveProperty('lockOwner');
    expect(world.bus.delivered.map((e) => [e.detailType, e.detail['clientId'], e.detail['eventId']])).toEqual([
      ['CredentialCreated', clientId, result.output?.['eventId']],
    ]);
    expect(world.bus.delivered[0]?.detail['occurredAt']).toBe(NOW);
  });

  it('leaves the new client to the sweeper, deleting nothing, when whether the commit took effect cannot be read', async () => {
    // Prepare: the commit really fails (the user reached the cap), and the check cannot read the table
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 1 });
    world.failTask('CheckNewClientCommitted', 'DynamoDB.InternalServerErrorException', 100);

    // Act
    const result = await run(input('create'));

    // Assess
    expect(result.retried.filter((s) => s === 'CheckNewClientCommitted')).toHaveLength(3);
    expect(result.steps.slice(-4)).toEqual([
      'CommitCreate',
      'CheckNewClientCommitted',
      'ReleaseLockAfterUnconfirmedCommit',
      'CommitUnconfirmed',
    ]);
    expect(result.error?.Error).toBe('Failed');
    expect(world.callsOf('CompensateDeleteNewClient')).toEqual([]);
    expect(world.pool.clients.size).toBe(1);
    const [left] = [...world.pool.clients.keys()];
    expect(await world.table.client(left ?? '')).toBeUndefined();
    const user = await world.table.user(USER_ID);
    expect(user).toEqual(expect.objectContaining({ activeCredentials: 1 }));
    expect(user).not.toHaveProperty('lockOwner');
    expect(world.bus.delivered).toEqual([]);
  });

  it('takes the lock again when its own first attempt succeeded but the answer was lost', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });
    world.loseResponse('Serialize', 'DynamoDB.InternalServerErrorException', 1);

    // Act
    const result = await run(input('create'));

    // Assess
    expect(result.retried).toEqual(['Serialize']);
    expect(result.output?.['operation']).toBe('create');
    expect(await world.table.user(USER_ID)).not.toHaveProperty('lockOwner');
  });
});

describe('serialization', () => {
  it('fails with Conflict and changes nothing while another operation holds the lock', async () => {
    // Prepare
    await world.seedUser({
      userId: USER_ID,
      username: USERNAME,
      version: 3,
      lockOwner: 'other-operation',
      lockExpiresAt: '2026-12-04T10:00:00.001Z',
    });

    // Act
    const result = await run(input('create'));

    // Assess
    expect(result.steps).toEqual(['ValidateInput', 'PrepareScopes', 'Serialize', 'LockNotAcquired']);
    expect(result.error?.Error).toBe('Conflict');
    expect(result.retried).toEqual([]);
    expect(await world.table.user(USER_ID)).toEqual(
      expect.objectContaining({ version: 3, lockOwner: 'other-operation' }),
    );
    expect(world.calls.map((c) => c.state)).toEqual(['Serialize']);
  });

  it('fails with Conflict when the user changed after the API read it', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 4 });

    // Act
    const result = await run(input('revoke', { clientId: 'abc123' }));

    // Assess
    expect(result.steps).toEqual(['ValidateInput', 'Serialize', 'LockNotAcquired']);
    expect(result.error?.Error).toBe('Conflict');
    expect(await world.table.user(USER_ID)).toEqual(expect.objectContaining({ version: 4 }));
  });

  it('fails with Conflict for a user that does not exist', async () => {
    // Act
    const result = await run(input('create'));

    // Assess
    expect(result.error?.Error).toBe('Conflict');
    expect(await world.table.user(USER_ID)).toBeUndefined();
  });

  it('takes over a lock that has expired', async () => {
    // Prepare
    await world.seedUser({
      userId: USER_ID,
      username: USERNAME,
      version: 3,
      lockOwner: 'crashed-operation',
      lockExpiresAt: '2026-12-04T09:59:59.999Z',
    });

    // Act
    const result = await run(input('create'));

    // Assess
    expect(result.output?.['operation']).toBe('create');
    expect(await world.table.user(USER_ID)).not.toHaveProperty('lockOwner');
  });

  it('refuses an incomplete input before taking the lock', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });
    const { name: _name, ...withoutName } = input('create');

    // Act
    const results = [
      await run(withoutName),
      await run({ ...input('create'), scopes: [] }),
      await run(input('reset')),
      await run({ ...input('revoke', { clientId: 'abc' }), operation: 'rename' }),
      await run({ userId: USER_ID }),
    ];

    // Assess
    for (const result of results) {
      expect(result.steps).toEqual(['ValidateInput', 'InvalidInput']);
      expect(result.error?.Error).toBe('Failed');
    }
    expect(world.calls).toEqual([]);
  });
});

describe('reset', () => {
  it('swaps the mapping, deletes the old client and publishes CredentialReset, step by step', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 1 });
    const oldClientId = await world.seedCredential(USER_ID, ['devaccess/read']);

    // Act
    const result = await run(input('reset', { clientId: oldClientId, scopes: ['devaccess/write'] }));

    // Assess
    expect(result.steps).toEqual([
      'ValidateInput',
      'PrepareScopes',
      'Serialize',
      'ChooseOperation',
      'CreateClient',
      'ChooseCommit',
      'CommitReset',
      'DeleteOldClient',
      'PublishReset',
      'CheckEventPublished',
      'ReportReset',
      'Done',
    ]);
    const newClientId = String(result.output?.['clientId']);
    expect(result.output).toEqual({
      operation: 'reset',
      userId: USER_ID,
      clientId: newClientId,
      previousClientId: oldClientId,
      scopes: ['devaccess/write'],
      eventId: world.bus.delivered[0]?.detail['eventId'],
    });
    expect([...world.pool.clients.keys()]).toEqual([newClientId]);
    expect(world.callsOf('DeleteOldClient')[0]?.params).toEqual({ UserPoolId: SUBSTITUTIONS.UserPoolId, ClientId: oldClientId });
    expect(inputOf(result, 'PublishReset')['deleteOld']).toEqual({ status: 'deleted' });
    expect(world.bus.delivered.map((e) => [e.detailType, e.detail['clientId'], e.detail['previousClientId']])).toEqual([
      ['CredentialReset', newClientId, oldClientId],
    ]);
  });

  it('marks the old credential revoked and replaced, the new one active, and leaves the count alone', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 1 });
    const oldClientId = await world.seedCredential(USER_ID, ['devaccess/read']);

    // Act
    const result = await run(input('reset', { clientId: oldClientId }));

    // Assess
    const newClientId = String(result.output?.['clientId']);
    for (const old of [await world.table.client(oldClientId), await world.table.credential(USER_ID, oldClientId)]) {
      expect(old).toEqual(
        expect.objectContaining({ status: 'revoked', revokedAt: NOW, replacedBy: newClientId, userId: USER_ID }),
      );
    }
    for (const fresh of [await world.table.client(newClientId), await world.table.credential(USER_ID, newClientId)]) {
      expect(fresh).toEqual(
        expect.objectContaining({ status: 'active', scopes: READ_WRITE, name: 'CI pipeline', createdAt: REQUESTED_AT }),
      );
    }
    const user = await world.table.user(USER_ID);
    expect(user).toEqual(expect.objectContaining({ activeCredentials: 1, version: 4 }));
    expect(user).not.toHaveProperty('lockOwner');
  });

  it('retries a failing DeleteOldClient and then deletes it', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 1 });
    const oldClientId = await world.seedCredential(USER_ID, READ_WRITE);
    world.failTask('DeleteOldClient', 'CognitoIdentityProvider.InternalErrorException', 2);

    // Act
    const result = await run(input('reset', { clientId: oldClientId }));

    // Assess
    expect(result.retried).toEqual(['DeleteOldClient', 'DeleteOldClient']);
    expect(result.output?.['operation']).toBe('reset');
    expect(world.pool.clients.has(oldClientId)).toBe(false);
    expect(inputOf(result, 'PublishReset')['deleteOld']).toEqual({ status: 'deleted' });
  });

  it('counts an old client that is already gone as deleted, without retrying', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 1 });
    const oldClientId = await world.seedCredential(USER_ID, READ_WRITE);
    world.pool.clients.delete(oldClientId);

    // Act
    const result = await run(input('reset', { clientId: oldClientId }));

    // Assess
    expect(result.retried).toEqual([]);
    expect(result.steps).toEqual(expect.arrayContaining(['DeleteOldClient', 'PublishReset']));
    expect(result.steps).not.toContain('DeferOldClientDeletion');
    expect(result.output?.['operation']).toBe('reset');
    expect(inputOf(result, 'PublishReset')['deleteOld']).toEqual(
      expect.objectContaining({ Error: 'CognitoIdentityProvider.ResourceNotFoundException' }),
    );
  });

  it('succeeds with the deletion deferred when the old client cannot be deleted', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 1 });
    const oldClientId = await world.seedCredential(USER_ID, READ_WRITE);
    world.failTask('DeleteOldClient', 'CognitoIdentityProvider.InternalErrorException', 100);

    // Act
    const result = await run(input('reset', { clientId: oldClientId }));

    // Assess
    expect(result.retried.filter((s) => s === 'DeleteOldClient')).toHaveLength(3);
    expect(result.steps.slice(6)).toEqual([
      'CommitReset',
      'DeleteOldClient',
      'DeferOldClientDeletion',
      'PublishReset',
      'CheckEventPublished',
      'ReportReset',
      'Done',
    ]);
    expect(inputOf(result, 'PublishReset')['deleteOld']).toEqual({
      status: 'deferred',
      error: 'CognitoIdentityProvider.InternalErrorException',
    });
    expect(result.output?.['previousClientId']).toBe(oldClientId);
    // Still in the pool, but its mapping is revoked: the resolver refuses it.
    expect(world.pool.clients.has(oldClientId)).toBe(true);
    expect(await world.table.client(oldClientId)).toEqual(expect.objectContaining({ status: 'revoked' }));
  });

  it('compensates when the credential is no longer active at commit time', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 0 });
    const oldClientId = await world.seedCredential(USER_ID, READ_WRITE, 'revoked');

    // Act
    const result = await run(input('reset', { clientId: oldClientId }));

    // Assess
    expect(result.steps.slice(-6)).toEqual([
      'CommitReset',
      'CheckNewClientCommitted',
      'ChooseAfterCommitCheck',
      'CompensateDeleteNewClient',
      'ReleaseLockAfterConflict',
      'CommitConflict',
    ]);
    expect(result.error?.Error).toBe('Conflict');
    expect([...world.pool.clients.keys()]).toEqual([oldClientId]);
    expect(await world.table.user(USER_ID)).not.toHaveProperty('lockOwner');
  });

  it('finishes a reset whose commit took effect though every commit attempt reported a failure', async () => {
    // Prepare: the swap commits and its answer is lost; the retries fail too
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 1 });
    const oldClientId = await world.seedCredential(USER_ID, READ_WRITE);
    world.loseResponse('CommitReset', 'DynamoDb.InternalServerErrorException', 100);

    // Act
    const result = await run(input('reset', { clientId: oldClientId }));

    // Assess: the user keeps the new pair; only the old one is gone
    expect(result.steps).toEqual(expect.arrayContaining(['CheckNewClientCommitted', 'RecordCommitFromCheck', 'DeleteOldClient']));
    expect(world.callsOf('CompensateDeleteNewClient')).toEqual([]);
    const newClientId = String(result.output?.['clientId']);
    expect(result.output).toEqual(expect.objectContaining({ operation: 'reset', previousClientId: oldClientId }));
    expect([...world.pool.clients.keys()]).toEqual([newClientId]);
    expect(await world.table.client(newClientId)).toEqual(expect.objectContaining({ status: 'active' }));
    expect(await world.table.client(oldClientId)).toEqual(
      expect.objectContaining({ status: 'revoked', replacedBy: newClientId }),
    );
    expect(await world.table.user(USER_ID)).toEqual(expect.objectContaining({ activeCredentials: 1 }));
    expect(world.bus.delivered.map((e) => [e.detailType, e.detail['clientId'], e.detail['previousClientId']])).toEqual([
      ['CredentialReset', newClientId, oldClientId],
    ]);
  });

  it('refuses to reset another user\'s credential', async () => {
    // Prepare
    const otherUser = '0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a';
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 1 });
    await world.seedUser({ userId: otherUser, username: 'eve@example.com', activeCredentials: 1 });
    const theirs = await world.seedCredential(otherUser, READ_WRITE);

    // Act
    const result = await run(input('reset', { clientId: theirs }));

    // Assess
    expect(result.error?.Error).toBe('Conflict');
    expect(await world.table.client(theirs)).toEqual(expect.objectContaining({ status: 'active', userId: otherUser }));
    expect(world.pool.clients.has(theirs)).toBe(true);
    expect(world.pool.clients.size).toBe(1);
  });
});

describe('revoke', () => {
  it('revokes the mapping, deletes the client and publishes CredentialRevoked, step by step', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 1 });
    const clientId = await world.seedCredential(USER_ID, READ_WRITE);

    // Act
    const result = await run(input('revoke', { clientId }));

    // Assess
    expect(result.steps).toEqual([
      'ValidateInput',
      'Serialize',
      'ChooseOperation',
      'CommitRevoke',
      'DeleteRevokedClient',
      'PublishRevoked',
      'CheckEventPublished',
      'ReportRevoked',
      'Done',
    ]);
    expect(result.output).toEqual({
      operation: 'revoke',
      userId: USER_ID,
      clientId,
      eventId: world.bus.delivered[0]?.detail['eventId'],
    });
    expect(world.pool.clients.size).toBe(0);
    for (const item of [await world.table.client(clientId), await world.table.credential(USER_ID, clientId)]) {
      expect(item).toEqual(expect.objectContaining({ status: 'revoked', revokedAt: NOW }));
      expect(item).not.toHaveProperty('replacedBy');
    }
    const user = await world.table.user(USER_ID);
    expect(user).toEqual(expect.objectContaining({ activeCredentials: 0, version: 4 }));
    expect(user).not.toHaveProperty('lockOwner');
    expect(world.bus.delivered.map((e) => [e.detailType, e.detail['clientId'], e.detail['scopes']])).toEqual([
      ['CredentialRevoked', clientId, undefined],
    ]);
  });

  it('releases the lock and fails with Conflict, deleting nothing, when the credential is already revoked', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 0 });
    const clientId = await world.seedCredential(USER_ID, READ_WRITE, 'revoked');

    // Act
    const result = await run(input('revoke', { clientId }));

    // Assess
    expect(result.steps).toEqual([
      'ValidateInput',
      'Serialize',
      'ChooseOperation',
      'CommitRevoke',
      'ReleaseLockAfterConflict',
      'CommitConflict',
    ]);
    expect(result.error?.Error).toBe('Conflict');
    expect(world.pool.clients.has(clientId)).toBe(true);
    expect(await world.table.user(USER_ID)).not.toHaveProperty('lockOwner');
    expect(world.bus.delivered).toEqual([]);
  });

  it('succeeds with the deletion deferred when the client cannot be deleted', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 1 });
    const clientId = await world.seedCredential(USER_ID, READ_WRITE);
    world.failTask('DeleteRevokedClient', 'CognitoIdentityProvider.TooManyRequestsException', 100);

    // Act
    const result = await run(input('revoke', { clientId }));

    // Assess
    expect(result.retried.filter((s) => s === 'DeleteRevokedClient')).toHaveLength(6);
    expect(result.steps).toContain('DeferRevokedClientDeletion');
    expect(inputOf(result, 'PublishRevoked')['deleteOld']).toEqual({
      status: 'deferred',
      error: 'CognitoIdentityProvider.TooManyRequestsException',
    });
    expect(result.output?.['operation']).toBe('revoke');
    expect(await world.table.client(clientId)).toEqual(expect.objectContaining({ status: 'revoked' }));
  });
});

describe('publishing', () => {
  it('retries a refused event and publishes it once, with the same event id', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });
    world.bus.refuseEntries(2);

    // Act
    const result = await run(input('create'));

    // Assess
    expect(result.retried).toEqual(['PublishCreated', 'PublishCreated']);
    expect(world.bus.delivered).toHaveLength(1);
    const ids = world.callsOf('PublishCreated').map(
      (c) => ((c.params['Entries'] as { Detail: { eventId: string } }[])[0]?.Detail.eventId),
    );
    expect(new Set(ids).size).toBe(1);
    expect(result.output?.['eventId']).toBe(ids[0]);
  });

  it('fails with EventNotPublished after the retries when the event cannot be published, the change staying committed', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });
    world.bus.refuseEntries(100);

    // Act
    const result = await run(input('create'));

    // Assess
    expect(result.retried).toEqual(Array(4).fill('PublishCreated'));
    expect(result.steps.slice(-2)).toEqual(['PublishCreated', 'EventNotPublished']);
    expect(result.error).toEqual({
      Error: 'EventNotPublished',
      Cause: 'The change is committed, but its event could not be published',
    });
    expect(world.bus.delivered).toEqual([]);
    const user = await world.table.user(USER_ID);
    expect(user).toEqual(expect.objectContaining({ activeCredentials: 1 }));
    expect(user).not.toHaveProperty('lockOwner');
  });

  it('does not pass off a refused entry as published when the runner only reports FailedEntryCount', async () => {
    // Prepare
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3, activeCredentials: 1 });
    const clientId = await world.seedCredential(USER_ID, READ_WRITE);
    world.bus.failureMode = 'report';
    world.bus.refuseEntries(1);

    // Act
    const result = await run(input('revoke', { clientId }));

    // Assess
    expect(result.steps.slice(-3)).toEqual(['PublishRevoked', 'CheckEventPublished', 'EventNotPublished']);
    expect(inputOf(result, 'CheckEventPublished')['publish']).toEqual({ failedEntryCount: 1 });
    expect(result.error?.Error).toBe('EventNotPublished');
    expect(await world.table.client(clientId)).toEqual(expect.objectContaining({ status: 'revoked' }));
  });
});

describe('secrets', () => {
  it('keeps every client secret out of every state input, output and error of every path', async () => {
    // Prepare: a create, a reset with a retried delete, and a compensated reset, all in one world
    await world.seedUser({ userId: USER_ID, username: USERNAME, version: 3 });
    const created = await run(input('create'));
    const clientId = String(created.output?.['clientId']);
    world.failTask('DeleteOldClient', 'CognitoIdentityProvider.InternalErrorException', 1);
    const reset = await run(input('reset', { clientId, expectedVersion: 4 }));
    world.pool.throttleCreates(1);
    const conflicted = await run(input('reset', { clientId, expectedVersion: 5 }));

    // Act
    const history = JSON.stringify([created.events, reset.events, conflicted.events]);
    const table = JSON.stringify([
      await world.table.user(USER_ID),
      await world.table.client(clientId),
      await world.table.client(String(reset.output?.['clientId'])),
    ]);

    // Assess
    expect(world.pool.issuedSecrets.length).toBeGreaterThanOrEqual(3);
    expect(conflicted.error?.Error).toBe('Conflict');
    for (const secret of world.pool.issuedSecrets) {
      expect(history).not.toContain(secret);
      expect(table).not.toContain(secret);
      expect(JSON.stringify(world.bus.delivered)).not.toContain(secret);
    }
    expect(history).toContain(clientId);
  });
});

describe('the event schemas', () => {
  const created = (scopes: string[]) => ({
    eventId: 'b1d2c3e4-0000-4000-8000-000000000001',
    version: 1,
    occurredAt: NOW,
    userId: USER_ID,
    clientId: 'abc123',
    scopes,
    actor: { type: 'user', username: USERNAME },
    executionId: 'arn:aws:states:us-east-1:000000000000:execution:devaccess-credential-workflow:create-op',
  });

  it('accept the scopes of any resource server a deployment configures, and only its read and write scopes', () => {
    const validate = validators.CredentialCreated;
    expect(validate(created(['devaccess/read']))).toBe(true);
    expect(validate(created(['api.acme.example/read', 'api.acme.example/write']))).toBe(true);
    expect(validate(created(['api.acme.example/admin']))).toBe(false);
    expect(validate(created(['my api/read']))).toBe(false);
    expect(validate(created(['aws.cognito.signin.user.admin']))).toBe(false);
  });
});
