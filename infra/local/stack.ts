/**
 * The one-machine stack: one process, one port. It serves
 * - `/v1/...`: the API, through the local API gateway (Cognito-authorizer semantics) and the same handlers;
 * - `POST /` with `X-Amz-Target`: the AWS endpoint (DynamoDB by dynalite, Cognito, Step Functions, EventBridge)
 *   that the handlers reach through `AWS_ENDPOINT_URL`, plus Lambda's Invoke REST path;
 * - `/oauth2/*`, `/login`, `/<userPoolId>/.well-known/jwks.json`: Cognito's token endpoint and managed login.
 *
 * Resources are created from the same single source as the CDK stack (route table, names, scopes, events, state
 * machine definitions, pool settings), through the real AWS SDK against this endpoint, idempotently: a restart on
 * the same data directory finds them and keeps every user, credential, note, execution and event.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  CreateResourceServerCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  DescribeResourceServerCommand,
  ListUserPoolsCommand,
  paginateListUserPoolClients,
} from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateArchiveCommand,
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateStateMachineCommand,
  ListStateMachinesCommand,
  SFNClient,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { ALL_EVENTS_PATTERN, CREDENTIAL_EVENTS_PATTERN } from '../../lambdas/shared/contract/events';
import { FUNCTIONS, type FunctionName } from '../../lambdas/shared/contract/functions';
import {
  API_STAGE,
  DEFAULT_CLIENT_TOKEN_VALIDITY_MINUTES,
  DEFAULT_DEVELOPERS_GROUP,
  DEFAULT_MAX_CREDENTIALS_PER_USER,
  DEFAULT_SWEEP_GRACE_SECONDS,
  EVENT_SOURCE,
  RESOURCE_SCOPES,
  RESOURCE_SERVER_IDENTIFIER,
  RESOURCE_SERVER_NAME,
  STATE_MACHINES,
  TOKEN_PATH,
} from '../../lambdas/shared/contract/names';
import { NOTES_KEYS, TABLE_KEYS } from '../../lambdas/shared/contract/table';
import {
  AUTO_VERIFIED_ATTRIBUTES,
  DEFAULT_CORS_ORIGINS,
  PASSWORD_POLICY,
  SIGN_IN_ALIASES,
  UI_CLIENT,
  USER_POOL_NAME,
} from '../../lambdas/shared/contract/user-pool';
import type { ConfigKey } from '../../lambdas/shared/config';
import type { SweepReport } from '../../lambdas/sweeper/core';
import { loadDefinition } from '../../statemachines/load';
import { createCognitoEmulator, type CognitoEmulator } from './aws/cognito';
import { ensureTable, startDynamoDb, type LocalDynamoDb } from './aws/dynamodb';
import { createAwsEndpoint } from './aws/endpoint';
import { createLocalEventBridge, type LocalEventBridge } from './aws/eventbridge';
import {
  createLocalLambda,
  functionArn,
  functionsFromContract,
  payloadOrThrow,
  type InvokeResult,
  type LocalLambda,
} from './aws/lambda';
import { createStepFunctionsEmulator, type StepFunctionsEmulator } from './aws/stepfunctions';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, type HttpRoute } from './aws/types';
import { DEFAULT_DATA_DIR, ENDPOINTS_FILE, lockDataDir } from './datadir';
import { FaultInjector } from './faults';
import { writeFileAtomic } from './files';
import { createLocalGateway } from './gateway';
import type { LocalEndpoints } from './walkthrough';

/** Physical names of the local resources (on AWS, CloudFormation generates them). */
export const LOCAL_NAMES = {
  identityTable: 'devaccess-identity',
  notesTable: 'devaccess-notes',
  eventBus: 'devaccess-events',
  archive: 'devaccess-events-archive',
  auditRule: 'devaccess-credential-audit',
  auditLogGroup: 'devaccess-credential-audit',
  stateMachine: (name: string) => `devaccess-${name}`,
  function: (name: FunctionName) => `devaccess-${name}`,
} as const;

export interface LocalStackOptions {
  /** Port on 127.0.0.1; 0 picks a free one. @default 4000 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default '.local' */
  readonly dataDir?: string;
  /** Where the stack prints (confirmation codes, warnings). @default console.log */
  readonly log?: (line: string) => void;
  /** Cognito's app-client write quota per second, 0 for none. @default 5 (as on AWS) */
  readonly clientWriteRatePerSecond?: number;
  /** Replace every state machine Retry interval by this many ms (tests). @default as the definitions say */
  readonly retryIntervalMs?: number;
  /** @default DEFAULT_MAX_CREDENTIALS_PER_USER */
  readonly maxCredentialsPerUser?: number;
  /** Run the reconciliation sweeper every this many seconds (AWS: every 15 minutes); 0 turns it off. @default 60 */
  readonly sweepIntervalSeconds?: number;
  /** The sweeper's grace age (SWEEPER_GRACE_SECONDS); tests use 0. @default DEFAULT_SWEEP_GRACE_SECONDS */
  readonly sweepGraceSeconds?: number;
}

/** Default interval of the local sweeper, in seconds. */
export const DEFAULT_LOCAL_SWEEP_INTERVAL_SECONDS = 60;

export interface LocalStack {
  readonly endpoints: LocalEndpoints;
  readonly port: number;
  readonly cognito: CognitoEmulator;
  readonly stepFunctions: StepFunctionsEmulator;
  readonly eventBridge: LocalEventBridge;
  readonly lambda: LocalLambda;
  /** Fault injection: AWS calls (by service and action) and Lambda invokes (by function name). */
  readonly faults: FaultInjector;
  /** Runs the sweeper function once (as the interval does) and returns its report. */
  sweep(): Promise<SweepReport>;
  /** Stops serving, finishes pending writes and releases the data directory. */
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function notFound(res: ServerResponse): void {
  const body = JSON.stringify({ error: { code: 'not_found', message: 'Nothing is served here' } });
  res.writeHead(404, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const region = LOCAL_REGION;
  const accountId = LOCAL_ACCOUNT_ID;
  const log = options.log ?? ((line: string) => console.log(line));
  const lock = lockDataDir(options.dataDir ?? DEFAULT_DATA_DIR);
  const dataDir = lock.dataDir;
  const cleanups: (() => Promise<void> | void)[] = [() => lock.release()];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        log(`[local] shutdown step failed: ${(err as Error).message}`);
      }
    }
  };

  try {
    // One router, late-bound: the server must listen first (its port is part of every URL), the pieces that need
    // the user pool id come after the bootstrap.
    let routes: HttpRoute[] = [];
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? `${host}`}`);
      void (async () => {
        for (const route of routes) {
          if (await route(req, res, url)) return;
        }
        notFound(res);
      })().catch((err: unknown) => {
        log(`[local] request failed: ${(err as Error).stack ?? String(err)}`);
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'internal_error', message: 'Internal error' } }));
      });
    });
    server.keepAliveTimeout = 5_000;
    const port = await listen(server, options.port ?? 4000, host);
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const baseUrl = `http://${host}:${port}`;

    // Every AWS SDK client in this process (handlers, bootstrap, integration tasks) talks to this endpoint only.
    process.env['AWS_ENDPOINT_URL'] = baseUrl;
    process.env['AWS_REGION'] = region;
    process.env['AWS_ACCESS_KEY_ID'] = 'local';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'local';
    process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
    delete process.env['AWS_PROFILE'];
    delete process.env['AWS_SESSION_TOKEN'];

    // Consulted by the AWS endpoint and around every in-process invoke; inert until a test installs a fault.
    const faults = new FaultInjector();
    cleanups.push(() => faults.close());

    let lambda: LocalLambda | undefined;
    const invokeLambda = faults.wrapInvoke(async (nameOrArn: string, payload: unknown) => {
      if (!lambda) throw new Error('Lambda functions are not ready yet');
      return lambda.invoke(nameOrArn, payload);
    });

    const dynamodb: LocalDynamoDb = await startDynamoDb({ dataDir, region, accountId });
    cleanups.push(() => dynamodb.close());
    const cognito = await createCognitoEmulator({
      dataDir,
      region,
      accountId,
      baseUrl: () => baseUrl,
      log,
      ...(options.clientWriteRatePerSecond === undefined
        ? {}
        : { clientWriteRatePerSecond: options.clientWriteRatePerSecond }),
      invokeLambda: async (arn, event) => payloadOrThrow(await invokeLambda(arn, event)),
    });
    cleanups.push(() => cognito.flush());
    const stepFunctions = await createStepFunctionsEmulator({
      dataDir,
      region,
      accountId,
      endpoint: () => baseUrl,
      invokeLambda,
      ...(options.retryIntervalMs === undefined ? {} : { retryIntervalMs: options.retryIntervalMs }),
      onError: (message, err) => log(`[stepfunctions] ${message}: ${(err as Error).message}`),
      // Executions a crash interrupted call the handlers and this endpoint: they resume once both serve (below).
      deferResume: true,
    });
    cleanups.push(() => stepFunctions.close());
    const eventBridge = await createLocalEventBridge({
      dataDir,
      region,
      accountId,
      lambda: { invoke: (nameOrArn, payload) => invokeLambda(nameOrArn, payload) },
      warn: (message) => log(`[eventbridge] ${message}`),
    });
    cleanups.push(() => eventBridge.close());

    const lambdaRoute: HttpRoute = (req, res, url) => (lambda ? lambda.route(req, res, url) : Promise.resolve(false));
    const endpoint = createAwsEndpoint({
      services: [cognito.service, stepFunctions.service, eventBridge.service],
      dynamodb,
      routes: [lambdaRoute],
      region,
      accountId,
      onInternalError: (err, c) => log(`[aws-endpoint] ${c.target} failed: ${(err as Error).stack ?? String(err)}`),
      interceptor: faults,
    });
    routes = [endpoint, cognito.http];

    const resources = await bootstrap({
      baseUrl,
      region,
      dynamodb,
      maxCredentialsPerUser: options.maxCredentialsPerUser ?? DEFAULT_MAX_CREDENTIALS_PER_USER,
      accountId,
    });

    const tokenUrl = `${baseUrl}${TOKEN_PATH}`;
    const config: Partial<Record<ConfigKey, string>> = {
      AWS_REGION: region,
      IDENTITY_TABLE_NAME: LOCAL_NAMES.identityTable,
      NOTES_TABLE_NAME: LOCAL_NAMES.notesTable,
      USER_POOL_ID: resources.userPoolId,
      EVENT_BUS_NAME: LOCAL_NAMES.eventBus,
      CREDENTIAL_STATE_MACHINE_ARN: resources.stateMachineArns[STATE_MACHINES.credential] as string,
      DEVELOPERS_GROUP: DEFAULT_DEVELOPERS_GROUP,
      MAX_CREDENTIALS_PER_USER: String(options.maxCredentialsPerUser ?? DEFAULT_MAX_CREDENTIALS_PER_USER),
      CLIENT_TOKEN_VALIDITY_MINUTES: String(DEFAULT_CLIENT_TOKEN_VALIDITY_MINUTES),
      TOKEN_URL: tokenUrl,
      SWEEPER_GRACE_SECONDS: String(options.sweepGraceSeconds ?? DEFAULT_SWEEP_GRACE_SECONDS),
      CORS_ALLOWED_ORIGINS: DEFAULT_CORS_ORIGINS.join(','),
      RESOURCE_SERVER_IDENTIFIER,
    };
    lambda = createLocalLambda({
      region,
      accountId,
      functions: functionsFromContract({
        region,
        accountId,
        nameOf: LOCAL_NAMES.function,
        // Exactly the variables the CDK stack gives each function (FunctionDef.config).
        envOf: (fn) =>
          Object.fromEntries(
            FUNCTIONS[fn].config.flatMap((key) => (config[key] === undefined ? [] : [[key, config[key]]])),
          ),
      }),
    });

    const gateway = createLocalGateway({
      region,
      userPoolId: resources.userPoolId,
      jwks: () => ({ keys: cognito.jwks().keys.map((key) => ({ ...key })) }),
      corsOrigins: DEFAULT_CORS_ORIGINS,
      invoke: async (fn, event) =>
        payloadOrThrow(await invokeLambda(LOCAL_NAMES.function(fn), event)) as APIGatewayProxyResult,
    });
    routes = [gateway, endpoint, cognito.http];
    const resumed = stepFunctions.resumeInterrupted();
    if (resumed.length > 0) {
      const failed = resumed.filter((r) => r.outcome === 'failed').length;
      log(`[stepfunctions] ${resumed.length - failed} execution(s) interrupted by the last stop resumed, ${failed} failed`);
    }

    const endpoints: LocalEndpoints = {
      apiUrl: `${baseUrl}/${API_STAGE}`,
      awsEndpoint: baseUrl,
      region,
      userPoolId: resources.userPoolId,
      uiClientId: resources.uiClientId,
      developersGroup: DEFAULT_DEVELOPERS_GROUP,
      resourceServer: RESOURCE_SERVER_IDENTIFIER,
      tokenUrl,
      jwksUrl: `${baseUrl}/${resources.userPoolId}/.well-known/jwks.json`,
      issuer: cognito.issuer(resources.userPoolId),
      eventBusName: LOCAL_NAMES.eventBus,
      tableName: LOCAL_NAMES.identityTable,
      notesTableName: LOCAL_NAMES.notesTable,
      stateMachineArns: resources.stateMachineArns,
      dataDir,
    };
    await writeFileAtomic(join(dataDir, ENDPOINTS_FILE), `${JSON.stringify(endpoints, null, 2)}\n`);

    const sweeper = startSweeper({
      invoke: () => invokeLambda(LOCAL_NAMES.function('sweeper'), scheduledEvent(region, accountId)),
      intervalSeconds: options.sweepIntervalSeconds ?? DEFAULT_LOCAL_SWEEP_INTERVAL_SECONDS,
      log,
    });
    // Registered last, so it runs first: no sweep may be in flight while the services shut down.
    cleanups.push(() => sweeper.stop());

    let closed: Promise<void> | undefined;
    return {
      endpoints,
      port,
      cognito,
      stepFunctions,
      eventBridge,
      lambda,
      faults,
      sweep: () => sweeper.runOnce(),
      close: () => (closed ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The event a scheduled EventBridge rule sends (the sweeper ignores its content). */
function scheduledEvent(region: string, accountId: string): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: accountId,
    time: new Date().toISOString(),
    region,
    resources: [`arn:aws:events:${region}:${accountId}:rule/${LOCAL_NAMES.function('sweeper')}-schedule`],
    detail: {},
  };
}

/**
 * The local stand-in for the scheduled rule: one sweep at a time (an interval tick while a sweep runs is
 * skipped), a line in the stack's log when a sweep changed something, and a stop that waits for a running sweep.
 */
function startSweeper(opts: {
  invoke: () => Promise<InvokeResult>;
  intervalSeconds: number;
  log: (line: string) => void;
}): { runOnce(): Promise<SweepReport>; stop(): Promise<void> } {
  let running: Promise<SweepReport> | undefined;
  let stopped = false;
  const runOnce = (): Promise<SweepReport> => {
    if (stopped) return Promise.reject(new Error('The local stack is closed'));
    running ??= (async () => {
      try {
        return payloadOrThrow(await opts.invoke()) as SweepReport;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer =
    opts.intervalSeconds > 0
      ? setInterval(() => {
          if (running) return;
          runOnce().then(
            (report) => {
              const changed =
                report.deleted.length + report.revokedMappings.length + report.republishedEvents.length + report.provisionedUsers.length;
              if (changed > 0) {
                opts.log(
                  `[sweeper] deleted ${report.deleted.length} orphaned credential client(s), ` +
                    `marked ${report.revokedMappings.length} credential(s) without a client revoked, ` +
                    `published ${report.republishedEvents.length} event(s) a run could not, ` +
                    `provisioned ${report.provisionedUsers.length} confirmed user(s)`,
                );
              }
            },
            (err: unknown) => opts.log(`[sweeper] run failed: ${(err as Error).name}: ${(err as Error).message}`),
          );
        }, opts.intervalSeconds * 1000)
      : undefined;
  timer?.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}

interface BootstrapResult {
  readonly userPoolId: string;
  readonly uiClientId: string;
  readonly stateMachineArns: Record<string, string>;
}

/** Creates (or finds) every resource through the AWS SDK against the local endpoint. Idempotent. */
async function bootstrap(opts: {
  baseUrl: string;
  region: string;
  accountId: string;
  dynamodb: LocalDynamoDb;
  maxCredentialsPerUser: number;
}): Promise<BootstrapResult> {
  const clientConfig = {
    endpoint: opts.baseUrl,
    region: opts.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const cognito = new CognitoIdentityProviderClient(clientConfig);
  const dynamo = new DynamoDBClient(clientConfig);
  const events = new EventBridgeClient(clientConfig);
  const sfn = new SFNClient(clientConfig);
  try {
    // Both tables: string partition and sort keys named by the contract, on-demand (as in the CDK stack).
    for (const [TableName, keys] of [
      [LOCAL_NAMES.identityTable, TABLE_KEYS],
      [LOCAL_NAMES.notesTable, NOTES_KEYS],
    ] as const) {
      await ensureTable(dynamo, {
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: keys.partition, AttributeType: 'S' },
          { AttributeName: keys.sort, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: keys.partition, KeyType: 'HASH' },
          { AttributeName: keys.sort, KeyType: 'RANGE' },
        ],
      });
    }

    // User pool, found by name on a restart.
    const pools = await cognito.send(new ListUserPoolsCommand({ MaxResults: 60 }));
    let userPoolId = pools.UserPools?.find((p) => p.Name === USER_POOL_NAME)?.Id;
    if (!userPoolId) {
      const created = await cognito.send(
        new CreateUserPoolCommand({
          PoolName: USER_POOL_NAME,
          AliasAttributes: [...SIGN_IN_ALIASES],
          AutoVerifiedAttributes: [...AUTO_VERIFIED_ATTRIBUTES],
          UsernameConfiguration: { CaseSensitive: false },
          Policies: {
            PasswordPolicy: {
              MinimumLength: PASSWORD_POLICY.minLength,
              RequireLowercase: PASSWORD_POLICY.requireLowercase,
              RequireUppercase: PASSWORD_POLICY.requireUppercase,
              RequireNumbers: PASSWORD_POLICY.requireDigits,
              RequireSymbols: PASSWORD_POLICY.requireSymbols,
              TemporaryPasswordValidityDays: PASSWORD_POLICY.temporaryPasswordValidityDays,
            },
          },
          Schema: [{ Name: 'email', AttributeDataType: 'String', Required: true, Mutable: true }],
          LambdaConfig: {
            PostConfirmation: functionArn(LOCAL_NAMES.function('postConfirmation'), opts.region, opts.accountId),
          },
        }),
      );
      userPoolId = created.UserPool?.Id;
      if (!userPoolId) throw new Error('CreateUserPool returned no id');
    }

    try {
      await cognito.send(
        new CreateGroupCommand({
          UserPoolId: userPoolId,
          GroupName: DEFAULT_DEVELOPERS_GROUP,
          Description: 'Members may create API credentials',
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'GroupExistsException') throw err;
    }

    try {
      await cognito.send(
        new DescribeResourceServerCommand({ UserPoolId: userPoolId, Identifier: RESOURCE_SERVER_IDENTIFIER }),
      );
    } catch (err) {
      if ((err as Error).name !== 'ResourceNotFoundException') throw err;
      await cognito.send(
        new CreateResourceServerCommand({
          UserPoolId: userPoolId,
          Identifier: RESOURCE_SERVER_IDENTIFIER,
          Name: RESOURCE_SERVER_NAME,
          Scopes: Object.entries(RESOURCE_SCOPES).map(([ScopeName, ScopeDescription]) => ({
            ScopeName,
            ScopeDescription,
          })),
        }),
      );
    }

    let uiClientId: string | undefined;
    // Credential clients share the pool with the UI client, so it may be on any page of the listing.
    for await (const page of paginateListUserPoolClients({ client: cognito }, { UserPoolId: userPoolId, MaxResults: 60 })) {
      uiClientId = page.UserPoolClients?.find((c) => c.ClientName === UI_CLIENT.ClientName)?.ClientId;
      if (uiClientId) break;
    }
    if (!uiClientId) {
      const created = await cognito.send(
        // UI_CLIENT is in CreateUserPoolClient's own field names; the CDK UserDirectory maps the same object.
        new CreateUserPoolClientCommand({
          ...UI_CLIENT,
          UserPoolId: userPoolId,
          ExplicitAuthFlows: [...UI_CLIENT.ExplicitAuthFlows],
          AllowedOAuthFlows: [...UI_CLIENT.AllowedOAuthFlows],
          AllowedOAuthScopes: [...UI_CLIENT.AllowedOAuthScopes],
          CallbackURLs: [...UI_CLIENT.CallbackURLs],
          LogoutURLs: [...UI_CLIENT.LogoutURLs],
          SupportedIdentityProviders: [...UI_CLIENT.SupportedIdentityProviders],
        }),
      );
      uiClientId = created.UserPoolClient?.ClientId;
      if (!uiClientId) throw new Error('CreateUserPoolClient returned no id');
    }

    try {
      await events.send(new CreateEventBusCommand({ Name: LOCAL_NAMES.eventBus }));
    } catch (err) {
      if ((err as Error).name !== 'ResourceAlreadyExistsException') throw err;
    }
    const busArn = `arn:aws:events:${opts.region}:${opts.accountId}:event-bus/${LOCAL_NAMES.eventBus}`;
    try {
      await events.send(
        new CreateArchiveCommand({
          ArchiveName: LOCAL_NAMES.archive,
          EventSourceArn: busArn,
          EventPattern: JSON.stringify(ALL_EVENTS_PATTERN),
          RetentionDays: 0,
          Description: 'Every devaccess event, for audit and replay',
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'ResourceAlreadyExistsException') throw err;
    }
    await events.send(
      new PutRuleCommand({
        Name: LOCAL_NAMES.auditRule,
        EventBusName: LOCAL_NAMES.eventBus,
        EventPattern: JSON.stringify(CREDENTIAL_EVENTS_PATTERN),
        State: 'ENABLED',
        Description: 'Example audit consumer: every credential event to a log group',
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: LOCAL_NAMES.auditRule,
        EventBusName: LOCAL_NAMES.eventBus,
        Targets: [
          {
            Id: 'audit-log',
            Arn: `arn:aws:logs:${opts.region}:${opts.accountId}:log-group:${LOCAL_NAMES.auditLogGroup}`,
          },
        ],
      }),
    );

    const stateMachineArns: Record<string, string> = {};
    const existing = await sfn.send(new ListStateMachinesCommand({}));
    const definition = loadDefinition(STATE_MACHINES.credential, {
      IdentityTableName: LOCAL_NAMES.identityTable,
      UserPoolId: userPoolId,
      CredentialTasksFunctionArn: functionArn(LOCAL_NAMES.function('credentialTasks'), opts.region, opts.accountId),
      EventBusName: LOCAL_NAMES.eventBus,
      EventSource: EVENT_SOURCE,
      MaxCredentialsPerUser: String(opts.maxCredentialsPerUser),
    });
    const name = LOCAL_NAMES.stateMachine(STATE_MACHINES.credential);
    const roleArn = `arn:aws:iam::${opts.accountId}:role/${name}`;
    const found = existing.stateMachines?.find((m) => m.name === name)?.stateMachineArn;
    if (found) {
      // The definition on disk may have changed since the last start: the stack always runs the current one.
      await sfn.send(new UpdateStateMachineCommand({ stateMachineArn: found, definition }));
      stateMachineArns[STATE_MACHINES.credential] = found;
    } else {
      const created = await sfn.send(
        new CreateStateMachineCommand({ name, definition, roleArn, type: 'STANDARD' }),
      );
      if (!created.stateMachineArn) throw new Error('CreateStateMachine returned no ARN');
      stateMachineArns[STATE_MACHINES.credential] = created.stateMachineArn;
    }
    return { userPoolId, uiClientId, stateMachineArns };
  } finally {
    cognito.destroy();
    dynamo.destroy();
    events.destroy();
    sfn.destroy();
  }
}
