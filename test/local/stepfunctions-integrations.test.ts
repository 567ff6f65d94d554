/**
 * How the local Step Functions emulation maps Task resources and names service errors, with the service calls
 * replaced by a CallIntegration stub (no socket). The end-to-end behaviour through the SDK is in
 * stepfunctions.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsServiceError } from '../../infra/local/aws/types';
import { createStepFunctionsEmulator, type CallIntegration, type StepFunctionsEmulator } from '../../infra/local/aws/stepfunctions';
import { parseTaskResource, toStateJson } from '../../infra/local/aws/stepfunctions/integrations';
import { isValidName } from '../../infra/local/aws/stepfunctions/names';

const ctx = { region: 'us-east-1', accountId: '000000000000' };
const ROLE = 'arn:aws:iam::000000000000:role/local-sfn';

describe('task resources', () => {
  it('maps resource ARNs to the integration that runs them', () => {
    // Act / Assess
    expect(parseTaskResource('arn:aws:states:::lambda:invoke')).toMatchObject({ kind: 'lambda-invoke' });
    expect(parseTaskResource('arn:aws:states:::dynamodb:updateItem')).toMatchObject({ kind: 'dynamodb', resource: 'updateItem' });
    expect(parseTaskResource('arn:aws:states:::events:putEvents')).toMatchObject({ kind: 'events-put' });
    expect(parseTaskResource('arn:aws:states:::aws-sdk:dynamodb:transactWriteItems')).toEqual({
      kind: 'aws-sdk',
      service: 'dynamodb',
      resourceType: 'aws-sdk:dynamodb',
      resource: 'transactWriteItems',
    });
    expect(parseTaskResource('arn:aws:lambda:us-east-1:000000000000:function:tasks')).toMatchObject({ kind: 'lambda-function' });
  });

  it('refuses patterns, activities and optimized integrations it cannot run, saying why', () => {
    // Act
    const sync = parseTaskResource('arn:aws:states:::states:startExecution.sync');
    const token = parseTaskResource('arn:aws:states:::lambda:invoke.waitForTaskToken');
    const activity = parseTaskResource('arn:aws:states:us-east-1:000000000000:activity:work');
    const optimizedQuery = parseTaskResource('arn:aws:states:::dynamodb:query');

    // Assess
    expect(sync).toMatchObject({ kind: 'unsupported', reason: expect.stringContaining("'.sync'") });
    expect(token).toMatchObject({ kind: 'unsupported', reason: expect.stringContaining("'.waitForTaskToken'") });
    expect(activity).toMatchObject({ kind: 'unsupported', reason: expect.stringContaining('Activity') });
    expect(optimizedQuery).toMatchObject({ kind: 'unsupported', reason: expect.stringContaining('aws-sdk:dynamodb:query') });
  });

  it('turns SDK output into the JSON a state receives', () => {
    // Act
    const json = toStateJson({
      $metadata: { requestId: 'r' },
      CreationDate: new Date('2026-01-02T03:04:05.000Z'),
      Blob: new Uint8Array([1, 2, 3]),
      Missing: undefined,
      Nested: [{ n: 1 }],
    });

    // Assess
    expect(json).toEqual({ CreationDate: '2026-01-02T03:04:05.000Z', Blob: 'AQID', Nested: [{ n: 1 }] });
  });
});

describe('names', () => {
  it('accepts the names AWS accepts and refuses the others', () => {
    // Prepare
    const valid = ['a', 'credential-workflow', 'x'.repeat(80), 'under_score.dot', 'ünïcode'];
    const invalid = ['', 'x'.repeat(81), 'with space', 'tab\tname', 'a/b', 'a:b', 'a*b', 'a?b', 'a{b', 'a"b', 'a\u0007b', 'a\u0085b'];

    // Assess
    expect(valid.filter((n) => !isValidName(n))).toEqual([]);
    expect(invalid.filter((n) => isValidName(n))).toEqual([]);
  });
});

describe('service errors', () => {
  let dir: string;
  let emulator: StepFunctionsEmulator;
  let answer: (service: string, action: string) => unknown;

  const callIntegration: CallIntegration = async (service, action) => {
    const result = answer(service, action);
    if (result instanceof Error) throw result;
    return result as Record<string, unknown>;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'devaccess-sfn-int-'));
    emulator = createStepFunctionsEmulator({ dataDir: dir, region: ctx.region, accountId: ctx.accountId, callIntegration, retryIntervalMs: 0 });
  });

  afterEach(async () => {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(definition: object): Promise<Record<string, unknown>> {
    const { stateMachineArn } = (await emulator.service.handle(
      'CreateStateMachine',
      { name: 'under-test', definition: JSON.stringify(definition), roleArn: ROLE },
      ctx,
    )) as { stateMachineArn: string };
    const { executionArn } = (await emulator.service.handle('StartExecution', { stateMachineArn }, ctx)) as { executionArn: string };
    await emulator.waitForExecution(executionArn);
    return (await emulator.service.handle('DescribeExecution', { executionArn }, ctx)) as Record<string, unknown>;
  }

  function oneTask(resource: string): object {
    return { StartAt: 'Call', States: { Call: { Type: 'Task', Resource: resource, Parameters: { Any: 'thing' }, End: true } } };
  }

  it('prefixes a declared aws-sdk exception with the Step Functions service name', async () => {
    // Prepare
    answer = () => new AwsServiceError('ResourceNotFoundException', 'User pool client abc does not exist.');

    // Act
    const out = await run(oneTask('arn:aws:states:::aws-sdk:cognitoidentityprovider:deleteUserPoolClient'));

    // Assess
    expect(out).toMatchObject({ status: 'FAILED', error: 'CognitoIdentityProvider.ResourceNotFoundException' });
    expect(out['cause']).toMatch(/^User pool client abc does not exist\. \(Service: CognitoIdentityProvider, Status Code: 400, Request ID: .+\)$/);
  });

  it('names an exception the service model does not declare after the service itself', async () => {
    // Prepare
    answer = () => new AwsServiceError('ValidationException', '1 validation error detected');

    // Act
    const out = await run(oneTask('arn:aws:states:::aws-sdk:dynamodb:transactWriteItems'));

    // Assess
    expect(out).toMatchObject({ status: 'FAILED', error: 'DynamoDb.DynamoDbException' });
  });

  it('calls a failure that never reached a service SdkClientException', async () => {
    // Prepare
    answer = () => new Error('connect ECONNREFUSED 127.0.0.1:4000');

    // Act
    const out = await run(oneTask('arn:aws:states:::dynamodb:getItem'));

    // Assess
    expect(out).toMatchObject({ status: 'FAILED', error: 'DynamoDB.SdkClientException', cause: 'connect ECONNREFUSED 127.0.0.1:4000' });
  });

  it('retries and then catches on the AWS error name', async () => {
    // Prepare
    let calls = 0;
    answer = () => {
      calls += 1;
      return new AwsServiceError('TransactionCanceledException', 'Transaction cancelled [ConditionalCheckFailed]');
    };
    const definition = {
      StartAt: 'Commit',
      States: {
        Commit: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems',
          Parameters: { TransactItems: [] },
          Retry: [{ ErrorEquals: ['DynamoDb.TransactionCanceledException'], MaxAttempts: 2 }],
          Catch: [{ ErrorEquals: ['DynamoDb.TransactionCanceledException'], ResultPath: '$.error', Next: 'Conflict' }],
          End: true,
        },
        Conflict: { Type: 'Fail', Error: 'Conflict' },
      },
    };

    // Act
    const out = await run(definition);

    // Assess
    expect(calls).toBe(3);
    expect(out).toMatchObject({ status: 'FAILED', error: 'Conflict' });
  });

  it('schedules a task without TimeoutSeconds with no timeout in its history, as AWS does', async () => {
    // Prepare: the emulation gives such tasks the longest timer Node.js has instead of the library's 60 s; that
    // stand-in must not show up as the task's timeout.
    answer = () => ({ Item: { pk: { S: 'x' } } });

    // Act
    const out = await run(oneTask('arn:aws:states:::dynamodb:getItem'));
    const { events } = (await emulator.service.handle('GetExecutionHistory', { executionArn: out['executionArn'] }, ctx)) as {
      events: Array<Record<string, Record<string, unknown> | string>>;
    };

    // Assess
    expect(out['status']).toBe('SUCCEEDED');
    const scheduled = events.find((e) => e['type'] === 'TaskScheduled')?.['taskScheduledEventDetails'] as Record<string, unknown>;
    expect(scheduled).toBeDefined();
    expect(scheduled['timeoutInSeconds']).toBeUndefined();
  });

  it("lets a task without TimeoutSeconds run past the library's 60 s default, as AWS does", async () => {
    // Prepare: only the timers the library's task timeout uses are faked; the emulation's setImmediate stays real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let release: (value: Record<string, unknown>) => void = () => undefined;
      let markStarted: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (markStarted = resolve));
      answer = () => {
        markStarted();
        return new Promise((resolve) => (release = resolve));
      };
      const running = run(oneTask('arn:aws:states:::dynamodb:getItem'));
      await started;

      // Act
      vi.advanceTimersByTime(10 * 60_000);
      await new Promise((resolve) => setImmediate(resolve));
      release({ Item: { pk: { S: 'x' } } });
      const out = await running;

      // Assess
      expect(out['status']).toBe('SUCCEEDED');
    } finally {
      vi.useRealTimers();
    }
  });
});
