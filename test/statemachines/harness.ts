/**
 * Runs statemachines/credential-workflow.asl.json with aws-local-stepfunctions, every Task state overridden by
 * name with a fake of the service its Resource names. The fakes keep state, so conditions are real:
 * - the identity table is dynalite's own engine run in-process (its expression parser and condition evaluator,
 *   which refuse reserved words, unused placeholders and bad syntax as DynamoDB does), with TransactWriteItems
 *   (which dynalite lacks) built on it: validate all, check every condition, then apply, idempotent per
 *   ClientRequestToken;
 * - the CreateClient Lambda task is the real lambdas/credentials/client-factory.ts, its Cognito client mocked
 *   with aws-sdk-client-mock onto an in-memory user pool that issues real-looking client secrets;
 * - PutEvents lands on an in-memory bus.
 * Errors surface under the names Step Functions gives them (`DynamoDB.X` for the optimized DynamoDB
 * integration, `DynamoDb.X` for the SDK one, `CognitoIdentityProvider.X`, the function's errorType for Lambda,
 * `EventBridge.FailedEntry`), so Retry and Catch are exercised as on AWS. No socket is opened.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  type CreateUserPoolClientCommandInput,
  InvalidParameterException,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { createCredentialClient } from '../../lambdas/credentials/client-factory';
import { EVENT_SOURCE, RESOURCE_SERVER_IDENTIFIER, STATE_MACHINES } from '../../lambdas/shared/contract/names';
import { clientKey, credentialKey, userKey } from '../../lambdas/shared/contract/table';
import type { CredentialWorkflowInput } from '../../lambdas/shared/contract/workflow';
import { type CredentialWorkflowSubstitutions, loadDefinition } from '../../statemachines/load';

const require = createRequire(import.meta.url);

// dynalite's internals are untyped CommonJS: typed here as far as this harness uses them.
interface DynaliteError extends Error {
  statusCode?: number;
  body?: { __type?: string; message?: string };
}
type Callback = (err: DynaliteError | null, out?: any) => void;
interface DynaliteValidation {
  types: Record<string, unknown>;
  custom?: (data: any, store: unknown) => string | undefined;
}
const dynaliteDb: { create(options: Record<string, unknown>): any; checkConditional(data: any, item: any): DynaliteError | null } =
  require('dynalite/db');
const dynaliteValidations: {
  checkTypes(data: any, types: Record<string, unknown>): any;
  checkValidations(data: any, types: Record<string, unknown>, custom: unknown, store: unknown): void;
} = require('dynalite/validations');
const dynaliteActions: Record<string, (store: unknown, data: any, cb: Callback) => void> = {
  createTable: require('dynalite/actions/createTable'),
  getItem: require('dynalite/actions/getItem'),
  putItem: require('dynalite/actions/putItem'),
  updateItem: require('dynalite/actions/updateItem'),
};
const dynaliteRules: Record<string, DynaliteValidation> = {
  createTable: require('dynalite/validations/createTable'),
  getItem: require('dynalite/validations/getItem'),
  putItem: require('dynalite/validations/putItem'),
  updateItem: require('dynalite/validations/updateItem'),
};

export const SUBSTITUTIONS: CredentialWorkflowSubstitutions = {
  IdentityTableName: 'devaccess-identity-test',
  UserPoolId: 'us-east-1_TestPool1',
  CredentialTasksFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:devaccess-credential-tasks',
  EventBusName: 'devaccess-test-bus',
  EventSource: EVENT_SOURCE,
  MaxCredentialsPerUser: '1',
};

export const CLIENT_TOKEN_VALIDITY_MINUTES = 60;

export function workflowDefinition(substitutions: CredentialWorkflowSubstitutions = SUBSTITUTIONS): StateMachineDefinition {
  return JSON.parse(loadDefinition(STATE_MACHINES.credential, substitutions)) as StateMachineDefinition;
}

/** A failure as Step Functions reports it: `Error` is what Retry/Catch match on. */
export class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// DynamoDB attribute values

export type AttributeValue =
  | { S: string }
  | { N: string }
  | { BOOL: boolean }
  | { NULL: true }
  | { L: AttributeValue[] }
  | { M: Record<string, AttributeValue> };
export type Item = Record<string, AttributeValue>;

export function marshal(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null) return { NULL: true };
  if (Array.isArray(value)) return { L: value.map(marshal) };
  if (typeof value === 'object') {
    return { M: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, marshal(v)])) };
  }
  throw new Error(`Cannot marshal ${typeof value}`);
}

export function unmarshal(value: AttributeValue): unknown {
  if ('S' in value) return value.S;
  if ('N' in value) return Number(value.N);
  if ('BOOL' in value) return value.BOOL;
  if ('NULL' in value) return null;
  if ('L' in value) return value.L.map(unmarshal);
  return Object.fromEntries(Object.entries(value.M).map(([k, v]) => [k, unmarshal(v)]));
}

export function unmarshalItem(item: Item | undefined): Record<string, unknown> | undefined {
  return item && Object.fromEntries(Object.entries(item).map(([k, v]) => [k, unmarshal(v)]));
}

function marshalItem(record: Record<string, unknown>): Item {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, marshal(v)]));
}

// ---------------------------------------------------------------------------------------------------------------
// The identity table

const TRANSACT_TOP_LEVEL = new Set(['TransactItems', 'ClientRequestToken', 'ReturnConsumedCapacity', 'ReturnItemCollectionMetrics']);
const TRANSACT_EXTRA = new Set(['ReturnValuesOnConditionCheckFailure']);

/** An AWS service error name from a dynalite error (`...#ConditionalCheckFailedException`). */
function dynaliteErrorName(err: DynaliteError): string {
  const type = err.body?.__type ?? 'InternalServerError';
  return type.slice(type.indexOf('#') + 1);
}

export class FakeTable {
  private readonly store = dynaliteDb.create({ createTableMs: 0 });
  /** ClientRequestToken -> the request it committed (DynamoDB's idempotency window). */
  private readonly committedTokens = new Map<string, string>();

  constructor(readonly tableName: string) {}

  async init(): Promise<void> {
    await this.call('createTable', {
      TableName: this.tableName,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    });
    // createTableMs: 0 still flips the table to ACTIVE on a timer.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }

  /** Validates like DynamoDB (unknown parameters included), then runs one dynalite action. */
  private async call(action: string, params: Record<string, unknown>): Promise<any> {
    const rules = dynaliteRules[action];
    const run = dynaliteActions[action];
    if (!rules || !run) throw new Error(`No dynalite action ${action}`);
    const unknown = Object.keys(params).filter((k) => !(k in rules.types) && !TRANSACT_EXTRA.has(k));
    if (unknown.length > 0) throw new TaskError('ValidationException', `Unknown ${action} parameters: ${unknown.join(', ')}`);
    const data = this.validate(action, params);
    return this.execute(run, data);
  }

  private validate(action: string, params: Record<string, unknown>): any {
    const rules = dynaliteRules[action];
    if (!rules) throw new Error(`No dynalite action ${action}`);
    const copy = structuredClone(params);
    for (const extra of TRANSACT_EXTRA) delete copy[extra];
    try {
      const data = dynaliteValidations.checkTypes(copy, rules.types);
      dynaliteValidations.checkValidations(data, rules.types, rules.custom, this.store);
      return data;
    } catch (err) {
      const e = err as DynaliteError;
      throw new TaskError(e.body ? dynaliteErrorName(e) : 'ValidationException', e.body?.message ?? e.message);
    }
  }

  private execute(run: (store: unknown, data: any, cb: Callback) => void, data: any): Promise<any> {
    return new Promise((resolve, reject) => {
      run(this.store, data, (err, out) => {
        if (err) reject(new TaskError(dynaliteErrorName(err), err.body?.message ?? err.message));
        else resolve(out);
      });
    });
  }

  async getItem(key: Record<string, string>): Promise<Item | undefined> {
    const out = await this.call('getItem', { TableName: this.tableName, Key: marshalItem(key), ConsistentRead: true });
    return out.Item as Item | undefined;
  }

  /** GetItem as a task sends it (its own Key, ConsistentRead, ProjectionExpression, ...). */
  async getItemRequest(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const out = await this.call('getItem', params);
    return out.Item ? { Item: out.Item } : {};
  }

  async putRecord(record: Record<string, unknown>): Promise<void> {
    await this.call('putItem', { TableName: this.tableName, Item: marshalItem(record) });
  }

  async updateItem(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const out = await this.call('updateItem', params);
    return out.Attributes ? { Attributes: out.Attributes } : {};
  }

  /** TransactWriteItems with Put and Update members: all conditions hold and everything is written, or nothing. */
  async transactWriteItems(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const unknown = Object.keys(params).filter((k) => !TRANSACT_TOP_LEVEL.has(k));
    if (unknown.length > 0) throw new TaskError('ValidationException', `Unknown parameters: ${unknown.join(', ')}`);
    const items = params['TransactItems'];
    if (!Array.isArray(items) || items.length === 0 || items.length > 100) {
      throw new TaskError('ValidationException', 'TransactItems must hold 1 to 100 actions');
    }
    const token = params['ClientRequestToken'];
    const fingerprint = JSON.stringify(items);
    if (typeof token === 'string' && this.committedTokens.has(token)) {
      if (this.committedTokens.get(token) !== fingerprint) {
        throw new TaskError('IdempotentParameterMismatchException', 'The token was used with another request');
      }
      return {};
    }

    const actions = items.map((member: Record<string, unknown>) => {
      const kinds = Object.keys(member);
      const kind = kinds[0];
      if (kinds.length !== 1 || (kind !== 'Put' && kind !== 'Update')) {
        throw new TaskError('ValidationException', `Unsupported transaction member ${kinds.join(',')}`);
      }
      const action = kind === 'Put' ? 'putItem' : 'updateItem';
      const raw = member[kind] as Record<string, unknown>;
      const rules = dynaliteRules[action];
      const unknownKeys = Object.keys(raw).filter((k) => !(k in (rules?.types ?? {})) && !TRANSACT_EXTRA.has(k));
      if (unknownKeys.length > 0) {
        throw new TaskError('ValidationException', `Unknown ${kind} parameters: ${unknownKeys.join(', ')}`);
      }
      const data = this.validate(action, raw);
      const key = kind === 'Put' ? { pk: data.Item.pk, sk: data.Item.sk } : { pk: data.Key.pk, sk: data.Key.sk };
      return { action, data, key, id: JSON.stringify(key) };
    });
    if (new Set(actions.map((a) => a.id)).size !== actions.length) {
      throw new TaskError('ValidationException', 'Transaction request cannot include multiple operations on one item');
    }

    const reasons: string[] = [];
    for (const a of actions) {
      const existing = await this.call('getItem', { TableName: a.data.TableName, Key: a.key });
      reasons.push(dynaliteDb.checkConditional(a.data, existing.Item) ? 'ConditionalCheckFailed' : 'None');
    }
    if (reasons.some((r) => r !== 'None')) {
      throw new TaskError(
        'TransactionCanceledException',
        `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.join(', ')}]`,
      );
    }
    for (const a of actions) {
      delete a.data._condition;
      const run = dynaliteActions[a.action];
      if (!run) throw new Error(`No dynalite action ${a.action}`);
      await this.execute(run, a.data);
    }
    if (typeof token === 'string') this.committedTokens.set(token, fingerprint);
    return {};
  }

  async user(userId: string): Promise<Record<string, unknown> | undefined> {
    return unmarshalItem(await this.getItem(userKey(userId)));
  }

  async client(clientId: string): Promise<Record<string, unknown> | undefined> {
    return unmarshalItem(await this.getItem(clientKey(clientId)));
  }

  async credential(userId: string, clientId: string): Promise<Record<string, unknown> | undefined> {
    return unmarshalItem(await this.getItem(credentialKey(userId, clientId)));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The user pool

export interface PoolClient {
  readonly clientId: string;
  readonly clientName: string;
  readonly clientSecret: string;
  readonly request: CreateUserPoolClientCommandInput;
}

const CLIENT_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export class FakeUserPool {
  readonly clients = new Map<string, PoolClient>();
  /** Every secret this pool ever issued, to search state histories for. */
  readonly issuedSecrets: string[] = [];
  private throttledCreates = 0;
  private refusedCreates = 0;

  constructor(readonly userPoolId: string) {}

  /** The next `count` CreateUserPoolClient calls fail with TooManyRequestsException. */
  throttleCreates(count: number): void {
    this.throttledCreates = count;
  }

  /** The next `count` CreateUserPoolClient calls fail with InvalidParameterException (not retryable). */
  refuseCreates(count: number): void {
    this.refusedCreates = count;
  }

  createClient(input: CreateUserPoolClientCommandInput): PoolClient {
    if (this.throttledCreates > 0) {
      this.throttledCreates--;
      throw new TooManyRequestsException({ message: 'Too many requests', $metadata: {} });
    }
    if (this.refusedCreates > 0) {
      this.refusedCreates--;
      throw new InvalidParameterException({ message: 'Invalid parameter', $metadata: {} });
    }
    if (input.UserPoolId !== this.userPoolId) {
      throw new ResourceNotFoundException({ message: 'User pool does not exist', $metadata: {} });
    }
    const name = input.ClientName ?? '';
    if (name.length < 1 || name.length > 128 || !/^[\w\s+=,.@-]+$/.test(name)) {
      throw new InvalidParameterException({ message: 'Invalid client name', $metadata: {} });
    }
    if (input.AllowedOAuthFlows?.includes('client_credentials') && input.GenerateSecret !== true) {
      throw new InvalidParameterException({ message: 'client_credentials needs a secret', $metadata: {} });
    }
    const clientId = Array.from({ length: 26 }, () => CLIENT_ID_ALPHABET[Math.floor(Math.random() * 36)]).join('');
    const clientSecret = `SECRET-${randomUUID()}-${randomUUID()}`;
    const client = { clientId, clientName: name, clientSecret, request: input };
    this.clients.set(clientId, client);
    this.issuedSecrets.push(clientSecret);
    return client;
  }

  deleteClient(params: Record<string, unknown>): Record<string, unknown> {
    const unknown = Object.keys(params).filter((k) => k !== 'UserPoolId' && k !== 'ClientId');
    if (unknown.length > 0) throw new TaskError('InvalidParameterException', `Unknown parameters: ${unknown.join(', ')}`);
    const clientId = params['ClientId'];
    if (params['UserPoolId'] !== this.userPoolId || typeof clientId !== 'string' || !this.clients.has(clientId)) {
      throw new TaskError('ResourceNotFoundException', 'User pool client does not exist.');
    }
    this.clients.delete(clientId);
    return {};
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The event bus

export interface DeliveredEvent {
  readonly source: string;
  readonly detailType: string;
  readonly detail: Record<string, unknown>;
}

export class FakeEventBus {
  readonly delivered: DeliveredEvent[] = [];
  private refusedCalls = 0;
  /**
   * `optimized`: a refused entry fails the task with EventBridge.FailedEntry, as the optimized integration does
   * on AWS. `report`: the task succeeds with FailedEntryCount > 0, as the plain PutEvents API answers.
   */
  failureMode: 'optimized' | 'report' = 'optimized';

  constructor(readonly eventBusName: string) {}

  refuseEntries(calls: number): void {
    this.refusedCalls = calls;
  }

  putEvents(params: Record<string, unknown>): Record<string, unknown> {
    const entries = params['Entries'];
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > 10) {
      throw new TaskError('ValidationException', 'Entries must hold 1 to 10 entries');
    }
    if (this.refusedCalls > 0) {
      this.refusedCalls--;
      const result = {
        FailedEntryCount: entries.length,
        Entries: entries.map(() => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'Internal failure' })),
      };
      if (this.failureMode === 'optimized') throw new TaskError('FailedEntry', JSON.stringify(result));
      return result;
    }
    const accepted = entries.map((entry: Record<string, unknown>) => {
      if (entry['EventBusName'] !== this.eventBusName) throw new TaskError('ResourceNotFoundException', 'No such bus');
      const detail = entry['Detail'];
      if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
        throw new TaskError('ValidationException', 'Detail must be a JSON object');
      }
      this.delivered.push({
        source: String(entry['Source']),
        detailType: String(entry['DetailType']),
        detail: detail as Record<string, unknown>,
      });
      return { EventId: randomUUID() };
    });
    return { FailedEntryCount: 0, Entries: accepted };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The run

/** The events of aws-local-stepfunctions' execution log this harness reads. */
export interface LoggedEvent {
  readonly type: string;
  readonly index?: number;
  readonly state?: { readonly name: string; readonly input: unknown; readonly output?: unknown };
  readonly Error?: string;
  readonly Cause?: unknown;
}

export interface TaskCall {
  readonly state: string;
  readonly resource: string;
  readonly params: Record<string, unknown>;
}

export interface RunResult {
  readonly output?: Record<string, unknown>;
  readonly error?: { readonly Error: string; readonly Cause: unknown };
  readonly events: readonly LoggedEvent[];
  /** Top-level states in the order they were entered (Map iterations left out). */
  readonly steps: readonly string[];
  /** One entry per retry, by state name. */
  readonly retried: readonly string[];
  readonly executionArn: string;
}

interface Fault {
  readonly error: string;
  readonly cause: string;
  remaining: number;
  /** Apply the call, then fail as if the response was lost. */
  readonly afterApplying: boolean;
}

const PREFIXES: Readonly<Record<string, string>> = {
  'arn:aws:states:::dynamodb:getItem': 'DynamoDB',
  'arn:aws:states:::dynamodb:updateItem': 'DynamoDB',
  'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems': 'DynamoDb',
  'arn:aws:states:::aws-sdk:cognitoidentityprovider:deleteUserPoolClient': 'CognitoIdentityProvider',
  'arn:aws:states:::events:putEvents': 'EventBridge',
};

export class WorkflowWorld {
  readonly table = new FakeTable(SUBSTITUTIONS.IdentityTableName);
  readonly pool = new FakeUserPool(SUBSTITUTIONS.UserPoolId);
  readonly bus = new FakeEventBus(SUBSTITUTIONS.EventBusName);
  readonly calls: TaskCall[] = [];
  /** Requests the fakes refused as malformed: a definition bug, never an expected path. */
  readonly malformed: string[] = [];
  /** What `$$.State.EnteredTime` reads. */
  now = '2026-12-04T10:00:00.000Z';
  private readonly faults = new Map<string, Fault>();
  private readonly definition = workflowDefinition();
  private readonly cognito = new CognitoIdentityProviderClient({ region: 'us-east-1' });

  constructor() {
    mockClient(this.cognito)
      .on(CreateUserPoolClientCommand)
      .callsFake((input: CreateUserPoolClientCommandInput) => {
        const client = this.pool.createClient(input);
        // The whole response, secret included, as Cognito answers: the function must drop it.
        return {
          UserPoolClient: {
            UserPoolId: input.UserPoolId,
            ClientName: client.clientName,
            ClientId: client.clientId,
            ClientSecret: client.clientSecret,
            AllowedOAuthScopes: input.AllowedOAuthScopes,
          },
        };
      });
  }

  static async create(): Promise<WorkflowWorld> {
    const world = new WorkflowWorld();
    await world.table.init();
    return world;
  }

  /** The next `times` attempts of `state` fail with the Step Functions error `error` before reaching the fake. */
  failTask(state: string, error: string, times: number): void {
    this.faults.set(state, { error, cause: `injected ${error}`, remaining: times, afterApplying: false });
  }

  /** The next `times` attempts of `state` reach the fake, then fail as if the response was lost on the way back. */
  loseResponse(state: string, error: string, times: number): void {
    this.faults.set(state, { error, cause: `injected ${error} after the call`, remaining: times, afterApplying: true });
  }

  callsOf(state: string): TaskCall[] {
    return this.calls.filter((c) => c.state === state);
  }

  async seedUser(user: {
    userId: string;
    username: string;
    version?: number;
    activeCredentials?: number;
    lockOwner?: string;
    lockExpiresAt?: string;
  }): Promise<void> {
    await this.table.putRecord({
      ...userKey(user.userId),
      type: 'user',
      userId: user.userId,
      username: user.username,
      createdAt: '2026-01-01T00:00:00.000Z',
      version: user.version ?? 0,
      activeCredentials: user.activeCredentials ?? 0,
      ...(user.lockOwner ? { lockOwner: user.lockOwner } : {}),
      ...(user.lockExpiresAt ? { lockExpiresAt: user.lockExpiresAt } : {}),
    });
  }

  /** A credential as an earlier create left it: the pool client and both table items. */
  async seedCredential(userId: string, scopes: string[], status: 'active' | 'revoked' = 'active'): Promise<string> {
    const client = this.pool.createClient({
      UserPoolId: SUBSTITUTIONS.UserPoolId,
      ClientName: `devaccess-${userId}-${randomUUID()}`,
      GenerateSecret: true,
      AllowedOAuthFlows: ['client_credentials'],
      AllowedOAuthScopes: scopes,
    });
    const record = {
      clientId: client.clientId,
      userId,
      status,
      name: 'first key',
      scopes,
      createdAt: '2026-06-01T00:00:00.000Z',
    };
    await this.table.putRecord({ ...clientKey(client.clientId), type: 'client', ...record });
    await this.table.putRecord({ ...credentialKey(userId, client.clientId), type: 'credential', ...record });
    return client.clientId;
  }

  private taskHandlers(): Record<string, (input: unknown) => Promise<unknown>> {
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [name, state] of Object.entries(this.definition.States)) {
      if (state.Type !== 'Task') continue;
      const resource = state.Resource;
      handlers[name] = async (input: unknown) => {
        const params = (input ?? {}) as Record<string, unknown>;
        this.calls.push({ state: name, resource, params: structuredClone(params) });
        const fault = this.faults.get(name);
        if (fault && fault.remaining > 0 && !fault.afterApplying) {
          fault.remaining--;
          throw new TaskError(fault.error, fault.cause);
        }
        const result = await this.integrate(name, resource, params);
        if (fault && fault.remaining > 0 && fault.afterApplying) {
          fault.remaining--;
          throw new TaskError(fault.error, fault.cause);
        }
        return result;
      };
    }
    return handlers;
  }

  /** One Task attempt against the fakes, with the result and error shapes of its Step Functions integration. */
  private async integrate(state: string, resource: string, params: Record<string, unknown>): Promise<unknown> {
    if (resource === 'arn:aws:states:::lambda:invoke') return this.invokeLambda(params);
    const prefix = PREFIXES[resource];
    if (prefix === undefined) throw new Error(`No fake for the resource ${resource} of ${state}`);
    try {
      switch (resource) {
        case 'arn:aws:states:::dynamodb:getItem':
          // No Item member at all when the key is absent, as GetItem answers.
          return {
            ...(await this.table.getItemRequest(params)),
            SdkHttpMetadata: { HttpStatusCode: 200 },
            SdkResponseMetadata: { RequestId: randomUUID() },
          };
        case 'arn:aws:states:::dynamodb:updateItem':
          // The optimized integration wraps the API result with the HTTP metadata of the call.
          return {
            ...(await this.table.updateItem(params)),
            SdkHttpMetadata: { HttpStatusCode: 200 },
            SdkResponseMetadata: { RequestId: randomUUID() },
          };
        case 'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems':
          return await this.table.transactWriteItems(params);
        case 'arn:aws:states:::aws-sdk:cognitoidentityprovider:deleteUserPoolClient':
          return this.pool.deleteClient(params);
        default:
          return this.bus.putEvents(params);
      }
    } catch (err) {
      if (!(err instanceof TaskError)) throw err;
      if (/Validation|InvalidParameter|Unknown|Mismatch/.test(`${err.name} ${err.message}`)) {
        this.malformed.push(`${state}: ${err.name}: ${err.message}`);
      }
      throw new TaskError(`${prefix}.${err.name}`, err.message);
    }
  }

  private async invokeLambda(params: Record<string, unknown>): Promise<unknown> {
    if (params['FunctionName'] !== SUBSTITUTIONS.CredentialTasksFunctionArn) {
      throw new TaskError('Lambda.ResourceNotFoundException', `No function ${String(params['FunctionName'])}`);
    }
    try {
      const payload = await createCredentialClient(params['Payload'], {
        cognito: this.cognito,
        config: { USER_POOL_ID: SUBSTITUTIONS.UserPoolId, CLIENT_TOKEN_VALIDITY_MINUTES, RESOURCE_SERVER_IDENTIFIER },
      });
      // lambda:invoke returns the invocation result with the function's answer under Payload.
      return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200, SdkHttpMetadata: { HttpStatusCode: 200 } };
    } catch (err) {
      // A function error: Step Functions names it by the function's errorType, the Cause is the error JSON.
      const e = err as Error;
      if (e.name === 'ValidationError') this.malformed.push(`CreateClient payload: ${e.message}`);
      throw new TaskError(e.name, JSON.stringify({ errorType: e.name, errorMessage: e.message }));
    }
  }

  async run(input: CredentialWorkflowInput | Record<string, unknown>): Promise<RunResult> {
    const name = randomUUID();
    const executionArn = `arn:aws:states:us-east-1:000000000000:execution:credential-workflow:${name}`;
    const retryIntervalOverrides = Object.fromEntries(
      Object.entries(this.definition.States)
        .filter(([, state]) => 'Retry' in state && state.Retry !== undefined)
        .map(([stateName]) => [stateName, 0]),
    );
    const world = this;
    // asl.test.ts validates the definition once; validating it again per run costs most of a run's time.
    const machine = new StateMachine(this.definition, { validationOptions: { noValidate: true } });
    const execution = machine.run(structuredClone(input) as never, {
      overrides: { taskResourceLocalHandlers: this.taskHandlers() as never, retryIntervalOverrides },
      context: {
        Execution: { Id: executionArn, Name: name },
        // aws-local-stepfunctions keeps one static context object; a getter gives `$$.State.EnteredTime` a value.
        State: {
          get EnteredTime() {
            return world.now;
          },
        },
      },
    });
    let output: Record<string, unknown> | undefined;
    try {
      output = (await execution.result) as Record<string, unknown>;
    } catch {
      output = undefined;
    }
    const events: LoggedEvent[] = [];
    for await (const event of execution.eventLogs) events.push(event as LoggedEvent);
    const failed = events.find((e) => e.type === 'ExecutionFailed');
    return {
      ...(output !== undefined ? { output } : {}),
      ...(failed ? { error: { Error: failed.Error ?? '', Cause: failed.Cause } } : {}),
      events,
      steps: events.filter((e) => e.type === 'StateEntered' && e.index === undefined).map((e) => e.state?.name ?? ''),
      retried: events.filter((e) => e.type === 'StateRetried').map((e) => e.state?.name ?? ''),
      executionArn,
    };
  }
}
