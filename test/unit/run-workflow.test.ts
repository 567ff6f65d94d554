import { describe, expect, it } from 'vitest';
import { executionArn } from '../../lambdas/credentials/adapters';
import {
  EXECUTION_NAME_PATTERN,
  type ExecutionState,
  MAX_KEYED_ATTEMPTS,
  OperationPendingError,
  type WorkflowEngine,
  awaitExecution,
  findExecutionSlot,
  keyedExecutionName,
  keyedExecutionStem,
  uniqueExecutionName,
} from '../../lambdas/credentials/run-workflow';
import { ConflictError, NotFoundError, UpstreamError } from '../../lambdas/shared/errors';
import { FakeClock } from './support/api';

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
    expect(await findExecutionSlot(e, 'create-h')).toEqual({ kind: 'fresh', name: 'create-h-0' });
  });

  it('reuses a running or succeeded run', async () => {
    expect(await findExecutionSlot(engine({ 'create-h-0': [{ status: 'RUNNING' }] }), 'create-h')).toEqual({
      kind: 'existing',
      name: 'create-h-0',
    });
    expect(await findExecutionSlot(engine({ 'create-h-0': [succeeded(OUTPUT)] }), 'create-h')).toEqual({
      kind: 'existing',
      name: 'create-h-0',
    });
  });

  it('moves past failed runs to the next attempt', async () => {
    const e = engine({
      'create-h-0': [{ status: 'FAILED', error: 'Conflict' }],
      'create-h-1': [{ status: 'TIMED_OUT' }],
    });
    expect(await findExecutionSlot(e, 'create-h')).toEqual({ kind: 'fresh', name: 'create-h-2' });
  });

  it('refuses a key that has failed on every attempt', async () => {
    const states = Object.fromEntries(
      Array.from({ length: MAX_KEYED_ATTEMPTS }, (_, i) => [`create-h-${i}`, [{ status: 'ABORTED' } as ExecutionState]]),
    );
    await expect(findExecutionSlot(engine(states), 'create-h')).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('awaitExecution', () => {
  const deps = (e: WorkflowEngine, clock = new FakeClock()) => ({ engine: e, clock, waitMs: 1000 });

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
    ['LimitExceeded', ConflictError, 'limit_exceeded'],
    ['NotFound', NotFoundError, 'not_found'],
    ['Failed', UpstreamError, 'unavailable'],
    ['Lambda.ServiceException', UpstreamError, 'unavailable'],
  ])('maps a FAILED run with error %s', async (error, type, code) => {
    const err = await awaitExecution(deps(engine({ x: [{ status: 'FAILED', error }] })), 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect((err as ConflictError).code).toBe(code);
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
