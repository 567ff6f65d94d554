/**
 * The local stack's fault injector (infra/local/faults.ts) on its own: matching, `times` and `skip`, each effect,
 * and what a stack shutdown does to a held call. The faults suite (test/security/faults.test.ts) uses it against
 * the running stack.
 */
import { describe, expect, it } from 'vitest';
import { DroppedResponse } from '../../infra/local/aws/endpoint';
import { AwsServiceError } from '../../infra/local/aws/types';
import { FaultInjector, LambdaServiceError } from '../../infra/local/faults';

const updateItem = { targetPrefix: 'DynamoDB_20120810', action: 'UpdateItem', input: { TableName: 't', UpdateExpression: 'SET a = :a' } };

function counter() {
  let calls = 0;
  return {
    dispatch: async () => {
      calls += 1;
      return { ok: calls };
    },
    get calls() {
      return calls;
    },
  };
}

describe('FaultInjector', () => {
  it('answers with the AWS error given, `times` times, without performing the call, then lets calls through', async () => {
    // Prepare
    const faults = new FaultInjector();
    const fault = faults.add({ match: { service: 'dynamodb', action: 'UpdateItem' }, effect: { kind: 'error', error: 'ProvisionedThroughputExceededException' }, times: 2 });
    const backend = counter();
    // Act
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await faults.intercept(updateItem, backend.dispatch).catch((err: unknown) => err));
    // Assess
    expect(outcomes[0]).toBeInstanceOf(AwsServiceError);
    expect(outcomes[0]).toMatchObject({ type: 'ProvisionedThroughputExceededException', status: 400 });
    expect(outcomes[1]).toBeInstanceOf(AwsServiceError);
    expect(outcomes[2]).toEqual({ ok: 1 });
    expect(backend.calls).toBe(1);
    expect(fault.hits).toBe(2);
    expect(faults.injected.map((f) => `${f.service}.${f.action}:${f.effect}`)).toEqual([
      'dynamodb.UpdateItem:error',
      'dynamodb.UpdateItem:error',
    ]);
  });

  it('gives server errors a 5xx status', async () => {
    const faults = new FaultInjector();
    faults.add({ match: { service: 'dynamodb' }, effect: { kind: 'error', error: 'InternalFailure' } });
    await expect(faults.intercept(updateItem, counter().dispatch)).rejects.toMatchObject({ status: 500 });
  });

  it('matches by service, action and request, and ignores other calls', async () => {
    // Prepare
    const faults = new FaultInjector();
    const fault = faults.add({
      match: { service: 'dynamodb', action: 'UpdateItem', where: (input) => String(input['UpdateExpression']).startsWith('SET lockOwner') },
      effect: { kind: 'error', error: 'InternalFailure' },
      times: Infinity,
    });
    const backend = counter();
    // Act
    await faults.intercept(updateItem, backend.dispatch);
    await faults.intercept({ ...updateItem, action: 'PutItem' }, backend.dispatch);
    await faults.intercept({ targetPrefix: 'AWSEvents', action: 'UpdateItem', input: {} }, backend.dispatch);
    const hit = await faults
      .intercept({ ...updateItem, input: { UpdateExpression: 'SET lockOwner = :o' } }, backend.dispatch)
      .catch((err: unknown) => err);
    // Assess
    expect(backend.calls).toBe(3);
    expect(hit).toBeInstanceOf(AwsServiceError);
    expect(fault.hits).toBe(1);
  });

  it('lets `skip` matching calls through before it applies', async () => {
    const faults = new FaultInjector();
    faults.add({ match: { service: 'dynamodb' }, effect: { kind: 'error', error: 'InternalFailure' }, skip: 1 });
    const backend = counter();
    await expect(faults.intercept(updateItem, backend.dispatch)).resolves.toEqual({ ok: 1 });
    await expect(faults.intercept(updateItem, backend.dispatch)).rejects.toBeInstanceOf(AwsServiceError);
    await expect(faults.intercept(updateItem, backend.dispatch)).resolves.toEqual({ ok: 2 });
  });

  it('performs the call and then loses its response', async () => {
    // Prepare
    const faults = new FaultInjector();
    faults.add({ match: { service: 'dynamodb' }, effect: { kind: 'lose-response', as: 'reset' } });
    const backend = counter();
    // Act
    const outcome = await faults.intercept(updateItem, backend.dispatch).catch((err: unknown) => err);
    // Assess
    expect(backend.calls).toBe(1);
    expect(outcome).toBeInstanceOf(DroppedResponse);
    expect((outcome as DroppedResponse).mode).toBe('reset');
  });

  it('waits for a call that acts when the call it would lose fails by itself', async () => {
    // Prepare
    const faults = new FaultInjector();
    const fault = faults.add({ match: { service: 'dynamodb' }, effect: { kind: 'lose-response' } });
    let calls = 0;
    const flaky = async () => {
      calls += 1;
      if (calls === 1) throw new AwsServiceError('ThrottlingException', 'Rate exceeded');
      return { ok: calls };
    };
    // Act
    const first = await faults.intercept(updateItem, flaky).catch((err: unknown) => err);
    const second = await faults.intercept(updateItem, flaky).catch((err: unknown) => err);
    const third = await faults.intercept(updateItem, flaky);
    // Assess: the real error passes through untouched; the next call is the one whose answer is lost
    expect(first).toMatchObject({ type: 'ThrottlingException' });
    expect(second).toBeInstanceOf(DroppedResponse);
    expect(third).toEqual({ ok: 3 });
    expect(fault.hits).toBe(1);
    expect(faults.injected).toHaveLength(1);
  });

  it('does not lose the answer of a Lambda function that failed, and loses the next one that worked', async () => {
    // Prepare
    const faults = new FaultInjector();
    faults.add({ match: { service: 'lambda', action: 'devaccess-credentialTasks' }, effect: { kind: 'lose-response' } });
    const answers: unknown[] = [{ error: { errorType: 'TooManyRequestsException', errorMessage: 'slow down' } }, { payload: 'ok' }, { payload: 'ok' }];
    const invoke = faults.wrapInvoke(async () => answers.shift());
    // Act
    const failed = await invoke('devaccess-credentialTasks', {});
    const lost = await invoke('devaccess-credentialTasks', {}).catch((err: unknown) => err);
    const fine = await invoke('devaccess-credentialTasks', {});
    // Assess
    expect(failed).toEqual({ error: { errorType: 'TooManyRequestsException', errorMessage: 'slow down' } });
    expect(lost).toBeInstanceOf(LambdaServiceError);
    expect(fine).toEqual({ payload: 'ok' });
  });

  it('holds a call until released, and resolves `reached` when the call arrives', async () => {
    // Prepare
    const faults = new FaultInjector();
    const fault = faults.add({ match: { service: 'dynamodb' }, effect: { kind: 'hang' } });
    const backend = counter();
    // Act
    const pending = faults.intercept(updateItem, backend.dispatch);
    await fault.reached;
    const beforeRelease = backend.calls;
    fault.release();
    // Assess
    expect(beforeRelease).toBe(0);
    await expect(pending).resolves.toEqual({ ok: 1 });
  });

  it('drops held calls and applies nothing once the stack closes', async () => {
    // Prepare
    const faults = new FaultInjector();
    faults.add({ match: { service: 'dynamodb' }, effect: { kind: 'hang' }, times: Infinity });
    const backend = counter();
    const held = faults.intercept(updateItem, backend.dispatch).catch((err: unknown) => err);
    // Act
    faults.close();
    // Assess
    expect(await held).toBeInstanceOf(DroppedResponse);
    await expect(faults.intercept(updateItem, backend.dispatch)).resolves.toEqual({ ok: 1 });
  });

  it('fails a Lambda invoke by function name as a Lambda service error, or loses the function\'s answer', async () => {
    // Prepare
    const faults = new FaultInjector();
    faults.add({ match: { service: 'lambda', action: 'devaccess-credentialTasks' }, effect: { kind: 'error', error: 'TooManyRequestsException' } });
    faults.add({ match: { service: 'lambda', action: 'devaccess-credentialTasks' }, effect: { kind: 'lose-response' }, skip: 1 });
    let ran = 0;
    const invoke = faults.wrapInvoke(async (name: string) => {
      ran += 1;
      return { payload: name };
    });
    const arn = 'arn:aws:lambda:us-east-1:000000000000:function:devaccess-credentialTasks';
    // Act
    const first = await invoke(arn, {}).catch((err: unknown) => err);
    const second = await invoke(arn, {}).catch((err: unknown) => err);
    const third = await invoke('devaccess-profile', {});
    // Assess
    expect(first).toMatchObject({ name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } });
    expect(second).toBeInstanceOf(LambdaServiceError);
    expect(third).toEqual({ payload: 'devaccess-profile' });
    expect(ran).toBe(2);
  });

  it('stops applying a removed fault', async () => {
    const faults = new FaultInjector();
    const fault = faults.add({ match: { service: 'dynamodb' }, effect: { kind: 'error', error: 'InternalFailure' }, times: Infinity });
    fault.remove();
    await expect(faults.intercept(updateItem, counter().dispatch)).resolves.toEqual({ ok: 1 });
  });
});
