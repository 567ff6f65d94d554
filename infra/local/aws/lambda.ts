/**
 * Local Lambda: runs the product's handlers in this process, the way the Lambda Node.js runtime calls them.
 * - `invoke(nameOrArn, payload)` is the API the other local pieces use (Step Functions tasks, EventBridge targets,
 *   the Cognito trigger). The payload is JSON round-tripped both ways, as Lambda does, so a handler can neither
 *   receive nor return anything that would not survive the wire.
 * - `route` serves the real Invoke REST API (`POST /2015-03-31/functions/{FunctionName}/invocations`), which is
 *   what an SDK Lambda client (a developer's own, or a future @aws-sdk/client-lambda) calls.
 *
 * Differences from Lambda, on purpose: every function shares this process (module state, `process.env`), and a
 * timed-out invocation is reported as timed out but its promise cannot be killed; it runs to completion unseen.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { FUNCTIONS, type FunctionName } from '../../../lambdas/shared/contract/functions';
import { readBody } from './endpoint';
import type { HttpRoute } from './types';

/**
 * Lambda's synchronous invocation payload limit, request and response (6 MB). On the request side it counts the
 * whole event, so behind API Gateway (which takes bodies up to 10 MB) a body of a little under 6 MB is refused.
 */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const REQUEST_TOO_LARGE_MESSAGE = `Request must be smaller than ${MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation`;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MEMORY_MB = 256;

export type LambdaHandler = (event: unknown, context: Context, callback?: (err?: unknown, result?: unknown) => void) => unknown;

export interface LocalFunction {
  /** Function name (the last part of its ARN). */
  readonly name: string;
  /** `arn:aws:lambda:<region>:<account>:function:<name>` */
  readonly arn: string;
  /** Loads the module that exports `handler`; called once, on first invocation (the cold start). */
  readonly load: () => Promise<{ handler?: unknown }>;
  /** The module's file, when it has one (for messages). */
  readonly module?: string;
  /**
   * Environment the function's configuration needs. All functions share this process's `process.env`, so each
   * variable is set once, on the first cold start that needs it; a function that asks for a different value of
   * an already-set variable fails its cold start instead of silently changing another function's configuration.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** @default 30000 */
  readonly timeoutMs?: number;
  /** @default 256 */
  readonly memoryMb?: number;
}

export interface InvokeError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: readonly string[];
}

export type InvokeResult = { readonly payload: unknown } | { readonly error: InvokeError };

/** The payload of a successful invocation; a function error becomes a thrown Error named by its errorType. */
export function payloadOrThrow(result: InvokeResult): unknown {
  if ('error' in result) {
    throw Object.assign(new Error(result.error.errorMessage), { name: result.error.errorType });
  }
  return result.payload;
}

export interface InvokeOptions {
  /** Extra fields for the context the handler receives (e.g. `clientContext`, `identity`). */
  readonly context?: Partial<Pick<Context, 'clientContext' | 'identity'>>;
}

export interface LocalLambda {
  readonly functions: readonly LocalFunction[];
  /** The function a name, a full ARN or a partial ARN (`<account>:function:<name>`) designates, if any. */
  resolve(nameOrArn: string): LocalFunction | undefined;
  /**
   * Runs a function synchronously (RequestResponse). Throws, as Lambda's Invoke API fails, for an unknown function
   * (ResourceNotFoundException) and for a payload over MAX_PAYLOAD_BYTES as JSON (RequestTooLargeException); the
   * function's own failures are results.
   */
  invoke(nameOrArn: string, payload: unknown, options?: InvokeOptions): Promise<InvokeResult>;
  /** The Lambda Invoke REST API. */
  readonly route: HttpRoute;
}

export class FunctionNotFoundError extends Error {
  override readonly name = 'ResourceNotFoundException';
}

/** Lambda's 413 for an Invoke payload over its limit; the function never runs. */
export class RequestTooLargeError extends Error {
  override readonly name = 'RequestTooLargeException';
  readonly $metadata = { httpStatusCode: 413 };
  constructor() {
    super(REQUEST_TOO_LARGE_MESSAGE);
  }
}

export function functionArn(name: string, region: string, accountId: string): string {
  return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
}

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The product's functions from the shared contract (lambdas/shared/contract/functions.ts): module
 * `lambdas/<entry>`, export `handler`, named by their contract key unless `nameOf` says otherwise.
 */
export function functionsFromContract(options: {
  region: string;
  accountId: string;
  nameOf?: (fn: FunctionName) => string;
  envOf?: (fn: FunctionName) => Readonly<Record<string, string>> | undefined;
  timeoutMs?: number;
}): LocalFunction[] {
  return (Object.keys(FUNCTIONS) as FunctionName[]).map((key) => {
    const name = options.nameOf?.(key) ?? key;
    const modulePath = join(REPO_ROOT, 'lambdas', FUNCTIONS[key].entry);
    const env = options.envOf?.(key);
    return {
      name,
      arn: functionArn(name, options.region, options.accountId),
      module: modulePath,
      load: () => import(pathToFileURL(modulePath).href) as Promise<{ handler?: unknown }>,
      ...(env === undefined ? {} : { env }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    };
  });
}

export function createLocalLambda(options: {
  functions: readonly LocalFunction[];
  region: string;
  accountId: string;
}): LocalLambda {
  const byName = new Map<string, LocalFunction>();
  for (const fn of options.functions) {
    if (!/^[a-zA-Z0-9-_]{1,64}$/.test(fn.name)) throw new Error(`Invalid Lambda function name: ${fn.name}`);
    if (byName.has(fn.name)) throw new Error(`Duplicate Lambda function name: ${fn.name}`);
    byName.set(fn.name, fn);
  }
  const handlers = new Map<string, Promise<LambdaHandler>>();

  function resolve(nameOrArn: string): LocalFunction | undefined {
    const parts = nameOrArn.split(':');
    let name: string | undefined;
    if (parts[0] === 'arn') {
      // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
      if (parts.length < 7 || parts.length > 8 || parts[2] !== 'lambda' || parts[5] !== 'function') return undefined;
      if (parts[3] !== options.region || parts[4] !== options.accountId) return undefined;
      name = parts[6];
    } else if (parts.length >= 3 && parts[1] === 'function') {
      // <account>:function:<name>[:<qualifier>]
      if (parts[0] !== options.accountId || parts.length > 4) return undefined;
      name = parts[2];
    } else if (parts.length <= 2) {
      name = parts[0]; // <name>[:<qualifier>]
    }
    return name === undefined ? undefined : byName.get(name);
  }

  function coldStart(fn: LocalFunction): Promise<LambdaHandler> {
    let pending = handlers.get(fn.name);
    if (!pending) {
      pending = (async () => {
        applyEnvironment(fn);
        const mod = await fn.load();
        if (typeof mod.handler !== 'function') {
          throw runtimeError('Runtime.HandlerNotFound', `${fn.module ?? fn.name}: handler is undefined or not exported`);
        }
        return mod.handler as LambdaHandler;
      })();
      // A failed cold start is retried on the next invocation, as Lambda starts a fresh environment.
      pending.catch(() => handlers.delete(fn.name));
      handlers.set(fn.name, pending);
    }
    return pending;
  }

  async function invoke(nameOrArn: string, payload: unknown, invokeOptions: InvokeOptions = {}): Promise<InvokeResult> {
    const fn = resolve(nameOrArn);
    if (!fn) throw new FunctionNotFoundError(`Function not found: ${describeMissing(nameOrArn, options)}`);
    // The payload crosses the wire as JSON: measured and round-tripped as such.
    const text = JSON.stringify(payload === undefined ? {} : payload) ?? 'null';
    if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw new RequestTooLargeError();
    const event = JSON.parse(text) as unknown;
    const requestId = randomUUID();
    const timeoutMs = fn.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;

    let handler: LambdaHandler;
    try {
      handler = await coldStart(fn);
    } catch (err) {
      const error = toInvokeError(err);
      return {
        error:
          error.errorType.startsWith('Runtime.') ? error : { ...error, errorType: 'Runtime.ImportModuleError' },
      };
    }

    const context: Context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: fn.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: nameOrArn.startsWith('arn:') ? nameOrArn : fn.arn,
      memoryLimitInMB: String(fn.memoryMb ?? DEFAULT_MEMORY_MB),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${fn.name}`,
      logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${requestId.replaceAll('-', '')}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
      ...invokeOptions.context,
    };

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<InvokeResult>((resolveTimeout) => {
      timer = setTimeout(
        () =>
          resolveTimeout({
            error: {
              errorType: 'Sandbox.Timedout',
              errorMessage: `${requestId} Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
            },
          }),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([runHandler(handler, event, context), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  const route: HttpRoute = async (req, res, url) => {
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
    if (!match) return false;
    if (req.method !== 'POST') {
      req.resume();
      writeRestError(res, 405, 'MethodNotAllowedException', `Method ${req.method ?? ''} is not allowed`);
      return true;
    }
    const name = decodeURIComponent(match[1] as string);
    const invocationType = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    let body: Buffer;
    try {
      body = await readBody(req, MAX_PAYLOAD_BYTES);
    } catch {
      writeRestError(res, 413, 'RequestTooLargeException', REQUEST_TOO_LARGE_MESSAGE);
      return true;
    }
    let payload: unknown = {};
    if (body.length > 0) {
      try {
        payload = JSON.parse(body.toString('utf8'));
      } catch (err) {
        writeRestError(res, 400, 'InvalidRequestContentException', `Could not parse request body into json: ${(err as Error).message}`);
        return true;
      }
    }
    const fn = resolve(name);
    if (!fn) {
      writeRestError(res, 404, 'ResourceNotFoundException', `Function not found: ${describeMissing(name, options)}`);
      return true;
    }
    res.setHeader('X-Amz-Executed-Version', '$LATEST');
    if (invocationType === 'DryRun') {
      res.statusCode = 204;
      res.end();
      return true;
    }
    if (invocationType === 'Event') {
      // Asynchronous invocation: accepted now, run later; errors go where Lambda would log them.
      void invoke(name, payload).then(
        (result) => {
          if ('error' in result) console.error(`[lambda] async invocation of ${fn.name} failed:`, result.error.errorType);
        },
        (err: unknown) => console.error(`[lambda] async invocation of ${fn.name} failed:`, (err as Error).name),
      );
      res.statusCode = 202;
      res.end();
      return true;
    }
    if (invocationType !== 'RequestResponse') {
      writeRestError(res, 400, 'InvalidParameterValueException', `Unsupported InvocationType: ${invocationType}`);
      return true;
    }
    const result = await invoke(name, payload);
    const text = 'error' in result ? JSON.stringify(result.error) : JSON.stringify(result.payload ?? null);
    res.statusCode = 200;
    if ('error' in result) res.setHeader('X-Amz-Function-Error', 'Unhandled');
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
    return true;
  };

  return { functions: [...byName.values()], resolve, invoke, route };
}

async function runHandler(handler: LambdaHandler, event: unknown, context: Context): Promise<InvokeResult> {
  try {
    const result = await new Promise<unknown>((resolveResult, rejectResult) => {
      // Callback-style handlers (three parameters) answer through the callback, as in the Node.js runtime.
      const callback = (err?: unknown, value?: unknown) =>
        err === undefined || err === null ? resolveResult(value) : rejectResult(err);
      const returned = handler(event, context, callback);
      if (handler.length < 3 || isThenable(returned)) Promise.resolve(returned).then(resolveResult, rejectResult);
    });
    const text = result === undefined ? 'null' : JSON.stringify(result);
    if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) {
      return {
        error: {
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_PAYLOAD_BYTES} bytes).`,
        },
      };
    }
    return { payload: JSON.parse(text) as unknown };
  } catch (err) {
    return { error: toInvokeError(err) };
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** The Node.js runtime's error payload: the thrown error's name, message and stack lines. */
function toInvokeError(err: unknown): InvokeError {
  if (err instanceof Error) {
    return {
      errorType: err.name,
      errorMessage: err.message,
      ...(err.stack === undefined ? {} : { trace: err.stack.split('\n') }),
    };
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] };
}

function runtimeError(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

function applyEnvironment(fn: LocalFunction): void {
  for (const [key, value] of Object.entries(fn.env ?? {})) {
    const current = process.env[key];
    if (current !== undefined && current !== value) {
      throw runtimeError(
        'Runtime.ConfigurationConflict',
        `${fn.name} needs ${key}=${value} but this process already has ${key}=${current}`,
      );
    }
    process.env[key] = value;
  }
}

/** Lambda names the missing function by its full ARN in the message. */
function describeMissing(nameOrArn: string, options: { region: string; accountId: string }): string {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  const parts = nameOrArn.split(':');
  const name = parts[1] === 'function' ? parts[2] : parts[0];
  return functionArn(name ?? nameOrArn, options.region, options.accountId);
}

/** Lambda's REST-JSON errors: the type in `x-amzn-ErrorType` (what the SDK reads), `Type` and `Message` in the body. */
function writeRestError(
  res: Parameters<HttpRoute>[1],
  status: number,
  type: string,
  message: string,
): void {
  const text = JSON.stringify({ Type: 'User', Message: message, message });
  res.statusCode = status;
  res.setHeader('x-amzn-ErrorType', type);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
