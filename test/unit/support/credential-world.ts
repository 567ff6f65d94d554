/**
 * A small model of the AWS side of credential management, behind aws-sdk-client-mock: the identity table
 * (FakeDynamo), the user pool (groups, app clients and their secrets) and Step Functions running a model of the
 * credential workflow. The model keeps the rules that matter to the API: the version check, the cap and ownership
 * (each a Conflict, as in the state machine, whose commit re-checks the cap and the credential), one client per
 * successful create/reset, unique execution names.
 * Each execution can be scripted to stay RUNNING for a number of DescribeExecution calls, to fail, or to commit
 * and then fail with EventNotPublished.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  AdminListGroupsForUserCommand,
  CognitoIdentityProviderClient,
  DescribeUserPoolClientCommand,
  ResourceNotFoundException,
  UserNotFoundException,
} from '@aws-sdk/client-cognito-identity-provider';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { CognitoDirectory, StepFunctionsEngine, executionArn } from '../../../lambdas/credentials/adapters';
import type { CredentialsDeps } from '../../../lambdas/credentials/service';
import { RESOURCE_SERVER_IDENTIFIER, fullScope } from '../../../lambdas/shared/contract/names';
import { clientKey, credentialKey, userKey, usernameKey } from '../../../lambdas/shared/contract/table';
import type { CredentialWorkflowInput, CredentialWorkflowOutput } from '../../../lambdas/shared/contract/workflow';
import { IdentityStore } from '../../../lambdas/shared/identity-store';
import { FakeClock } from './api';
import { FakeDynamo, type Item } from './fake-dynamo';

export const IDENTITY_TABLE = 'devaccess-identity';
export const USER_POOL_ID = 'us-east-1_TestPool1';
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:credential-workflow';
export const TOKEN_URL = 'https://auth.example.com/oauth2/token';
export const WAIT_MS = 3000;

export interface ExecutionScript {
  /** DescribeExecution calls that still see RUNNING before the outcome (Infinity: never finishes). */
  readonly runningFor?: number;
  /** Fail with this Fail-state error instead of running the model. */
  readonly failWith?: string;
  /** Apply the change, then fail with EventNotPublished (the event could not be published after the commit). */
  readonly eventNotPublished?: boolean;
  /** Runs as the execution starts its work: a change that lands between the API's checks and the commit. */
  readonly beforeRun?: () => void;
}

interface Execution {
  readonly name: string;
  readonly input: CredentialWorkflowInput;
  readonly script: ExecutionScript;
  describes: number;
  done?: { status: 'SUCCEEDED'; output: string } | { status: 'FAILED'; error: string };
}

function newClientId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(26)].map((b) => alphabet[b % alphabet.length]).join('');
}

export class CredentialWorld {
  readonly dynamo = new FakeDynamo({ [IDENTITY_TABLE]: { partition: 'pk', sort: 'sk' } });
  readonly sfn = mockClient(SFNClient);
  readonly cognito = mockClient(CognitoIdentityProviderClient);
  readonly groups = new Map<string, string[]>();
  readonly poolClients = new Map<string, { secret: string }>();
  readonly executions = new Map<string, Execution>();
  /** Scripts for the next executions, in start order. */
  readonly scripts: ExecutionScript[] = [];
  readonly clock = new FakeClock();
  maxCredentials = 1;

  constructor() {
    this.sfn.on(StartExecutionCommand).callsFake((input) => this.start(input));
    this.sfn.on(DescribeExecutionCommand).callsFake((input) => this.describe(input));
    this.cognito.on(AdminListGroupsForUserCommand).callsFake((input) => this.listGroups(input));
    this.cognito.on(DescribeUserPoolClientCommand).callsFake((input) => this.describeClient(input));
  }

  restore(): void {
    this.dynamo.restore();
    this.sfn.restore();
    this.cognito.restore();
  }

  deps(overrides: Partial<CredentialsDeps> = {}): CredentialsDeps & { store: IdentityStore } {
    return {
      store: new IdentityStore(this.dynamo.client(), IDENTITY_TABLE),
      directory: new CognitoDirectory(new CognitoIdentityProviderClient({ region: 'us-east-1' }), USER_POOL_ID),
      engine: new StepFunctionsEngine(new SFNClient({ region: 'us-east-1' }), STATE_MACHINE_ARN),
      settings: {
        developersGroup: 'developers',
        maxCredentialsPerUser: this.maxCredentials,
        tokenUrl: TOKEN_URL,
        workflowWaitMs: WAIT_MS,
        operationLockSeconds: 300,
        resourceServer: RESOURCE_SERVER_IDENTIFIER,
      },
      clock: this.clock,
      newId: randomUUID,
      ...overrides,
    } as CredentialsDeps & { store: IdentityStore };
  }

  addUser(username: string, options: { groups?: string[]; version?: number; activeCredentials?: number } = {}): string {
    const userId = randomUUID();
    this.dynamo.seed(IDENTITY_TABLE, { ...usernameKey(username), type: 'username', userId, username, createdAt: '2026-11-01T00:00:00.000Z' });
    this.dynamo.seed(IDENTITY_TABLE, {
      ...userKey(userId),
      type: 'user',
      userId,
      username,
      createdAt: '2026-11-01T00:00:00.000Z',
      version: options.version ?? 0,
      activeCredentials: options.activeCredentials ?? 0,
    });
    this.groups.set(username, options.groups ?? ['developers']);
    return userId;
  }

  addCredential(
    userId: string,
    options: { status?: 'active' | 'revoked'; name?: string; scopes?: string[]; createdAt?: string } = {},
  ): string {
    const clientId = newClientId();
    const record: Item = {
      clientId,
      userId,
      status: options.status ?? 'active',
      name: options.name ?? 'ci',
      scopes: options.scopes ?? [fullScope('read'), fullScope('write')],
      createdAt: options.createdAt ?? '2026-11-15T00:00:00.000Z',
      ...(options.status === 'revoked' ? { revokedAt: '2026-11-20T00:00:00.000Z' } : {}),
    };
    this.dynamo.seed(IDENTITY_TABLE, { ...clientKey(clientId), type: 'client', ...record });
    this.dynamo.seed(IDENTITY_TABLE, { ...credentialKey(userId, clientId), type: 'credential', ...record });
    if (record['status'] === 'active') {
      this.poolClients.set(clientId, { secret: `seeded-secret-${clientId}` });
      const user = this.user(userId);
      this.dynamo.seed(IDENTITY_TABLE, { ...user, activeCredentials: Number(user['activeCredentials']) + 1 });
    }
    return clientId;
  }

  user(userId: string): Item {
    const user = this.dynamo.item(IDENTITY_TABLE, userKey(userId));
    if (!user) throw new Error(`no user ${userId}`);
    return user;
  }

  credential(userId: string, clientId: string): Item | undefined {
    return this.dynamo.item(IDENTITY_TABLE, credentialKey(userId, clientId));
  }

  startedInputs(): CredentialWorkflowInput[] {
    return this.sfn.commandCalls(StartExecutionCommand).map((c) => JSON.parse(c.args[0].input.input ?? '{}'));
  }

  startedNames(): string[] {
    return this.sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name ?? '');
  }

  /** Every secret the pool ever issued. */
  secrets(): string[] {
    return [...this.poolClients.values()].map((c) => c.secret);
  }

  private start(input: { stateMachineArn?: string; name?: string; input?: string }) {
    if (input.stateMachineArn !== STATE_MACHINE_ARN) throw new Error(`unexpected state machine ${input.stateMachineArn}`);
    const name = input.name ?? randomUUID();
    const arn = executionArn(STATE_MACHINE_ARN, name);
    if (this.executions.has(arn)) {
      throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${arn}'`, $metadata: {} });
    }
    this.executions.set(arn, {
      name,
      input: JSON.parse(input.input ?? '{}') as CredentialWorkflowInput,
      script: this.scripts.shift() ?? {},
      describes: 0,
    });
    return { executionArn: arn, startDate: new Date(this.clock.now()) };
  }

  private describe(input: { executionArn?: string }) {
    const execution = this.executions.get(input.executionArn ?? '');
    if (!execution) {
      throw new ExecutionDoesNotExist({ message: `Execution Does Not Exist: '${input.executionArn}'`, $metadata: {} });
    }
    execution.describes += 1;
    if (!execution.done && execution.describes > (execution.script.runningFor ?? 0)) {
      execution.done = this.run(execution);
    }
    const base = { executionArn: input.executionArn, name: execution.name, input: JSON.stringify(execution.input) };
    if (!execution.done) return { ...base, status: 'RUNNING' };
    if (execution.done.status === 'FAILED') return { ...base, status: 'FAILED', error: execution.done.error, cause: 'modelled' };
    return { ...base, status: 'SUCCEEDED', output: execution.done.output };
  }

  /** The credential workflow's effect, applied when the execution finishes. */
  private run(execution: Execution): Execution['done'] {
    const { input, script } = execution;
    if (script.failWith) return { status: 'FAILED', error: script.failWith };
    script.beforeRun?.();
    const user = this.user(input.userId);
    if (user['version'] !== input.expectedVersion) return { status: 'FAILED', error: 'Conflict' };
    const active = Number(user['activeCredentials']);
    const eventId = randomUUID();
    const now = new Date(this.clock.now()).toISOString();

    let previous: Item | undefined;
    if (input.operation !== 'create') {
      previous = this.credential(input.userId, input.clientId ?? '');
      if (!previous || previous['status'] !== 'active') return { status: 'FAILED', error: 'Conflict' };
    } else if (active >= this.maxCredentials) {
      return { status: 'FAILED', error: 'Conflict' };
    }

    let newClientIdValue: string | undefined;
    if (input.operation !== 'revoke') {
      newClientIdValue = newClientId();
      this.poolClients.set(newClientIdValue, { secret: `secret-${randomBytes(12).toString('hex')}` });
      const record = {
        clientId: newClientIdValue,
        userId: input.userId,
        status: 'active',
        name: input.name,
        scopes: input.scopes,
        createdAt: input.requestedAt,
        operationId: input.operationId,
      };
      this.dynamo.seed(IDENTITY_TABLE, { ...clientKey(newClientIdValue), type: 'client', ...record });
      this.dynamo.seed(IDENTITY_TABLE, { ...credentialKey(input.userId, newClientIdValue), type: 'credential', ...record });
    }
    if (previous) {
      const revoked = { ...previous, status: 'revoked', revokedAt: now, ...(newClientIdValue ? { replacedBy: newClientIdValue } : {}) };
      this.dynamo.seed(IDENTITY_TABLE, revoked);
      this.dynamo.seed(IDENTITY_TABLE, { ...revoked, ...clientKey(String(previous['clientId'])), type: 'client' });
      this.poolClients.delete(String(previous['clientId']));
    }
    const delta = input.operation === 'create' ? 1 : input.operation === 'revoke' ? -1 : 0;
    this.dynamo.seed(IDENTITY_TABLE, { ...user, version: Number(user['version']) + 1, activeCredentials: active + delta });

    const output: CredentialWorkflowOutput =
      input.operation === 'revoke'
        ? { operation: 'revoke', userId: input.userId, clientId: input.clientId ?? '', eventId }
        : {
            operation: input.operation,
            userId: input.userId,
            clientId: newClientIdValue ?? '',
            ...(input.operation === 'reset' ? { previousClientId: input.clientId } : {}),
            scopes: input.scopes,
            eventId,
          };
    if (script.eventNotPublished) return { status: 'FAILED', error: 'EventNotPublished' };
    return { status: 'SUCCEEDED', output: JSON.stringify(output) };
  }

  private listGroups(input: { Username?: string; UserPoolId?: string; NextToken?: string; Limit?: number }) {
    if (input.UserPoolId !== USER_POOL_ID) throw new Error(`unexpected pool ${input.UserPoolId}`);
    const groups = this.groups.get(input.Username ?? '');
    if (!groups) throw new UserNotFoundException({ message: 'User does not exist.', $metadata: {} });
    // One group a page, so membership on a later page is exercised.
    const index = input.NextToken ? Number(input.NextToken) : 0;
    const page = groups.slice(index, index + 1).map((GroupName) => ({ GroupName, UserPoolId: USER_POOL_ID }));
    return { Groups: page, ...(index + 1 < groups.length ? { NextToken: String(index + 1) } : {}) };
  }

  private describeClient(input: { UserPoolId?: string; ClientId?: string }) {
    if (input.UserPoolId !== USER_POOL_ID) throw new Error(`unexpected pool ${input.UserPoolId}`);
    const client = this.poolClients.get(input.ClientId ?? '');
    if (!client) throw new ResourceNotFoundException({ message: 'User pool client does not exist.', $metadata: {} });
    return {
      UserPoolClient: {
        UserPoolId: USER_POOL_ID,
        ClientId: input.ClientId,
        ClientSecret: client.secret,
        AllowedOAuthFlows: ['client_credentials'],
      },
    };
  }
}
