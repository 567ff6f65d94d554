/**
 * The whole story, end to end, against the local stack started in this process on a free port with a temporary
 * data directory: sign-up to API calls with both token kinds, reset, revoke, events, and a restart. Everything
 * goes through HTTP and the real AWS SDK, as a developer's program would.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdminAddUserToGroupCommand,
  CognitoIdentityProviderClient,
  ConfirmSignUpCommand,
  DescribeUserPoolClientCommand,
  InitiateAuthCommand,
  SignUpCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_DETAIL_TYPES } from '../../lambdas/shared/contract/events';
import { GATEWAY_RESPONSES, gatewayResponseBody } from '../../lambdas/shared/contract/gateway-responses';
import { DEFAULT_CORS_ORIGINS, UI_CLIENT } from '../../lambdas/shared/contract/user-pool';
import { STATE_MACHINES } from '../../lambdas/shared/contract/names';
import { logger } from '../../lambdas/shared/logger';
import { readOutbox } from '../../infra/local/aws/cognito';
import { DataDirInUseError } from '../../infra/local/datadir';
import { startLocalStack, type LocalStack } from '../../infra/local/stack';

const PASSWORD = 'Correct-Horse-9-Battery';

interface Http {
  status: number;
  body: any;
  headers: Headers;
}

async function call(method: string, url: string, token?: string, body?: unknown): Promise<Http> {
  const headers: Record<string, string> = {};
  if (token) headers['Authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

async function clientToken(tokenUrl: string, clientId: string, secret: string): Promise<Http> {
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('the local stack, end to end', () => {
  let dataDir: string;
  let stack: LocalStack;
  let port: number;
  const logs: string[] = [];
  let cognito: CognitoIdentityProviderClient;
  const secrets: string[] = [];

  const awsConfig = () => ({
    endpoint: stack.endpoints.awsEndpoint,
    region: stack.endpoints.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

  async function signUpAndConfirm(username: string): Promise<void> {
    await cognito.send(
      new SignUpCommand({
        ClientId: stack.endpoints.uiClientId,
        Username: username,
        Password: PASSWORD,
        UserAttributes: [{ Name: 'email', Value: `${username}@example.com` }],
      }),
    );
    const code = (await readOutbox(dataDir)).filter((m) => m.username === username).at(-1)?.code;
    expect(code).toMatch(/^\d{6}$/);
    await cognito.send(
      new ConfirmSignUpCommand({ ClientId: stack.endpoints.uiClientId, Username: username, ConfirmationCode: code }),
    );
  }

  async function logIn(username: string): Promise<string> {
    const out = await cognito.send(
      new InitiateAuthCommand({
        ClientId: stack.endpoints.uiClientId,
        AuthFlow: 'USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME: username, PASSWORD },
      }),
    );
    const token = out.AuthenticationResult?.AccessToken;
    if (!token) throw new Error('no access token');
    return token;
  }

  function archivedEvents(): { 'detail-type': string; detail: Record<string, any> }[] {
    const text = readFileSync(join(dataDir, 'events.jsonl'), 'utf8');
    return text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l));
  }

  const restoreOutput: (() => void)[] = [];

  beforeAll(async () => {
    // Capture everything the handlers log (at the most verbose level) to search it for secrets.
    logger.setLogLevel('DEBUG');
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      stream.write = ((chunk: unknown) => {
        logs.push(String(chunk));
        return true;
      }) as typeof stream.write;
      restoreOutput.push(() => {
        stream.write = write;
      });
    }
    dataDir = mkdtempSync(join(tmpdir(), 'devaccess-e2e-'));
    stack = await startLocalStack({ port: 0, dataDir, log: (l) => logs.push(l) });
    port = stack.port;
    cognito = new CognitoIdentityProviderClient(awsConfig());
  });

  afterAll(async () => {
    for (const restore of restoreOutput) restore();
    logger.setLogLevel('SILENT');
    cognito?.destroy();
    await stack?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // State shared by the steps of the story, in order.
  let aliceToken: string;
  let aliceUserId: string;
  let credential: { clientId: string; clientSecret: string };
  let oldClientToken: string;

  it('writes endpoints.json with every endpoint', () => {
    const written = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8'));
    expect(written).toEqual(stack.endpoints);
    expect(written.apiUrl).toBe(`http://127.0.0.1:${port}/v1`);
    expect(written.stateMachineArns[STATE_MACHINES.credential]).toMatch(/^arn:aws:states:/);
    expect(written.issuer).toBe(`https://cognito-idp.us-east-1.amazonaws.com/${written.userPoolId}`);
  });

  it('provisions a user when they confirm their sign-up', async () => {
    await signUpAndConfirm('alice');
    const provisioned = archivedEvents().filter((e) => e['detail-type'] === 'UserProvisioned');
    expect(provisioned).toHaveLength(1);
    expect(provisioned[0]?.detail['username']).toBe('alice');
    aliceUserId = provisioned[0]?.detail['userId'];
    expect(aliceUserId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves /v1/me to a signed-in user with their internal user id', async () => {
    aliceToken = await logIn('alice');
    const me = await call('GET', `${stack.endpoints.apiUrl}/me`, aliceToken);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ userId: aliceUserId, via: 'user', username: 'alice' });
  });

  it('creates the UI client UI_CLIENT describes, the one the CDK stack deploys', async () => {
    const { UserPoolClient: client } = await cognito.send(
      new DescribeUserPoolClientCommand({ UserPoolId: stack.endpoints.userPoolId, ClientId: stack.endpoints.uiClientId }),
    );
    const sorted = (v: unknown) => (Array.isArray(v) ? [...v].sort() : v);
    for (const [field, value] of Object.entries(UI_CLIENT)) {
      if (field === 'GenerateSecret') continue; // a request field: Describe shows it as the absence of a secret
      expect(sorted(client?.[field as keyof typeof client]), field).toEqual(sorted(value));
    }
    expect(client?.ClientSecret).toBeUndefined();
  });

  it('lets the browser front end on the default origin call the API (CORS)', async () => {
    // Prepare
    const origin = DEFAULT_CORS_ORIGINS[0] as string;

    // Act
    const preflight = await fetch(`${stack.endpoints.apiUrl}/notes`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' },
    });
    const fromHandler = await fetch(`${stack.endpoints.apiUrl}/me`, { headers: { Origin: origin, Authorization: `Bearer ${aliceToken}` } });
    const fromGateway = await fetch(`${stack.endpoints.apiUrl}/me`, { headers: { Origin: origin } });
    const otherSite = await fetch(`${stack.endpoints.apiUrl}/me`, {
      headers: { Origin: 'https://evil.example', Authorization: `Bearer ${aliceToken}` },
    });

    // Assess
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect(fromHandler.status).toBe(200);
    expect(fromHandler.headers.get('access-control-allow-origin')).toBe(origin);
    expect(fromGateway.status).toBe(401);
    expect(fromGateway.headers.get('access-control-allow-origin')).toBe(origin);
    expect(otherSite.status).toBe(200);
    expect(otherSite.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers 413 for a body API Gateway takes (under 10 MB) but Lambda refuses (over 6 MB)', async () => {
    // Act
    const res = await fetch(`${stack.endpoints.apiUrl}/notes`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${aliceToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(7 * 1024 * 1024) }),
    });

    // Assess: the gateway's own 4xx body, not the handler's (the function never ran).
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual(gatewayResponseBody(GATEWAY_RESPONSES.default4xx));
  });

  it('refuses to create a credential for a user outside the developers group', async () => {
    const res = await call('POST', `${stack.endpoints.apiUrl}/credentials`, aliceToken, {});
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  });

  it('creates a credential once the user is a developer, and shows the secret once', async () => {
    await cognito.send(
      new AdminAddUserToGroupCommand({
        UserPoolId: stack.endpoints.userPoolId,
        Username: 'alice',
        GroupName: stack.endpoints.developersGroup,
      }),
    );
    const res = await call('POST', `${stack.endpoints.apiUrl}/credentials`, aliceToken, {
      name: 'ci script',
      scopes: ['read', 'write'],
    });
    expect(res.status).toBe(201);
    expect(res.body.clientId).toMatch(/^[a-z0-9]{26}$/);
    expect(typeof res.body.clientSecret).toBe('string');
    expect(res.body.tokenUrl).toBe(stack.endpoints.tokenUrl);
    credential = res.body;
    secrets.push(credential.clientSecret);

    const list = await call('GET', `${stack.endpoints.apiUrl}/credentials`, aliceToken);
    expect(list.status).toBe(200);
    expect(list.body.credentials).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(credential.clientSecret);
  });

  it('lets a program act as the user with a client-credentials token', async () => {
    const token = await clientToken(stack.endpoints.tokenUrl, credential.clientId, credential.clientSecret);
    expect(token.status).toBe(200);
    expect(token.headers.get('cache-control')).toBe('no-store');
    oldClientToken = token.body.access_token;

    const me = await call('GET', `${stack.endpoints.apiUrl}/me`, oldClientToken);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ userId: aliceUserId, via: 'client', clientId: credential.clientId });
  });

  it('scopes notes to the user, whichever token kind writes or reads them', async () => {
    const created = await call('POST', `${stack.endpoints.apiUrl}/notes`, oldClientToken, { text: 'from the script' });
    expect(created.status).toBe(201);
    const viaUser = await call('GET', `${stack.endpoints.apiUrl}/notes/${created.body.id}`, aliceToken);
    expect(viaUser.status).toBe(200);
    expect(viaUser.body.text).toBe('from the script');
    const byUser = await call('POST', `${stack.endpoints.apiUrl}/notes`, aliceToken, { text: 'from the browser' });
    expect(byUser.status).toBe(201);
    const viaClient = await call('GET', `${stack.endpoints.apiUrl}/notes`, oldClientToken);
    expect(viaClient.body.notes.map((n: { text: string }) => n.text).sort()).toEqual([
      'from the browser',
      'from the script',
    ]);

    // Bob, with either kind of token, never sees alice's notes.
    await signUpAndConfirm('bob');
    await cognito.send(
      new AdminAddUserToGroupCommand({
        UserPoolId: stack.endpoints.userPoolId,
        Username: 'bob',
        GroupName: stack.endpoints.developersGroup,
      }),
    );
    const bobToken = await logIn('bob');
    const bobCredential = await call('POST', `${stack.endpoints.apiUrl}/credentials`, bobToken, { scopes: ['read'] });
    expect(bobCredential.status).toBe(201);
    secrets.push(bobCredential.body.clientSecret);
    const bobClient = await clientToken(
      stack.endpoints.tokenUrl,
      bobCredential.body.clientId,
      bobCredential.body.clientSecret,
    );
    for (const token of [bobToken, bobClient.body.access_token as string]) {
      const asBob = await call('GET', `${stack.endpoints.apiUrl}/notes/${created.body.id}`, token);
      expect(asBob.status).toBe(404);
      const bobList = await call('GET', `${stack.endpoints.apiUrl}/notes`, token);
      expect(bobList.status).toBe(200);
      expect(bobList.body.notes).toEqual([]);
    }
  });

  it('refuses the old client at once after a reset, and accepts the new one', async () => {
    const reset = await call('POST', `${stack.endpoints.apiUrl}/credentials/${credential.clientId}/reset`, aliceToken);
    expect(reset.status).toBe(200);
    expect(reset.body.previousClientId).toBe(credential.clientId);
    expect(reset.body.clientId).not.toBe(credential.clientId);
    secrets.push(reset.body.clientSecret);

    // The old token is still a valid JWT; the mapping refuses it on the very next request.
    const old = await call('GET', `${stack.endpoints.apiUrl}/me`, oldClientToken);
    expect(old.status).toBe(401);
    const oldSecret = await clientToken(stack.endpoints.tokenUrl, credential.clientId, credential.clientSecret);
    expect(oldSecret.status).toBe(401);
    expect(oldSecret.body.error).toBe('invalid_client');

    const fresh = await clientToken(stack.endpoints.tokenUrl, reset.body.clientId, reset.body.clientSecret);
    const me = await call('GET', `${stack.endpoints.apiUrl}/me`, fresh.body.access_token);
    expect(me.status).toBe(200);
    expect(me.body.userId).toBe(aliceUserId);
    credential = reset.body;
    oldClientToken = fresh.body.access_token;
  });

  it('refuses a revoked client on the very next request', async () => {
    const revoked = await call('DELETE', `${stack.endpoints.apiUrl}/credentials/${credential.clientId}`, aliceToken);
    expect(revoked.status).toBe(204);
    const after = await call('GET', `${stack.endpoints.apiUrl}/me`, oldClientToken);
    expect(after.status).toBe(401);
  });

  it('publishes the events in order, each valid against its schema', async () => {
    await stack.eventBridge.whenIdle();
    const events = archivedEvents();
    expect(events.map((e) => e['detail-type'])).toEqual([
      'UserProvisioned',
      'CredentialCreated',
      'UserProvisioned',
      'CredentialCreated',
      'CredentialReset',
      'CredentialRevoked',
    ]);
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    for (const type of EVENT_DETAIL_TYPES) {
      const schema = JSON.parse(
        readFileSync(new URL(`../../lambdas/shared/contract/schemas/${type}.schema.json`, import.meta.url), 'utf8'),
      );
      const validate = ajv.compile(schema);
      for (const event of events.filter((e) => e['detail-type'] === type)) {
        expect(validate(event.detail), JSON.stringify(validate.errors)).toBe(true);
      }
    }
    const reset = events.find((e) => e['detail-type'] === 'CredentialReset');
    expect(reset?.detail['userId']).toBe(aliceUserId);
    // The audit rule delivered every credential event to its log group.
    const audit = readFileSync(join(dataDir, 'logs', 'devaccess-credential-audit.jsonl'), 'utf8').trim().split('\n');
    expect(audit).toHaveLength(4);
  });

  /** Where each secret shows up among the places we produce; empty when none leaked. */
  async function secretLeaks(expectedExecutions: number): Promise<string[]> {
    const sfn = new SFNClient(awsConfig());
    const dynamo = new DynamoDBClient(awsConfig());
    try {
      const executions = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: stack.endpoints.stateMachineArns[STATE_MACHINES.credential] }),
      );
      expect(executions.executions?.length).toBe(expectedExecutions);
      const histories = await Promise.all(
        (executions.executions ?? []).map((e) =>
          sfn.send(new GetExecutionHistoryCommand({ executionArn: e.executionArn, includeExecutionData: true })),
        ),
      );
      const table = await dynamo.send(new ScanCommand({ TableName: stack.endpoints.tableName }));
      const places = {
        events: readFileSync(join(dataDir, 'events.jsonl'), 'utf8'),
        executions: JSON.stringify(histories),
        logs: logs.join('\n'),
        table: JSON.stringify(table.Items),
        stepfunctionsFiles: filesUnder(join(dataDir, 'stepfunctions'))
          .map((f) => readFileSync(f, 'utf8'))
          .join('\n'),
      };
      expect(places.executions).toContain('CredentialCreated'); // the histories were really read
      expect(places.logs).toContain('"service":"devaccess"'); // and so were the handlers' logs
      return secrets.flatMap((secret, i) =>
        Object.entries(places).flatMap(([where, text]) => (text.includes(secret) ? [`secret ${i} in ${where}`] : [])),
      );
    } finally {
      sfn.destroy();
      dynamo.destroy();
    }
  }

  it('keeps every secret out of events, executions, logs and the table', async () => {
    expect(secrets).toHaveLength(3);
    expect(await secretLeaks(4)).toEqual([]);
  });

  it('refuses a second instance on the same data directory', async () => {
    await expect(startLocalStack({ port: 0, dataDir, log: () => {} })).rejects.toBeInstanceOf(DataDirInUseError);
  });

  it('keeps users, credentials and notes across a restart', async () => {
    await stack.close();
    stack = await startLocalStack({ port, dataDir, log: (l) => logs.push(l) });
    cognito.destroy();
    cognito = new CognitoIdentityProviderClient(awsConfig());

    const token = await logIn('alice');
    const me = await call('GET', `${stack.endpoints.apiUrl}/me`, token);
    expect(me.body.userId).toBe(aliceUserId);
    const notes = await call('GET', `${stack.endpoints.apiUrl}/notes`, token);
    expect(notes.body.notes.map((n: { text: string }) => n.text).sort()).toEqual(['from the browser', 'from the script']);
    const creds = await call('GET', `${stack.endpoints.apiUrl}/credentials`, token);
    expect(creds.body.credentials.map((c: { status: string }) => c.status).sort()).toEqual(['revoked', 'revoked']);
    expect(archivedEvents()).toHaveLength(6);

    // And the restarted stack still runs the workflow, keeping the executions from before.
    const created = await call('POST', `${stack.endpoints.apiUrl}/credentials`, token, { scopes: ['read'] });
    expect(created.status).toBe(201);
    secrets.push(created.body.clientSecret);
    expect(await secretLeaks(5)).toEqual([]);
  });
});
