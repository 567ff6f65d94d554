/**
 * Task state resources -> real calls. Every Task's Resource ARN is mapped generically (no code per task):
 *
 * - `arn:aws:states:::lambda:invoke` and legacy function ARNs: the `invokeLambda` callback (the Lambda client is
 *   not a dependency of this project).
 * - `arn:aws:states:::dynamodb:{getItem,putItem,updateItem,deleteItem}`, `arn:aws:states:::events:putEvents`:
 *   the optimized integrations, with their AWS result shapes.
 * - `arn:aws:states:::aws-sdk:<service>:<action>`: AWS SDK v3 client `<Service>Client` of `@aws-sdk/client-<...>`,
 *   command `<Action>Command`, Parameters as the command input.
 *
 * Errors are named as Step Functions names them, so Retry/Catch written for AWS match locally:
 * - aws-sdk integrations: `<ServiceName>.<ExceptionName>` with the service name in PascalCase as Step Functions
 *   spells it (`DynamoDb`, `Sfn`, `CognitoIdentityProvider`, ...), `Exception` appended when the name lacks it,
 *   and `<ServiceName>.<ServiceName>Exception` for errors the service model does not declare (e.g. DynamoDB's
 *   ValidationException); see https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
 * - optimized DynamoDB: `DynamoDB.<ExceptionName>` (`DynamoDB.AmazonDynamoDBException` when undeclared);
 *   optimized Lambda: the function's `errorType` for a function error, `Lambda.<ExceptionName>` for a service
 *   error; optimized EventBridge: `EventBridge.FailedEntry` when an entry failed.
 * Causes carry the service message with the suffix AWS appends, e.g.
 * `... (Service: DynamoDb, Status Code: 400, Request ID: ...)`.
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject, JsonValue } from './definition';

/**
 * The result of invoking a Lambda function, payload already parsed. Either Lambda's Invoke response (`payload`,
 * with `functionError` set when the function failed and `payload` then being its `{ errorType, errorMessage,
 * trace }`), or `{ error }` carrying that error object directly (the shape the local Lambda's `invoke` returns).
 */
export type LambdaInvokeResult =
  | {
      readonly payload: unknown;
      /** Lambda's `X-Amz-Function-Error` (`Unhandled`) when the function failed. */
      readonly functionError?: string;
      /** @default '$LATEST' */
      readonly executedVersion?: string;
    }
  | { readonly error: { readonly errorType?: string; readonly errorMessage?: string; readonly trace?: readonly string[] } };

/**
 * Invokes a function synchronously (RequestResponse). Throw an error whose `name` is the Lambda API exception
 * (e.g. `ResourceNotFoundException`) when the function cannot be invoked.
 */
export type InvokeLambda = (functionNameOrArn: string, payload: unknown) => Promise<LambdaInvokeResult>;

/**
 * Runs one AWS API call for an integration task: the service id as it appears in the resource ARN
 * (`dynamodb`, `cognitoidentityprovider`, `events`, `lambda`, ...), the action in camelCase (`updateItem`,
 * `transactWriteItems`, `putEvents`, `invoke`, ...) and the effective Parameters (PascalCase, the API's own
 * member names). Resolves to the API response (an SDK v3 output; `$metadata` is used for the request id and then
 * dropped). Rejects with the service's error (`name` = exception name, `$metadata.httpStatusCode` set for
 * service errors).
 */
export type CallIntegration = (
  service: string,
  action: string,
  parameters: JsonObject,
  options: { readonly signal: AbortSignal },
) => Promise<Record<string, unknown>>;

export type TaskTarget =
  | { readonly kind: 'lambda-invoke'; readonly resourceType: 'lambda'; readonly resource: 'invoke' }
  | { readonly kind: 'lambda-function'; readonly resourceType: 'lambda'; readonly resource: string }
  | { readonly kind: 'dynamodb'; readonly resourceType: 'dynamodb'; readonly resource: string }
  | { readonly kind: 'events-put'; readonly resourceType: 'events'; readonly resource: 'putEvents' }
  | { readonly kind: 'aws-sdk'; readonly service: string; readonly resourceType: string; readonly resource: string }
  | { readonly kind: 'unsupported'; readonly reason: string };

const OPTIMIZED_DYNAMODB_ACTIONS = new Set(['getItem', 'putItem', 'updateItem', 'deleteItem']);
const SERVICE_ARN = /^arn:aws[a-z-]*:states:::(aws-sdk:)?([a-z0-9-]+):([A-Za-z0-9]+)(?:\.(sync(?::2)?|waitForTaskToken))?$/;
const LAMBDA_FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/;

/** What a Task state's Resource stands for, or why this emulation cannot run it. */
export function parseTaskResource(resource: string): TaskTarget {
  if (LAMBDA_FUNCTION_ARN.test(resource)) return { kind: 'lambda-function', resourceType: 'lambda', resource };
  const m = SERVICE_ARN.exec(resource);
  if (!m) {
    const what = /^arn:aws[a-z-]*:states:[^:]+:\d*:activity:/.test(resource) ? 'Activity tasks are' : `Resource '${resource}' is`;
    return { kind: 'unsupported', reason: `${what} not supported by the local Step Functions emulation` };
  }
  const [, sdk, service = '', action = '', pattern] = m;
  if (pattern !== undefined) {
    return {
      kind: 'unsupported',
      reason: `The '.${pattern}' integration pattern (${resource}) is not supported by the local Step Functions emulation; only request-response integrations run locally`,
    };
  }
  if (sdk) return { kind: 'aws-sdk', service, resourceType: `aws-sdk:${service}`, resource: action };
  if (service === 'lambda' && action === 'invoke') return { kind: 'lambda-invoke', resourceType: 'lambda', resource: 'invoke' };
  if (service === 'dynamodb' && OPTIMIZED_DYNAMODB_ACTIONS.has(action)) return { kind: 'dynamodb', resourceType: 'dynamodb', resource: action };
  if (service === 'events' && action === 'putEvents') return { kind: 'events-put', resourceType: 'events', resource: 'putEvents' };
  return {
    kind: 'unsupported',
    reason: `The optimized integration '${service}:${action}' is not supported by the local Step Functions emulation (use arn:aws:states:::aws-sdk:${service}:${action})`,
  };
}

/** A task failure with the Step Functions error name (`name`) and cause (`message`), as Retry/Catch see it. */
export class TaskFailure extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/**
 * A failure of the emulation itself, not of the called service (unknown service, unsupported resource, oversized
 * result). Like States.Runtime on AWS, neither Retry nor Catch may handle it: aws-local-stepfunctions reads
 * these two getters.
 */
export class TaskRuntimeFailure extends TaskFailure {
  constructor(name: string, cause: string) {
    super(name, cause);
  }
  get isRetryable(): boolean {
    return false;
  }
  get isCatchable(): boolean {
    return false;
  }
}

/** Step Functions' PascalCase service names for aws-sdk error prefixes (the AWS SDK for Java 2.x client names). */
const AWS_SDK_ERROR_SERVICE_NAMES: Readonly<Record<string, string>> = {
  dynamodb: 'DynamoDb',
  sfn: 'Sfn',
  cognitoidentityprovider: 'CognitoIdentityProvider',
  eventbridge: 'EventBridge',
  lambda: 'Lambda',
  s3: 'S3',
  sqs: 'Sqs',
  sns: 'Sns',
  secretsmanager: 'SecretsManager',
  ssm: 'Ssm',
  kms: 'Kms',
  sts: 'Sts',
  iam: 'Iam',
  acmpca: 'AcmPca',
};

function awsSdkServiceName(service: string): string {
  return AWS_SDK_ERROR_SERVICE_NAMES[service] ?? service.charAt(0).toUpperCase() + service.slice(1);
}

/** SDK v3 packages whose name is not `@aws-sdk/client-<service id>`. */
const SDK_PACKAGES: Readonly<Record<string, string>> = {
  cognitoidentityprovider: '@aws-sdk/client-cognito-identity-provider',
  events: '@aws-sdk/client-eventbridge',
  states: '@aws-sdk/client-sfn',
  secretsmanager: '@aws-sdk/client-secrets-manager',
};

/**
 * Lambda API exceptions with their HTTP status (the Lambda client is not installed, so its model cannot be
 * consulted; and an in-process invoker throws them without the SDK's `$metadata`).
 */
const LAMBDA_EXCEPTIONS: ReadonlyMap<string, number> = new Map([
  ['ResourceNotFoundException', 404],
  ['TooManyRequestsException', 429],
  ['ServiceException', 500],
  ['InvalidParameterValueException', 400],
  ['InvalidRequestContentException', 400],
  ['RequestTooLargeException', 413],
  ['ResourceConflictException', 409],
  ['ResourceNotReadyException', 502],
  ['UnsupportedMediaTypeException', 415],
  ['InvalidRuntimeException', 502],
]);

type SdkModule = Record<string, unknown>;
const moduleCache = new Map<string, Promise<SdkModule | undefined>>();

function loadSdkModule(service: string): Promise<SdkModule | undefined> {
  const pkg = SDK_PACKAGES[service] ?? `@aws-sdk/client-${service}`;
  let loading = moduleCache.get(pkg);
  if (!loading) {
    loading = import(pkg).then(
      (mod: SdkModule) => mod,
      () => undefined,
    );
    moduleCache.set(pkg, loading);
  }
  return loading;
}

/** True when the service model declares an exception of this name (the SDK exports a class for it). */
async function isDeclaredException(service: string, name: string): Promise<boolean> {
  if (service === 'lambda') return LAMBDA_EXCEPTIONS.has(name);
  const mod = await loadSdkModule(service);
  return typeof mod?.[name] === 'function' && !name.endsWith('ServiceException');
}

interface ServiceErrorInfo {
  readonly name: string;
  readonly message: string;
  readonly status?: number;
  readonly requestId: string;
}

function errorInfo(service: string, err: unknown): ServiceErrorInfo {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown;
    message?: unknown;
    /** An in-process service (the local stack's AwsServiceError) answers with its HTTP status here. */
    status?: unknown;
    $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
  };
  const name = typeof e.name === 'string' && e.name !== '' ? e.name : 'Error';
  const status =
    typeof e.$metadata?.httpStatusCode === 'number'
      ? e.$metadata.httpStatusCode
      : typeof e.status === 'number'
        ? e.status
        : service === 'lambda'
          ? LAMBDA_EXCEPTIONS.get(name)
          : undefined;
  return {
    name,
    message: typeof e.message === 'string' ? e.message : String(err),
    ...(status === undefined ? {} : { status }),
    requestId: typeof e.$metadata?.requestId === 'string' ? e.$metadata.requestId : randomUUID(),
  };
}

/** Names a failed call of an optimized integration the way Step Functions does (AWS SDK for Java 1.x wording). */
async function optimizedFailure(service: 'dynamodb' | 'events' | 'lambda', err: unknown): Promise<TaskFailure> {
  const naming = {
    dynamodb: { prefix: 'DynamoDB', base: 'AmazonDynamoDBException', sdkService: 'AmazonDynamoDBv2' },
    events: { prefix: 'EventBridge', base: 'AmazonEventBridgeException', sdkService: 'AmazonEventBridge' },
    lambda: { prefix: 'Lambda', base: 'AWSLambdaException', sdkService: 'AWSLambda' },
  }[service];
  const info = errorInfo(service, err);
  if (info.status === undefined) return new TaskFailure(`${naming.prefix}.SdkClientException`, info.message);
  const declared = await isDeclaredException(service, info.name);
  return new TaskFailure(
    `${naming.prefix}.${declared ? info.name : naming.base}`,
    `${info.message} (Service: ${naming.sdkService}; Status Code: ${info.status}; Error Code: ${info.name}; Request ID: ${info.requestId}; Proxy: null)`,
  );
}

/** Names a failed aws-sdk integration call the way Step Functions does (AWS SDK for Java 2.x wording). */
async function awsSdkFailure(service: string, err: unknown): Promise<TaskFailure> {
  const serviceName = awsSdkServiceName(service);
  const info = errorInfo(service, err);
  if (info.status === undefined) return new TaskFailure(`${serviceName}.SdkClientException`, info.message);
  const declared = await isDeclaredException(service, info.name);
  let exception = declared ? info.name : serviceName;
  if (!exception.endsWith('Exception')) exception += 'Exception';
  return new TaskFailure(
    `${serviceName}.${exception}`,
    `${info.message} (Service: ${serviceName}, Status Code: ${info.status}, Request ID: ${info.requestId})`,
  );
}

/** SDK output -> the JSON Step Functions passes on: no `$metadata`, timestamps as ISO-8601, blobs as base64. */
export function toStateJson(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toStateJson);
  if (value instanceof Set) return [...value].map(toStateJson);
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '$metadata' || v === undefined) continue;
      out[k] = toStateJson(v);
    }
    return out;
  }
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  return String(value);
}

function requestIdOf(response: Record<string, unknown>): string {
  const meta = response['$metadata'] as { requestId?: unknown } | undefined;
  return typeof meta?.requestId === 'string' ? meta.requestId : randomUUID();
}

/** The `SdkHttpMetadata`/`SdkResponseMetadata` members the optimized integrations add to a result. */
function sdkMetadata(requestId: string, contentType: string, extraHeaders: Record<string, string> = {}): JsonObject {
  const headers: Record<string, string> = {
    'Content-Type': contentType,
    Date: new Date().toUTCString(),
    'x-amzn-RequestId': requestId,
    ...extraHeaders,
  };
  return {
    SdkHttpMetadata: {
      AllHttpHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
      HttpHeaders: headers,
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
  };
}

function asObject(value: JsonValue): JsonObject {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  throw new TaskRuntimeFailure('States.Runtime', 'The Parameters of a service integration task must be a JSON object');
}

export interface IntegrationsOptions {
  readonly region: string;
  /** URL of the local AWS endpoint the SDK clients call (read at call time: the port is known only after listen). */
  readonly endpoint?: () => string;
  readonly invokeLambda?: InvokeLambda;
  /** Replaces the SDK-based call (tests, or an in-process dispatcher); Lambda calls too unless invokeLambda is given. */
  readonly callIntegration?: CallIntegration;
}

export interface TaskContext {
  readonly stateMachineArn: string;
  readonly executionArn: string;
  readonly signal: AbortSignal;
}

export interface Integrations {
  /** Runs a task; resolves to the task result, rejects with a TaskFailure named as Step Functions names it. */
  run(target: Exclude<TaskTarget, { kind: 'unsupported' }>, parameters: JsonValue, ctx: TaskContext): Promise<JsonValue>;
  close(): void;
}

type SdkClient = { send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<Record<string, unknown>>; destroy(): void };

export function createIntegrations(options: IntegrationsOptions): Integrations {
  const clients = new Map<string, SdkClient>();

  /** The default CallIntegration: the SDK v3 client and command named after the service and action. */
  const sdkCall: CallIntegration = async (service, action, parameters, { signal }) => {
    if (service === 'lambda') {
      if (action !== 'invoke') {
        throw new TaskRuntimeFailure('States.Runtime', `Lambda action '${action}' is not supported by the local Step Functions emulation`);
      }
      return lambdaInvoke(parameters);
    }
    const endpoint = options.endpoint?.();
    if (!endpoint) {
      throw new TaskRuntimeFailure('States.Runtime', 'The local Step Functions emulation has no AWS endpoint configured for service integrations');
    }
    const mod = await loadSdkModule(service);
    if (!mod) {
      throw new TaskRuntimeFailure('States.Runtime', `No AWS SDK v3 client is installed for service '${service}'`);
    }
    const clientName = Object.keys(mod).find((k) => /^[A-Z][A-Za-z0-9]*Client$/.test(k) && typeof mod[k] === 'function');
    const commandName = `${action.charAt(0).toUpperCase()}${action.slice(1)}Command`;
    const Command = mod[commandName] as (new (input: unknown) => unknown) | undefined;
    if (!clientName || typeof Command !== 'function') {
      throw new TaskRuntimeFailure('States.Runtime', `The API action '${action}' is not supported by service '${service}'`);
    }
    const key = `${clientName}|${endpoint}`;
    let client = clients.get(key);
    if (!client) {
      const Client = mod[clientName] as new (config: unknown) => SdkClient;
      client = new Client({
        region: options.region,
        endpoint,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      clients.set(key, client);
    }
    return client.send(new Command(parameters), { abortSignal: signal });
  };

  async function lambdaInvoke(parameters: JsonObject): Promise<Record<string, unknown>> {
    if (!options.invokeLambda) {
      throw new TaskRuntimeFailure('States.Runtime', 'The local Step Functions emulation has no Lambda invoker configured');
    }
    const functionName = parameters['FunctionName'];
    if (typeof functionName !== 'string') {
      throw new TaskRuntimeFailure('States.Runtime', 'The Parameters of a lambda:invoke task must contain FunctionName');
    }
    // Lambda hands an absent payload to the function as an empty object.
    const result = await options.invokeLambda(functionName, 'Payload' in parameters ? parameters['Payload'] : {});
    if ('error' in result) return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: result.error, FunctionError: 'Unhandled' };
    return {
      StatusCode: 200,
      ExecutedVersion: result.executedVersion ?? '$LATEST',
      Payload: result.payload,
      ...(result.functionError === undefined ? {} : { FunctionError: result.functionError }),
    };
  }

  // Lambda goes to invokeLambda when there is one; callIntegration otherwise replaces every call.
  const call: CallIntegration = (service, action, parameters, opts) =>
    (service === 'lambda' && options.invokeLambda) || !options.callIntegration
      ? sdkCall(service, action, parameters, opts)
      : options.callIntegration(service, action, parameters, opts);

  async function invokeFunction(parameters: JsonObject, signal: AbortSignal): Promise<Record<string, unknown>> {
    let response: Record<string, unknown>;
    try {
      response = await call('lambda', 'invoke', parameters, { signal });
    } catch (err) {
      if (err instanceof TaskRuntimeFailure) throw err;
      throw await optimizedFailure('lambda', err);
    }
    if (response['FunctionError'] !== undefined) {
      const payload = response['Payload'];
      const errorType = (payload as { errorType?: unknown } | null)?.errorType;
      throw new TaskFailure(
        typeof errorType === 'string' && errorType !== '' ? errorType : 'Lambda.Unknown',
        typeof payload === 'string' ? payload : JSON.stringify(payload ?? null),
      );
    }
    return response;
  }

  return {
    async run(target, parameters, ctx) {
      switch (target.kind) {
        case 'lambda-invoke': {
          const response = await invokeFunction(asObject(parameters), ctx.signal);
          return {
            ExecutedVersion: toStateJson(response['ExecutedVersion'] ?? '$LATEST'),
            Payload: toStateJson(response['Payload']),
            ...sdkMetadata(requestIdOf(response), 'application/json', { 'X-Amz-Executed-Version': String(response['ExecutedVersion'] ?? '$LATEST') }),
            StatusCode: 200,
          };
        }
        case 'lambda-function': {
          // The legacy integration passes the whole effective input as the payload and returns the payload.
          const response = await invokeFunction({ FunctionName: target.resource, Payload: parameters }, ctx.signal);
          return toStateJson(response['Payload']);
        }
        case 'dynamodb': {
          try {
            const response = await call('dynamodb', target.resource, asObject(parameters), { signal: ctx.signal });
            return { ...asObject(toStateJson(response)), ...sdkMetadata(requestIdOf(response), 'application/x-amz-json-1.0') };
          } catch (err) {
            if (err instanceof TaskRuntimeFailure) throw err;
            throw await optimizedFailure('dynamodb', err);
          }
        }
        case 'events-put':
          return putEvents(asObject(parameters), ctx);
        case 'aws-sdk': {
          try {
            const response = await call(target.service, target.resource, asObject(parameters), { signal: ctx.signal });
            return toStateJson(response);
          } catch (err) {
            if (err instanceof TaskRuntimeFailure) throw err;
            throw await awsSdkFailure(target.service, err);
          }
        }
      }
    },
    close() {
      for (const client of clients.values()) client.destroy();
      clients.clear();
    },
  };

  /**
   * The optimized PutEvents: a JSON Detail is serialized for the caller, the state machine and execution ARNs are
   * appended to each entry's Resources, and any failed entry fails the task with `EventBridge.FailedEntry`.
   */
  async function putEvents(parameters: JsonObject, ctx: TaskContext): Promise<JsonValue> {
    const entries = parameters['Entries'];
    if (!Array.isArray(entries)) {
      throw new TaskRuntimeFailure('States.Runtime', 'The Parameters of an events:putEvents task must contain an Entries array');
    }
    const prepared = entries.map((entry) => {
      const e = asObject(entry);
      const detail = e['Detail'];
      return {
        ...e,
        ...(detail === undefined || typeof detail === 'string' ? {} : { Detail: JSON.stringify(detail) }),
        Resources: [...(Array.isArray(e['Resources']) ? e['Resources'] : []), ctx.stateMachineArn, ctx.executionArn],
      };
    });
    let response: Record<string, unknown>;
    try {
      response = await call('events', 'putEvents', { ...parameters, Entries: prepared }, { signal: ctx.signal });
    } catch (err) {
      if (err instanceof TaskRuntimeFailure) throw err;
      throw await optimizedFailure('events', err);
    }
    const result = { Entries: toStateJson(response['Entries'] ?? []), FailedEntryCount: toStateJson(response['FailedEntryCount'] ?? 0) };
    if (typeof result.FailedEntryCount === 'number' && result.FailedEntryCount > 0) {
      throw new TaskFailure('EventBridge.FailedEntry', JSON.stringify(result));
    }
    return result;
  }
}
