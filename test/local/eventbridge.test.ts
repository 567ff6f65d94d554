/**
 * The local EventBridge through the real @aws-sdk/client-eventbridge against a loopback endpoint on port 0.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateArchiveCommand,
  CreateEventBusCommand,
  DeleteRuleCommand,
  DescribeArchiveCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  ListArchivesCommand,
  ListEventBusesCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TestEventPatternCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CREDENTIAL_EVENTS_PATTERN } from '../../lambdas/shared/contract/events';
import { EVENT_SOURCE } from '../../lambdas/shared/contract/names';
import { createAwsEndpoint } from '../../infra/local/aws/endpoint';
import { createLocalEventBridge, type LocalEventBridge, type PublishedEvent } from '../../infra/local/aws/eventbridge';
import { createLocalLambda, functionArn } from '../../infra/local/aws/lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../infra/local/aws/types';

const BUS = 'devaccess-test-bus';
const BUS_ARN = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:event-bus/${BUS}`;
const LOG_GROUP_ARN = (name: string) => `arn:aws:logs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:log-group:${name}`;

const received: unknown[] = [];
let failAuditOnce = false;
const lambda = createLocalLambda({
  region: LOCAL_REGION,
  accountId: LOCAL_ACCOUNT_ID,
  functions: [
    {
      name: 'audit',
      arn: functionArn('audit', LOCAL_REGION, LOCAL_ACCOUNT_ID),
      load: async () => ({
        handler: async (event: unknown) => {
          if (failAuditOnce) {
            failAuditOnce = false;
            throw new Error('transient');
          }
          received.push(event);
        },
      }),
    },
  ],
});

interface Stack {
  dataDir: string;
  bridge: LocalEventBridge;
  server: Server;
  client: EventBridgeClient;
  warnings: string[];
}

async function startStack(dataDir: string, options: { strictEventBus?: boolean } = {}): Promise<Stack> {
  const warnings: string[] = [];
  const bridge = await createLocalEventBridge({
    dataDir,
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    lambda,
    lambdaRetryDelaysMs: [5],
    warn: (m) => warnings.push(m),
    ...options,
  });
  const endpoint = createAwsEndpoint({ services: [bridge.service], region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID });
  const server = createServer((req, res) => {
    void endpoint(req, res, new URL(req.url ?? '/', 'http://localhost')).then((handled) => {
      if (!handled) {
        res.statusCode = 404;
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new EventBridgeClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  return { dataDir, bridge, server, client, warnings };
}

async function stopStack(stack: Stack): Promise<void> {
  stack.client.destroy();
  stack.server.closeAllConnections();
  await new Promise<void>((resolve) => stack.server.close(() => resolve()));
  await stack.bridge.close();
}

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function credentialEntry(detailType: string, detail: Record<string, unknown>, bus = BUS): PutEventsRequestEntry {
  return { EventBusName: bus, Source: EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail) };
}

async function readJsonLines(path: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('local EventBridge', () => {
  let stack: Stack;
  beforeEach(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'devaccess-events-'));
    dirs.push(dir);
    stack = await startStack(dir);
    received.length = 0;
    await stack.client.send(new CreateEventBusCommand({ Name: BUS }));
    await stack.client.send(
      new CreateArchiveCommand({
        ArchiveName: 'audit-archive',
        EventSourceArn: BUS_ARN,
        EventPattern: JSON.stringify(CREDENTIAL_EVENTS_PATTERN),
      }),
    );
  });
  afterEach(async () => {
    await stopStack(stack);
  });

  it('creates, describes and lists event buses, with the default bus always there', async () => {
    // Act
    const described = await stack.client.send(new DescribeEventBusCommand({ Name: BUS }));
    const listed = await stack.client.send(new ListEventBusesCommand({}));
    const again = await stack.client.send(new CreateEventBusCommand({ Name: BUS })).catch((err: unknown) => err);

    // Assess
    expect(described.Arn).toBe(BUS_ARN);
    expect(described.CreationTime).toBeInstanceOf(Date);
    expect(listed.EventBuses?.map((b) => b.Name)).toEqual(['default', BUS]);
    expect((again as Error).name).toBe('ResourceAlreadyExistsException');
    expect((again as Error).message).toBe(`Event bus ${BUS} already exists.`);
  });

  it('archives an accepted event as an EventBridge envelope whose id is the returned EventId', async () => {
    // Act
    const out = await stack.client.send(
      new PutEventsCommand({
        Entries: [credentialEntry('CredentialCreated', { userId: 'u-1', clientId: 'c-1' })],
      }),
    );

    // Assess
    expect(out.FailedEntryCount).toBe(0);
    const lines = await readJsonLines(stack.bridge.archivePath);
    expect(lines).toEqual([
      {
        version: '0',
        id: out.Entries?.[0]?.EventId,
        'detail-type': 'CredentialCreated',
        source: EVENT_SOURCE,
        account: LOCAL_ACCOUNT_ID,
        time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
        region: LOCAL_REGION,
        resources: [],
        detail: { userId: 'u-1', clientId: 'c-1' },
      },
    ]);
    const archive = await stack.client.send(new DescribeArchiveCommand({ ArchiveName: 'audit-archive' }));
    expect(archive.EventCount).toBe(1);
    expect(archive.EventSourceArn).toBe(BUS_ARN);
  });

  it('fails only the bad entries of a request and reports them in order', async () => {
    // Act
    const out = await stack.client.send(
      new PutEventsCommand({
        Entries: [
          credentialEntry('CredentialCreated', { userId: 'u-1', clientId: 'c-1' }),
          { EventBusName: BUS, Source: EVENT_SOURCE, DetailType: 'CredentialRevoked', Detail: '[1,2]' },
          { EventBusName: BUS, Source: EVENT_SOURCE, Detail: '{}' },
          { EventBusName: BUS, Source: EVENT_SOURCE, DetailType: 'CredentialRevoked', Detail: '{"oops"' },
          credentialEntry('CredentialRevoked', { userId: 'u-1', clientId: 'c-1' }),
        ],
      }),
    );

    // Assess
    expect(out.FailedEntryCount).toBe(3);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ok', 'MalformedDetail', 'InvalidArgument', 'MalformedDetail', 'ok']);
    expect(out.Entries?.[2]?.ErrorMessage).toBe('Parameter DetailType is not valid. Reason: DetailType is a required argument.');
    const lines = await readJsonLines(stack.bridge.archivePath);
    expect(lines.map((l) => l['id'])).toEqual([out.Entries?.[0]?.EventId, out.Entries?.[4]?.EventId]);
  });

  it('refuses more than 10 entries, and entries over 256 KB in total, as a whole request', async () => {
    // Act
    const tooMany = await stack.client
      .send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => credentialEntry('CredentialCreated', {})) }))
      .catch((err: unknown) => err);
    const tooBig = await stack.client
      .send(
        new PutEventsCommand({
          Entries: [credentialEntry('CredentialCreated', { pad: 'x'.repeat(140 * 1024) }), credentialEntry('CredentialCreated', { pad: 'y'.repeat(120 * 1024) })],
        }),
      )
      .catch((err: unknown) => err);

    // Assess
    expect((tooMany as Error).name).toBe('ValidationException');
    expect((tooBig as Error).name).toBe('ValidationException');
    expect((tooBig as Error).message).toBe('Total size of the entries in the request is over the limit.');
    expect(await readJsonLines(stack.bridge.archivePath)).toEqual([]);
  });

  it('archives only what the archive pattern selects', async () => {
    // Act
    await stack.client.send(
      new PutEventsCommand({
        Entries: [
          credentialEntry('UserProvisioned', { userId: 'u-1', username: 'ada' }),
          credentialEntry('CredentialReset', { userId: 'u-1', clientId: 'c-2', previousClientId: 'c-1' }),
        ],
      }),
    );

    // Assess
    const lines = await readJsonLines(stack.bridge.archivePath);
    expect(lines.map((l) => l['detail-type'])).toEqual(['CredentialReset']);
  });

  it('accepts and drops an event for a bus that does not exist, as AWS does, and says so', async () => {
    // Prepare
    const seen: PublishedEvent[] = [];
    stack.bridge.onEvent((e) => seen.push(e));

    // Act
    const out = await stack.client.send(
      new PutEventsCommand({ Entries: [credentialEntry('CredentialCreated', { userId: 'u' }, 'no-such-bus')] }),
    );

    // Assess
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries?.[0]?.EventId).toBeTruthy();
    expect(seen).toEqual([]);
    expect(await readJsonLines(stack.bridge.archivePath)).toEqual([]);
    expect(stack.warnings.some((w) => w.includes('no-such-bus'))).toBe(true);
  });

  it('fails an entry for a missing bus when started strict', async () => {
    // Prepare
    await stopStack(stack);
    stack = await startStack(stack.dataDir, { strictEventBus: true });

    // Act
    const out = await stack.client.send(
      new PutEventsCommand({ Entries: [credentialEntry('CredentialCreated', { userId: 'u' }, 'no-such-bus')] }),
    );

    // Assess
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[0]?.ErrorMessage).toBe('Event bus no-such-bus does not exist.');
  });

  it('delivers matching events to a log group file and a Lambda function, and nothing else', async () => {
    // Prepare
    await stack.client.send(
      new PutRuleCommand({ Name: 'resets', EventBusName: BUS, EventPattern: JSON.stringify({ 'detail-type': ['CredentialReset'] }) }),
    );
    await stack.client.send(
      new PutTargetsCommand({
        Rule: 'resets',
        EventBusName: BUS,
        Targets: [
          { Id: 'log', Arn: LOG_GROUP_ARN('/aws/events/devaccess-audit') },
          { Id: 'fn', Arn: functionArn('audit', LOCAL_REGION, LOCAL_ACCOUNT_ID), InputPath: '$.detail' },
        ],
      }),
    );

    // Act
    await stack.client.send(
      new PutEventsCommand({
        Entries: [
          credentialEntry('CredentialCreated', { userId: 'u-1', clientId: 'c-1' }),
          credentialEntry('CredentialReset', { userId: 'u-1', clientId: 'c-2', previousClientId: 'c-1' }),
        ],
      }),
    );
    await stack.bridge.whenIdle();

    // Assess
    const logged = await readJsonLines(join(stack.dataDir, 'logs', 'aws', 'events', 'devaccess-audit.jsonl'));
    expect(logged.map((e) => e['detail-type'])).toEqual(['CredentialReset']);
    expect(received).toEqual([{ userId: 'u-1', clientId: 'c-2', previousClientId: 'c-1' }]);
  });

  it('retries a Lambda target whose invocation failed', async () => {
    // Prepare
    await stack.client.send(new PutRuleCommand({ Name: 'all', EventBusName: BUS, EventPattern: JSON.stringify({ source: [EVENT_SOURCE] }) }));
    await stack.client.send(
      new PutTargetsCommand({ Rule: 'all', EventBusName: BUS, Targets: [{ Id: 'fn', Arn: functionArn('audit', LOCAL_REGION, LOCAL_ACCOUNT_ID) }] }),
    );
    failAuditOnce = true;

    // Act
    await stack.client.send(new PutEventsCommand({ Entries: [credentialEntry('CredentialRevoked', { userId: 'u-9' })] }));
    await stack.bridge.whenIdle();

    // Assess
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ detail: { userId: 'u-9' } });
  });

  it('skips a disabled rule', async () => {
    // Prepare
    await stack.client.send(
      new PutRuleCommand({ Name: 'off', EventBusName: BUS, EventPattern: JSON.stringify({ source: [EVENT_SOURCE] }), State: 'DISABLED' }),
    );
    await stack.client.send(new PutTargetsCommand({ Rule: 'off', EventBusName: BUS, Targets: [{ Id: 'log', Arn: LOG_GROUP_ARN('off') }] }));

    // Act
    await stack.client.send(new PutEventsCommand({ Entries: [credentialEntry('CredentialCreated', {})] }));
    await stack.bridge.whenIdle();

    // Assess
    expect(await readJsonLines(join(stack.dataDir, 'logs', 'off.jsonl'))).toEqual([]);
  });

  it('describes, lists and deletes rules the way the API reference says', async () => {
    // Prepare
    const pattern = JSON.stringify(CREDENTIAL_EVENTS_PATTERN);
    const put = await stack.client.send(new PutRuleCommand({ Name: 'audit', EventBusName: BUS, EventPattern: pattern }));
    await stack.client.send(new PutTargetsCommand({ Rule: 'audit', EventBusName: BUS, Targets: [{ Id: 'log', Arn: LOG_GROUP_ARN('audit') }] }));

    // Act
    const described = await stack.client.send(new DescribeRuleCommand({ Name: 'audit', EventBusName: BUS }));
    const listed = await stack.client.send(new ListRulesCommand({ EventBusName: BUS, NamePrefix: 'au' }));
    const blocked = await stack.client.send(new DeleteRuleCommand({ Name: 'audit', EventBusName: BUS })).catch((err: unknown) => err);
    await stack.client.send(new RemoveTargetsCommand({ Rule: 'audit', EventBusName: BUS, Ids: ['log'] }));
    await stack.client.send(new DeleteRuleCommand({ Name: 'audit', EventBusName: BUS }));
    const missing = await stack.client.send(new DescribeRuleCommand({ Name: 'audit', EventBusName: BUS })).catch((err: unknown) => err);

    // Assess
    expect(put.RuleArn).toBe(`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:rule/${BUS}/audit`);
    expect(described).toMatchObject({ Name: 'audit', Arn: put.RuleArn, EventPattern: pattern, State: 'ENABLED', EventBusName: BUS });
    expect(listed.Rules?.map((r) => r.Name)).toEqual(['audit']);
    expect((blocked as Error).name).toBe('ValidationException');
    expect((blocked as Error).message).toBe("Rule can't be deleted since it has targets.");
    expect((missing as Error).name).toBe('ResourceNotFoundException');
    expect((missing as Error).message).toBe(`Rule audit does not exist on EventBus ${BUS}.`);
  });

  it('refuses an invalid event pattern with InvalidEventPatternException', async () => {
    // Act
    const failure = await stack.client
      .send(new PutRuleCommand({ Name: 'bad', EventBusName: BUS, EventPattern: JSON.stringify({ source: [] }) }))
      .catch((err: unknown) => err);

    // Assess
    expect((failure as Error).name).toBe('InvalidEventPatternException');
    expect((failure as Error).message).toBe('Event pattern is not valid. Reason: Empty arrays are not allowed');
  });

  it('reports targets it cannot deliver to as failed entries and keeps the others', async () => {
    // Prepare
    await stack.client.send(new PutRuleCommand({ Name: 'r', EventBusName: BUS, EventPattern: '{"source":["x"]}' }));

    // Act
    const out = await stack.client.send(
      new PutTargetsCommand({
        Rule: 'r',
        EventBusName: BUS,
        Targets: [
          { Id: 'queue', Arn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:q` },
          { Id: 'log', Arn: LOG_GROUP_ARN('r') },
        ],
      }),
    );
    const targets = await stack.client.send(new ListTargetsByRuleCommand({ Rule: 'r', EventBusName: BUS }));
    const tooMany = await stack.client
      .send(
        new PutTargetsCommand({
          Rule: 'r',
          EventBusName: BUS,
          Targets: ['a', 'b', 'c', 'd', 'e'].map((id) => ({ Id: id, Arn: LOG_GROUP_ARN(id) })),
        }),
      )
      .catch((err: unknown) => err);

    // Assess
    expect(out.FailedEntryCount).toBe(1);
    expect(out.FailedEntries?.[0]?.TargetId).toBe('queue');
    expect(targets.Targets?.map((t) => t.Id)).toEqual(['log']);
    expect((tooMany as Error).name).toBe('LimitExceededException');
  });

  it('keeps buses, rules, targets and archives across a restart, and delivers after it', async () => {
    // Prepare
    await stack.client.send(new PutRuleCommand({ Name: 'kept', EventBusName: BUS, EventPattern: '{"detail-type":["CredentialRevoked"]}' }));
    await stack.client.send(new PutTargetsCommand({ Rule: 'kept', EventBusName: BUS, Targets: [{ Id: 'log', Arn: LOG_GROUP_ARN('kept') }] }));
    await stack.client.send(new PutEventsCommand({ Entries: [credentialEntry('CredentialRevoked', { n: 1 })] }));
    await stopStack(stack);

    // Act
    stack = await startStack(stack.dataDir);
    const rule = await stack.client.send(new DescribeRuleCommand({ Name: 'kept', EventBusName: BUS }));
    const archives = await stack.client.send(new ListArchivesCommand({ EventSourceArn: BUS_ARN }));
    await stack.client.send(new PutEventsCommand({ Entries: [credentialEntry('CredentialRevoked', { n: 2 })] }));
    await stack.bridge.whenIdle();

    // Assess
    expect(rule.EventPattern).toBe('{"detail-type":["CredentialRevoked"]}');
    expect(archives.Archives?.map((a) => [a.ArchiveName, a.EventCount])).toEqual([['audit-archive', 1]]);
    const logged = await readJsonLines(join(stack.dataDir, 'logs', 'kept.jsonl'));
    expect(logged.map((e) => (e['detail'] as { n: number }).n)).toEqual([1, 2]);
    expect((await readJsonLines(stack.bridge.archivePath)).length).toBe(2);
  });

  it('answers TestEventPattern with the matcher the rules use', async () => {
    // Prepare
    const event = JSON.stringify({
      id: '1',
      account: LOCAL_ACCOUNT_ID,
      source: EVENT_SOURCE,
      time: '2026-12-04T00:00:00Z',
      region: LOCAL_REGION,
      resources: [],
      'detail-type': 'CredentialReset',
      detail: {},
    });

    // Act
    const yes = await stack.client.send(new TestEventPatternCommand({ EventPattern: JSON.stringify(CREDENTIAL_EVENTS_PATTERN), Event: event }));
    const no = await stack.client.send(new TestEventPatternCommand({ EventPattern: '{"detail-type":["UserProvisioned"]}', Event: event }));

    // Assess
    expect(yes.Result).toBe(true);
    expect(no.Result).toBe(false);
  });

  it('tells in-process subscribers about every accepted event', async () => {
    // Prepare
    const seen: PublishedEvent[] = [];
    const unsubscribe = stack.bridge.onEvent((e) => seen.push(e));

    // Act
    await stack.client.send(new PutEventsCommand({ Entries: [credentialEntry('UserProvisioned', { userId: 'u-1' })] }));
    unsubscribe();
    await stack.client.send(new PutEventsCommand({ Entries: [credentialEntry('UserProvisioned', { userId: 'u-2' })] }));

    // Assess
    expect(seen.map((e) => [e.eventBusName, e.event['detail-type'], e.event.detail['userId']])).toEqual([
      [BUS, 'UserProvisioned', 'u-1'],
    ]);
  });
});
