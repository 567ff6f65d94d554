/**
 * A test harness around the local stack: starts it in this process on a free port with a temporary data
 * directory, captures everything printed (the stack's log and the handlers' Powertools output), and offers the
 * steps tests repeat: make a user (optionally a developer), sign in, create a credential, get a client token, call
 * the API. Every client secret it sees is remembered, so `leakScan()` can search every place we produce for it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdminAddUserToGroupCommand,
  AdminConfirmSignUpCommand,
  CognitoIdentityProviderClient,
  ConfirmSignUpCommand,
  InitiateAuthCommand,
  SignUpCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import { GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { logger } from '../../lambdas/shared/logger';
import { readOutbox } from '../../infra/local/aws/cognito';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../infra/local/stack';
import type { LocalEndpoints } from '../../infra/local/walkthrough';
import { ARCHIVE_FILE } from '../../infra/local/datadir';

export const TEST_PASSWORD = 'Correct-Horse-9-Battery';

export interface HttpResult {
  readonly status: number;
  readonly body: any;
  readonly headers: Headers;
  readonly text: string;
}

export interface TestUser {
  readonly username: string;
  readonly userId: string;
  /** A fresh access token (signed in after any group change). */
  readonly token: string;
}

export interface TestCredential {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
}

/**
 * The client half of the harness: talks to a local stack through its endpoints only (HTTP API, Cognito through the
 * SDK, the token endpoint), so it serves a stack in this process (startTestStack) and one in a child process
 * (test/resilience) alike.
 */
export interface StackClient {
  readonly cognito: CognitoIdentityProviderClient;
  /** Every client secret the API returned. */
  readonly secrets: string[];
  api(method: string, path: string, token?: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult>;
  /** Signs up, confirms (running the post-confirmation trigger), optionally joins developers, signs in. */
  createUser(username: string, options?: { developer?: boolean }): Promise<TestUser>;
  signIn(username: string): Promise<string>;
  /** POST /v1/credentials as the user; throws unless 201. */
  createCredential(user: TestUser, scopes?: readonly string[]): Promise<TestCredential>;
  /** The token endpoint (client credentials, HTTP Basic). */
  tokenResponse(clientId: string, clientSecret: string, scope?: string): Promise<HttpResult>;
  clientToken(clientId: string, clientSecret: string, scope?: string): Promise<string>;
  /** Remembers a secret returned by a call the test made itself. */
  recordSecret(secret: unknown): void;
  /** A new Cognito SDK client (after the stack behind the endpoints restarted). */
  renew(): void;
  destroy(): void;
}

/** AWS SDK client settings for a local stack's endpoint. */
export function localAwsConfig(endpoints: LocalEndpoints) {
  return {
    endpoint: endpoints.awsEndpoint,
    region: endpoints.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}

/** A StackClient for the stack whose endpoints `endpoints()` returns (read at each call: a restart may move them). */
export function createStackClient(endpoints: () => LocalEndpoints, secrets: string[] = []): StackClient {
  let cognito = new CognitoIdentityProviderClient(localAwsConfig(endpoints()));
  const recordSecret = (secret: unknown) => {
    if (typeof secret === 'string' && secret.length > 0 && !secrets.includes(secret)) secrets.push(secret);
  };
  const client: StackClient = {
    get cognito() {
      return cognito;
    },
    secrets,

    async api(method, path, token, body, headers = {}) {
      const h: Record<string, string> = { ...headers };
      if (token) h['Authorization'] = `Bearer ${token}`;
      if (body !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
        h['Content-Type'] = 'application/json';
      }
      const res = await fetch(`${endpoints().apiUrl}${path}`, {
        method,
        headers: h,
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      if (parsed && typeof parsed === 'object') recordSecret((parsed as { clientSecret?: unknown }).clientSecret);
      return { status: res.status, body: parsed, headers: res.headers, text };
    },

    async signIn(username) {
      const out = await cognito.send(
        new InitiateAuthCommand({
          ClientId: endpoints().uiClientId,
          AuthFlow: 'USER_PASSWORD_AUTH',
          AuthParameters: { USERNAME: username, PASSWORD: TEST_PASSWORD },
        }),
      );
      const token = out.AuthenticationResult?.AccessToken;
      if (!token) throw new Error(`no access token for ${username}`);
      return token;
    },

    async createUser(username, opts = {}) {
      await cognito.send(
        new SignUpCommand({
          ClientId: endpoints().uiClientId,
          Username: username,
          Password: TEST_PASSWORD,
          UserAttributes: [{ Name: 'email', Value: `${username}@example.com` }],
        }),
      );
      await cognito.send(new AdminConfirmSignUpCommand({ UserPoolId: endpoints().userPoolId, Username: username }));
      if (opts.developer) {
        await cognito.send(
          new AdminAddUserToGroupCommand({
            UserPoolId: endpoints().userPoolId,
            Username: username,
            GroupName: endpoints().developersGroup,
          }),
        );
      }
      const token = await client.signIn(username);
      const me = await client.api('GET', '/me', token);
      if (me.status !== 200) throw new Error(`GET /me for ${username}: ${me.status} ${me.text}`);
      return { username, userId: me.body.userId, token };
    },

    async createCredential(user, scopes = ['read', 'write']) {
      const res = await client.api('POST', '/credentials', user.token, { scopes });
      if (res.status !== 201) throw new Error(`create credential: ${res.status} ${res.text}`);
      return { clientId: res.body.clientId, clientSecret: res.body.clientSecret, scopes };
    },

    async tokenResponse(clientId, clientSecret, scope) {
      const form = new URLSearchParams({ grant_type: 'client_credentials' });
      if (scope !== undefined) form.set('scope', scope);
      const res = await fetch(endpoints().tokenUrl, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
        },
        body: form.toString(),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers, text };
    },

    async clientToken(clientId, clientSecret, scope) {
      const res = await client.tokenResponse(clientId, clientSecret, scope);
      if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${res.text}`);
      return res.body.access_token as string;
    },

    recordSecret,

    renew() {
      cognito.destroy();
      cognito = new CognitoIdentityProviderClient(localAwsConfig(endpoints()));
    },

    destroy() {
      cognito.destroy();
    },
  };
  return client;
}

/** The in-process stack: the StackClient steps plus what only a stack in this process offers. */
/** An event as the local bus archives it (the EventBridge envelope). */
export interface ArchivedEvent {
  readonly 'detail-type': string;
  readonly source: string;
  readonly detail: Record<string, any>;
}

export interface TestStack extends Omit<StackClient, 'renew' | 'destroy'> {
  readonly stack: LocalStack;
  readonly dataDir: string;
  readonly apiUrl: string;
  /** Everything printed while the stack ran (stack log lines and handler logs). */
  readonly output: string[];
  /**
   * Signs up and confirms as a person would, with the code the pool mailed to the local outbox (ConfirmSignUp,
   * running the post-confirmation trigger); returns that code. No group, no sign-in.
   */
  signUpThroughOutbox(username: string): Promise<string>;
  /** Every event the bus archived so far (`<data dir>/events.jsonl`), oldest first. */
  archivedEvents(): ArchivedEvent[];
  /** The text of every place leakScan searches, by name: `executions`, `table`, `output`, `file:<path>`. */
  leakPlaces(): Promise<Record<string, string>>;
  /**
   * Every place that must never hold a secret, by name: events, executions, logs, table, data-dir files. Searches
   * `places` when given (a test that already read them for its own checks), else reads them afresh.
   */
  leakScan(places?: Record<string, string>): Promise<{ where: string; secret: string }[]>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

export async function startTestStack(options: Omit<LocalStackOptions, 'port' | 'dataDir' | 'log'> = {}): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'devaccess-test-'));
  const output: string[] = [];
  const secrets: string[] = [];
  const log = (line: string) => output.push(line);

  // Capture the handlers' logs at the most verbose level, without printing them.
  logger.setLogLevel('DEBUG');
  const restores: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: unknown) => {
      output.push(String(chunk));
      return true;
    }) as typeof stream.write;
    restores.push(() => {
      stream.write = write;
    });
  }

  let stack = await startLocalStack({ ...options, port: 0, dataDir, log });
  const port = stack.port;
  const awsConfig = () => localAwsConfig(stack.endpoints);
  const client = createStackClient(() => stack.endpoints, secrets);

  const harness: TestStack = {
    get stack() {
      return stack;
    },
    dataDir,
    get apiUrl() {
      return stack.endpoints.apiUrl;
    },
    output,
    secrets,
    get cognito() {
      return client.cognito;
    },
    // The client's methods close over the client rather than `this`, so they can be handed on as they are.
    api: client.api,
    signIn: client.signIn,
    createUser: client.createUser,
    createCredential: client.createCredential,
    tokenResponse: client.tokenResponse,
    clientToken: client.clientToken,
    recordSecret: client.recordSecret,

    async signUpThroughOutbox(username) {
      const { uiClientId } = stack.endpoints;
      await client.cognito.send(
        new SignUpCommand({
          ClientId: uiClientId,
          Username: username,
          Password: TEST_PASSWORD,
          UserAttributes: [{ Name: 'email', Value: `${username}@example.com` }],
        }),
      );
      const code = (await readOutbox(dataDir)).filter((m) => m.username === username).at(-1)?.code;
      if (!code) throw new Error(`no confirmation code in the outbox for ${username}`);
      await client.cognito.send(new ConfirmSignUpCommand({ ClientId: uiClientId, Username: username, ConfirmationCode: code }));
      return code;
    },

    async leakScan(given) {
      const places = given ?? (await harness.leakPlaces());
      const hits: { where: string; secret: string }[] = [];
      for (const secret of secrets) {
        for (const [where, text] of Object.entries(places)) {
          if (text.includes(secret)) hits.push({ where, secret: `${secret.slice(0, 4)}…` });
        }
      }
      return hits;
    },

    archivedEvents() {
      return readFileSync(join(dataDir, ARCHIVE_FILE), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as ArchivedEvent);
    },

    async leakPlaces() {
      await stack.eventBridge.whenIdle();
      await stack.stepFunctions.flush();
      const sfn = new SFNClient(awsConfig());
      const dynamo = new DynamoDBClient(awsConfig());
      try {
        const histories: unknown[] = [];
        for (const stateMachineArn of Object.values(stack.endpoints.stateMachineArns)) {
          let nextToken: string | undefined;
          do {
            const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, nextToken }));
            for (const e of page.executions ?? []) {
              histories.push(
                await sfn.send(new GetExecutionHistoryCommand({ executionArn: e.executionArn, includeExecutionData: true })),
              );
            }
            nextToken = page.nextToken;
          } while (nextToken);
        }
        const tables = await Promise.all(
          [stack.endpoints.tableName, stack.endpoints.notesTableName].map(async (TableName) => {
            const items: unknown[] = [];
            let ExclusiveStartKey: ScanCommandOutput['LastEvaluatedKey'];
            do {
              const page = await dynamo.send(new ScanCommand({ TableName, ExclusiveStartKey }));
              items.push(...(page.Items ?? []));
              ExclusiveStartKey = page.LastEvaluatedKey;
            } while (ExclusiveStartKey);
            return items;
          }),
        );
        const places: Record<string, string> = {
          executions: JSON.stringify(histories),
          table: JSON.stringify(tables),
          output: output.join('\n'),
        };
        for (const file of filesUnder(dataDir)) places[`file:${file.slice(dataDir.length + 1)}`] = readFileSync(file, 'latin1');
        return places;
      } finally {
        sfn.destroy();
        dynamo.destroy();
      }
    },

    async restart() {
      await stack.close();
      stack = await startLocalStack({ ...options, port, dataDir, log });
      client.renew();
    },

    async close() {
      client.destroy();
      await stack.close();
      for (const restore of restores) restore();
      logger.setLogLevel('SILENT');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}
