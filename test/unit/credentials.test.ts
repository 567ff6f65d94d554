import { shortScopes } from '../../lambdas/credentials/service';
import {
  AdminListGroupsForUserCommand,
  DescribeUserPoolClientCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-cognito-identity-provider';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCredentialsHandler } from '../../lambdas/credentials/handler';
import { CredentialList, IssuedCredential, ReissuedCredential } from '../../lambdas/credentials/schemas';
import { fullScope } from '../../lambdas/shared/contract/names';
import { POLL_INITIAL_MS, POLL_MAX_MS } from '../../lambdas/credentials/run-workflow';
import { apiEvent, bodyOf, captureLogs, clientClaims, userClaims } from './support/api';
import { CredentialWorld, IDENTITY_TABLE, TOKEN_URL, WAIT_MS } from './support/credential-world';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let world: CredentialWorld;

beforeEach(() => {
  world = new CredentialWorld();
});

afterEach(() => {
  world.restore();
});

function api() {
  const deps = world.deps();
  return createCredentialsHandler(() => deps, () => deps.store);
}

const create = (username: string, body?: unknown, headers?: Record<string, string>) =>
  api()(apiEvent('createCredential', { claims: userClaims(username), body, headers }));
const reset = (username: string, clientId: string, body?: unknown, headers?: Record<string, string>) =>
  api()(apiEvent('resetCredential', { claims: userClaims(username), pathParameters: { clientId }, body, headers }));
const revoke = (username: string, clientId: string, headers?: Record<string, string>) =>
  api()(apiEvent('revokeCredential', { claims: userClaims(username), pathParameters: { clientId }, headers }));
const list = (username: string) => api()(apiEvent('listCredentials', { claims: userClaims(username) }));

describe('GET /credentials', () => {
  it('lists the caller\'s credentials with short scope names and no secrets', async () => {
    // Prepare
    const alice = world.addUser('alice', { version: 2 });
    const bob = world.addUser('bob');
    const old = world.addCredential(alice, { status: 'revoked', name: 'old', createdAt: '2026-11-10T00:00:00.000Z' });
    const current = world.addCredential(alice, { name: 'ci', scopes: [fullScope('read')], createdAt: '2026-11-16T00:00:00.000Z' });
    world.addCredential(bob);
    // Act
    const result = await list('alice');
    // Assess
    expect(result.statusCode).toBe(200);
    const body = CredentialList.parse(bodyOf(result));
    expect(body.credentials).toEqual([
      { clientId: old, name: 'old', scopes: ['read', 'write'], status: 'revoked', createdAt: '2026-11-10T00:00:00.000Z', revokedAt: '2026-11-20T00:00:00.000Z' },
      { clientId: current, name: 'ci', scopes: ['read'], status: 'active', createdAt: '2026-11-16T00:00:00.000Z' },
    ]);
    expect(result.body).not.toMatch(/secret/i);
    const query = world.dynamo.mock.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(query?.ConsistentRead).toBe(true);
    expect(query?.ExpressionAttributeValues?.[':pk']).toBe(`USER#${alice}`);
  });

  it('lists nothing for a user without credentials', async () => {
    world.addUser('alice');
    expect(bodyOf(await list('alice'))).toEqual({ credentials: [] });
  });
});

describe('POST /credentials', () => {
  it('creates a credential through the workflow and returns its secret once, uncached', async () => {
    // Prepare
    const alice = world.addUser('alice', { version: 4 });
    // Act
    const result = await create('alice', { name: '  deploy bot  ', scopes: ['read'] });
    // Assess
    expect(result.statusCode).toBe(201);
    expect(result.headers).toMatchObject({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    const body = IssuedCredential.parse(bodyOf(result));
    expect(body).toMatchObject({ name: 'deploy bot', scopes: ['read'], tokenUrl: TOKEN_URL, createdAt: '2026-12-04T10:00:00.000Z' });
    expect(body.clientSecret).toBe(world.poolClients.get(body.clientId)?.secret);
    expect(world.credential(alice, body.clientId)).toMatchObject({ status: 'active', userId: alice });

    const [input] = world.startedInputs();
    expect(input).toEqual({
      operation: 'create',
      operationId: expect.stringMatching(UUID),
      userId: alice,
      username: 'alice',
      expectedVersion: 4,
      lockExpiresAt: '2026-12-04T10:05:00.000Z',
      requestedAt: '2026-12-04T10:00:00.000Z',
      name: 'deploy bot',
      scopes: [fullScope('read')],
    });
    expect(world.startedNames()).toEqual([`create-${input?.operationId}`]);
  });

  it('defaults to both scopes and a default name, with or without a body', async () => {
    world.addUser('alice');
    world.maxCredentials = 2;
    const noBody = IssuedCredential.parse(bodyOf(await create('alice')));
    const emptyBody = IssuedCredential.parse(bodyOf(await create('alice', {})));
    expect(noBody.scopes).toEqual(['read', 'write']);
    expect(emptyBody.name).toBe('API credential');
    expect(world.startedInputs().map((i) => i.scopes)).toEqual([
      [fullScope('read'), fullScope('write')],
      [fullScope('read'), fullScope('write')],
    ]);
  });

  it.each([
    [{ userId: 'someone-else' }, 'body.userId'],
    [{ scopes: ['admin'] }, 'body.scopes.0'],
    [{ scopes: ['aws.cognito.signin.user.admin'] }, 'body.scopes.0'],
    [{ scopes: [] }, 'body.scopes'],
    [{ scopes: ['read', 'read'] }, 'body.scopes'],
    [{ name: '' }, 'body.name'],
    [{ name: '   ' }, 'body.name'],
    [{ name: 'x'.repeat(65) }, 'body.name'],
    [{ name: 'tab\there' }, 'body.name'],
    [{ name: 'zero\u200bwidth' }, 'body.name'],
    [['read'], 'body'],
    [null, 'body'],
    ['read', 'body'],
  ])('refuses the body %j naming %s, before any AWS call', async (body, field) => {
    world.addUser('alice');
    const result = await create('alice', body);
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result).error).toMatchObject({ code: 'validation_failed', field });
    expect(world.sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(world.cognito.calls()).toHaveLength(0);
  });

  it('refuses a caller who is not in the developers group right now, whatever the token says', async () => {
    world.addUser('alice', { groups: ['testers'] });
    const result = await api()(
      apiEvent('createCredential', { claims: userClaims('alice', undefined, { 'cognito:groups': 'developers' }), body: {} }),
    );
    expect(result.statusCode).toBe(403);
    expect(bodyOf(result).error.code).toBe('forbidden');
    expect(world.sfn.calls()).toHaveLength(0);
  });

  it('finds the developers group on a later page of the user\'s groups', async () => {
    world.addUser('alice', { groups: ['a', 'b', 'developers'] });
    const result = await create('alice', {});
    expect(result.statusCode).toBe(201);
    expect(world.cognito.commandCalls(AdminListGroupsForUserCommand)).toHaveLength(3);
  });

  it('refuses a user who no longer exists in the pool with 403', async () => {
    world.addUser('alice');
    world.groups.delete('alice');
    expect((await create('alice', {})).statusCode).toBe(403);
  });

  it('refuses with 409 limit_exceeded when the user is at the cap, without starting the workflow', async () => {
    const alice = world.addUser('alice');
    world.addCredential(alice);
    const result = await create('alice', {});
    expect(result.statusCode).toBe(409);
    expect(bodyOf(result).error.code).toBe('limit_exceeded');
    expect(world.sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it.each([
    ['Conflict', 409, 'conflict'],
    ['Failed', 503, 'unavailable'],
    ['States.Runtime', 503, 'unavailable'],
  ])('maps a workflow failing with %s to %i %s', async (error, status, code) => {
    world.addUser('alice');
    world.scripts.push({ failWith: error });
    const result = await create('alice', {});
    expect(result.statusCode).toBe(status);
    expect(bodyOf(result).error.code).toBe(code);
    expect(result.body).not.toContain(error); // the workflow's own error names stay internal
  });

  it('answers 409 conflict when the user reaches the cap after the API checked it (the workflow\'s commit re-checks it)', async () => {
    // Prepare
    const alice = world.addUser('alice');
    world.scripts.push({
      // Another credential counted without a version change: only the commit's cap condition can catch it.
      beforeRun: () => world.dynamo.seed(IDENTITY_TABLE, { ...world.user(alice), activeCredentials: 1 }),
    });
    // Act
    const result = await create('alice', {});
    // Assess
    expect(result.statusCode).toBe(409);
    expect(bodyOf(result).error.code).toBe('conflict');
    expect(world.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    expect(world.user(alice)['activeCredentials']).toBe(1);
    expect(world.poolClients.size).toBe(0);
  });

  it('answers a create that committed but could not publish its event with 201 and the secret, logging the gap', async () => {
    const logs = captureLogs();
    try {
      // Prepare
      const alice = world.addUser('alice');
      world.scripts.push({ eventNotPublished: true });
      // Act
      const result = await create('alice', { name: 'ci' });
      // Assess
      expect(result.statusCode).toBe(201);
      const body = IssuedCredential.parse(bodyOf(result));
      expect(body.clientSecret).toBe(world.poolClients.get(body.clientId)?.secret);
      expect(world.credential(alice, body.clientId)).toMatchObject({ status: 'active', operationId: world.startedInputs()[0]?.operationId });
      const missing = logs.lines().filter((l) => l.includes('AUDIT EVENT MISSING'));
      expect(missing).toHaveLength(1);
      expect(missing[0]).toContain(body.clientId);
      expect(logs.lines().join('\n')).not.toContain(body.clientSecret);
    } finally {
      logs.stop();
    }
  });

  it('tells the caller to retry when another change holds the user', async () => {
    world.addUser('alice');
    world.scripts.push({ failWith: 'Conflict' });
    const result = await create('alice', {});
    expect(bodyOf(result).error.message).toMatch(/another change to your credentials is in progress; retry/i);
  });

  it('loses to a concurrent change of the same user with 409 and creates nothing', async () => {
    // Two creates read the same version; the model (like the workflow) lets only the first one commit.
    world.maxCredentials = 5;
    const alice = world.addUser('alice');
    world.scripts.push({ runningFor: 1 }, { runningFor: 2 });
    const [first, second] = await Promise.all([create('alice', {}), create('alice', {})]);
    expect([first.statusCode, second.statusCode].sort()).toEqual([201, 409]);
    expect(world.user(alice)['activeCredentials']).toBe(1);
  });

  it('answers 503 with Retry-After when the workflow outlives the wait, polling with backoff', async () => {
    world.addUser('alice');
    world.scripts.push({ runningFor: Infinity });
    const started = world.clock.now();
    const result = await create('alice', {});
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['Retry-After']).toBe('2');
    expect(bodyOf(result).error.message).toMatch(/still being processed.*list your credentials/);
    expect(world.clock.now() - started).toBe(WAIT_MS);
    expect(world.clock.sleeps.slice(0, 6)).toEqual([50, 100, 200, 400, 500, 500]);
    expect(Math.min(...world.clock.sleeps)).toBeGreaterThan(0);
    expect(Math.max(...world.clock.sleeps)).toBeLessThanOrEqual(POLL_MAX_MS);
    expect(world.clock.sleeps[0]).toBe(POLL_INITIAL_MS);
  });

  it('answers with the result when the workflow finishes within the wait', async () => {
    world.addUser('alice');
    world.scripts.push({ runningFor: 3 });
    const result = await create('alice', {});
    expect(result.statusCode).toBe(201);
    expect(world.sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(4);
  });

  describe('with an Idempotency-Key', () => {
    it('replays the first result instead of creating a second client', async () => {
      const alice = world.addUser('alice');
      const first = await create('alice', { name: 'ci' }, { 'Idempotency-Key': 'order-7' });
      const again = await create('alice', { name: 'ci' }, { 'Idempotency-Key': 'order-7' });
      expect(first.statusCode).toBe(201);
      expect(again.statusCode).toBe(201);
      expect(bodyOf(again)).toEqual(bodyOf(first));
      expect(world.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
      expect(world.user(alice)['activeCredentials']).toBe(1);
    });

    it('replays the first result for the same request, however its body is spelled', async () => {
      world.addUser('alice');
      const first = await create('alice', { name: 'ci', scopes: ['read'] }, { 'Idempotency-Key': 'order-8' });
      const again = await create('alice', { scopes: ['read'], name: '  ci ' }, { 'Idempotency-Key': 'order-8' });
      expect(again.statusCode).toBe(201);
      expect(bodyOf(again)).toEqual(bodyOf(first));
      expect(world.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    });

    it('refuses the same key with a different body with 422, without the first result or a new run', async () => {
      world.addUser('alice');
      world.maxCredentials = 2;
      const first = await create('alice', { name: 'ci' }, { 'Idempotency-Key': 'order-9' });
      const other = await create('alice', { name: 'deploy' }, { 'Idempotency-Key': 'order-9' });
      expect(first.statusCode).toBe(201);
      expect(other.statusCode).toBe(422);
      expect(bodyOf(other).error.code).toBe('idempotency_key_reused');
      expect(other.body).not.toContain(bodyOf(first).clientSecret);
      expect(other.body).not.toContain(bodyOf(first).clientId);
      expect(world.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    });

    it('keeps a key bound to its first request even after that request failed', async () => {
      world.addUser('alice');
      world.scripts.push({ failWith: 'Conflict' });
      const first = await create('alice', { scopes: ['read'] }, { 'Idempotency-Key': 'k4' });
      const other = await create('alice', { scopes: ['write'] }, { 'Idempotency-Key': 'k4' });
      const same = await create('alice', { scopes: ['read'] }, { 'Idempotency-Key': 'k4' });
      expect([first.statusCode, other.statusCode, same.statusCode]).toEqual([409, 422, 201]);
      expect(world.startedNames().map((n) => n.slice(-2))).toEqual(['-0', '-1']);
    });

    it('refuses a concurrent request with the same key and a different body instead of handing it the other\'s result', async () => {
      world.addUser('alice');
      world.maxCredentials = 2;
      world.scripts.push({ runningFor: 2 });
      const [a, b] = await Promise.all([
        create('alice', { name: 'one' }, { 'Idempotency-Key': 'race' }),
        create('alice', { name: 'two' }, { 'Idempotency-Key': 'race' }),
      ]);
      expect([a.statusCode, b.statusCode]).toEqual([201, 422]);
      expect(b.body).not.toContain(bodyOf(a).clientSecret);
      expect(world.executions.size).toBe(1);
    });

    it('never starts a second run for a key whose run committed without publishing its event', async () => {
      const alice = world.addUser('alice');
      world.maxCredentials = 2;
      world.scripts.push({ eventNotPublished: true });
      const first = await create('alice', {}, { 'Idempotency-Key': 'k5' });
      const again = await create('alice', {}, { 'Idempotency-Key': 'k5' });
      expect(first.statusCode).toBe(201);
      expect(again.statusCode).toBe(201);
      expect(bodyOf(again)).toEqual(bodyOf(first));
      expect(world.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
      expect(world.user(alice)['activeCredentials']).toBe(1);
    });

    it('names the execution from a hash, so neither the key nor the user id shows in its ARN', async () => {
      const alice = world.addUser('alice');
      await create('alice', {}, { 'Idempotency-Key': 'order-7' });
      const [name] = world.startedNames();
      expect(name).toMatch(/^create-[0-9a-f]{64}-0$/);
      expect(name).not.toContain('order-7');
      expect(name).not.toContain(alice);
    });

    it('returns the result of a run that outlived the first request', async () => {
      world.addUser('alice');
      // About ten DescribeExecution calls fit in the wait; the run needs a few more.
      world.scripts.push({ runningFor: 15 });
      const first = await create('alice', {}, { 'Idempotency-Key': 'k1' });
      expect(first.statusCode).toBe(503);
      expect(bodyOf(first).error.message).toMatch(/same Idempotency-Key/);
      const again = await create('alice', {}, { 'Idempotency-Key': 'k1' });
      expect(again.statusCode).toBe(201);
      expect(world.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    });

    it('joins a concurrent request with the same key instead of starting a second run', async () => {
      const alice = world.addUser('alice');
      world.scripts.push({ runningFor: 2 });
      const [a, b] = await Promise.all([
        create('alice', {}, { 'Idempotency-Key': 'same' }),
        create('alice', {}, { 'Idempotency-Key': 'same' }),
      ]);
      expect(a.statusCode).toBe(201);
      expect(b.statusCode).toBe(201);
      expect(bodyOf(a).clientId).toBe(bodyOf(b).clientId);
      expect(world.executions.size).toBe(1);
      // Both passed the lookup before either started: the second StartExecution met ExecutionAlreadyExists.
      expect(world.sfn.commandCalls(StartExecutionCommand)).toHaveLength(2);
      expect(world.user(alice)['activeCredentials']).toBe(1);
    });

    it('starts a new attempt after a failed run, so a retry after a conflict can succeed', async () => {
      world.addUser('alice');
      world.scripts.push({ failWith: 'Conflict' });
      const first = await create('alice', {}, { 'Idempotency-Key': 'k2' });
      const retry = await create('alice', {}, { 'Idempotency-Key': 'k2' });
      expect(first.statusCode).toBe(409);
      expect(retry.statusCode).toBe(201);
      expect(world.startedNames().map((n) => n.slice(-2))).toEqual(['-0', '-1']);
    });

    it('keeps different users\' runs apart even with the same key', async () => {
      world.addUser('alice');
      world.addUser('bob');
      const a = await create('alice', {}, { 'Idempotency-Key': 'shared' });
      const b = await create('bob', {}, { 'Idempotency-Key': 'shared' });
      expect(bodyOf(a).clientId).not.toBe(bodyOf(b).clientId);
      expect(new Set(world.startedNames()).size).toBe(2);
    });

    it('refuses to hand out the secret of a credential that was revoked since', async () => {
      const alice = world.addUser('alice');
      const first = await create('alice', {}, { 'Idempotency-Key': 'k3' });
      expect((await revoke('alice', bodyOf(first).clientId)).statusCode).toBe(204);
      const again = await create('alice', {}, { 'Idempotency-Key': 'k3' });
      expect(again.statusCode).toBe(409);
      expect(again.body).not.toContain(bodyOf(first).clientSecret);
      expect(world.credential(alice, bodyOf(first).clientId)?.['status']).toBe('revoked');
    });

    it.each([
      ['has a space', 'a b'],
      ['is empty', ''],
      ['is not ASCII', 'clé'],
      ['is too long', 'k'.repeat(256)],
    ])('refuses a key that %s', async (_why, key) => {
      world.addUser('alice');
      const result = await create('alice', {}, { 'Idempotency-Key': key });
      expect(result.statusCode).toBe(400);
      expect(bodyOf(result).error.field).toBe('Idempotency-Key');
      expect(world.sfn.calls()).toHaveLength(0);
    });
  });
});

describe('POST /credentials/{clientId}/reset', () => {
  it('replaces the credential: new pair returned once, old one revoked, name and scopes kept', async () => {
    const alice = world.addUser('alice', { version: 1 });
    const old = world.addCredential(alice, { name: 'ci', scopes: [fullScope('read')] });
    const result = await reset('alice', old);
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'Cache-Control': 'no-store' });
    const body = ReissuedCredential.parse(bodyOf(result));
    expect(body).toMatchObject({ previousClientId: old, name: 'ci', scopes: ['read'], tokenUrl: TOKEN_URL });
    expect(body.clientId).not.toBe(old);
    expect(body.clientSecret).toBe(world.poolClients.get(body.clientId)?.secret);
    expect(world.credential(alice, old)?.['status']).toBe('revoked');
    expect(world.startedInputs()[0]).toMatchObject({
      operation: 'reset',
      clientId: old,
      expectedVersion: 1,
      name: 'ci',
      scopes: [fullScope('read')],
    });
  });

  it('accepts a new name and scopes', async () => {
    const alice = world.addUser('alice');
    const old = world.addCredential(alice);
    const body = bodyOf(await reset('alice', old, { name: 'renamed', scopes: ['write'] }));
    expect(body).toMatchObject({ name: 'renamed', scopes: ['write'] });
  });

  it('answers 404 for another user\'s credential without touching it', async () => {
    world.addUser('alice');
    const bob = world.addUser('bob');
    const bobs = world.addCredential(bob);
    const result = await reset('alice', bobs);
    expect(result.statusCode).toBe(404);
    expect(world.sfn.calls()).toHaveLength(0);
    expect(world.credential(bob, bobs)?.['status']).toBe('active');
  });

  it('answers 404 for a revoked credential and for one that never existed, alike', async () => {
    const alice = world.addUser('alice');
    const revoked = world.addCredential(alice, { status: 'revoked' });
    const a = await reset('alice', revoked);
    const b = await reset('alice', 'nosuchclient00000000000000');
    expect(a.statusCode).toBe(404);
    expect(bodyOf(a)).toEqual(bodyOf(b));
  });

  it('refuses a caller outside the developers group', async () => {
    const alice = world.addUser('alice', { groups: [] });
    const old = world.addCredential(alice);
    expect((await reset('alice', old)).statusCode).toBe(403);
  });

  it('refuses an unknown body field', async () => {
    const alice = world.addUser('alice');
    const old = world.addCredential(alice);
    const result = await reset('alice', old, { clientSecret: 'mine' });
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result).error.field).toBe('body.clientSecret');
  });

  it('refuses a JSON null body naming body, while no body at all keeps name and scopes', async () => {
    const alice = world.addUser('alice');
    const old = world.addCredential(alice);
    const refused = await reset('alice', old, null);
    expect(refused.statusCode).toBe(400);
    expect(bodyOf(refused).error).toMatchObject({ code: 'validation_failed', field: 'body' });
    expect(world.sfn.calls()).toHaveLength(0);
    expect((await reset('alice', old)).statusCode).toBe(200);
  });

  it('answers a reset that committed but could not publish its event with the new pair, the old one revoked', async () => {
    const alice = world.addUser('alice');
    const old = world.addCredential(alice);
    world.scripts.push({ eventNotPublished: true });
    const result = await reset('alice', old);
    expect(result.statusCode).toBe(200);
    const body = ReissuedCredential.parse(bodyOf(result));
    expect(body.previousClientId).toBe(old);
    expect(body.clientSecret).toBe(world.poolClients.get(body.clientId)?.secret);
    expect(world.credential(alice, old)?.['status']).toBe('revoked');
  });

  it('refuses a reset with a used key and different scopes with 422', async () => {
    const alice = world.addUser('alice');
    const old = world.addCredential(alice);
    const first = await reset('alice', old, { scopes: ['read'] }, { 'Idempotency-Key': 'rotate-2' });
    const other = await reset('alice', old, { scopes: ['write'] }, { 'Idempotency-Key': 'rotate-2' });
    expect(first.statusCode).toBe(200);
    expect(other.statusCode).toBe(422);
    expect(bodyOf(other).error.code).toBe('idempotency_key_reused');
    expect(other.body).not.toContain(bodyOf(first).clientSecret);
  });

  it('answers 409 conflict when the credential stops being active after the API checked it', async () => {
    // Prepare
    const alice = world.addUser('alice');
    const old = world.addCredential(alice);
    world.scripts.push({
      // Only the commit's condition on the credential can catch this: the user's version is unchanged.
      beforeRun: () => world.dynamo.seed(IDENTITY_TABLE, { ...world.credential(alice, old), status: 'revoked' }),
    });
    // Act
    const result = await reset('alice', old);
    // Assess
    expect(result.statusCode).toBe(409);
    expect(bodyOf(result).error.code).toBe('conflict');
    expect(world.poolClients.size).toBe(1); // no replacement was issued
    expect(world.user(alice)['version']).toBe(0);
  });

  it('replays a reset with the same key after the old credential is gone', async () => {
    const alice = world.addUser('alice');
    const old = world.addCredential(alice);
    const first = await reset('alice', old, undefined, { 'Idempotency-Key': 'rotate-1' });
    const again = await reset('alice', old, undefined, { 'Idempotency-Key': 'rotate-1' });
    expect(again.statusCode).toBe(200);
    expect(bodyOf(again)).toEqual(bodyOf(first));
    expect(world.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });
});

describe('DELETE /credentials/{clientId}', () => {
  it('revokes the credential and answers 204 with no body', async () => {
    const alice = world.addUser('alice', { version: 3 });
    const clientId = world.addCredential(alice);
    const result = await revoke('alice', clientId);
    expect(result.statusCode).toBe(204);
    expect(result.body).toBe('');
    expect(world.credential(alice, clientId)?.['status']).toBe('revoked');
    expect(world.startedInputs()[0]).toMatchObject({ operation: 'revoke', clientId, expectedVersion: 3 });
    expect(world.startedInputs()[0]).not.toHaveProperty('scopes');
  });

  it('lets a user removed from the developers group revoke, without asking for groups', async () => {
    const alice = world.addUser('alice', { groups: [] });
    const clientId = world.addCredential(alice);
    expect((await revoke('alice', clientId)).statusCode).toBe(204);
    expect(world.cognito.commandCalls(AdminListGroupsForUserCommand)).toHaveLength(0);
  });

  it('answers 404 for another user\'s credential and for an already revoked one', async () => {
    const alice = world.addUser('alice');
    const bob = world.addUser('bob');
    const bobs = world.addCredential(bob);
    const revoked = world.addCredential(alice, { status: 'revoked' });
    expect((await revoke('alice', bobs)).statusCode).toBe(404);
    expect((await revoke('alice', revoked)).statusCode).toBe(404);
    expect(world.credential(bob, bobs)?.['status']).toBe('active');
    expect(world.sfn.calls()).toHaveLength(0);
  });

  it('answers 204 to a revoke that committed but could not publish its event', async () => {
    const alice = world.addUser('alice');
    const clientId = world.addCredential(alice);
    world.scripts.push({ eventNotPublished: true });
    expect((await revoke('alice', clientId)).statusCode).toBe(204);
    expect(world.credential(alice, clientId)?.['status']).toBe('revoked');
  });

  it('answers 204 again to a repeated revoke with the same key', async () => {
    const alice = world.addUser('alice');
    const clientId = world.addCredential(alice);
    expect((await revoke('alice', clientId, { 'Idempotency-Key': 'rm-1' })).statusCode).toBe(204);
    expect((await revoke('alice', clientId, { 'Idempotency-Key': 'rm-1' })).statusCode).toBe(204);
    expect(world.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });
});

describe('secrets (I5)', () => {
  it('puts a client secret in the create/reset response body and nowhere else we produce', async () => {
    const logs = captureLogs();
    try {
      // Prepare
      const alice = world.addUser('alice');
      // Act
      const created = bodyOf(await create('alice', {}, { 'Idempotency-Key': 'i5' }));
      const replayed = bodyOf(await create('alice', {}, { 'Idempotency-Key': 'i5' }));
      const rotated = bodyOf(await reset('alice', created.clientId));
      await list('alice');
      // Assess
      const secrets = [created.clientSecret, rotated.clientSecret];
      expect(replayed.clientSecret).toBe(created.clientSecret);
      expect(secrets.every((s) => typeof s === 'string' && s.length > 10)).toBe(true);
      const logText = logs.lines().join('\n');
      expect(logText).toContain('credential created'); // the capture works: our own log lines are there
      const workflowInputs = world.sfn.commandCalls(StartExecutionCommand).map((c) => JSON.stringify(c.args[0].input));
      const tableText = JSON.stringify(world.dynamo.all('devaccess-identity'));
      for (const secret of secrets) {
        expect(logText).not.toContain(secret);
        expect(workflowInputs.join('\n')).not.toContain(secret);
        expect(tableText).not.toContain(secret);
      }
      expect(world.credential(alice, rotated.clientId)).toBeDefined();
    } finally {
      logs.stop();
    }
  });

  it('reads the secret only after the workflow succeeded', async () => {
    world.addUser('alice');
    world.scripts.push({ failWith: 'Conflict' });
    await create('alice', {});
    expect(world.cognito.commandCalls(DescribeUserPoolClientCommand)).toHaveLength(0);
  });
});

describe('dependency failures', () => {
  it('answers 429 when Cognito throttles the group check', async () => {
    world.addUser('alice');
    world.cognito
      .on(AdminListGroupsForUserCommand)
      .rejects(new TooManyRequestsException({ message: 'Too many requests', $metadata: { httpStatusCode: 429 } }));
    const result = await create('alice', {});
    expect(result.statusCode).toBe(429);
    expect(result.headers?.['Retry-After']).toBeDefined();
  });

  it('answers 429 when Step Functions throttles StartExecution', async () => {
    world.addUser('alice');
    world.sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } }));
    expect((await create('alice', {})).statusCode).toBe(429);
  });

  it('answers 503, not 500, when Cognito fails reading the new secret', async () => {
    world.addUser('alice');
    world.cognito
      .on(DescribeUserPoolClientCommand)
      .rejects(Object.assign(new Error('Internal error'), { name: 'InternalErrorException', $fault: 'server', $metadata: { httpStatusCode: 500 } }));
    const result = await create('alice', {});
    expect(result.statusCode).toBe(503);
    expect(result.body).not.toContain('Internal error');
  });
});

describe('token kinds', () => {
  it('never lets a client token manage credentials, even one with every scope', async () => {
    const alice = world.addUser('alice');
    const clientId = world.addCredential(alice);
    const result = await api()(
      apiEvent('createCredential', { claims: clientClaims(clientId, `aws.cognito.signin.user.admin ${fullScope('write')}`), body: {} }),
    );
    expect(result.statusCode).toBe(403);
    expect(world.sfn.calls()).toHaveLength(0);
  });
});

describe('shortScopes', () => {
  it('shows stored scopes by their names, whatever their namespace, once each, and nothing unknown', () => {
    expect(shortScopes(['api.acme.example/read', 'api.acme.example/read'])).toEqual(['read']);
    // A credential issued before the namespace changed keeps its reach: a reset re-issues it read-only.
    expect(shortScopes(['devaccess/read'])).toEqual(['read']);
    expect(shortScopes(['api.acme.example/admin', 'aws.cognito.signin.user.admin'])).toEqual([]);
  });
});
