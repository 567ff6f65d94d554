/**
 * The local AWS endpoint: what `AWS_ENDPOINT_URL` points the handlers' SDK clients at. It serves
 * - the AWS JSON 1.0/1.1 protocols: `POST /` with `X-Amz-Target: <prefix>.<Action>`, dispatched to DynamoDB and
 *   to every AwsJsonService (Cognito, Step Functions, EventBridge, ...);
 * - plain HTTP routes (Cognito's token endpoint and JWKS, the Lambda Invoke REST API), tried in order.
 *
 * Authentication: requests are signed with Signature V4 by the SDK; the signature is accepted WITHOUT
 * verification. This endpoint is a local development stack that listens on loopback; it holds no real
 * credentials and must never be exposed beyond the machine.
 *
 * Responses follow the AWS JSON protocol: 200 with `Content-Type: application/x-amz-json-1.x`; errors as
 * `{ "__type": "<Name>", "message": "..." }` with `x-amzn-ErrorType: <Name>`, so the SDK raises an exception
 * whose `name` is `<Name>`; anything unexpected is a 500 InternalFailure that reveals nothing of the cause.
 * Every response carries `x-amzn-RequestId`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';
import type { LocalDynamoDb } from './dynamodb';
import { AwsServiceError, type AwsJsonService, type AwsRequestContext, type HttpRoute } from './types';

/** Default request body limit of the JSON services (DynamoDB has its own, larger one). */
export const DEFAULT_MAX_JSON_BODY_BYTES = 1024 * 1024;

export interface AwsEndpointOptions {
  readonly services: readonly AwsJsonService[];
  /** The local DynamoDB (served under its own target prefix with its own body limit). */
  readonly dynamodb?: LocalDynamoDb;
  /** Non-JSON-protocol routes, tried in order for every request that is not `POST /` with `X-Amz-Target`. */
  readonly routes?: readonly HttpRoute[];
  readonly region: string;
  readonly accountId: string;
  /** @default DEFAULT_MAX_JSON_BODY_BYTES */
  readonly maxBodyBytes?: number;
  /** Where unexpected service failures are reported (never to the client). @default console.error */
  readonly onInternalError?: (err: unknown, context: { target: string; requestId: string }) => void;
  /** Runs around every JSON-protocol dispatch (fault injection, infra/local/faults.ts). @default none */
  readonly interceptor?: DispatchInterceptor;
}

/** One JSON-protocol call, as a DispatchInterceptor sees it. */
export interface InterceptedCall {
  /** `X-Amz-Target` before the last dot, e.g. `DynamoDB_20120810`. */
  readonly targetPrefix: string;
  readonly action: string;
  readonly input: Record<string, unknown>;
}

/**
 * A hook before and after dispatch: it calls `dispatch` (or not) and returns its result, throws an
 * AwsServiceError to answer with that error, or throws DroppedResponse to lose the response.
 */
export interface DispatchInterceptor {
  intercept(call: InterceptedCall, dispatch: () => Promise<unknown>): Promise<unknown>;
}

/** Thrown by an interceptor: no response reaches the caller (`reset`: the connection is destroyed; `error`: a 500). */
export class DroppedResponse extends Error {
  override readonly name = 'DroppedResponse';
  constructor(readonly mode: 'reset' | 'error') {
    super(`response dropped (${mode})`);
  }
}

interface Registered {
  readonly service: AwsJsonService;
  readonly maxBodyBytes: number;
}

class RequestTooLargeError extends Error {}

/**
 * Builds the endpoint as an HttpRoute: it answers `POST /` with `X-Amz-Target`, or a request one of `routes`
 * claims, and returns false for anything else (so the server can try the API gateway or answer 404).
 */
export function createAwsEndpoint(options: AwsEndpointOptions): HttpRoute {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_JSON_BODY_BYTES;
  const byPrefix = new Map<string, Registered>();
  const register = (service: AwsJsonService, limit: number) => {
    if (byPrefix.has(service.targetPrefix)) {
      throw new Error(`Two services registered for X-Amz-Target prefix ${service.targetPrefix}`);
    }
    byPrefix.set(service.targetPrefix, { service, maxBodyBytes: limit });
  };
  if (options.dynamodb) register(options.dynamodb.service, options.dynamodb.maxRequestBytes);
  for (const service of options.services) register(service, maxBody);
  const ctx: AwsRequestContext = { region: options.region, accountId: options.accountId };
  const routes = options.routes ?? [];
  const reportInternal =
    options.onInternalError ??
    ((err: unknown, c: { target: string; requestId: string }) =>
      console.error(`[aws-endpoint] ${c.target} failed (request ${c.requestId}):`, err));

  return async (req, res, url) => {
    const requestId = randomUUID();
    res.setHeader('x-amzn-RequestId', requestId);
    const target = req.headers['x-amz-target'];
    if (req.method === 'POST' && url.pathname === '/' && typeof target === 'string') {
      await handleJson(req, res, target, requestId);
      return true;
    }
    for (const route of routes) {
      if (await route(req, res, url)) return true;
    }
    if (!res.headersSent) res.removeHeader('x-amzn-RequestId');
    return false;
  };

  async function handleJson(req: IncomingMessage, res: ServerResponse, target: string, requestId: string) {
    const dot = target.lastIndexOf('.');
    const prefix = dot > 0 ? target.slice(0, dot) : '';
    const action = dot > 0 ? target.slice(dot + 1) : '';
    const registered = byPrefix.get(prefix);
    const jsonVersion = registered?.service.jsonVersion ?? '1.1';
    try {
      if (!registered || action === '') {
        // Drain the body so the connection stays usable for keep-alive.
        await readBody(req, maxBody).catch(() => undefined);
        throw new AwsServiceError('UnknownOperationException', `Unknown operation ${target}`);
      }
      let raw: Buffer;
      try {
        raw = await readBody(req, registered.maxBodyBytes);
      } catch (err) {
        if (err instanceof RequestTooLargeError) {
          throw new AwsServiceError(
            'RequestEntityTooLargeException',
            `Request body exceeds ${registered.maxBodyBytes} bytes`,
            413,
          );
        }
        throw err;
      }
      const input = parseJsonObject(raw);
      const service = registered.service;
      const dispatch = () => service.handle(action, input, ctx);
      const result = await (options.interceptor
        ? options.interceptor.intercept({ targetPrefix: prefix, action, input }, dispatch)
        : dispatch());
      writeJson(res, 200, jsonVersion, result ?? {}, prefix);
    } catch (err) {
      if (err instanceof DroppedResponse && err.mode === 'reset') {
        res.destroy();
        return;
      }
      if (err instanceof AwsServiceError) {
        res.setHeader('x-amzn-ErrorType', err.type);
        writeJson(res, err.status, jsonVersion, { ...err.fields, __type: err.type, message: err.message }, prefix);
        return;
      }
      if (!(err instanceof DroppedResponse)) reportInternal(err, { target, requestId });
      res.setHeader('x-amzn-ErrorType', 'InternalFailure');
      writeJson(
        res,
        500,
        jsonVersion,
        {
          __type: 'InternalFailure',
          message: 'The request processing has failed because of an unknown error, exception or failure.',
        },
        prefix,
      );
    }
  }
}

function parseJsonObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AwsServiceError('SerializationException', 'The request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AwsServiceError('SerializationException', 'The request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function writeJson(res: ServerResponse, status: number, jsonVersion: string, body: unknown, prefix: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', `application/x-amz-json-${jsonVersion}`);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  // DynamoDB checksums its responses; SDKs that verify it (v2, boto) then work against this endpoint too.
  if (prefix.startsWith('DynamoDB')) res.setHeader('x-amz-crc32', String(crc32(text)));
  res.end(text);
}

/** Reads the whole body, refusing more than `limit` bytes (without buffering them). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(new RequestTooLargeError());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => (tooLarge ? reject(new RequestTooLargeError()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}
