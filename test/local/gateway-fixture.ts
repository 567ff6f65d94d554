/**
 * Test fixture for the local gateway: an RSA key pair and JWKS standing in for the Cognito emulator's, tokens
 * shaped like Cognito's, a loopback server on port 0 around `createLocalGateway`, a fake `invoke` that records
 * the proxy events, and a raw HTTP client (node:http, so tests control every header line).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { type JWK, type JWTPayload, SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { type GatewayLogger, type JwksLike, type LocalGatewayOptions, createLocalGateway } from '../../infra/local/gateway';
import { USER_ADMIN_SCOPE } from '../../lambdas/shared/contract/names';
import { PATH_PARAM_PATTERNS, type RouteDef, pathParamNames, stagePath } from '../../lambdas/shared/contract/routes';
import type { ApiHandlerName } from '../../lambdas/shared/contract/routes';

export const REGION = 'us-east-1';
export const USER_POOL_ID = 'us-east-1_GwTest0001';
export const ISSUER = `https://cognito-idp.${REGION}.amazonaws.com/${USER_POOL_ID}`;
export const UI_CLIENT_ID = 'uiclient0000000000000000ab';
export const CREDENTIAL_CLIENT_ID = 'cred00000000000000000000cd';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  readonly publicJwk: JWK;
  readonly publicPem: string;
}

export async function newSigningKey(kid: string = randomUUID()): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk, publicPem: await exportSPKI(publicKey) };
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A signed-in user's access token as Cognito issues it. */
export function userAccessClaims(overrides: JWTPayload = {}): JWTPayload {
  const now = nowSeconds();
  return {
    sub: randomUUID(),
    'cognito:groups': ['developers', 'beta'],
    iss: ISSUER,
    client_id: UI_CLIENT_ID,
    origin_jti: randomUUID(),
    event_id: randomUUID(),
    token_use: 'access',
    scope: USER_ADMIN_SCOPE,
    auth_time: now - 60,
    exp: now + 3600,
    iat: now - 60,
    jti: randomUUID(),
    username: 'alice',
    ...overrides,
  };
}

/** A client-credentials access token: `sub` is the client id, no `username`. */
export function clientAccessClaims(scope: string, overrides: JWTPayload = {}): JWTPayload {
  const now = nowSeconds();
  return {
    sub: CREDENTIAL_CLIENT_ID,
    token_use: 'access',
    scope,
    auth_time: now - 5,
    iss: ISSUER,
    exp: now + 3600,
    iat: now - 5,
    version: 2,
    jti: randomUUID(),
    client_id: CREDENTIAL_CLIENT_ID,
    ...overrides,
  };
}

/** A Cognito ID token of the same user. */
export function idTokenClaims(overrides: JWTPayload = {}): JWTPayload {
  const now = nowSeconds();
  return {
    sub: randomUUID(),
    aud: UI_CLIENT_ID,
    email_verified: true,
    token_use: 'id',
    auth_time: now - 60,
    iss: ISSUER,
    'cognito:username': 'alice',
    exp: now + 3600,
    iat: now - 60,
    email: 'alice@example.com',
    ...overrides,
  };
}

export function sign(key: SigningKey, claims: JWTPayload, header: { alg?: string; kid?: string } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid, ...header }).sign(key.privateKey);
}

export const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A concrete request path for a route: valid values for its path parameters. */
export function concretePath(route: RouteDef): string {
  const samples: Record<string, string> = { clientId: CREDENTIAL_CLIENT_ID, id: '0f8fad5b-d9cb-469f-a165-70867728950e' };
  let path = stagePath(route);
  for (const name of pathParamNames(route.path)) {
    const sample = samples[name];
    if (!sample || !PATH_PARAM_PATTERNS[name]?.test(sample)) {
      throw new Error(`No valid sample for path parameter ${name}`);
    }
    path = path.replace(`{${name}}`, sample);
  }
  return path;
}

export interface Invocation {
  readonly functionName: ApiHandlerName;
  readonly event: APIGatewayProxyEvent;
}

export interface LogLine {
  readonly level: 'info' | 'error';
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

export interface Harness {
  readonly baseUrl: string;
  readonly port: number;
  readonly invocations: Invocation[];
  readonly logs: LogLine[];
  /** How many times the gateway read the JWKS from the (emulated) Cognito. */
  jwksReads: number;
  /** What the fake Lambda does; by default it answers 200 with a small JSON body. */
  respond: (functionName: ApiHandlerName, event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  close(): Promise<void>;
}

export interface HarnessOptions extends Partial<Pick<LocalGatewayOptions, 'now' | 'integrationTimeoutMs' | 'accountId' | 'corsOrigins'>> {
  readonly keys: () => readonly JWK[];
  /** node:http's limit on the request head. @default node's default (16 KiB) */
  readonly maxHeaderSize?: number;
}

export async function startGateway(options: HarnessOptions): Promise<Harness> {
  const invocations: Invocation[] = [];
  const logs: LogLine[] = [];
  const logger: GatewayLogger = {
    info: (message, attributes) => logs.push({ level: 'info', message, attributes }),
    error: (message, attributes) => logs.push({ level: 'error', message, attributes }),
  };
  const harness = {
    invocations,
    logs,
    jwksReads: 0,
    respond: async () => ({ statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '{"ok":true}' }),
  } as Omit<Harness, 'baseUrl' | 'port' | 'close'>;

  const gateway = createLocalGateway({
    region: REGION,
    userPoolId: USER_POOL_ID,
    jwks: (): JwksLike => {
      harness.jwksReads += 1;
      return { keys: options.keys() as JwksLike['keys'] };
    },
    invoke: async (functionName, event) => {
      invocations.push({ functionName, event });
      return harness.respond(functionName, event);
    },
    logger,
    ...(options.now ? { now: options.now } : {}),
    ...(options.integrationTimeoutMs ? { integrationTimeoutMs: options.integrationTimeoutMs } : {}),
    ...(options.accountId ? { accountId: options.accountId } : {}),
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
  });

  const server = http.createServer(options.maxHeaderSize ? { maxHeaderSize: options.maxHeaderSize } : {}, (req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    gateway(req, res, url).then(
      (handled) => {
        if (!handled) {
          res.writeHead(418, { 'Content-Type': 'text/plain' });
          res.end('not the gateway');
        }
      },
      () => {
        res.writeHead(599);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(harness, {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as Harness;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  json(): unknown;
}

export interface RawRequest {
  readonly method?: string;
  readonly path: string;
  /** Header lines in order, duplicates allowed; `Host` is added. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly body?: string | Buffer;
}

/** One HTTP/1.1 request on a fresh connection, with exactly the header lines given. */
export function send(port: number, request: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const flat = ['Host', `127.0.0.1:${port}`];
    for (const [name, value] of request.headers ?? []) flat.push(name, value);
    if (request.body !== undefined) flat.push('Content-Length', String(Buffer.byteLength(request.body)));
    const req = http.request(
      { host: '127.0.0.1', port, method: request.method ?? 'GET', path: request.path, headers: flat, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json: () => JSON.parse(text) as unknown });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

export const bearer = (token: string): [string, string] => ['Authorization', `Bearer ${token}`];
