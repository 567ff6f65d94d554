import { describe, expect, it } from 'vitest';
import { executionArn } from '../../lambdas/credentials/adapters';
import {
  EXECUTION_NAME_PATTERN,
  type ExecutionState,
  IdempotencyKeyReusedError,
  MAX_KEYED_ATTEMPTS,
  OperationPendingError,
  type WorkflowEngine,
  awaitExecution,
  findExecutionSlot,
  keyedExecutionName,
  keyedExecutionStem,
  requestHash,
  uniqueExecutionName,
} from '../../lambdas/credentials/run-workflow';
import { ConflictError, DevAccessError, UpstreamError, toErrorResponse } from '../../lambdas/shared/errors';
import { FakeClock, captureLogs } from './support/api';

const USER = 'a1a1a1a1-0000-4000-8000-000000000001';

/** An engine whose executions are given by name; `describe` answers from a queue of states per name. */
function engine(states: Record<string, ExecutionState[]>): WorkflowEngine & { described: string[] } {
  const described: string[] = [];
  return {
    described,
    start: async () => 'started',
    describe: async (name) => {
      described.push(name);
      const queue = states[name];
      if (!queue) return undefined;
      return queue.length > 1 ? queue.shift() : queue[0];
    },
  };
}

const succeeded = (output: object): ExecutionState => ({ status: 'SUCCEEDED', output: JSON.stringify(output) });
const OUTPUT = { operation: 'create', userId: USER, clientId: 'abc123', scopes: ['devaccess/read'], eventId: 'e-1' };
const HASH = requestHash('create', undefined, { scopes: ['devaccess/read'] });
const OTHER_HASH = requestHash('create', undefined, { scopes: ['devaccess/write'] });
const KEYED = { requestHash: HASH };
/** A run's input as DescribeExecution returns it (only the fields run-workflow reads, plus one it ignores). */
const inputOf = (fields: Record<string, unknown>): string =>
  JSON.stringify({ operation: 'create', operationId: 'op-1', userId: USER, username: 'alice', ...fields });
/** A run that committed its change and then failed to publish the event. */
const unpublished = (fields: Record<string, unknown> = {}): ExecutionState => ({
  status: 'FAILED',
  error: 'EventNotPublished',
  input: inputOf(fields),
});

describe('execution names', () => {
  it('fit Step Functions\' rules for every operation, with or without a key', () => {
    for (const op of ['create', 'reset', 'revoke'] as const) {
      const stem = keyedExecutionStem(op, USER, 'x'.repeat(128), '\u007e'.repeat(255));
      expect(keyedExecutionName(stem, MAX_KEYED_ATTEMPTS - 1)).toMatch(EXECUTION_NAME_PATTERN);
      expect(uniqueExecutionName(op, '0f8fad5b-d9cb-469f-a165-70867728950e')).toMatch(EXECUTION_NAME_PATTERN);
    }
  });

  it('are the same for the same user, operation, target and key, and differ when any of them does', () => {
    const base = keyedExecutionStem('reset', USER, 'client1', 'key');
    expect(keyedExecutionStem('reset', USER, 'client1', 'key')).toBe(base);
    const variants = [
      keyedExecutionStem('revoke', USER, 'client1', 'key'),
      keyedExecutionStem('reset', 'b0b0b0b0-0000-4000-8000-000000000002', 'client1', 'key'),
      keyedExecutionStem('reset', USER, 'client2', 'key'),
      keyedExecutionStem('reset', USER, 'client1', 'key2'),
    ];
    expect(new Set([base, ...variants]).size).toBe(5);
  });

  it('cannot be forged by moving characters between fields', () => {
    expect(keyedExecutionStem('reset', USER, 'ab', 'c')).not.toBe(keyedExecutionStem('reset', USER, 'a', 'bc'));
  });
});

describe('executionArn', () => {
  it('builds the execution ARN from the state machine ARN', () => {
    expect(executionArn('arn:aws:states:eu-west-1:123456789012:stateMachine:credential-workflow', 'create-1')).toBe(
      'arn:aws:states:eu-west-1:123456789012:execution:credential-workflow:create-1',
    );
    expect(executionArn('arn:aws-cn:states:cn-north-1:123456789012:stateMachine:sm', 'n')).toBe(
      'arn:aws-cn:states:cn-north-1:123456789012:execution:sm:n',
    );
  });

  it('refuses anything that is not a state machine ARN or a valid name', () => {
    expect(() => executionArn('arn:aws:lambda:us-east-1:123456789012:function:f', 'n')).toThrow();
    expect(() => executionArn('arn:aws:states:us-east-1:123456789012:stateMachine:sm', 'bad name')).toThrow();
  });
});

describe('findExecutionSlot', () => {
  it('gives the first attempt\'s name when the key was never used', async () => {
    const e = engine({});
    expect(await findExecutionSlot(e, 'create-h', KEYED)).toEqual({ kind: 'fresh', name: 'create-h-0' });
  });

  it('reuses a running or succeeded run', async () => {
    expect(await findExecutionSlot(engine({ 'create-h-0': [{ status: 'RUNNING' }] }), 'create-h', KEYED)).toEqual({
      kind: 'existing',
      name: 'create-h-0',
    });
    expect(await findExecutionSlot(engine({ 'create-h-0': [succeeded(OUTPUT)] }), 'create-h', KEYED)).toEqual({
      kind: 'existing',
      name: 'create-h-0',
    });
  });

  it('moves past failed runs to the next attempt', async () => {
    const e = engine({
      'create-h-0': [{ status: 'FAILED', error: 'Conflict' }],
      'create-h-1': [{ status: 'TIMED_OUT' }],
    });
    expect(await findExecutionSlot(e, 'create-h', KEYED)).toEqual({ kind: 'fresh', name: 'create-h-2' });
  });

  it('reuses a run that committed but could not publish its event, instead of changing things again', async () => {
    const e = engine({ 'create-h-0': [{ status: 'FAILED', error: 'Conflict' }], 'create-h-1': [unpublished()] });
    expect(await findExecutionSlot(e, 'create-h', KEYED)).toEqual({ kind: 'existing', name: 'create-h-1' });
    expect(e.described).toEqual(['create-h-0', 'create-h-1']);
  });

  it('refuses a key whose earlier run, even a failed one, ran a different request', async () => {
    const failedOther: ExecutionState = { status: 'FAILED', error: 'Conflict', input: inputOf({ requestHash: OTHER_HASH }) };
    const runningOther: ExecutionState = { status: 'RUNNING', input: inputOf({ requestHash: OTHER_HASH }) };
    await expect(findExecutionSlot(engine({ 'create-h-0': [failedOther] }), 'create-h', KEYED)).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    await expect(findExecutionSlot(engine({ 'create-h-0': [runningOther] }), 'create-h', KEYED)).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
  });

  it('reuses a run of the same request, and one that recorded no request hash', async () => {
    const same: ExecutionState = { status: 'RUNNING', input: inputOf({ requestHash: HASH }) };
    const unrecorded: ExecutionState = { status: 'RUNNING', input: inputOf({}) };
    expect(await findExecutionSlot(engine({ 'create-h-0': [same] }), 'create-h', KEYED)).toEqual({ kind: 'existing', name: 'create-h-0' });
    expect(await findExecutionSlot(engine({ 'create-h-0': [unrecorded] }), 'create-h', KEYED)).toEqual({
      kind: 'existing',
      name: 'create-h-0',
    });
  });

  it('refuses a key that has failed on every attempt', async () => {
    const states = Object.fromEntries(
      Array.from({ length: MAX_KEYED_ATTEMPTS }, (_, i) => [`create-h-${i}`, [{ status: 'ABORTED' } as ExecutionState]]),
    );
    await expect(findExecutionSlot(engine(states), 'create-h', KEYED)).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('requestHash', () => {
  it('is the same for the same request whatever the key order, and differs when anything in it does', () => {
    const base = requestHash('reset', 'client1', { name: 'ci', scopes: ['read'] });
    expect(requestHash('reset', 'client1', { scopes: ['read'], name: 'ci' })).toBe(base);
    expect(requestHash('reset', 'client1', { scopes: ['read'], name: 'ci', other: undefined })).toBe(base);
    const variants = [
      requestHash('create', 'client1', { name: 'ci', scopes: ['read'] }),
      requestHash('reset', 'client2', { name: 'ci', scopes: ['read'] }),
      requestHash('reset', 'client1', { name: 'cd', scopes: ['read'] }),
      requestHash('reset', 'client1', { name: 'ci', scopes: ['read', 'write'] }),
      requestHash('reset', 'client1', { name: 'ci' }),
      requestHash('reset', undefined, { name: 'ci', scopes: ['read'] }),
    ];
    expect(new Set([base, ...variants]).size).toBe(7);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('awaitExecution', () => {
  const committed = new Map<string, string>([[`${USER}/op-1`, 'newclient1']]);
  const deps = (e: WorkflowEngine, clock = new FakeClock()) => ({
    engine: e,
    clock,
    waitMs: 1000,
    committedClientId: async (userId: string, operationId: string) => committed.get(`${userId}/${operationId}`),
  });

  it('returns the output of a succeeded run', async () => {
    const out = await awaitExecution(deps(engine({ x: [succeeded(OUTPUT)] })), 'x');
    expect(out).toEqual(OUTPUT);
  });

  it('keeps polling while the run is running, pending redrive or not yet visible', async () => {
    const e = engine({ x: [{ status: 'RUNNING' }, { status: 'PENDING_REDRIVE' }, succeeded(OUTPUT)] });
    const clock = new FakeClock();
    await awaitExecution(deps(e, clock), 'x');
    expect(clock.sleeps).toEqual([50, 100]);
    const invisible = engine({});
    const pending = awaitExecution(deps(invisible), 'y');
    await expect(pending).rejects.toBeInstanceOf(OperationPendingError);
  });

  it('stops at the wait limit with a 503 that asks to retry in a moment', async () => {
    const clock = new FakeClock();
    const err = await awaitExecution(deps(engine({ x: [{ status: 'RUNNING' }] }), clock), 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationPendingError);
    expect((err as OperationPendingError).status).toBe(503);
    expect((err as OperationPendingError).details).toEqual({ retryAfterSeconds: 2 });
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(1000);
  });

  it.each([
    ['Conflict', ConflictError, 'conflict'],
    ['Failed', UpstreamError, 'unavailable'],
    ['Lambda.ServiceException', UpstreamError, 'unavailable'],
  ])('maps a FAILED run with error %s', async (error, type, code) => {
    const err = await awaitExecution(deps(engine({ x: [{ status: 'FAILED', error }] })), 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect((err as ConflictError).code).toBe(code);
  });

  it('answers a create that committed without publishing its event with the committed client, logging the missing event', async () => {
    const logs = captureLogs();
    try {
      const out = await awaitExecution(deps(engine({ x: [unpublished({ scopes: ['devaccess/read'] })] })), 'x');
      expect(out).toEqual({ operation: 'create', userId: USER, clientId: 'newclient1', scopes: ['devaccess/read'] });
      const line = logs.lines().find((l) => l.includes('AUDIT EVENT MISSING'));
      expect(line).toBeDefined();
      expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 'ERROR', execution: 'x', operationId: 'op-1', clientId: 'newclient1' });
    } finally {
      logs.stop();
    }
  });

  it('answers a reset and a revoke that committed without publishing their event', async () => {
    const reset = await awaitExecution(
      deps(engine({ x: [unpublished({ operation: 'reset', clientId: 'oldclient1', scopes: ['devaccess/write'] })] })),
      'x',
    );
    const revoke = await awaitExecution(deps(engine({ y: [unpublished({ operation: 'revoke', clientId: 'oldclient1' })] })), 'y');
    expect(reset).toEqual({
      operation: 'reset',
      userId: USER,
      clientId: 'newclient1',
      previousClientId: 'oldclient1',
      scopes: ['devaccess/write'],
    });
    expect(revoke).toEqual({ operation: 'revoke', userId: USER, clientId: 'oldclient1' });
  });

  it('refuses, as an internal error, a run that says it committed when no credential carries its operation id', async () => {
    const err = await awaitExecution(deps(engine({ x: [unpublished({ operationId: 'op-unknown' })] })), 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(DevAccessError);
  });

  it('refuses to hand a keyed request the run of a different request with the same key', async () => {
    const other: ExecutionState = { ...succeeded(OUTPUT), input: inputOf({ requestHash: OTHER_HASH }) };
    const err = await awaitExecution(deps(engine({ x: [other] })), 'x', KEYED).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(toErrorResponse(err)).toMatchObject({ status: 422, body: { error: { code: 'idempotency_key_reused' } } });
    const same: ExecutionState = { ...succeeded(OUTPUT), input: inputOf({ requestHash: HASH }) };
    expect(await awaitExecution(deps(engine({ x: [same] })), 'x', KEYED)).toEqual(OUTPUT);
  });

  it('maps a timed-out or aborted run to 503', async () => {
    for (const status of ['TIMED_OUT', 'ABORTED'] as const) {
      const err = await awaitExecution(deps(engine({ x: [{ status }] })), 'x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpstreamError);
    }
  });

  it('refuses a succeeded run whose output is not a workflow output', async () => {
    const err = await awaitExecution(deps(engine({ x: [succeeded({ clientId: 'x' })] })), 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(UpstreamError);
  });
});
