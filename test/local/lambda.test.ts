/**
 * The local Lambda service: in-process invocation and the Invoke REST API (plain fetch against a loopback server).
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../lambdas/shared/contract/functions';
import {
  createLocalLambda,
  FunctionNotFoundError,
  functionArn,
  functionsFromContract,
  type LocalFunction,
  MAX_PAYLOAD_BYTES,
  RequestTooLargeError,
} from '../../infra/local/aws/lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../infra/local/aws/types';

const region = LOCAL_REGION;
const accountId = LOCAL_ACCOUNT_ID;

class QuotaExceededError extends Error {
  override readonly name = 'QuotaExceededError';
}

function fn(name: string, handler: (event: unknown, context: Context) => unknown, extra: Partial<LocalFunction> = {}): LocalFunction {
  return { name, arn: functionArn(name, region, accountId), load: async () => ({ handler }), ...extra };
}

const seen: Array<{ event: unknown; context: Context }> = [];
const measured: number[] = [];
const lambda = createLocalLambda({
  region,
  accountId,
  functions: [
    fn('echo', (event, context) => {
      seen.push({ event, context });
      return { got: event, remaining: context.getRemainingTimeInMillis(), at: new Date(0) };
    }),
    fn('measure', (event) => {
      const size = Buffer.byteLength(JSON.stringify(event));
      measured.push(size);
      return size;
    }),
    fn('fails', () => {
      throw new QuotaExceededError('over the quota');
    }),
    fn('slow', () => new Promise((resolve) => setTimeout(resolve, 200)), { timeoutMs: 30 }),
    fn('callback', ((event: unknown, _context: Context, callback: (err: unknown, value: unknown) => void) => {
      setTimeout(() => callback(null, { viaCallback: event }), 1);
    }) as never),
  ],
});

describe('in-process invoke', () => {
  it('passes a JSON round-tripped payload and a Lambda-like context, and returns the JSON result', async () => {
    // Prepare
    seen.length = 0;

    // Act
    const result = await lambda.invoke('echo', { when: new Date('2026-01-02T03:04:05Z'), drop: undefined, n: 1 });

    // Assess
    expect(result).toEqual({
      payload: { got: { when: '2026-01-02T03:04:05.000Z', n: 1 }, remaining: expect.any(Number), at: '1970-01-01T00:00:00.000Z' },
    });
    const { context } = seen[0] as { context: Context };
    expect(context.functionName).toBe('echo');
    expect(context.invokedFunctionArn).toBe(`arn:aws:lambda:${region}:${accountId}:function:echo`);
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.getRemainingTimeInMillis()).toBeLessThanOrEqual(30_000);
  });

  it('reports a thrown error with its name as errorType, its message and its stack', async () => {
    // Act
    const result = await lambda.invoke('fails', {});

    // Assess
    expect(result).toMatchObject({ error: { errorType: 'QuotaExceededError', errorMessage: 'over the quota' } });
    expect('error' in result && result.error.trace?.[0]).toContain('QuotaExceededError: over the quota');
  });

  it('finds a function by name, ARN and partial ARN, and nothing in another account or region', () => {
    // Assess
    expect(lambda.resolve('echo')?.name).toBe('echo');
    expect(lambda.resolve(`arn:aws:lambda:${region}:${accountId}:function:echo`)?.name).toBe('echo');
    expect(lambda.resolve(`arn:aws:lambda:${region}:${accountId}:function:echo:$LATEST`)?.name).toBe('echo');
    expect(lambda.resolve(`${accountId}:function:echo`)?.name).toBe('echo');
    expect(lambda.resolve(`arn:aws:lambda:eu-west-1:${accountId}:function:echo`)).toBeUndefined();
    expect(lambda.resolve(`arn:aws:lambda:${region}:111111111111:function:echo`)).toBeUndefined();
    expect(lambda.resolve('nope')).toBeUndefined();
  });

  it('throws ResourceNotFoundException for an unknown function', async () => {
    // Act
    const failure = await lambda.invoke('nope', {}).catch((err: unknown) => err);

    // Assess
    expect(failure).toBeInstanceOf(FunctionNotFoundError);
    expect((failure as Error).name).toBe('ResourceNotFoundException');
  });

  it('refuses a payload over 6 MB as JSON with RequestTooLargeException, without running the function', async () => {
    // Prepare: the limit counts the serialized event, so quotes and escapes count too.
    measured.length = 0;
    const justUnder = 'x'.repeat(MAX_PAYLOAD_BYTES - JSON.stringify({ s: '' }).length);
    const escaped = '"'.repeat(MAX_PAYLOAD_BYTES / 2); // 3 MB of characters, 6 MB once each is escaped

    // Act
    const atLimit = await lambda.invoke('measure', { s: justUnder });
    const overBy1 = await lambda.invoke('measure', { s: `${justUnder}x` }).catch((err: unknown) => err);
    const overEscaped = await lambda.invoke('measure', { s: escaped }).catch((err: unknown) => err);

    // Assess
    expect(atLimit).toEqual({ payload: MAX_PAYLOAD_BYTES });
    expect(overBy1).toBeInstanceOf(RequestTooLargeError);
    expect(overBy1).toMatchObject({
      name: 'RequestTooLargeException',
      message: `Request must be smaller than ${MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
    });
    expect(overEscaped).toBeInstanceOf(RequestTooLargeError);
    expect(measured).toEqual([MAX_PAYLOAD_BYTES]);
  });

  it('reports a function that outlives its timeout as Sandbox.Timedout', async () => {
    // Act
    const result = await lambda.invoke('slow', {});

    // Assess
    expect(result).toMatchObject({ error: { errorType: 'Sandbox.Timedout' } });
    expect('error' in result && result.error.errorMessage).toMatch(/Task timed out after 0\.03 seconds$/);
  });

  it('answers a callback-style handler through its callback', async () => {
    // Act
    const result = await lambda.invoke('callback', { a: 1 });

    // Assess
    expect(result).toEqual({ payload: { viaCallback: { a: 1 } } });
  });

  it('runs invocations concurrently and cold-starts a function once', async () => {
    // Prepare: each invocation waits until both have started
    let loads = 0;
    let started = 0;
    let release: () => void = () => undefined;
    const bothStarted = new Promise<void>((resolve) => (release = resolve));
    const local = createLocalLambda({
      region,
      accountId,
      functions: [
        {
          name: 'barrier',
          arn: functionArn('barrier', region, accountId),
          load: async () => {
            loads += 1;
            return {
              handler: async () => {
                started += 1;
                if (started === 2) release();
                await bothStarted;
                return 'done';
              },
            };
          },
          timeoutMs: 2000,
        },
      ],
    });

    // Act
    const results = await Promise.all([local.invoke('barrier', {}), local.invoke('barrier', {})]);

    // Assess
    expect(results).toEqual([{ payload: 'done' }, { payload: 'done' }]);
    expect(loads).toBe(1);
  });

  it('reports a module that fails to load as Runtime.ImportModuleError and retries the cold start', async () => {
    // Prepare
    let attempts = 0;
    const local = createLocalLambda({
      region,
      accountId,
      functions: [
        {
          name: 'flaky',
          arn: functionArn('flaky', region, accountId),
          load: async () => {
            attempts += 1;
            if (attempts === 1) throw new SyntaxError('Unexpected token');
            return { handler: async () => 'loaded' };
          },
        },
      ],
    });

    // Act
    const first = await local.invoke('flaky', {});
    const second = await local.invoke('flaky', {});

    // Assess
    expect(first).toMatchObject({ error: { errorType: 'Runtime.ImportModuleError', errorMessage: 'Unexpected token' } });
    expect(second).toEqual({ payload: 'loaded' });
  });

  it('reports a module without a handler export as Runtime.HandlerNotFound', async () => {
    // Prepare
    const local = createLocalLambda({
      region,
      accountId,
      functions: [{ name: 'empty', arn: functionArn('empty', region, accountId), load: async () => ({ handler: undefined }) }],
    });

    // Act
    const result = await local.invoke('empty', {});

    // Assess
    expect(result).toMatchObject({ error: { errorType: 'Runtime.HandlerNotFound' } });
  });

  it('refuses a cold start that would change another function\u2019s environment', async () => {
    // Prepare
    const variable = 'DEVACCESS_LAMBDA_TEST_VARIABLE';
    process.env[variable] = 'first';
    const local = createLocalLambda({
      region,
      accountId,
      functions: [fn('configured', () => 'ok', { env: { [variable]: 'second' } })],
    });

    // Act
    const result = await local.invoke('configured', {});
    delete process.env[variable];

    // Assess
    expect(result).toMatchObject({ error: { errorType: 'Runtime.ConfigurationConflict' } });
  });

  it('builds one function per contract entry, named by its key, loading lambdas/<entry>', () => {
    // Act
    const functions = functionsFromContract({ region, accountId, nameOf: (key) => `devaccess-${key}` });

    // Assess
    expect(functions.map((f) => f.name).sort()).toEqual(Object.keys(FUNCTIONS).map((k) => `devaccess-${k}`).sort());
    const tasks = functions.find((f) => f.name === 'devaccess-credentialTasks');
    expect(tasks?.arn).toBe(`arn:aws:lambda:${region}:${accountId}:function:devaccess-credentialTasks`);
    const root = fileURLToPath(new URL('../../', import.meta.url));
    expect(tasks?.module).toBe(join(root, 'lambdas', FUNCTIONS.credentialTasks.entry));
    expect(functions.every((f) => f.module !== undefined && existsSync(f.module))).toBe(true);
  });
});

describe('Invoke REST API', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      void lambda.route(req, res, new URL(req.url ?? '/', 'http://localhost')).then((handled) => {
        if (!handled) {
          res.statusCode = 404;
          res.end('not a lambda route');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const invoke = (name: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`, { method: 'POST', body, headers });

  it('returns the function result with 200', async () => {
    // Act
    const res = await invoke('echo', '{"x":1}');

    // Assess
    expect(res.status).toBe(200);
    expect(res.headers.get('x-amz-function-error')).toBeNull();
    expect(res.headers.get('x-amz-executed-version')).toBe('$LATEST');
    expect(await res.json()).toMatchObject({ got: { x: 1 } });
  });

  it('accepts a full ARN as FunctionName', async () => {
    // Act
    const res = await invoke(functionArn('echo', region, accountId), '{}');

    // Assess
    expect(res.status).toBe(200);
  });

  it('answers a function error with 200, X-Amz-Function-Error and the error payload', async () => {
    // Act
    const res = await invoke('fails', '{}');

    // Assess
    expect(res.status).toBe(200);
    expect(res.headers.get('x-amz-function-error')).toBe('Unhandled');
    expect(await res.json()).toMatchObject({ errorType: 'QuotaExceededError', errorMessage: 'over the quota' });
  });

  it('answers an unknown function with 404 ResourceNotFoundException', async () => {
    // Act
    const res = await invoke('nope', '{}');

    // Assess
    expect(res.status).toBe(404);
    expect(res.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(((await res.json()) as { Message: string }).Message).toBe(
      `Function not found: arn:aws:lambda:${region}:${accountId}:function:nope`,
    );
  });

  it('refuses a body that is not JSON', async () => {
    // Act
    const res = await invoke('echo', '{nope');

    // Assess
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('InvalidRequestContentException');
  });

  it('accepts an Event invocation with 202 and runs it in the background', async () => {
    // Prepare
    seen.length = 0;

    // Act
    const res = await invoke('echo', '{"async":true}', { 'X-Amz-Invocation-Type': 'Event' });
    await new Promise((r) => setTimeout(r, 20));

    // Assess
    expect(res.status).toBe(202);
    expect(seen.map((s) => s.event)).toEqual([{ async: true }]);
  });

  it('leaves other paths to the server', async () => {
    // Act
    const res = await fetch(`${base}/2015-03-31/functions`);

    // Assess
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('not a lambda route');
  });
});
