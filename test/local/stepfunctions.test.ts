/**
 * The local Step Functions emulation through the real AWS SDK (@aws-sdk/client-sfn) against a loopback server.
 * The harness below stands in for the local AWS endpoint: it routes `AWSStepFunctions.*` targets to the emulator
 * and `DynamoDB_20120810.*` to a dynalite listener, so aws-sdk/optimized DynamoDB tasks make real calls.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  DescribeStateMachineForExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  UpdateStateMachineCommand,
  type DescribeExecutionOutput,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsServiceError, type AwsJsonService } from '../../infra/local/aws/types';
import {
  createStepFunctionsEmulator,
  type CallIntegration,
  type InvokeLambda,
  type StepFunctionsEmulator,
} from '../../infra/local/aws/stepfunctions';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/local-sfn`;
const TABLE = 'sfn-test-items';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

type DynaliteServer = Server;
const dynalite = createRequire(import.meta.url)('dynalite') as (options: { createTableMs: number }) => DynaliteServer;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A minimal stand-in for the local AWS endpoint (X-Amz-Target dispatch, AWS JSON error bodies). */
function createHarness(dynamoPort: number): { server: Server; setService(service: AwsJsonService): void } {
  let service: AwsJsonService | undefined;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const body = await readBody(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target.startsWith('DynamoDB_20120810.')) {
        const upstream = request(
          { host: '127.0.0.1', port: dynamoPort, method: req.method, path: req.url, headers: req.headers },
          (up) => {
            res.writeHead(up.statusCode ?? 500, up.headers);
            up.pipe(res);
          },
        );
        upstream.end(body);
        return;
      }
      const [prefix, action = ''] = target.split('.');
      if (!service || prefix !== service.targetPrefix) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'UnknownOperationException' }));
        return;
      }
      const contentType = `application/x-amz-json-${service.jsonVersion}`;
      try {
        const input = body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
        const output = await service.handle(action, input, { region: REGION, accountId: ACCOUNT });
        res.writeHead(200, { 'content-type': contentType });
        res.end(JSON.stringify(output ?? {}));
      } catch (err) {
        const e = err instanceof AwsServiceError ? err : new AwsServiceError('InternalFailure', String(err), 500);
        res.writeHead(e.status, { 'content-type': contentType, 'x-amzn-errortype': e.type });
        res.end(JSON.stringify({ __type: e.type, message: e.message }));
      }
    })();
  });
  return { server, setService: (s) => (service = s) };
}

let dynamoServer: DynaliteServer;
let harness: ReturnType<typeof createHarness>;
let endpoint = '';
let dataDir = '';
let emulator: StepFunctionsEmulator;
let sfn: SFNClient;
let dynamo: DynamoDBClient;

/** Lambda functions the lambda:invoke tasks call, by name. */
const functions: Record<string, (payload: unknown) => unknown> = {
  echo: (payload) => ({ echoed: payload }),
  fails: () => {
    throw Object.assign(new Error('the widget is broken'), { name: 'WidgetError' });
  },
};
let flakyCalls = 0;
const flakyPayloads: unknown[] = [];
functions['flaky'] = (payload) => {
  flakyCalls += 1;
  flakyPayloads.push(payload);
  if (flakyCalls < 3) throw Object.assign(new Error('try again'), { name: 'TransientError' });
  return { attempts: flakyCalls };
};

/**
 * Answers in both shapes an invoker may use: Lambda's (`functionError` + error payload) for `flaky`, the local
 * Lambda's (`{ error }`) for the others; an unknown function throws ResourceNotFoundException without SDK
 * metadata, as an in-process invoker does.
 */
const invokeLambda: InvokeLambda = async (name, payload) => {
  const fn = functions[name];
  if (!fn) throw Object.assign(new Error(`Function not found: ${name}`), { name: 'ResourceNotFoundException' });
  try {
    return { payload: await fn(payload) };
  } catch (err) {
    const e = err as Error;
    const error = { errorType: e.name, errorMessage: e.message, trace: [] };
    return name === 'flaky' ? { functionError: 'Unhandled', payload: error } : { error };
  }
};

/** Captures EventBridge calls (the EventBridge emulation is another module's concern). */
const putEventsCalls: unknown[] = [];
const callIntegrationOverride: CallIntegration = async (service, action, parameters) => {
  putEventsCalls.push({ service, action, parameters });
  const entries = parameters['Entries'] as Array<Record<string, unknown>>;
  const failed = entries.filter((e) => e['Source'] === 'bad.source').length;
  return {
    Entries: entries.map((e) => (e['Source'] === 'bad.source' ? { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' } : { EventId: 'evt-1' })),
    FailedEntryCount: failed,
  };
};

function startEmulator(dir: string, extra: { callIntegration?: CallIntegration } = {}): StepFunctionsEmulator {
  const instance = createStepFunctionsEmulator({
    dataDir: dir,
    region: REGION,
    accountId: ACCOUNT,
    endpoint: () => endpoint,
    invokeLambda,
    retryIntervalMs: 0,
    ...extra,
  });
  harness.setService(instance.service);
  return instance;
}

beforeAll(async () => {
  dynamoServer = dynalite({ createTableMs: 0 });
  const dynamoPort = await listen(dynamoServer);
  harness = createHarness(dynamoPort);
  endpoint = `http://127.0.0.1:${await listen(harness.server)}`;
  dataDir = mkdtempSync(join(tmpdir(), 'devaccess-sfn-'));
  emulator = startEmulator(dataDir);
  sfn = new SFNClient({ region: REGION, endpoint, credentials });
  dynamo = new DynamoDBClient({ region: REGION, endpoint, credentials });
  await dynamo.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

afterAll(async () => {
  await emulator.close();
  sfn.destroy();
  dynamo.destroy();
  await closeServer(harness.server);
  await closeServer(dynamoServer);
  rmSync(dataDir, { recursive: true, force: true });
});

let machineCounter = 0;
async function createMachine(definition: object, name = `sm-${++machineCounter}`): Promise<string> {
  const out = await sfn.send(new CreateStateMachineCommand({ name, definition: JSON.stringify(definition), roleArn: ROLE }));
  return out.stateMachineArn as string;
}

async function runToEnd(stateMachineArn: string, input: unknown, name?: string): Promise<DescribeExecutionOutput> {
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input), ...(name ? { name } : {}) }));
  return waitClosed(executionArn as string);
}

async function waitClosed(executionArn: string): Promise<DescribeExecutionOutput> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (out.status !== 'RUNNING') return out;
    if (Date.now() > deadline) throw new Error(`${executionArn} still RUNNING`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const out = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return out.events ?? [];
}

/** Settles a call that is expected to fail, so its rejection is handled at once. */
function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (err: unknown) => err,
  );
}

function details(event: HistoryEvent | undefined, key: keyof HistoryEvent): Record<string, unknown> {
  return (event?.[key] ?? {}) as Record<string, unknown>;
}

/** Pass -> Choice -> Task (aws-sdk:dynamodb:putItem, conditional) with a Catch on the AWS error name. */
const putItemMachine = {
  StartAt: 'Prepare',
  States: {
    Prepare: { Type: 'Pass', Parameters: { 'pk.$': '$.id', 'kind.$': '$.kind' }, Next: 'Route' },
    Route: {
      Type: 'Choice',
      Choices: [{ Variable: '$.kind', StringEquals: 'note', Next: 'PutItem' }],
      Default: 'Skipped',
    },
    PutItem: {
      Type: 'Task',
      Resource: 'arn:aws:states:::aws-sdk:dynamodb:putItem',
      Parameters: {
        TableName: TABLE,
        Item: { pk: { 'S.$': '$.pk' }, execution: { 'S.$': '$$.Execution.Name' } },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      ResultPath: '$.put',
      Catch: [{ ErrorEquals: ['DynamoDb.ConditionalCheckFailedException'], ResultPath: '$.error', Next: 'AlreadyThere' }],
      End: true,
    },
    AlreadyThere: { Type: 'Pass', End: true },
    Skipped: { Type: 'Succeed' },
  },
};

describe('state machines', () => {
  it('creates a state machine idempotently and refuses a different definition under the same name', async () => {
    // Prepare
    const definition = JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } });

    // Act
    const first = await sfn.send(new CreateStateMachineCommand({ name: 'idempotent', definition, roleArn: ROLE }));
    const again = await sfn.send(new CreateStateMachineCommand({ name: 'idempotent', definition, roleArn: `${ROLE}-other` }));

    // Assess
    expect(first.stateMachineArn).toBe(`arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:idempotent`);
    expect(again.stateMachineArn).toBe(first.stateMachineArn);
    expect(again.creationDate?.getTime()).toBe(first.creationDate?.getTime());
    await expect(
      sfn.send(new CreateStateMachineCommand({ name: 'idempotent', definition: definition.replace('"A"', '"A" '), roleArn: ROLE })),
    ).rejects.toMatchObject({ name: 'StateMachineAlreadyExists' });
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: first.stateMachineArn }));
    expect(described).toMatchObject({ name: 'idempotent', status: 'ACTIVE', type: 'STANDARD', definition, roleArn: ROLE });
  });

  it('refuses invalid definitions, names and ARNs as AWS does', async () => {
    // Act / Assess
    await expect(
      sfn.send(new CreateStateMachineCommand({ name: 'bad-def', definition: '{"StartAt":"A"}', roleArn: ROLE })),
    ).rejects.toMatchObject({ name: 'InvalidDefinition', message: expect.stringContaining('These fields are required: [States]') });
    await expect(
      sfn.send(
        new CreateStateMachineCommand({
          name: 'bad-next',
          definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Nowhere' } } }),
          roleArn: ROLE,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidDefinition', message: expect.stringContaining('Nowhere') });
    await expect(
      sfn.send(
        new CreateStateMachineCommand({
          name: 'jsonata',
          definition: JSON.stringify({ QueryLanguage: 'JSONata', StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }),
          roleArn: ROLE,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidDefinition' });
    await expect(
      sfn.send(new CreateStateMachineCommand({ name: 'has space', definition: JSON.stringify(putItemMachine), roleArn: ROLE })),
    ).rejects.toMatchObject({ name: 'InvalidName' });
    await expect(sfn.send(new DescribeStateMachineCommand({ stateMachineArn: 'not-an-arn' }))).rejects.toMatchObject({
      name: 'InvalidArn',
    });
    await expect(
      sfn.send(new DescribeStateMachineCommand({ stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:nope` })),
    ).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
  });

  it('runs new executions with an updated definition', async () => {
    // Prepare
    const arn = await createMachine({ StartAt: 'A', States: { A: { Type: 'Pass', Result: 'v1', End: true } } });
    const update = await sfn.send(
      new UpdateStateMachineCommand({
        stateMachineArn: arn,
        definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', Result: 'v2', End: true } } }),
      }),
    );

    // Act
    const done = await runToEnd(arn, {});

    // Assess
    expect(update.revisionId).toBeTruthy();
    expect(done.output).toBe('"v2"');
    await expect(sfn.send(new UpdateStateMachineCommand({ stateMachineArn: arn }))).rejects.toMatchObject({
      name: 'MissingRequiredParameter',
    });
  });
});

describe('executions', () => {
  it('runs Pass, Choice and an aws-sdk DynamoDB task to SUCCEEDED with an AWS-shaped history', async () => {
    // Prepare
    const arn = await createMachine(putItemMachine);

    // Act
    const done = await runToEnd(arn, { id: 'item-1', kind: 'note' }, 'first-run');

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect(done.executionArn).toBe(`arn:aws:states:${REGION}:${ACCOUNT}:execution:${arn.split(':').pop()}:first-run`);
    expect(done.startDate).toBeInstanceOf(Date);
    expect(done.stopDate!.getTime()).toBeGreaterThanOrEqual(done.startDate!.getTime());
    expect(JSON.parse(done.output as string)).toEqual({ pk: 'item-1', kind: 'note', put: {} });
    const stored = await dynamo.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'item-1' } }, ConsistentRead: true }));
    expect(stored.Item).toEqual({ pk: { S: 'item-1' }, execution: { S: 'first-run' } });

    const events = await history(done.executionArn as string);
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events.map((e) => e.id)).toEqual(events.map((_e, i) => i + 1));
    expect(events[0]?.executionStartedEventDetails).toMatchObject({ input: '{"id":"item-1","kind":"note"}', roleArn: ROLE });
    const scheduled = events.find((e) => e.type === 'TaskScheduled');
    expect(scheduled?.taskScheduledEventDetails).toMatchObject({ resourceType: 'aws-sdk:dynamodb', resource: 'putItem', region: REGION });
    expect(JSON.parse(scheduled?.taskScheduledEventDetails?.parameters as string)).toMatchObject({ TableName: TABLE });
    expect(events[events.length - 1]?.executionSucceededEventDetails?.output).toBe(done.output);
    expect(events.every((e) => e.timestamp instanceof Date)).toBe(true);
  });

  it('catches a failed conditional write by the AWS error name', async () => {
    // Prepare
    const arn = await createMachine(putItemMachine);
    await runToEnd(arn, { id: 'item-2', kind: 'note' });

    // Act
    const second = await runToEnd(arn, { id: 'item-2', kind: 'note' });

    // Assess
    expect(second.status).toBe('SUCCEEDED');
    const output = JSON.parse(second.output as string) as { error: { Error: string; Cause: string } };
    expect(output.error.Error).toBe('DynamoDb.ConditionalCheckFailedException');
    expect(output.error.Cause).toMatch(/^The conditional request failed \(Service: DynamoDb, Status Code: 400, Request ID: .+\)$/);
    const types = (await history(second.executionArn as string)).map((e) => e.type);
    expect(types.slice(-5)).toEqual(['TaskFailed', 'TaskStateExited', 'PassStateEntered', 'PassStateExited', 'ExecutionSucceeded']);
  });

  it('names optimized DynamoDB errors DynamoDB.<Exception> and undeclared ones DynamoDB.AmazonDynamoDBException', async () => {
    // Prepare
    const arn = await createMachine({
      StartAt: 'Put',
      States: {
        Put: {
          Type: 'Task',
          Resource: 'arn:aws:states:::dynamodb:putItem',
          Parameters: { TableName: TABLE, 'Item.$': '$.item', ConditionExpression: 'attribute_not_exists(pk)' },
          End: true,
        },
      },
    });

    // Act
    const first = await runToEnd(arn, { item: { pk: { S: 'opt-1' } } });
    const conflict = await runToEnd(arn, { item: { pk: { S: 'opt-1' } } });
    const invalid = await runToEnd(arn, { item: { other: { S: 'no key' } } });

    // Assess
    expect(first.status).toBe('SUCCEEDED');
    expect(JSON.parse(first.output as string)).toMatchObject({ SdkHttpMetadata: { HttpStatusCode: 200 }, SdkResponseMetadata: {} });
    expect(conflict).toMatchObject({ status: 'FAILED', error: 'DynamoDB.ConditionalCheckFailedException' });
    expect(conflict.cause).toMatch(/\(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ConditionalCheckFailedException; Request ID: .+; Proxy: null\)$/);
    expect(invalid).toMatchObject({ status: 'FAILED', error: 'DynamoDB.AmazonDynamoDBException' });
  });

  it('retries a failing task as the Retry field says and shows each attempt in the history', async () => {
    // Prepare
    flakyCalls = 0;
    flakyPayloads.length = 0;
    const arn = await createMachine({
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: {
            FunctionName: 'flaky',
            Payload: { 'state.$': '$$.State.Name', 'entered.$': '$$.State.EnteredTime', 'retry.$': '$$.State.RetryCount', 'execution.$': '$$.Execution.Id' },
          },
          Retry: [{ ErrorEquals: ['TransientError'], MaxAttempts: 3 }],
          OutputPath: '$.Payload',
          End: true,
        },
      },
    });

    // Act
    const done = await runToEnd(arn, {});

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output as string)).toEqual({ attempts: 3 });
    const events = await history(done.executionArn as string);
    const taskEvents = events.filter((e) => e.type?.startsWith('Task') && !e.type.includes('State')).map((e) => e.type);
    expect(taskEvents).toEqual([
      'TaskScheduled',
      'TaskStarted',
      'TaskFailed',
      'TaskScheduled',
      'TaskStarted',
      'TaskFailed',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
    ]);
    const entered = events.find((e) => e.type === 'TaskStateEntered')?.timestamp?.getTime() as number;
    expect(flakyPayloads.map((p) => (p as { retry: number }).retry)).toEqual([0, 1, 2]);
    const enteredTimes = new Set(flakyPayloads.map((p) => (p as { entered: string }).entered));
    expect(enteredTimes.size).toBe(1);
    expect(Math.abs(Date.parse([...enteredTimes][0] as string) - entered)).toBeLessThan(5);
    expect(flakyPayloads[0]).toMatchObject({ state: 'Call', execution: done.executionArn });
    expect(details(events.find((e) => e.type === 'TaskFailed'), 'taskFailedEventDetails')).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke',
      error: 'TransientError',
    });
  });

  it('invokes Lambda through the callback and catches a function error by its errorType', async () => {
    // Prepare
    const arn = await createMachine({
      StartAt: 'Echo',
      States: {
        Echo: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: 'echo', Payload: { 'value.$': '$.value' } },
          ResultSelector: { 'body.$': '$.Payload', 'status.$': '$.StatusCode' },
          ResultPath: '$.echo',
          Next: 'Break',
        },
        Break: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: 'fails', Payload: {} },
          Catch: [{ ErrorEquals: ['WidgetError'], ResultPath: '$.caught', Next: 'Done' }],
          Next: 'Done',
        },
        Done: { Type: 'Succeed' },
      },
    });

    // Act
    const done = await runToEnd(arn, { value: 42 });

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    const output = JSON.parse(done.output as string) as { echo: unknown; caught: { Error: string; Cause: string } };
    expect(output.echo).toEqual({ body: { echoed: { value: 42 } }, status: 200 });
    expect(output.caught.Error).toBe('WidgetError');
    expect(JSON.parse(output.caught.Cause)).toEqual({ errorType: 'WidgetError', errorMessage: 'the widget is broken', trace: [] });
  });

  it('fails with Lambda.ResourceNotFoundException when the function does not exist', async () => {
    // Prepare
    const arn = await createMachine({
      StartAt: 'Call',
      States: { Call: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'missing' }, End: true } },
    });

    // Act
    const done = await runToEnd(arn, {});

    // Assess
    expect(done).toMatchObject({ status: 'FAILED', error: 'Lambda.ResourceNotFoundException' });
    expect(done.cause).toMatch(/^Function not found: missing \(Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: .+; Proxy: null\)$/);
  });

  it('publishes events with a serialized Detail and the execution in Resources, and fails on a failed entry', async () => {
    // Prepare
    const captured = mkdtempSync(join(tmpdir(), 'devaccess-sfn-events-'));
    const local = createStepFunctionsEmulator({ dataDir: captured, region: REGION, accountId: ACCOUNT, callIntegration: callIntegrationOverride });
    try {
      const { stateMachineArn } = (await local.service.handle(
        'CreateStateMachine',
        {
          name: 'events',
          roleArn: ROLE,
          definition: JSON.stringify({
            StartAt: 'Emit',
            States: {
              Emit: {
                Type: 'Task',
                Resource: 'arn:aws:states:::events:putEvents',
                Parameters: { Entries: [{ 'Source.$': '$.source', DetailType: 'Thing', Detail: { 'id.$': '$.id' }, EventBusName: 'bus' }] },
                End: true,
              },
            },
          }),
        },
        { region: REGION, accountId: ACCOUNT },
      )) as { stateMachineArn: string };
      const start = async (input: object): Promise<Record<string, unknown> & { executionArn: string }> => {
        const { executionArn } = (await local.service.handle('StartExecution', { stateMachineArn, input: JSON.stringify(input) }, { region: REGION, accountId: ACCOUNT })) as {
          executionArn: string;
        };
        await local.waitForExecution(executionArn);
        return { executionArn, ...((await local.service.handle('DescribeExecution', { executionArn }, { region: REGION, accountId: ACCOUNT })) as Record<string, unknown>) };
      };

      // Act
      const ok = await start({ source: 'devaccess', id: 'e-1' });
      const bad = await start({ source: 'bad.source', id: 'e-2' });

      // Assess
      expect(ok['status']).toBe('SUCCEEDED');
      expect(JSON.parse(ok['output'] as string)).toEqual({ Entries: [{ EventId: 'evt-1' }], FailedEntryCount: 0 });
      expect(putEventsCalls[0]).toEqual({
        service: 'events',
        action: 'putEvents',
        parameters: {
          Entries: [
            { Source: 'devaccess', DetailType: 'Thing', Detail: '{"id":"e-1"}', EventBusName: 'bus', Resources: [stateMachineArn, ok.executionArn] },
          ],
        },
      });
      expect(bad).toMatchObject({ status: 'FAILED', error: 'EventBridge.FailedEntry' });
      expect(JSON.parse(bad['cause'] as string)).toEqual({
        Entries: [{ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }],
        FailedEntryCount: 1,
      });
    } finally {
      await local.close();
      rmSync(captured, { recursive: true, force: true });
    }
  });

  it('fails an execution clearly when a task uses an integration pattern it cannot run', async () => {
    // Prepare
    const arn = await createMachine({
      StartAt: 'Sync',
      States: {
        Sync: {
          Type: 'Task',
          Resource: 'arn:aws:states:::states:startExecution.sync:2',
          Parameters: { StateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:x' },
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Succeed' },
      },
    });

    // Act
    const done = await runToEnd(arn, {});

    // Assess
    expect(done).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(done.cause).toContain("'.sync:2' integration pattern");
  });

  it('records a Fail state error and cause, and omits them when the Fail state has none', async () => {
    // Prepare
    const arn = await createMachine({
      StartAt: 'Route',
      States: {
        Route: { Type: 'Choice', Choices: [{ Variable: '$.named', BooleanEquals: true, Next: 'Named' }], Default: 'Bare' },
        Named: { Type: 'Fail', Error: 'Conflict', Cause: 'someone else changed it' },
        Bare: { Type: 'Fail' },
      },
    });

    // Act
    const named = await runToEnd(arn, { named: true });
    const bare = await runToEnd(arn, { named: false });

    // Assess
    expect(named).toMatchObject({ status: 'FAILED', error: 'Conflict', cause: 'someone else changed it' });
    expect(bare.status).toBe('FAILED');
    expect(bare.error).toBeUndefined();
    expect(bare.cause).toBeUndefined();
    expect((await history(named.executionArn as string)).map((e) => e.type).slice(-2)).toEqual(['FailStateEntered', 'ExecutionFailed']);
  });

  it('returns the running execution for the same name and input, and refuses the name with another input', async () => {
    // Prepare
    const arn = await createMachine({ StartAt: 'Hold', States: { Hold: { Type: 'Wait', Seconds: 30, End: true } } });
    const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'once', input: '{"a":1}' }));

    // Act
    const same = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'once', input: '{"a":1}' }));
    const differentInput = await failureOf(sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'once', input: '{"a":2}' })));

    // Assess
    expect(same.executionArn).toBe(first.executionArn);
    expect(same.startDate?.getTime()).toBe(first.startDate?.getTime());
    expect(differentInput).toMatchObject({
      name: 'ExecutionAlreadyExists',
      message: `Execution Already Exists: '${first.executionArn}'`,
    });
    await sfn.send(new StopExecutionCommand({ executionArn: first.executionArn }));
  });

  it('stops a running execution, and then refuses its name even with the same input', async () => {
    // Prepare
    const arn = await createMachine({ StartAt: 'Hold', States: { Hold: { Type: 'Wait', Seconds: 30, End: true } } });
    const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'stopped', input: '{"a":1}' }));

    // Act
    const stopped = await sfn.send(new StopExecutionCommand({ executionArn: first.executionArn, error: 'Manual', cause: 'test stop' }));
    const afterStop = await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
    const closedSameInput = await failureOf(sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'stopped', input: '{"a":1}' })));

    // Assess
    expect(afterStop).toMatchObject({ status: 'ABORTED', error: 'Manual', cause: 'test stop' });
    expect(afterStop.stopDate?.getTime()).toBe(stopped.stopDate?.getTime());
    expect(closedSameInput).toMatchObject({ name: 'ExecutionAlreadyExists' });
    const events = await history(first.executionArn as string);
    expect(events.map((e) => e.type)).toEqual(['ExecutionStarted', 'WaitStateEntered', 'ExecutionAborted']);
    expect(events[2]?.executionAbortedEventDetails).toEqual({ error: 'Manual', cause: 'test stop' });
  });

  it('refuses invalid execution names and inputs, and names an execution with a UUID by default', async () => {
    // Prepare
    const arn = await createMachine({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } });

    // Act / Assess
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'x'.repeat(81) }))).rejects.toMatchObject({ name: 'InvalidName' });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'a*b' }))).rejects.toMatchObject({ name: 'InvalidName' });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: arn, input: "{'a':1}" }))).rejects.toMatchObject({
      name: 'InvalidExecutionInput',
    });
    const defaultName = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn }));
    expect(defaultName.executionArn?.split(':').pop()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('lists executions newest first, filtered by status, page by page', async () => {
    // Prepare
    const arn = await createMachine({
      StartAt: 'Route',
      States: {
        Route: { Type: 'Choice', Choices: [{ Variable: '$.ok', BooleanEquals: true, Next: 'Ok' }], Default: 'No' },
        Ok: { Type: 'Succeed' },
        No: { Type: 'Fail', Error: 'No' },
      },
    });
    await runToEnd(arn, { ok: true }, 'list-1');
    await runToEnd(arn, { ok: false }, 'list-2');
    await runToEnd(arn, { ok: true }, 'list-3');

    // Act
    const page1 = await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'SUCCEEDED', maxResults: 1 }));
    const page2 = await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'SUCCEEDED', maxResults: 1, nextToken: page1.nextToken }));
    const failed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'FAILED' }));

    // Assess
    expect(page1.executions?.map((e) => e.name)).toEqual(['list-3']);
    expect(page2.executions?.map((e) => e.name)).toEqual(['list-1']);
    expect(page2.nextToken).toBeUndefined();
    expect(failed.executions?.map((e) => [e.name, e.status])).toEqual([['list-2', 'FAILED']]);
    await expect(sfn.send(new ListExecutionsCommand({ stateMachineArn: arn, nextToken: 'garbage' }))).rejects.toMatchObject({ name: 'InvalidToken' });
  });

  it('pages the history and reads it in reverse', async () => {
    // Prepare
    const arn = await createMachine({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', End: true } } });
    const done = await runToEnd(arn, {});

    // Act
    const first = await sfn.send(new GetExecutionHistoryCommand({ executionArn: done.executionArn, maxResults: 4 }));
    const rest = await sfn.send(new GetExecutionHistoryCommand({ executionArn: done.executionArn, maxResults: 4, nextToken: first.nextToken }));
    const reversed = await sfn.send(new GetExecutionHistoryCommand({ executionArn: done.executionArn, reverseOrder: true, includeExecutionData: false }));

    // Assess
    expect([...(first.events ?? []), ...(rest.events ?? [])].map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(reversed.events?.map((e) => e.type)).toEqual([
      'ExecutionSucceeded',
      'PassStateExited',
      'PassStateEntered',
      'PassStateExited',
      'PassStateEntered',
      'ExecutionStarted',
    ]);
    expect(reversed.events?.[0]?.executionSucceededEventDetails?.output).toBeUndefined();
  });

  it('keeps a deleted state machine until its running execution closes', async () => {
    // Prepare
    const arn = await createMachine({ StartAt: 'Hold', States: { Hold: { Type: 'Wait', Seconds: 30, End: true } } });
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn }));

    // Act
    await sfn.send(new DeleteStateMachineCommand({ stateMachineArn: arn }));
    const whileRunning = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    const startWhileDeleting = await failureOf(sfn.send(new StartExecutionCommand({ stateMachineArn: arn })));
    await sfn.send(new StopExecutionCommand({ executionArn }));

    // Assess
    expect(whileRunning.status).toBe('DELETING');
    expect(startWhileDeleting).toMatchObject({ name: 'StateMachineDeleting' });
    await expect(sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }))).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
    await expect(sfn.send(new DeleteStateMachineCommand({ stateMachineArn: arn }))).resolves.toBeDefined();
  });
});

describe('composite states and timeouts', () => {
  it('runs tasks inside Parallel branches and records the Parallel state events', async () => {
    // Prepare
    const arn = await createMachine({
      StartAt: 'Both',
      States: {
        Both: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'EchoBranch', States: { EchoBranch: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'echo', 'Payload.$': '$' }, OutputPath: '$.Payload', End: true } } },
            { StartAt: 'PassBranch', States: { PassBranch: { Type: 'Pass', Result: 'second', End: true } } },
          ],
          End: true,
        },
      },
    });

    // Act
    const done = await runToEnd(arn, { n: 7 });

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output as string)).toEqual([{ echoed: { n: 7 } }, 'second']);
    const types = (await history(done.executionArn as string)).map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['ExecutionStarted', 'ParallelStateEntered', 'ParallelStateStarted']);
    expect(types.slice(-3)).toEqual(['ParallelStateSucceeded', 'ParallelStateExited', 'ExecutionSucceeded']);
    expect(types.filter((t) => t === 'TaskSucceeded')).toHaveLength(1);
  });

  it('times a task out after its TimeoutSeconds with States.Timeout', async () => {
    // Prepare
    functions['slow'] = () => new Promise((resolve) => setTimeout(() => resolve('late'), 1500));
    const arn = await createMachine({
      StartAt: 'Slow',
      States: {
        Slow: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'slow' }, TimeoutSeconds: 1, End: true },
      },
    });

    // Act
    const done = await runToEnd(arn, {});

    // Assess
    expect(done).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    const events = await history(done.executionArn as string);
    expect(events.map((e) => e.type).slice(-2)).toEqual(['TaskTimedOut', 'ExecutionFailed']);
    expect(events.find((e) => e.type === 'TaskScheduled')?.taskScheduledEventDetails?.timeoutInSeconds).toBe(1);
  });
});

describe('bounds', () => {
  const ctx = { region: REGION, accountId: ACCOUNT };
  const passes = {
    StartAt: 'P1',
    States: { P1: { Type: 'Pass', Next: 'P2' }, P2: { Type: 'Pass', Next: 'P3' }, P3: { Type: 'Pass', End: true } },
  };

  async function run(local: StepFunctionsEmulator, stateMachineArn: string): Promise<Record<string, unknown>> {
    const { executionArn } = (await local.service.handle('StartExecution', { stateMachineArn }, ctx)) as { executionArn: string };
    await local.waitForExecution(executionArn);
    return (await local.service.handle('DescribeExecution', { executionArn }, ctx)) as Record<string, unknown>;
  }

  it('fails an execution whose history would exceed maxHistoryEvents', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'devaccess-sfn-bounds-'));
    const local = createStepFunctionsEmulator({ dataDir: dir, region: REGION, accountId: ACCOUNT, maxHistoryEvents: 5 });
    try {
      const { stateMachineArn } = (await local.service.handle('CreateStateMachine', { name: 'long', definition: JSON.stringify(passes), roleArn: ROLE }, ctx)) as {
        stateMachineArn: string;
      };

      // Act
      const out = await run(local, stateMachineArn);

      // Assess
      expect(out).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
      const { events } = (await local.service.handle('GetExecutionHistory', { executionArn: out['executionArn'] }, ctx)) as { events: Array<{ type: string }> };
      expect(events).toHaveLength(5);
      expect(events[4]?.type).toBe('ExecutionFailed');
    } finally {
      await local.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps only the newest maxClosedExecutions closed executions, on disk too', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'devaccess-sfn-bounds-'));
    const local = createStepFunctionsEmulator({ dataDir: dir, region: REGION, accountId: ACCOUNT, maxClosedExecutions: 2 });
    try {
      const { stateMachineArn } = (await local.service.handle('CreateStateMachine', { name: 'many', definition: JSON.stringify(passes), roleArn: ROLE }, ctx)) as {
        stateMachineArn: string;
      };
      const oldest = await run(local, stateMachineArn);
      await run(local, stateMachineArn);

      // Act
      await run(local, stateMachineArn);
      await local.flush();

      // Assess
      await expect(local.service.handle('DescribeExecution', { executionArn: oldest['executionArn'] }, ctx)).rejects.toMatchObject({
        type: 'ExecutionDoesNotExist',
      });
      const listed = (await local.service.handle('ListExecutions', { stateMachineArn }, ctx)) as { executions: unknown[] };
      expect(listed.executions).toHaveLength(2);
      expect(readdirSync(join(dir, 'stepfunctions', 'executions'))).toHaveLength(2);
    } finally {
      await local.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('restarts', () => {
  /** Polls the history until an event of this type shows up (the run is in the background). */
  async function untilEvent(executionArn: string, type: string): Promise<HistoryEvent> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const found = (await history(executionArn)).find((e) => e.type === type);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${type} in ${executionArn}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** A lambda:invoke task function that never answers until the test lets it, to stop the emulator mid-task. */
  function blockingFunction(name: string): {
    calls: unknown[];
    release: (value: unknown) => void;
    untilCalls: (n: number) => Promise<void>;
  } {
    const calls: unknown[] = [];
    let release: (value: unknown) => void = () => undefined;
    functions[name] = (payload) => {
      calls.push(payload);
      return new Promise((resolve) => {
        release = resolve;
      });
    };
    const untilCalls = async (n: number) => {
      const deadline = Date.now() + 5_000;
      while (calls.length < n) {
        if (Date.now() > deadline) throw new Error(`${name} was called ${calls.length} times, not ${n}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    return { calls, release: (value) => release(value), untilCalls };
  }

  it('keeps closed executions and their history across a restart', async () => {
    // Prepare
    const doneArn = await createMachine({ StartAt: 'A', States: { A: { Type: 'Pass', Result: { kept: true }, End: true } } }, 'restart-done');
    const done = await runToEnd(doneArn, { n: 1 }, 'before-restart');
    const historyBefore = await history(done.executionArn as string);
    await emulator.close();

    // Act
    emulator = startEmulator(dataDir);

    // Assess
    const after = await sfn.send(new DescribeExecutionCommand({ executionArn: done.executionArn }));
    expect(after).toMatchObject({ status: 'SUCCEEDED', output: '{"kept":true}', name: 'before-restart' });
    expect(after.stopDate?.getTime()).toBe(done.stopDate?.getTime());
    expect(await history(done.executionArn as string)).toEqual(historyBefore);
    const ranWith = await sfn.send(new DescribeStateMachineForExecutionCommand({ executionArn: done.executionArn }));
    expect(JSON.parse(ranWith.definition as string)).toEqual({ StartAt: 'A', States: { A: { Type: 'Pass', Result: { kept: true }, End: true } } });
    const rerun = await runToEnd(doneArn, { n: 2 });
    expect(rerun.status).toBe('SUCCEEDED');
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: doneArn }));
    expect(listed.executions?.map((e) => e.executionArn)).toEqual([rerun.executionArn, done.executionArn]);
  });

  it('resumes an interrupted task with the input its state was entered with, and records the resume', async () => {
    // Prepare: Prepare (Pass) -> Call (blocks) -> Report (reads $$.Execution.Input)
    const blocked = blockingFunction('resume-me');
    const arn = await createMachine(
      {
        StartAt: 'Prepare',
        States: {
          Prepare: { Type: 'Pass', Parameters: { 'doubled.$': 'States.MathAdd($.n, $.n)' }, Next: 'Call' },
          Call: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { FunctionName: 'resume-me', 'Payload.$': '$' },
            ResultSelector: { 'answer.$': '$.Payload' },
            ResultPath: '$.call',
            Next: 'Report',
          },
          Report: { Type: 'Pass', Parameters: { 'call.$': '$.call', 'original.$': '$$.Execution.Input' }, End: true },
        },
      },
      'restart-task',
    );
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'mid-task', input: '{"n":21}' }));
    await blocked.untilCalls(1);
    await emulator.close();

    // Act
    emulator = startEmulator(dataDir);
    await blocked.untilCalls(2);
    blocked.release('done');
    const closed = await waitClosed(executionArn as string);

    // Assess
    expect(blocked.calls).toEqual([{ doubled: 42 }, { doubled: 42 }]);
    expect(closed.status).toBe('SUCCEEDED');
    expect(JSON.parse(closed.output as string)).toEqual({ call: { answer: 'done' }, original: { n: 21 } });
    const events = await history(executionArn as string);
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'LocalExecutionResumed',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    const reentered = events[7]?.stateEnteredEventDetails;
    expect(reentered).toMatchObject({ name: 'Call' });
    expect(JSON.parse(reentered?.input as string)).toEqual({ doubled: 42 });
  });

  it('re-sends the identical request, $$.State.EnteredTime included, for a task whose success the restart lost', async () => {
    // Prepare: the first send never answers (the process "dies" with the transaction committed); the second does
    const sent: unknown[] = [];
    const commit: CallIntegration = async (service, action, parameters) => {
      sent.push({ service, action, parameters });
      if (sent.length === 1) await new Promise(() => undefined);
      return {};
    };
    await emulator.close();
    emulator = startEmulator(dataDir, { callIntegration: commit });
    const arn = await createMachine(
      {
        StartAt: 'Commit',
        States: {
          Commit: {
            Type: 'Task',
            Resource: 'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems',
            Parameters: {
              'ClientRequestToken.$': '$.operationId',
              TransactItems: [{ Put: { TableName: TABLE, Item: { pk: { 'S.$': '$.operationId' }, at: { 'S.$': '$$.State.EnteredTime' } } } }],
            },
            End: true,
          },
        },
      },
      'restart-commit',
    );
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'lost-success', input: '{"operationId":"op-1"}' }));
    await untilEvent(executionArn as string, 'TaskStarted');
    await new Promise((r) => setTimeout(r, 30)); // a new entry now would have a later EnteredTime
    await emulator.close();

    // Act
    emulator = startEmulator(dataDir, { callIntegration: commit });
    const closed = await waitClosed(executionArn as string);

    // Assess
    expect(closed.status).toBe('SUCCEEDED');
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(sent[0]);
  });

  it('waits only for what is left of a Wait state that a restart interrupted', async () => {
    // Prepare
    const arn = await createMachine(
      { StartAt: 'Hold', States: { Hold: { Type: 'Wait', Seconds: 1, Next: 'After' }, After: { Type: 'Pass', End: true } } },
      'restart-wait',
    );
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'mid-wait', input: '{"kept":1}' }));
    const entered = await untilEvent(executionArn as string, 'WaitStateEntered');
    await emulator.close();
    await new Promise((r) => setTimeout(r, 1_100)); // the wait is over while the emulator is down

    // Act
    emulator = startEmulator(dataDir);
    const closed = await waitClosed(executionArn as string);

    // Assess: a full second wait after the restart would end at least 2.1 s after the first entry
    expect(closed).toMatchObject({ status: 'SUCCEEDED', output: '{"kept":1}' });
    const waited = (closed.stopDate?.getTime() ?? 0) - (entered.timestamp?.getTime() ?? 0);
    expect(waited).toBeGreaterThanOrEqual(1_000);
    expect(waited).toBeLessThan(2_000);
  });

  it('times out an execution whose TimeoutSeconds ran out while the emulator was down', async () => {
    // Prepare
    const arn = await createMachine({ TimeoutSeconds: 1, StartAt: 'Hold', States: { Hold: { Type: 'Wait', Seconds: 60, End: true } } }, 'restart-timeout');
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'expires-while-down', input: '{}' }));
    await untilEvent(executionArn as string, 'WaitStateEntered');
    await emulator.close();
    await new Promise((r) => setTimeout(r, 1_100));

    // Act
    emulator = startEmulator(dataDir);
    const closed = await waitClosed(executionArn as string);

    // Assess
    expect(closed).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
  });

  it('fails an execution whose Map state had tasks in flight, saying why it could not be resumed', async () => {
    // Prepare
    const item = blockingFunction('map-item');
    const arn = await createMachine(
      {
        StartAt: 'Each',
        States: {
          Each: {
            Type: 'Map',
            ItemsPath: '$.items',
            ItemProcessor: {
              StartAt: 'Item',
              States: { Item: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'map-item', 'Payload.$': '$' }, End: true } },
            },
            End: true,
          },
        },
      },
      'restart-map',
    );
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'mid-map', input: '{"items":[1]}' }));
    await item.untilCalls(1);
    await emulator.close();

    // Act
    emulator = startEmulator(dataDir);
    const closed = await waitClosed(executionArn as string);

    // Assess
    expect(closed).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(closed.cause).toBe("local stack restarted during execution; it could not be resumed: the Map state 'Each' had Task states in flight");
    const types = (await history(executionArn as string)).map((e) => e.type);
    expect(types.at(-1)).toBe('ExecutionFailed');
    expect(types).not.toContain('LocalExecutionResumed');
  });

  it("fails every interrupted execution instead of resuming it with onRestart: 'fail'", async () => {
    // Prepare
    const holdArn = await createMachine({ StartAt: 'Hold', States: { Hold: { Type: 'Wait', Seconds: 60, End: true } } }, 'restart-hold');
    const { executionArn: runningArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: holdArn, name: 'interrupted', input: '{}' }));
    await untilEvent(runningArn as string, 'WaitStateEntered');
    await emulator.close();

    // Act
    emulator = createStepFunctionsEmulator({ dataDir, region: REGION, accountId: ACCOUNT, endpoint: () => endpoint, invokeLambda, onRestart: 'fail' });
    harness.setService(emulator.service);
    const interrupted = await waitClosed(runningArn as string);

    // Assess
    expect(interrupted).toMatchObject({ status: 'FAILED', error: 'States.Runtime', cause: 'local stack restarted during execution' });
    const interruptedHistory = await history(runningArn as string);
    expect(interruptedHistory.map((e) => e.type)).toEqual(['ExecutionStarted', 'WaitStateEntered', 'ExecutionFailed']);
    expect(interruptedHistory[2]?.executionFailedEventDetails).toEqual({ error: 'States.Runtime', cause: 'local stack restarted during execution' });
  });

  it('holds interrupted executions RUNNING until resumeInterrupted() when resuming is deferred', async () => {
    // Prepare
    const holdArn = await createMachine({ StartAt: 'Hold2', States: { Hold2: { Type: 'Wait', Seconds: 60, Next: 'Then' }, Then: { Type: 'Pass', End: true } } }, 'restart-deferred-hold');
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: holdArn, name: 'deferred', input: '{}' }));
    await untilEvent(executionArn as string, 'WaitStateEntered');
    await emulator.close();

    // Act
    emulator = createStepFunctionsEmulator({ dataDir, region: REGION, accountId: ACCOUNT, endpoint: () => endpoint, invokeLambda, deferResume: true });
    harness.setService(emulator.service);
    await new Promise((r) => setTimeout(r, 50));
    const before = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const typesBefore = (await history(executionArn as string)).map((e) => e.type);
    const outcomes = emulator.resumeInterrupted();
    const again = emulator.resumeInterrupted();
    await untilEvent(executionArn as string, 'LocalExecutionResumed');
    await sfn.send(new StopExecutionCommand({ executionArn }));

    // Assess
    expect(before.status).toBe('RUNNING');
    expect(typesBefore).toEqual(['ExecutionStarted', 'WaitStateEntered']);
    expect(outcomes).toEqual([{ executionArn, outcome: 'resumed' }]);
    expect(again).toEqual([]);
    const types = (await history(executionArn as string)).map((e) => e.type);
    expect(types).toEqual(['ExecutionStarted', 'WaitStateEntered', 'LocalExecutionResumed', 'WaitStateEntered', 'ExecutionAborted']);
  });
});
