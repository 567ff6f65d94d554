/**
 * Faults (issue item 4): a failure injected at each step of the credential workflow (infra/local/faults.ts), against
 * the local stack: throttled then fine, a permanent failure, the call performed but its response lost, and the stack
 * stopped between two steps. Afterwards I3 (a reset client's token is refused), I4 (no orphan once the sweeper has
 * run, no mapping without its client) and I5 (no secret anywhere but the response) hold, and nothing is
 * half-written. Also the sweeper itself, end to end: legacy names, clients deleted out of band, idempotence, and
 * `npm run sweep`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  AdminConfirmSignUpCommand,
  CreateUserPoolClientCommand,
  DeleteUserPoolClientCommand,
  DescribeUserPoolClientCommand,
  SignUpCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATION_LOCK_SECONDS } from '../../lambdas/shared/contract/names';
import { sweeperRevokedEventId } from '../../lambdas/sweeper/core';
import type { FaultEffect, FaultMatch } from '../../infra/local/faults';
import { LOCAL_NAMES } from '../../infra/local/stack';
import {
  type ClientTokenProbe,
  type TableSnapshot,
  checkI4,
  checkInvariants,
  credentialClientsInPool,
  listPoolClients,
  snapshotTable,
} from '../support/invariants';
import {
  type HttpResult,
  type TestCredential,
  type TestStack,
  type TestUser,
  TEST_PASSWORD,
  localAwsConfig,
  startTestStack,
} from '../support/local-stack';

const run = promisify(execFile);

/** The steps of a reset, as the fault injector matches them. */
const STEPS = {
  'Serialize (updateItem)': {
    service: 'dynamodb',
    action: 'UpdateItem',
    where: (input) => String(input['UpdateExpression']).startsWith('SET lockOwner'),
  },
  'CreateClient (Lambda invoke)': { service: 'lambda', action: LOCAL_NAMES.function('credentialTasks') },
  'CreateClient (Cognito CreateUserPoolClient)': { service: 'cognito-idp', action: 'CreateUserPoolClient' },
  'Commit (transactWriteItems)': { service: 'dynamodb', action: 'TransactWriteItems' },
  'DeleteOldClient (Cognito DeleteUserPoolClient)': { service: 'cognito-idp', action: 'DeleteUserPoolClient' },
  'Publish (putEvents)': {
    service: 'events',
    action: 'PutEvents',
    where: (input) => JSON.stringify(input['Entries']).includes('CredentialReset'),
  },
} satisfies Record<string, FaultMatch>;
type Step = keyof typeof STEPS;

/**
 * The throttling error each service answers with, and how many times in a row: 3 is as many as the AWS SDK tries
 * within one attempt of the step, so the workflow's own Retry is what recovers (the Lambda service error is
 * retried by the workflow alone).
 */
const THROTTLES: Record<Step, { error: string; times: number }> = {
  'Serialize (updateItem)': { error: 'ProvisionedThroughputExceededException', times: 3 },
  'CreateClient (Lambda invoke)': { error: 'TooManyRequestsException', times: 2 },
  'CreateClient (Cognito CreateUserPoolClient)': { error: 'TooManyRequestsException', times: 3 },
  'Commit (transactWriteItems)': { error: 'ThrottlingException', times: 3 },
  'DeleteOldClient (Cognito DeleteUserPoolClient)': { error: 'TooManyRequestsException', times: 3 },
  'Publish (putEvents)': { error: 'ThrottlingException', times: 3 },
};

interface PermanentOutcome {
  readonly status: number;
  readonly code?: string;
  /** Whether the reset is committed (old revoked, new active) although a step failed. */
  readonly committed: boolean;
  /** What the sweeper must delete afterwards. */
  readonly swept: readonly string[];
}

const PERMANENT: Record<Step, PermanentOutcome> = {
  // Nothing locked, nothing created: a clean "try again".
  'Serialize (updateItem)': { status: 503, code: 'unavailable', committed: false, swept: [] },
  'CreateClient (Lambda invoke)': { status: 503, code: 'unavailable', committed: false, swept: [] },
  'CreateClient (Cognito CreateUserPoolClient)': { status: 503, code: 'unavailable', committed: false, swept: [] },
  // The new client is deleted by compensation; the old credential keeps working.
  'Commit (transactWriteItems)': { status: 409, code: 'conflict', committed: false, swept: [] },
  // Committed; the old client outlives the reset (refused by its mapping) until the sweeper deletes it.
  'DeleteOldClient (Cognito DeleteUserPoolClient)': { status: 200, committed: true, swept: ['revoked'] },
  // Committed; only the audit event is missing (EventNotPublished), so the caller gets the new pair.
  'Publish (putEvents)': { status: 200, committed: true, swept: [] },
};

const LOST: Record<Step, { status: number; swept: readonly string[]; as: 'error' | 'reset' }> = {
  'Serialize (updateItem)': { status: 200, swept: [], as: 'error' },
  // The function ran and created a client; its retry created another, and only that one is committed.
  'CreateClient (Lambda invoke)': { status: 200, swept: ['unmapped'], as: 'error' },
  'CreateClient (Cognito CreateUserPoolClient)': { status: 200, swept: ['unmapped'], as: 'reset' },
  // ClientRequestToken makes the retried commit a no-op.
  'Commit (transactWriteItems)': { status: 200, swept: [], as: 'error' },
  'DeleteOldClient (Cognito DeleteUserPoolClient)': { status: 200, swept: [], as: 'reset' },
  'Publish (putEvents)': { status: 200, swept: [], as: 'error' },
};

const STEP_NAMES = Object.keys(STEPS) as Step[];

describe('category: faults', () => {
  let t: TestStack;
  /** Every client token minted in this file: I3 is checked for all of them after every case. */
  const probes: ClientTokenProbe[] = [];
  let userCount = 0;

  beforeAll(async () => {
    t = await startTestStack({ sweepIntervalSeconds: 0, sweepGraceSeconds: 0, retryIntervalMs: 20 });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function developerWithCredential(): Promise<{ user: TestUser; old: TestCredential }> {
    const user = await t.createUser(`faulty${++userCount}`, { developer: true });
    const old = await t.createCredential(user);
    probes.push({ clientId: old.clientId, token: await t.clientToken(old.clientId, old.clientSecret) });
    return { user, old };
  }

  /**
   * Installs a fault at a step; with `only`, the fault applies only to calls that name one of those ids (the
   * user, the old client), so cases can run side by side without hitting each other's workflows.
   */
  function inject(step: Step, effect: FaultEffect, times = 1, only?: readonly string[]) {
    const base: FaultMatch = STEPS[step];
    const match: FaultMatch = only
      ? {
          ...base,
          where: (input) =>
            (base.where?.(input) ?? true) && only.some((id) => JSON.stringify(input).includes(id)),
        }
      : base;
    return t.stack.faults.add({ label: step, match, effect, times });
  }

  async function recordIssued(res: HttpResult): Promise<void> {
    if (res.status === 200 || res.status === 201) {
      probes.push({ clientId: res.body.clientId, token: await t.clientToken(res.body.clientId, res.body.clientSecret) });
    }
  }

  /**
   * The orphans the sweeper is about to delete never had their secret shown: read it here (as an operator could),
   * so the leak scan at the end proves it never reached a log, an event, a history or the table either.
   */
  async function rememberOrphanSecrets(): Promise<void> {
    const s = await snapshotTable(t);
    for (const c of await credentialClientsInPool(t)) {
      const mapping = s.clients.find((m) => m['clientId'] === c.clientId);
      if (mapping?.['status'] === 'active') continue;
      const out = await t.cognito.send(
        new DescribeUserPoolClientCommand({ UserPoolId: t.stack.endpoints.userPoolId, ClientId: c.clientId }),
      );
      t.recordSecret(out.UserPoolClient?.ClientSecret);
    }
  }

  /**
   * For an assertion message: the API's answer, and when the workflow failed, the error and cause its newest
   * failed execution ended with (so a surprise in CI says which step failed and why).
   */
  async function explain(res: HttpResult): Promise<string> {
    if (res.status < 500) return res.text;
    const client = new SFNClient(localAwsConfig(t.stack.endpoints));
    try {
      const stateMachineArn = t.stack.endpoints.stateMachineArns['credential-workflow'] as string;
      const failed = await client.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'FAILED', maxResults: 1 }));
      const executionArn = failed.executions?.[0]?.executionArn;
      if (executionArn === undefined) return res.text;
      const history = await client.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 40 }));
      const failures = (history.events ?? [])
        .filter((e) => e.type?.endsWith('Failed'))
        .map((e) => `${e.type}: ${JSON.stringify(Object.values(e).find((v) => v && typeof v === 'object' && 'error' in v))}`);
      return `${res.text}\n${executionArn}\n${failures.join('\n')}`;
    } finally {
      client.destroy();
    }
  }

  /** What the user's items look like, minus the fields a failed run may legitimately change (version). */
  function userState(s: TableSnapshot, userId: string) {
    const user = s.users.find((u) => u['userId'] === userId) ?? {};
    return {
      activeCredentials: user['activeCredentials'],
      lockOwner: user['lockOwner'],
      credentials: s.credentials.filter((c) => c['userId'] === userId),
      clients: s.clients.filter((c) => c['userId'] === userId),
    };
  }

  // Side by side (each fault scoped to its own user), since the SDK's throttling back-off makes each case slow.
  describe.concurrent('a throttled step that then recovers', () => {
    it.for(STEP_NAMES)('completes the reset when %s is throttled', async (step, { expect }) => {
      // Prepare
      const { user, old } = await developerWithCredential();
      const { error, times } = THROTTLES[step];
      const fault = inject(step, { kind: 'error', error }, times, [user.userId, old.clientId]);
      // Act
      const res = await t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {});
      fault.remove();
      // Assess
      expect(fault.hits).toBe(times);
      expect(res.status, await explain(res)).toBe(200);
      expect(res.body.previousClientId).toBe(old.clientId);
      await recordIssued(res);
      const oldToken = probes.find((p) => p.clientId === old.clientId)?.token;
      expect(await t.api('GET', '/me', oldToken)).toMatchObject({ status: 401 });
      const newToken = probes.find((p) => p.clientId === res.body.clientId)?.token;
      expect(await t.api('GET', '/me', newToken)).toMatchObject({ status: 200, body: { userId: user.userId } });
    });
  });

  it('holds every invariant after the throttled resets, with nothing to sweep', async () => {
    const report = await t.stack.sweep();
    expect(report.deleted).toEqual([]);
    expect(await checkInvariants(t, { maxCredentialsPerUser: 1, probes })).toEqual([]);
  });

  describe('a step that keeps failing', () => {
    it.each(STEP_NAMES)('answers cleanly, releases the lock and half-writes nothing when %s fails for good', async (step) => {
      // Prepare
      const { user, old } = await developerWithCredential();
      const before = userState(await snapshotTable(t), user.userId);
      const expected = PERMANENT[step];
      const fault = inject(step, { kind: 'error', error: step.startsWith('CreateClient (Lambda') ? 'ServiceException' : 'InternalFailure' }, Infinity);
      // Act
      const res = await t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {});
      fault.remove();
      // Assess: the answer
      expect(fault.hits).toBeGreaterThan(0);
      expect(res.status, await explain(res)).toBe(expected.status);
      if (expected.code) expect(res.body.error.code).toBe(expected.code);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(res.text).not.toMatch(/InternalFailure|ServiceException|arn:aws/);
      await recordIssued(res);
      // Assess: all or nothing
      const after = userState(await snapshotTable(t), user.userId);
      expect(after.lockOwner).toBeUndefined();
      expect(after.activeCredentials).toBe(1);
      if (expected.committed) {
        expect(after.credentials.map((c) => `${c['clientId'] === old.clientId ? 'old' : 'new'}:${c['status']}`).sort()).toEqual([
          'new:active',
          'old:revoked',
        ]);
      } else {
        expect(after).toEqual(before);
        expect(await t.api('GET', '/me', probes.find((p) => p.clientId === old.clientId)?.token)).toMatchObject({ status: 200 });
      }
      // Assess: the sweeper removes what the failure left, and then everything holds
      await rememberOrphanSecrets();
      const report = await t.stack.sweep();
      expect(report.deleted.map((d) => d.reason), JSON.stringify(report)).toEqual(expected.swept);
      expect(await checkInvariants(t, { maxCredentialsPerUser: 1, probes })).toEqual([]);
    });

    it('leaves no orphan when the commit fails and so does the compensating delete, once the sweeper ran', async () => {
      // Prepare
      const { user, old } = await developerWithCredential();
      const commit = inject('Commit (transactWriteItems)', { kind: 'error', error: 'InternalFailure' }, Infinity);
      const compensate = inject('DeleteOldClient (Cognito DeleteUserPoolClient)', { kind: 'error', error: 'InternalFailure' }, Infinity);
      // Act
      const res = await t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {});
      commit.remove();
      compensate.remove();
      // Assess
      expect(res.status).toBe(409);
      expect(compensate.hits).toBeGreaterThan(0);
      const orphans = await checkI4(t, await snapshotTable(t));
      expect(orphans).toHaveLength(1);
      await rememberOrphanSecrets();
      const report = await t.stack.sweep();
      expect(report.deleted.map((d) => d.reason)).toEqual(['unmapped']);
      expect(await checkInvariants(t, { maxCredentialsPerUser: 1, probes })).toEqual([]);
    });
  });

  describe('a step whose response is lost after it acted', () => {
    it.each(STEP_NAMES)('ends consistent when the response of %s is lost', async (step) => {
      // Prepare
      const { user, old } = await developerWithCredential();
      const expected = LOST[step];
      const fault = inject(step, { kind: 'lose-response', as: expected.as });
      // Act
      const res = await t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {});
      fault.remove();
      // Assess
      expect(fault.hits).toBe(1);
      expect(res.status, await explain(res)).toBe(expected.status);
      await recordIssued(res);
      await rememberOrphanSecrets();
      const report = await t.stack.sweep();
      expect(report.deleted.map((d) => d.reason), JSON.stringify(report)).toEqual(expected.swept);
      expect(await checkInvariants(t, { maxCredentialsPerUser: 1, probes })).toEqual([]);
    });

    it('completes when CreateUserPoolClient is throttled until the last SDK attempt, which acts and loses its connection', async () => {
      // Prepare: the newest fault applies first, so the two throttles come before the lost connection. The SDK in
      // the function gives up with a TimeoutError (ECONNRESET) after its third attempt; the workflow retries that.
      const { user, old } = await developerWithCredential();
      const step = 'CreateClient (Cognito CreateUserPoolClient)';
      const lost = inject(step, { kind: 'lose-response', as: 'reset' }, 1, [user.userId]);
      const throttled = inject(step, { kind: 'error', error: 'TooManyRequestsException' }, 2, [user.userId]);
      // Act
      const res = await t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {});
      lost.remove();
      throttled.remove();
      // Assess
      expect([throttled.hits, lost.hits]).toEqual([2, 1]);
      expect(res.status, await explain(res)).toBe(200);
      await recordIssued(res);
      await rememberOrphanSecrets();
      const report = await t.stack.sweep();
      expect(report.deleted.map((d) => d.reason), JSON.stringify(report)).toEqual(['unmapped']);
      expect(await checkInvariants(t, { maxCredentialsPerUser: 1, probes })).toEqual([]);
    });

    it('publishes a re-sent event with the same eventId, so consumers can drop the duplicate', async () => {
      // Prepare
      const { user, old } = await developerWithCredential();
      const fault = inject('Publish (putEvents)', { kind: 'lose-response' });
      // Act
      const res = await t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {});
      fault.remove();
      await t.stack.eventBridge.whenIdle();
      // Assess
      expect(res.status).toBe(200);
      await recordIssued(res);
      const archived = t
        .archivedEvents()
        .filter((e) => e['detail-type'] === 'CredentialReset' && e.detail['clientId'] === res.body.clientId);
      expect(archived).toHaveLength(2);
      expect(archived[1]?.detail.eventId).toBe(archived[0]?.detail.eventId);
    });
  });

  describe('the stack stopped between two steps', () => {
    const sfn = () => new SFNClient(localAwsConfig(t.stack.endpoints));

    /** Waits until no execution runs (failed at restart, or resumed and finished). */
    async function settledExecutions(): Promise<void> {
      const client = sfn();
      try {
        const stateMachineArn = t.stack.endpoints.stateMachineArns['credential-workflow'] as string;
        const deadline = Date.now() + 25_000;
        for (;;) {
          const running = await client.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING' }));
          if ((running.executions ?? []).length === 0) return;
          if (Date.now() > deadline) throw new Error('executions still running 25 s after the restart');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        client.destroy();
      }
    }

    /**
     * A lock left by a crashed run is acceptable only if it belongs to an execution that is over and expires by
     * itself within OPERATION_LOCK_SECONDS; a lock nobody will ever release would lock the user out for good.
     */
    async function strandedLocks(): Promise<string[]> {
      const s = await snapshotTable(t);
      const client = sfn();
      const problems: string[] = [];
      try {
        const stateMachineArn = t.stack.endpoints.stateMachineArns['credential-workflow'] as string;
        const executions = (await client.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? [];
        for (const user of s.users.filter((u) => u['lockOwner'] !== undefined)) {
          const owner = String(user['lockOwner']);
          const execution = executions.find((e) => e.name?.endsWith(owner));
          const described = execution
            ? await client.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }))
            : undefined;
          const expiresIn = Date.parse(String(user['lockExpiresAt'])) - Date.now();
          if (described?.status === 'RUNNING' || !(expiresIn <= OPERATION_LOCK_SECONDS * 1000)) {
            problems.push(`user ${user['username']} locked by ${owner} (${described?.status ?? 'no execution'}) for ${expiresIn} ms`);
          }
        }
      } finally {
        client.destroy();
      }
      return problems;
    }

    it.each([
      'CreateClient (Cognito CreateUserPoolClient)',
      'Commit (transactWriteItems)',
      'DeleteOldClient (Cognito DeleteUserPoolClient)',
      'Publish (putEvents)',
    ] as const)('keeps every invariant when the stack stops while the reset waits on %s', async (step) => {
      // Prepare
      const { user, old } = await developerWithCredential();
      const fault = inject(step, { kind: 'hang' });
      const pending = t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {}).catch((err: Error) => err);
      await fault.reached;
      // Act
      await t.restart();
      await settledExecutions();
      const answer = await pending;
      // Assess: the caller was not told of a success it did not get
      if (!(answer instanceof Error)) expect(answer.status).not.toBe(200);
      await rememberOrphanSecrets();
      await t.stack.sweep();
      expect(await checkInvariants(t, { maxCredentialsPerUser: 1, probes, locksReleased: false })).toEqual([]);
      expect(await strandedLocks()).toEqual([]);
      // The user's list agrees with the pool: one active credential, whichever it is.
      const listed = await t.api('GET', '/credentials', await t.signIn(user.username));
      expect(listed.body.credentials.filter((c: { status: string }) => c.status === 'active')).toHaveLength(1);
    }, 60_000);
  });

  describe('the reconciliation sweeper', () => {
    const pool = () => t.stack.endpoints.userPoolId;

    it('deletes an unmapped client whose name has no time only on a later run, after marking it', async () => {
      // Prepare: a client named like a credential, with a version-4 operation id (made before ids were v7)
      const name = `devaccess-${crypto.randomUUID()}-${crypto.randomUUID()}`;
      const created = await t.cognito.send(
        new CreateUserPoolClientCommand({ UserPoolId: pool(), ClientName: name, GenerateSecret: true }),
      );
      const clientId = created.UserPoolClient?.ClientId as string;
      t.recordSecret(created.UserPoolClient?.ClientSecret);
      // Act
      const first = await t.stack.sweep();
      const markers = (await snapshotTable(t)).markers.map((m) => m['clientId']);
      const second = await t.stack.sweep();
      // Assess
      expect(first.marked).toEqual([clientId]);
      expect(first.deleted).toEqual([]);
      expect(markers).toEqual([clientId]);
      expect(second.deleted).toEqual([{ clientId, reason: 'unmapped' }]);
      expect((await snapshotTable(t)).markers).toEqual([]);
      expect((await listPoolClients(t)).map((c) => c.clientId)).not.toContain(clientId);
    });

    it('publishes the event of a reset whose Publish failed for good, once, as the run built it', async () => {
      // Prepare: the reset commits, its CredentialReset never reaches the bus, and the caller gets the new pair.
      const { user, old } = await developerWithCredential();
      const fault = inject('Publish (putEvents)', { kind: 'error', error: 'InternalFailure' }, Infinity, [user.userId]);
      const res = await t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {});
      fault.remove();
      expect(res.status, await explain(res)).toBe(200);
      await recordIssued(res);
      const archivedResets = () =>
        t.archivedEvents().filter((e) => e['detail-type'] === 'CredentialReset' && e.detail['clientId'] === res.body.clientId);
      await t.stack.eventBridge.whenIdle();
      expect(archivedResets()).toEqual([]);
      // Act
      const first = await t.stack.sweep();
      const second = await t.stack.sweep();
      await t.stack.eventBridge.whenIdle();
      // Assess: the run's own event (its eventId and execution), published by the first sweep only
      const archived = archivedResets();
      expect(archived).toHaveLength(1);
      expect(archived[0]?.detail).toMatchObject({
        userId: user.userId,
        clientId: res.body.clientId,
        previousClientId: old.clientId,
        actor: { type: 'user', username: user.username },
      });
      expect(first.republishedEvents).toEqual([
        { executionArn: archived[0]?.detail['executionId'], eventId: archived[0]?.detail['eventId'] },
      ]);
      expect(second.republishedEvents).toEqual([]);
      expect(second.unrepublishedRuns).toEqual([]);
    });

    it('provisions a user whose post-confirmation trigger failed, announces them once, and the API then knows them', async () => {
      // Prepare: the trigger fails; Cognito keeps the user confirmed (as on AWS), so they can sign in but are unknown.
      const username = 'triggerless';
      await t.cognito.send(
        new SignUpCommand({
          ClientId: t.stack.endpoints.uiClientId,
          Username: username,
          Password: TEST_PASSWORD,
          UserAttributes: [{ Name: 'email', Value: `${username}@example.com` }],
        }),
      );
      const trigger = t.stack.faults.add({
        match: { service: 'lambda', action: LOCAL_NAMES.function('postConfirmation') },
        effect: { kind: 'error', error: 'ServiceException' },
      });
      const confirm = t.cognito.send(new AdminConfirmSignUpCommand({ UserPoolId: pool(), Username: username }));
      await expect(confirm).rejects.toMatchObject({ name: 'UserLambdaValidationException' });
      trigger.remove();
      expect(trigger.hits).toBe(1);
      const token = await t.signIn(username);
      expect(await t.api('GET', '/me', token)).toMatchObject({ status: 401 });
      const provisionedEvents = () =>
        t.archivedEvents().filter((e) => e['detail-type'] === 'UserProvisioned' && e.detail['username'] === username);
      // Act
      const first = await t.stack.sweep();
      const second = await t.stack.sweep();
      await t.stack.eventBridge.whenIdle();
      // Assess
      const me = await t.api('GET', '/me', token);
      expect(me).toMatchObject({ status: 200, body: { via: 'user', username } });
      expect(first.provisionedUsers).toEqual([me.body.userId]);
      expect(second.provisionedUsers).toEqual([]);
      const events = provisionedEvents();
      expect(events).toHaveLength(1);
      expect(events[0]?.detail).toMatchObject({ userId: me.body.userId, username });
      expect(await checkInvariants(t, { maxCredentialsPerUser: 1, probes })).toEqual([]);
    });

    it('marks an active credential whose client was deleted out of band revoked, announces it, and the API agrees', async () => {
      // Prepare
      const { user, old } = await developerWithCredential();
      await t.cognito.send(new DeleteUserPoolClientCommand({ UserPoolId: pool(), ClientId: old.clientId }));
      expect(await checkI4(t, await snapshotTable(t))).toHaveLength(1);
      // Act
      const report = await t.stack.sweep();
      await t.stack.eventBridge.whenIdle();
      // Assess
      expect(report.revokedMappings).toEqual([{ clientId: old.clientId, userId: user.userId }]);
      // The revocation reached the bus's archive once, as the sweeper's doing, with no workflow execution behind it.
      const revokedEvents = t
        .archivedEvents()
        .filter((e) => e['detail-type'] === 'CredentialRevoked' && e.detail['clientId'] === old.clientId);
      expect(revokedEvents).toHaveLength(1);
      expect(revokedEvents[0]?.source).toBe('devaccess');
      expect(revokedEvents[0]?.detail).toEqual({
        eventId: sweeperRevokedEventId(old.clientId),
        version: 1,
        occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        userId: user.userId,
        clientId: old.clientId,
        actor: { type: 'system', name: 'sweeper' },
      });
      expect(report.publishedEvents).toEqual([{ clientId: old.clientId, eventId: sweeperRevokedEventId(old.clientId) }]);
      const token = probes.find((p) => p.clientId === old.clientId)?.token;
      expect(await t.api('GET', '/me', token)).toMatchObject({ status: 401 });
      const listed = await t.api('GET', '/credentials', user.token);
      expect(listed.body.credentials).toEqual([expect.objectContaining({ clientId: old.clientId, status: 'revoked' })]);
      // The user is under the cap again and can make a new credential.
      const fresh = await t.api('POST', '/credentials', user.token, {});
      expect(fresh.status).toBe(201);
      await recordIssued(fresh);
      expect(await checkInvariants(t, { maxCredentialsPerUser: 1, probes })).toEqual([]);
    });

    it('leaves the UI client and clients named otherwise alone, and finds nothing to do on a second run', async () => {
      // Prepare
      const other = await t.cognito.send(
        new CreateUserPoolClientCommand({ UserPoolId: pool(), ClientName: 'devaccess-reporting-tool' }),
      );
      // Act
      const first = await t.stack.sweep();
      const second = await t.stack.sweep();
      // Assess
      const ids = (await listPoolClients(t)).map((c) => c.clientId);
      expect(ids).toContain(t.stack.endpoints.uiClientId);
      expect(ids).toContain(other.UserPoolClient?.ClientId);
      expect(first.deleted).toEqual([]);
      expect(second).toMatchObject({
        deleted: [],
        marked: [],
        revokedMappings: [],
        publishedEvents: [],
        unpublishedEvents: [],
        failed: [],
        incomplete: false,
      });
      expect(second.poolClients).toBe(first.poolClients);
    });

    it('runs once from the command line against the running stack (npm run sweep)', async () => {
      // Prepare: an orphan, as a lost CreateUserPoolClient response leaves one
      const { user, old } = await developerWithCredential();
      const fault = inject('CreateClient (Cognito CreateUserPoolClient)', { kind: 'lose-response' });
      const res = await t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {});
      fault.remove();
      await recordIssued(res);
      await rememberOrphanSecrets();
      const [orphan] = await checkI4(t, await snapshotTable(t));
      expect(orphan).toBeDefined();
      // Act
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'infra/local/sweep.ts', '--data-dir', t.dataDir], {
        timeout: 50_000,
      });
      // Assess
      expect(stdout).toMatch(/Deleted 1 orphaned credential client\(s\):\n {2}\w+ \(unmapped\)/);
      expect(await checkInvariants(t, { maxCredentialsPerUser: 1, probes })).toEqual([]);
    }, 60_000);
  });

  it('leaves no client secret in logs, events, executions, the table or the data directory after all of it', async () => {
    expect(t.secrets.length).toBeGreaterThan(30);
    expect(await t.leakScan()).toEqual([]);
  });
});
