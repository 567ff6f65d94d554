/**
 * The Lambda proxy integration of API Gateway REST, both ways: the request becomes the REST proxy event (payload
 * format 1.0) the handlers receive on AWS, and the handler's result is checked the way API Gateway checks it (a
 * result it cannot use is a "Malformed Lambda proxy response", answered 502) and turned into the HTTP response.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, validateHeaderName, validateHeaderValue } from 'node:http';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { API_STAGE } from '../../../lambdas/shared/contract/names';
import type { RouteDef } from '../../../lambdas/shared/contract/routes';
import type { GatewayClaims } from './authorizer';

/** The ids API Gateway gives every request: `x-amzn-RequestId`, `x-amz-apigw-id` and the X-Ray trace id. */
export interface RequestIds {
  readonly requestId: string;
  readonly extendedRequestId: string;
  readonly traceId: string;
}

export function newRequestIds(epochMs: number): RequestIds {
  return {
    requestId: randomUUID(),
    // API Gateway's extended ids look like `HJ3cxFYCIAMFcCQ=`: 11 random bytes in base64.
    extendedRequestId: randomBytes(11).toString('base64'),
    traceId: `Root=1-${Math.floor(epochMs / 1000).toString(16).padStart(8, '0')}-${randomBytes(12).toString('hex')}`,
  };
}

/** Request headers as API Gateway passes them: names as the client spelt them (first spelling wins). */
export interface RequestHeaders {
  readonly single: Record<string, string>;
  readonly multi: Record<string, string[]>;
}

/**
 * A map keyed by client-chosen names (headers, query parameters). No prototype: a name such as `toString`,
 * `constructor` or `__proto__` is an ordinary key, as it is to API Gateway, not an inherited member.
 */
function clientKeyed<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Groups `rawHeaders` case-insensitively; `headers` keeps the last value, `multiValueHeaders` all of them. */
export function groupRawHeaders(rawHeaders: readonly string[]): RequestHeaders {
  const names = new Map<string, string>();
  const single = clientKeyed<string>();
  const multi = clientKeyed<string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    const lower = raw.toLowerCase();
    const name = names.get(lower) ?? raw;
    names.set(lower, name);
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  return { single, multi };
}

/** All values of one header, whatever the case of its name. */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const lower = name.toLowerCase();
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === lower) values.push(rawHeaders[i + 1] as string);
  }
  return values;
}

const CLF_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `requestContext.requestTime` in API Gateway's CLF format: `09/Apr/2015:12:34:56 +0000`. */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${CLF_MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(
    d.getUTCMinutes(),
  )}:${two(d.getUTCSeconds())} +0000`;
}

/** A stable 6-character resource id per resource path, like API Gateway's `resourceId`. */
function resourceId(path: string): string {
  let hash = 0x811c9dc5;
  for (const char of path) hash = Math.imul(hash ^ (char.codePointAt(0) as number), 0x01000193) >>> 0;
  return hash.toString(36).padStart(6, '0').slice(-6);
}

function sourceIp(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

export interface ProxyEventInput {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly route: RouteDef;
  readonly pathParameters: Record<string, string> | null;
  readonly claims: GatewayClaims | undefined;
  readonly body: Buffer | undefined;
  readonly ids: RequestIds;
  readonly epochMs: number;
  readonly accountId: string;
  readonly apiId: string;
}

/** The REST proxy event API Gateway sends to the route's Lambda function. */
export function buildProxyEvent(input: ProxyEventInput): APIGatewayProxyEvent {
  const { req, url, route, ids } = input;
  const ip = sourceIp(req);
  const port = String(req.socket.localPort ?? '');
  const grouped = groupRawHeaders(req.rawHeaders);
  const headers = grouped.single;
  const multiValueHeaders = grouped.multi;
  // API Gateway appends the caller's address to X-Forwarded-For and adds its own forwarding and trace headers.
  const forwarded = headerValues(req.rawHeaders, 'x-forwarded-for');
  const added: Record<string, string> = {
    'X-Forwarded-For': [...forwarded, ip].join(', '),
    'X-Forwarded-Port': port,
    'X-Forwarded-Proto': 'http',
    'X-Amzn-Trace-Id': ids.traceId,
  };
  for (const [name, value] of Object.entries(added)) {
    for (const existing of Object.keys(headers)) {
      if (existing.toLowerCase() === name.toLowerCase()) {
        delete headers[existing];
        delete multiValueHeaders[existing];
      }
    }
    headers[name] = value;
    multiValueHeaders[name] = [value];
  }

  // Query parameters are URL-decoded; `queryStringParameters` keeps the last value of a repeated name.
  const query = clientKeyed<string>();
  const multiQuery = clientKeyed<string[]>();
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const hasQuery = Object.keys(query).length > 0;

  const stagePrefix = `/${API_STAGE}`;
  const host = headers[Object.keys(headers).find((n) => n.toLowerCase() === 'host') ?? ''] ?? 'localhost';
  const domainName = host.replace(/:\d+$/, '');
  const userAgent = headerValues(req.rawHeaders, 'user-agent').at(-1) ?? null;

  return {
    resource: route.path,
    // The path below the stage, percent-encoding as the client sent it; pathParameters are decoded.
    path: url.pathname.slice(stagePrefix.length),
    httpMethod: route.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: input.pathParameters,
    stageVariables: null,
    requestContext: {
      accountId: input.accountId,
      apiId: input.apiId,
      // Absent on public methods, as on AWS (undefined disappears when the event is serialized).
      authorizer: input.claims ? { claims: input.claims } : undefined,
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      extendedRequestId: ids.extendedRequestId,
      httpMethod: route.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: ip,
        user: null,
        userAgent,
        userArn: null,
      },
      path: url.pathname,
      protocol: `HTTP/${req.httpVersion}`,
      requestId: ids.requestId,
      requestTime: requestTime(input.epochMs),
      requestTimeEpoch: input.epochMs,
      resourceId: resourceId(route.path),
      resourcePath: route.path,
      stage: API_STAGE,
    },
    // Without binary media types configured, API Gateway REST passes the body as text.
    body: input.body && input.body.length > 0 ? input.body.toString('utf8') : null,
    isBase64Encoded: false,
  };
}

/** A proxy result API Gateway can use, reduced to what goes on the wire. */
export interface CheckedResult {
  readonly statusCode: number;
  /** Header name -> values, after merging `headers` into `multiValueHeaders`. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: Buffer;
}

export type ResultCheck = { readonly ok: true; readonly result: CheckedResult } | { readonly ok: false; readonly reason: string };

// Lambda's synchronous response payload limit.
const MAX_RESULT_BYTES = 6 * 1024 * 1024;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isScalar = (value: unknown): value is string | number | boolean =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

/** Checks a handler's return value as API Gateway does before answering; anything unusable is a reason for 502. */
export function checkProxyResult(value: unknown): ResultCheck {
  const bad = (reason: string): ResultCheck => ({ ok: false, reason });
  if (!isPlainObject(value)) return bad('result is not an object');
  const rawStatus = value['statusCode'];
  const statusCode = typeof rawStatus === 'string' && /^\d{3}$/.test(rawStatus) ? Number(rawStatus) : rawStatus;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    return bad('statusCode is not an HTTP status');
  }

  const merged = new Map<string, string[]>();
  const keyOf = new Map<string, string>();
  const add = (name: string, values: string[]) => {
    const key = keyOf.get(name.toLowerCase()) ?? name;
    keyOf.set(name.toLowerCase(), key);
    merged.set(key, values);
  };
  const { headers, multiValueHeaders } = value;
  if (multiValueHeaders !== undefined && multiValueHeaders !== null) {
    if (!isPlainObject(multiValueHeaders)) return bad('multiValueHeaders is not an object');
    for (const [name, values] of Object.entries(multiValueHeaders)) {
      if (!Array.isArray(values) || !values.every(isScalar)) return bad(`multiValueHeaders.${name} is not a list`);
      add(name, values.map(String));
    }
  }
  if (headers !== undefined && headers !== null) {
    if (!isPlainObject(headers)) return bad('headers is not an object');
    for (const [name, v] of Object.entries(headers)) {
      if (!isScalar(v)) return bad(`headers.${name} is not a scalar`);
      // Both given: API Gateway merges them; a pair already in multiValueHeaders is not repeated.
      const existing = merged.get(keyOf.get(name.toLowerCase()) ?? name);
      if (existing === undefined) add(name, [String(v)]);
      else if (!existing.includes(String(v))) existing.push(String(v));
    }
  }
  for (const [name, values] of merged) {
    try {
      validateHeaderName(name);
      for (const v of values) validateHeaderValue(name, v);
    } catch {
      return bad(`header ${JSON.stringify(name)} is not a valid HTTP header`);
    }
  }

  const body = value['body'];
  if (body !== undefined && body !== null && typeof body !== 'string') return bad('body is not a string');
  const isBase64Encoded = value['isBase64Encoded'];
  if (isBase64Encoded !== undefined && typeof isBase64Encoded !== 'boolean') return bad('isBase64Encoded is not a boolean');
  const text = body ?? '';
  if (Buffer.byteLength(text) > MAX_RESULT_BYTES) return bad('result is larger than Lambda\'s 6 MB response limit');
  return {
    ok: true,
    result: { statusCode, headers: merged, body: isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8') },
  };
}

/**
 * Response headers API Gateway REST does not pass through from the integration but renames to
 * `x-amzn-Remapped-<name>` (so a handler's `WWW-Authenticate` reaches the client as
 * `x-amzn-Remapped-WWW-Authenticate`; only gateway responses carry a real `WWW-Authenticate`).
 */
const REMAPPED = new Set([
  'authorization',
  'connection',
  'content-length',
  'date',
  'proxy-authenticate',
  'server',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'www-authenticate',
  'x-amzn-requestid',
]);

/** Writes a checked proxy result with the headers API Gateway adds. */
export function writeProxyResult(res: ServerResponse, result: CheckedResult, ids: RequestIds): void {
  const out: Record<string, string | string[]> = {};
  let hasContentType = false;
  for (const [name, values] of result.headers) {
    if (values.length === 0) continue;
    const lower = name.toLowerCase();
    const target = REMAPPED.has(lower) ? `x-amzn-Remapped-${name}` : name;
    if (lower === 'content-type') hasContentType = true;
    out[target] = values.length === 1 ? (values[0] as string) : [...values];
  }
  // API Gateway REST labels a proxy response without a Content-Type as JSON.
  if (!hasContentType) out['Content-Type'] = 'application/json';
  out['x-amzn-RequestId'] = ids.requestId;
  out['x-amz-apigw-id'] = ids.extendedRequestId;
  out['X-Amzn-Trace-Id'] = ids.traceId;
  const noBody = result.statusCode === 204 || result.statusCode === 304;
  if (!noBody) out['Content-Length'] = String(result.body.length);
  res.writeHead(result.statusCode, out);
  res.end(noBody ? undefined : result.body);
}
