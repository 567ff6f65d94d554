/**
 * The local Cognito emulation, driven by the real AWS SDK v3 client and plain fetch over loopback: set-up
 * actions, sign-up and confirmation with the PostConfirmation trigger, sign-in tokens verified by aws-jwt-verify,
 * the OAuth token endpoint (client credentials, authorization code + PKCE, refresh), throttling and persistence.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdminAddUserToGroupCommand,
  AdminConfirmSignUpCommand,
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminListGroupsForUserCommand,
  AdminRemoveUserFromGroupCommand,
  CognitoIdentityProviderClient,
  ConfirmSignUpCommand,
  CreateGroupCommand,
  CreateResourceServerCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  DeleteUserPoolClientCommand,
  DescribeResourceServerCommand,
  DescribeUserPoolClientCommand,
  DescribeUserPoolCommand,
  GetGroupCommand,
  GetUserCommand,
  InitiateAuthCommand,
  ListGroupsCommand,
  ListUserPoolClientsCommand,
  ListUserPoolsCommand,
  ResendConfirmationCodeCommand,
  RespondToAuthChallengeCommand,
  SignUpCommand,
  UpdateUserPoolClientCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminSetUserPasswordCommand,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Jwks, readOutbox } from '../../infra/local/aws/cognito/index';
import { SealedSecretError, SecretBox } from '../../infra/local/aws/cognito/secret-box';
import { type CognitoTestServer, startCognitoTestServer } from '../../infra/local/aws/cognito/testing';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../infra/local/aws/types';
import {
  DEFAULT_DEVELOPERS_GROUP,
  RESOURCE_SCOPES,
  RESOURCE_SERVER_IDENTIFIER,
  RESOURCE_SERVER_NAME,
  USER_ADMIN_SCOPE,
  fullScope,
} from '../../lambdas/shared/contract/names';

const TRIGGER_ARN = `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:postConfirmation`;
const PASSWORD = 'Correct-Horse-9';
const CALLBACK = 'http://localhost:5173/callback';

interface Harness {
  server: CognitoTestServer;
  sdk: CognitoIdentityProviderClient;
  dataDir: string;
}

function sdkFor(url: string): CognitoIdentityProviderClient {
  return new CognitoIdentityProviderClient({
    endpoint: url,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // Throttling must surface to the test, not be retried away by the SDK.
    maxAttempts: 1,
  });
}

/** Runs a failing SDK call and returns the error. */
async function failure(p: Promise<unknown>): Promise<Error & { name: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { name: string; message: string };
  }
  throw new Error('expected the call to fail');
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

/** Trigger calls recorded by the fake Lambda invoker; `failNext` makes the next call throw. */
const triggerCalls: { arn: string; event: Record<string, any> }[] = [];
let failNextTrigger = false;
let clockOffsetMs = 0;

async function startHarness(dataDir: string, rate: number, maxClientsPerPool?: number): Promise<Harness> {
  const server = await startCognitoTestServer({
    dataDir,
    ...(maxClientsPerPool !== undefined ? { maxClientsPerPool } : {}),
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    clientWriteRatePerSecond: rate,
    log: () => {},
    now: () => new Date(Date.now() + clockOffsetMs),
    invokeLambda: async (arn, event) => {
      triggerCalls.push({ arn, event: structuredClone(event) as Record<string, any> });
      if (failNextTrigger) {
        failNextTrigger = false;
        throw new Error('table is unavailable');
      }
      return event;
    },
  });
  return { server, sdk: sdkFor(server.url), dataDir };
}

let h: Harness;
let poolId: string;
let uiClientId: string;
let machine: { id: string; secret: string };

async function signUpAndConfirm(email: string): Promise<string> {
  const out = await h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: email, Password: PASSWORD }));
  const code = (await readOutbox(h.dataDir)).filter((m) => m.to === email).at(-1)?.code as string;
  await h.sdk.send(new ConfirmSignUpCommand({ ClientId: uiClientId, Username: email, ConfirmationCode: code }));
  return out.UserSub as string;
}

async function login(email: string) {
  const out = await h.sdk.send(
    new InitiateAuthCommand({
      AuthFlow: 'USER_PASSWORD_AUTH',
      ClientId: uiClientId,
      AuthParameters: { USERNAME: email, PASSWORD },
    }),
  );
  return out.AuthenticationResult!;
}

async function token(body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${h.server.url}/oauth2/token`, { method: 'POST', headers: { ...FORM, ...headers }, body });
  return { res, json: (await res.json()) as Record<string, any> };
}

async function servedJwks() {
  const res = await fetch(`${h.server.url}/${poolId}/.well-known/jwks.json`);
  return (await res.json()) as Jwks;
}

beforeAll(async () => {
  // Prepare: a pool set up the way the local stack sets it up from the shared contract.
  h = await startHarness(await mkdtemp(join(tmpdir(), 'cognito-')), 0);
  const pool = await h.sdk.send(
    new CreateUserPoolCommand({
      PoolName: 'devaccess-users',
      UsernameAttributes: ['email'],
      AutoVerifiedAttributes: ['email'],
      UsernameConfiguration: { CaseSensitive: false },
      Policies: {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        },
      },
      LambdaConfig: { PostConfirmation: TRIGGER_ARN },
    }),
  );
  poolId = pool.UserPool!.Id!;
  await h.sdk.send(new CreateGroupCommand({ UserPoolId: poolId, GroupName: DEFAULT_DEVELOPERS_GROUP, Precedence: 1 }));
  await h.sdk.send(
    new CreateResourceServerCommand({
      UserPoolId: poolId,
      Identifier: RESOURCE_SERVER_IDENTIFIER,
      Name: RESOURCE_SERVER_NAME,
      Scopes: Object.entries(RESOURCE_SCOPES).map(([ScopeName, ScopeDescription]) => ({ ScopeName, ScopeDescription })),
    }),
  );
  const ui = await h.sdk.send(
    new CreateUserPoolClientCommand({
      UserPoolId: poolId,
      ClientName: 'devaccess-ui',
      ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email', USER_ADMIN_SCOPE],
      CallbackURLs: [CALLBACK],
      LogoutURLs: ['http://localhost:5173/'],
      SupportedIdentityProviders: ['COGNITO'],
    }),
  );
  uiClientId = ui.UserPoolClient!.ClientId!;
  const m = await h.sdk.send(
    new CreateUserPoolClientCommand({
      UserPoolId: poolId,
      ClientName: 'devaccess-user1-op1',
      GenerateSecret: true,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['client_credentials'],
      AllowedOAuthScopes: [fullScope('read'), fullScope('write')],
      AccessTokenValidity: 30,
      TokenValidityUnits: { AccessToken: 'minutes' },
    }),
  );
  machine = { id: m.UserPoolClient!.ClientId!, secret: m.UserPoolClient!.ClientSecret! };
});

afterAll(async () => {
  await h?.server.close();
  if (h) await rm(h.dataDir, { recursive: true, force: true });
});

describe('set-up actions', () => {
  it('creates a pool with a Cognito-shaped id and describes it as created', async () => {
    // Act
    const out = await h.sdk.send(new DescribeUserPoolCommand({ UserPoolId: poolId }));
    const listed = await h.sdk.send(new ListUserPoolsCommand({ MaxResults: 60 }));

    // Assess
    expect(poolId).toMatch(/^us-east-1_[0-9A-Za-z]{9}$/);
    expect(out.UserPool?.Arn).toBe(`arn:aws:cognito-idp:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:userpool/${poolId}`);
    expect(out.UserPool?.LambdaConfig?.PostConfirmation).toBe(TRIGGER_ARN);
    expect(out.UserPool?.UsernameAttributes).toEqual(['email']);
    expect(out.UserPool?.Policies?.PasswordPolicy?.MinimumLength).toBe(12);
    expect(out.UserPool?.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs(out.UserPool!.CreationDate!.getTime() - Date.now())).toBeLessThan(60_000);
    expect(listed.UserPools?.map((p) => p.Id)).toContain(poolId);
  });

  it('describes the group and the resource server with their scopes', async () => {
    // Act
    const group = await h.sdk.send(new GetGroupCommand({ UserPoolId: poolId, GroupName: DEFAULT_DEVELOPERS_GROUP }));
    const groups = await h.sdk.send(new ListGroupsCommand({ UserPoolId: poolId }));
    const rs = await h.sdk.send(new DescribeResourceServerCommand({ UserPoolId: poolId, Identifier: RESOURCE_SERVER_IDENTIFIER }));
    const missing = await failure(h.sdk.send(new GetGroupCommand({ UserPoolId: poolId, GroupName: 'nope' })));

    // Assess
    expect(group.Group).toMatchObject({ GroupName: DEFAULT_DEVELOPERS_GROUP, UserPoolId: poolId, Precedence: 1 });
    expect(groups.Groups?.map((g) => g.GroupName)).toEqual([DEFAULT_DEVELOPERS_GROUP]);
    expect(rs.ResourceServer?.Scopes?.map((s) => s.ScopeName).sort()).toEqual(['read', 'write']);
    expect(missing.name).toBe('ResourceNotFoundException');
  });

  it('issues client ids and secrets shaped as Cognito issues them', async () => {
    // Act
    const described = await h.sdk.send(new DescribeUserPoolClientCommand({ UserPoolId: poolId, ClientId: machine.id }));

    // Assess
    expect(machine.id).toMatch(/^[a-z0-9]{26}$/);
    expect(machine.secret).toMatch(/^[a-z0-9]{51}$/);
    expect(described.UserPoolClient).toMatchObject({
      ClientId: machine.id,
      ClientSecret: machine.secret,
      AllowedOAuthFlows: ['client_credentials'],
      AllowedOAuthScopes: [fullScope('read'), fullScope('write')],
      AllowedOAuthFlowsUserPoolClient: true,
      AccessTokenValidity: 30,
      TokenValidityUnits: { AccessToken: 'minutes' },
      RefreshTokenValidity: 30,
    });
  });

  it('pages through app clients without repeating or skipping one', async () => {
    // Prepare
    const created: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const c = await h.sdk.send(new CreateUserPoolClientCommand({ UserPoolId: poolId, ClientName: `page-${i}` }));
      created.push(c.UserPoolClient!.ClientId!);
    }

    // Act
    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const out = await h.sdk.send(new ListUserPoolClientsCommand({ UserPoolId: poolId, MaxResults: 2, NextToken: next }));
      seen.push(...(out.UserPoolClients ?? []).map((c) => c.ClientId!));
      next = out.NextToken;
      pages += 1;
    } while (next !== undefined);

    // Assess
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining([uiClientId, machine.id, ...created]));
  });

  it('refuses app-client settings Cognito refuses, with its error names', async () => {
    // Act
    const noSecret = await failure(
      h.sdk.send(new CreateUserPoolClientCommand({
        UserPoolId: poolId, ClientName: 'm', AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthFlows: ['client_credentials'], AllowedOAuthScopes: [fullScope('read')],
      })),
    );
    const mixed = await failure(
      h.sdk.send(new CreateUserPoolClientCommand({
        UserPoolId: poolId, ClientName: 'm', GenerateSecret: true, AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthFlows: ['client_credentials', 'code'], AllowedOAuthScopes: [fullScope('read')], CallbackURLs: [CALLBACK],
      })),
    );
    const unknownScope = await failure(
      h.sdk.send(new CreateUserPoolClientCommand({
        UserPoolId: poolId, ClientName: 'm', GenerateSecret: true, AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthFlows: ['client_credentials'], AllowedOAuthScopes: [`${RESOURCE_SERVER_IDENTIFIER}/admin`],
      })),
    );
    const plainHttp = await failure(
      h.sdk.send(new CreateUserPoolClientCommand({
        UserPoolId: poolId, ClientName: 'm', AllowedOAuthFlowsUserPoolClient: true, AllowedOAuthFlows: ['code'],
        AllowedOAuthScopes: ['openid'], CallbackURLs: ['http://example.com/cb'],
      })),
    );
    const missingName = await failure(h.sdk.send(new CreateUserPoolClientCommand({ UserPoolId: poolId } as never)));
    const unknownPool = await failure(
      h.sdk.send(new DescribeUserPoolClientCommand({ UserPoolId: 'us-east-1_000000000', ClientId: machine.id })),
    );

    // Assess
    expect(noSecret.name).toBe('InvalidOAuthFlowException');
    expect(noSecret.message).toMatch(/does not have a client secret/);
    expect(mixed.name).toBe('InvalidOAuthFlowException');
    expect(unknownScope.name).toBe('ScopeDoesNotExistException');
    expect(plainHttp.name).toBe('InvalidParameterException');
    expect(missingName.name).toBe('InvalidParameterException');
    expect(missingName.message).toContain("Value null at 'clientName' failed to satisfy constraint: Member must not be null");
    expect(unknownPool.name).toBe('ResourceNotFoundException');
  });
});

describe('sign-up and confirmation', () => {
  it('sends a 6-digit code to the outbox and runs the post-confirmation trigger once with a Cognito-shaped event', async () => {
    // Prepare
    const email = 'ada@example.com';
    const before = triggerCalls.length;

    // Act
    const signUp = await h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: email, Password: PASSWORD }));
    const message = (await readOutbox(h.dataDir)).find((m) => m.to === email);
    const beforeConfirm = await h.sdk.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: email }));
    await h.sdk.send(new ConfirmSignUpCommand({ ClientId: uiClientId, Username: email, ConfirmationCode: message!.code! }));
    const after = await h.sdk.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: email }));

    // Assess
    expect(signUp.UserConfirmed).toBe(false);
    expect(signUp.UserSub).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(signUp.CodeDeliveryDetails).toEqual({ Destination: 'a***@e***', DeliveryMedium: 'EMAIL', AttributeName: 'email' });
    expect(message?.code).toMatch(/^[0-9]{6}$/);
    expect(beforeConfirm.UserStatus).toBe('UNCONFIRMED');
    expect(after.UserStatus).toBe('CONFIRMED');
    expect(after.Username).toBe(signUp.UserSub);
    expect(after.UserAttributes).toEqual(expect.arrayContaining([{ Name: 'email_verified', Value: 'true' }]));
    const calls = triggerCalls.slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.arn).toBe(TRIGGER_ARN);
    expect(calls[0]?.event).toEqual({
      version: '1',
      region: LOCAL_REGION,
      userPoolId: poolId,
      userName: signUp.UserSub,
      callerContext: { awsSdkVersion: expect.any(String), clientId: uiClientId },
      triggerSource: 'PostConfirmation_ConfirmSignUp',
      request: {
        userAttributes: {
          sub: signUp.UserSub,
          email,
          email_verified: 'true',
          'cognito:user_status': 'CONFIRMED',
          'cognito:email_alias': email,
        },
      },
      response: {},
    });
  });

  it('refuses a wrong code and leaves the user unconfirmed without running the trigger', async () => {
    // Prepare
    const email = 'grace@example.com';
    await h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: email, Password: PASSWORD }));
    const code = (await readOutbox(h.dataDir)).find((m) => m.to === email)!.code!;
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const before = triggerCalls.length;

    // Act
    const err = await failure(h.sdk.send(new ConfirmSignUpCommand({ ClientId: uiClientId, Username: email, ConfirmationCode: wrong })));
    const user = await h.sdk.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: email }));

    // Assess
    expect(err.name).toBe('CodeMismatchException');
    expect(user.UserStatus).toBe('UNCONFIRMED');
    expect(triggerCalls.length).toBe(before);
  });

  it('refuses a code older than 24 hours with ExpiredCodeException', async () => {
    // Prepare
    const email = 'expired@example.com';
    await h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: email, Password: PASSWORD }));
    const code = (await readOutbox(h.dataDir)).find((m) => m.to === email)!.code!;

    // Act
    clockOffsetMs = 24 * 3600_000 + 60_000;
    const err = await failure(h.sdk.send(new ConfirmSignUpCommand({ ClientId: uiClientId, Username: email, ConfirmationCode: code })));
    clockOffsetMs = 0;
    await h.sdk.send(new ResendConfirmationCodeCommand({ ClientId: uiClientId, Username: email }));
    const fresh = (await readOutbox(h.dataDir)).filter((m) => m.to === email).at(-1)!.code!;
    await h.sdk.send(new ConfirmSignUpCommand({ ClientId: uiClientId, Username: email, ConfirmationCode: fresh }));

    // Assess
    expect(err.name).toBe('ExpiredCodeException');
    expect((await h.sdk.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: email }))).UserStatus).toBe('CONFIRMED');
  });

  it('refuses a second sign-up with the same email', async () => {
    // Prepare
    await h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: 'dup@example.com', Password: PASSWORD }));

    // Act
    const err = await failure(
      h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: 'DUP@example.com', Password: PASSWORD })),
    );

    // Assess
    expect(err.name).toBe('UsernameExistsException');
  });

  it('refuses a password that breaks the pool policy and a username that is not an email', async () => {
    // Act
    const short = await failure(h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: 'p@example.com', Password: 'Sh0rt!' })));
    const noSymbol = await failure(
      h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: 'p@example.com', Password: 'NoSymbolsHere123' })),
    );
    const notEmail = await failure(h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: 'plainname', Password: PASSWORD })));

    // Assess
    expect(short.name).toBe('InvalidPasswordException');
    expect(short.message).toBe('Password did not conform with policy: Password not long enough');
    expect(noSymbol.message).toBe('Password did not conform with policy: Password must have symbol characters');
    expect(notEmail.name).toBe('InvalidParameterException');
  });

  it('answers UserLambdaValidationException when the trigger fails, and the user stays confirmed (as on AWS)', async () => {
    // Prepare
    const email = 'trigger-fails@example.com';
    await h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: email, Password: PASSWORD }));
    const code = (await readOutbox(h.dataDir)).find((m) => m.to === email)!.code!;
    failNextTrigger = true;

    // Act
    const err = await failure(h.sdk.send(new ConfirmSignUpCommand({ ClientId: uiClientId, Username: email, ConfirmationCode: code })));
    const user = await h.sdk.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: email }));

    // Assess
    expect(err.name).toBe('UserLambdaValidationException');
    expect(err.message).toBe('PostConfirmation failed with error table is unavailable.');
    expect(user.UserStatus).toBe('CONFIRMED');
  });

  it('requires and checks SECRET_HASH when the app client has a secret', async () => {
    // Prepare
    const email = 'hashed@example.com';
    const hash = (secret: string) => createHmac('sha256', secret).update(email + machine.id).digest('base64');

    // Act
    const missing = await failure(h.sdk.send(new SignUpCommand({ ClientId: machine.id, Username: email, Password: PASSWORD })));
    const wrong = await failure(
      h.sdk.send(new SignUpCommand({ ClientId: machine.id, Username: email, Password: PASSWORD, SecretHash: hash('not-the-secret') })),
    );
    const ok = await h.sdk.send(
      new SignUpCommand({ ClientId: machine.id, Username: email, Password: PASSWORD, SecretHash: hash(machine.secret) }),
    );

    // Assess
    expect(missing.name).toBe('NotAuthorizedException');
    expect(missing.message).toBe(`Client ${machine.id} is configured for secret but secret was not received`);
    expect(wrong.name).toBe('NotAuthorizedException');
    expect(ok.UserSub).toEqual(expect.any(String));
  });

  it('runs the trigger on AdminConfirmSignUp with no client id', async () => {
    // Prepare
    const email = 'admin-confirmed@example.com';
    const out = await h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: email, Password: PASSWORD }));
    const before = triggerCalls.length;

    // Act
    await h.sdk.send(new AdminConfirmSignUpCommand({ UserPoolId: poolId, Username: email }));
    const again = await failure(h.sdk.send(new AdminConfirmSignUpCommand({ UserPoolId: poolId, Username: email })));

    // Assess
    expect(triggerCalls.slice(before).map((c) => [c.event['userName'], c.event['callerContext'].clientId])).toEqual([
      [out.UserSub, 'CLIENT_ID_NOT_APPLICABLE'],
    ]);
    expect(again.name).toBe('NotAuthorizedException');
    expect(again.message).toBe('User cannot be confirmed. Current status is CONFIRMED');
  });
});

describe('sign-in tokens', () => {
  it('issues tokens that aws-jwt-verify accepts with the served JWKS and that carry Cognito claims', async () => {
    // Prepare
    const email = 'linus@example.com';
    const sub = await signUpAndConfirm(email);
    await h.sdk.send(new AdminAddUserToGroupCommand({ UserPoolId: poolId, Username: email, GroupName: DEFAULT_DEVELOPERS_GROUP }));
    const jwks = await servedJwks();
    const accessVerifier = CognitoJwtVerifier.create({ userPoolId: poolId, tokenUse: 'access', clientId: null });
    const idVerifier = CognitoJwtVerifier.create({ userPoolId: poolId, tokenUse: 'id', clientId: uiClientId });
    accessVerifier.cacheJwks(jwks);
    idVerifier.cacheJwks(jwks);

    // Act
    const tokens = await login(email);
    const access = await accessVerifier.verify(tokens.AccessToken!);
    const id = await idVerifier.verify(tokens.IdToken!);

    // Assess
    expect(jwks.keys).toHaveLength(1);
    expect(Object.keys(jwks.keys[0]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(decodeProtectedHeader(tokens.AccessToken!)).toEqual({ kid: jwks.keys[0]!['kid'], alg: 'RS256' });
    expect(tokens.TokenType).toBe('Bearer');
    expect(tokens.ExpiresIn).toBe(3600);
    expect(tokens.RefreshToken).toEqual(expect.any(String));
    expect(access).toMatchObject({
      sub,
      'cognito:groups': [DEFAULT_DEVELOPERS_GROUP],
      iss: `https://cognito-idp.${LOCAL_REGION}.amazonaws.com/${poolId}`,
      client_id: uiClientId,
      token_use: 'access',
      scope: USER_ADMIN_SCOPE,
      username: sub,
      version: 2,
    });
    for (const claim of ['origin_jti', 'event_id', 'jti']) expect(access[claim]).toEqual(expect.any(String));
    expect(access.exp - access.iat).toBe(3600);
    expect(access.auth_time).toBe(access.iat);
    expect(access).not.toHaveProperty('aud');
    expect(id).toMatchObject({
      sub,
      aud: uiClientId,
      token_use: 'id',
      'cognito:username': sub,
      'cognito:groups': [DEFAULT_DEVELOPERS_GROUP],
      email,
      email_verified: true,
      origin_jti: access.origin_jti,
      event_id: access.event_id,
    });
  });

  it('answers UserNotConfirmedException for an unconfirmed user and NotAuthorizedException for a wrong password', async () => {
    // Prepare
    await h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: 'pending@example.com', Password: PASSWORD }));
    await signUpAndConfirm('wrongpw@example.com');

    // Act
    const unconfirmed = await failure(login('pending@example.com'));
    const wrongPassword = await failure(
      h.sdk.send(new InitiateAuthCommand({
        AuthFlow: 'USER_PASSWORD_AUTH', ClientId: uiClientId,
        AuthParameters: { USERNAME: 'wrongpw@example.com', PASSWORD: `${PASSWORD}x` },
      })),
    );
    const unknownUser = await failure(login('nobody@example.com'));
    const disabledFlow = await failure(
      h.sdk.send(new InitiateAuthCommand({
        AuthFlow: 'USER_PASSWORD_AUTH', ClientId: machine.id, AuthParameters: { USERNAME: 'x@example.com', PASSWORD },
      })),
    );

    // Assess
    expect(unconfirmed.name).toBe('UserNotConfirmedException');
    expect(wrongPassword.name).toBe('NotAuthorizedException');
    expect(wrongPassword.message).toBe('Incorrect username or password.');
    expect(unknownUser.name).toBe('UserNotFoundException');
    expect(disabledFlow.name).toBe('InvalidParameterException');
  });

  it('refuses sign-in for a disabled user and accepts it again once the user is enabled', async () => {
    // Prepare
    await signUpAndConfirm('disabled@example.com');

    // Act
    await h.sdk.send(new AdminDisableUserCommand({ UserPoolId: poolId, Username: 'disabled@example.com' }));
    const whileDisabled = await failure(login('disabled@example.com'));
    const described = await h.sdk.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: 'disabled@example.com' }));
    await h.sdk.send(new AdminEnableUserCommand({ UserPoolId: poolId, Username: 'disabled@example.com' }));
    const afterEnable = await login('disabled@example.com');

    // Assess
    expect(whileDisabled.name).toBe('NotAuthorizedException');
    expect(whileDisabled.message).toBe('User is disabled.');
    expect(described.Enabled).toBe(false);
    expect(afterEnable.AccessToken).toBeDefined();
  });

  it('shows group changes at once in AdminListGroupsForUser and in the next token', async () => {
    // Prepare
    const email = 'groups@example.com';
    await signUpAndConfirm(email);
    await h.sdk.send(new AdminAddUserToGroupCommand({ UserPoolId: poolId, Username: email, GroupName: DEFAULT_DEVELOPERS_GROUP }));
    const listedIn = await h.sdk.send(new AdminListGroupsForUserCommand({ UserPoolId: poolId, Username: email }));

    // Act
    await h.sdk.send(new AdminRemoveUserFromGroupCommand({ UserPoolId: poolId, Username: email, GroupName: DEFAULT_DEVELOPERS_GROUP }));
    const listedOut = await h.sdk.send(new AdminListGroupsForUserCommand({ UserPoolId: poolId, Username: email }));
    const claims = decodeJwt((await login(email)).AccessToken!);

    // Assess
    expect(listedIn.Groups?.map((g) => g.GroupName)).toEqual([DEFAULT_DEVELOPERS_GROUP]);
    expect(listedOut.Groups).toEqual([]);
    expect(claims).not.toHaveProperty('cognito:groups');
  });

  it('refreshes tokens with REFRESH_TOKEN_AUTH, keeping origin_jti, and refuses an unknown refresh token', async () => {
    // Prepare
    const email = 'refresh@example.com';
    await signUpAndConfirm(email);
    const first = await login(email);

    // Act
    const refreshed = await h.sdk.send(
      new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: uiClientId, AuthParameters: { REFRESH_TOKEN: first.RefreshToken! } }),
    );
    const bogus = await failure(
      h.sdk.send(new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: uiClientId, AuthParameters: { REFRESH_TOKEN: 'x'.repeat(40) } })),
    );

    // Assess
    const a = decodeJwt(first.AccessToken!);
    const b = decodeJwt(refreshed.AuthenticationResult!.AccessToken!);
    expect(refreshed.AuthenticationResult?.RefreshToken).toBeUndefined();
    expect(refreshed.AuthenticationResult?.IdToken).toEqual(expect.any(String));
    expect(b['origin_jti']).toBe(a['origin_jti']);
    expect(b['jti']).not.toBe(a['jti']);
    expect(b['username']).toBe(a['username']);
    expect(bogus.name).toBe('NotAuthorizedException');
  });

  it('returns the user for GetUser with a user access token and refuses a client-credentials token', async () => {
    // Prepare
    const email = 'getuser@example.com';
    const sub = await signUpAndConfirm(email);
    const tokens = await login(email);
    const cc = await token(form({ grant_type: 'client_credentials' }), { Authorization: basic(machine.id, machine.secret) });

    // Act
    const me = await h.sdk.send(new GetUserCommand({ AccessToken: tokens.AccessToken! }));
    const refused = await failure(h.sdk.send(new GetUserCommand({ AccessToken: cc.json['access_token'] })));

    // Assess
    expect(me.Username).toBe(sub);
    expect(me.UserAttributes).toEqual(expect.arrayContaining([{ Name: 'sub', Value: sub }, { Name: 'email', Value: email }]));
    expect(refused.name).toBe('NotAuthorizedException');
  });

  it('asks an admin-created user for a new password before issuing tokens', async () => {
    // Prepare
    const email = 'invited@example.com';
    const created = await h.sdk.send(
      new AdminCreateUserCommand({ UserPoolId: poolId, Username: email, UserAttributes: [{ Name: 'email', Value: email }], DesiredDeliveryMediums: ['EMAIL'] }),
    );
    const invitation = (await readOutbox(h.dataDir)).find((m) => m.to === email && m.kind === 'invitation')!;

    // Act
    const challenge = await h.sdk.send(
      new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: uiClientId, AuthParameters: { USERNAME: email, PASSWORD: invitation.temporaryPassword! } }),
    );
    const answered = await h.sdk.send(
      new RespondToAuthChallengeCommand({
        ClientId: uiClientId, ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: challenge.Session,
        ChallengeResponses: { USERNAME: email, NEW_PASSWORD: PASSWORD },
      }),
    );

    // Assess
    expect(created.User?.UserStatus).toBe('FORCE_CHANGE_PASSWORD');
    expect(challenge.ChallengeName).toBe('NEW_PASSWORD_REQUIRED');
    expect(challenge.AuthenticationResult).toBeUndefined();
    expect(answered.AuthenticationResult?.AccessToken).toEqual(expect.any(String));
    expect((await login(email)).AccessToken).toEqual(expect.any(String));
  });
});

describe('token endpoint: client credentials', () => {
  it('issues a token with HTTP Basic client authentication that aws-jwt-verify accepts', async () => {
    // Prepare
    const verifier = CognitoJwtVerifier.create({ userPoolId: poolId, tokenUse: 'access', clientId: machine.id, scope: fullScope('read') });
    verifier.cacheJwks(await servedJwks());

    // Act
    const { res, json } = await token(form({ grant_type: 'client_credentials' }), { Authorization: basic(machine.id, machine.secret) });
    const claims = await verifier.verify(json['access_token']);

    // Assess
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
    expect(json).toEqual({ access_token: expect.any(String), expires_in: 1800, token_type: 'Bearer' });
    expect(claims).toMatchObject({
      sub: machine.id,
      client_id: machine.id,
      token_use: 'access',
      scope: `${fullScope('read')} ${fullScope('write')}`,
      version: 2,
    });
    expect(claims.exp - claims.iat).toBe(1800);
    expect(claims).not.toHaveProperty('username');
    expect(claims).not.toHaveProperty('aud');
  });

  it('issues a token with client_id/client_secret in the body, narrowed to the requested scope', async () => {
    // Act
    const { res, json } = await token(
      form({ grant_type: 'client_credentials', client_id: machine.id, client_secret: machine.secret, scope: fullScope('read') }),
    );

    // Assess
    expect(res.status).toBe(200);
    expect(decodeJwt(json['access_token'])['scope']).toBe(fullScope('read'));
  });

  it('form-decodes Basic credentials as RFC 6749 §2.3.1 requires', async () => {
    // Prepare: a custom secret with a '+' that must travel as %2B.
    const secret = `abc+def${'x'.repeat(20)}`;
    const c = await h.sdk.send(
      new CreateUserPoolClientCommand({
        UserPoolId: poolId, ClientName: 'custom-secret', ClientSecret: secret, AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthFlows: ['client_credentials'], AllowedOAuthScopes: [fullScope('read')],
      }),
    );
    const id = c.UserPoolClient!.ClientId!;
    const raw = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

    // Act
    const encoded = await token(form({ grant_type: 'client_credentials' }), { Authorization: basic(id, secret) });
    const unencoded = await token(form({ grant_type: 'client_credentials' }), { Authorization: raw });

    // Assess
    expect(encoded.res.status).toBe(200);
    expect(unencoded.res.status).toBe(401);
  });

  it('answers a wrong secret with 401 invalid_client and a Basic challenge', async () => {
    // Act
    // Change the last character to a different one (replacing it with a fixed one would keep a secret ending in it).
    const last = machine.secret.slice(-1);
    const wrong = `${machine.secret.slice(0, -1)}${last === '0' ? '1' : '0'}`;
    const { res, json } = await token(form({ grant_type: 'client_credentials' }), { Authorization: basic(machine.id, wrong) });

    // Assess
    expect(res.status).toBe(401);
    expect(json['error']).toBe('invalid_client');
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="/);
  });

  it('answers invalid_client for a deleted client', async () => {
    // Prepare
    const c = await h.sdk.send(
      new CreateUserPoolClientCommand({
        UserPoolId: poolId, ClientName: 'to-delete', GenerateSecret: true, AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthFlows: ['client_credentials'], AllowedOAuthScopes: [fullScope('read')],
      }),
    );
    const id = c.UserPoolClient!.ClientId!;
    const secret = c.UserPoolClient!.ClientSecret!;
    const before = await token(form({ grant_type: 'client_credentials' }), { Authorization: basic(id, secret) });

    // Act
    await h.sdk.send(new DeleteUserPoolClientCommand({ UserPoolId: poolId, ClientId: id }));
    const after = await token(form({ grant_type: 'client_credentials' }), { Authorization: basic(id, secret) });
    const described = await failure(h.sdk.send(new DescribeUserPoolClientCommand({ UserPoolId: poolId, ClientId: id })));

    // Assess
    expect(before.res.status).toBe(200);
    expect(after.res.status).toBe(401);
    expect(after.json['error']).toBe('invalid_client');
    expect(described.name).toBe('ResourceNotFoundException');
  });

  it('answers RFC 6749 errors for bad scope, grant type, repeated parameters, mixed authentication and content type', async () => {
    // Act
    const auth = { Authorization: basic(machine.id, machine.secret) };
    const badScope = await token(form({ grant_type: 'client_credentials', scope: `${fullScope('read')} ${RESOURCE_SERVER_IDENTIFIER}/admin` }), auth);
    const badGrant = await token(form({ grant_type: 'password' }), auth);
    const repeated = await token('grant_type=client_credentials&scope=a&scope=b', auth);
    const twoMethods = await token(form({ grant_type: 'client_credentials', client_secret: machine.secret }), auth);
    const noGrant = await token(form({ scope: fullScope('read') }), auth);
    const json = await fetch(`${h.server.url}/oauth2/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', ...auth }, body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    const uiClient = await token(form({ grant_type: 'client_credentials', client_id: uiClientId }));

    // Assess
    expect([badScope.res.status, badScope.json['error']]).toEqual([400, 'invalid_scope']);
    expect([badGrant.res.status, badGrant.json['error']]).toEqual([400, 'unsupported_grant_type']);
    expect([repeated.res.status, repeated.json['error']]).toEqual([400, 'invalid_request']);
    expect([twoMethods.res.status, twoMethods.json['error']]).toEqual([400, 'invalid_request']);
    expect([noGrant.res.status, noGrant.json['error']]).toEqual([400, 'invalid_request']);
    expect([json.status, ((await json.json()) as { error: string }).error]).toEqual([400, 'invalid_request']);
    expect([uiClient.res.status, uiClient.json['error']]).toEqual([400, 'unauthorized_client']);
  });
});

describe('token endpoint: authorization code with PKCE', () => {
  async function authorize(params: Record<string, string>) {
    return fetch(`${h.server.url}/oauth2/authorize?${new URLSearchParams(params).toString()}`, { redirect: 'manual' });
  }

  async function signInThroughPage(loginPath: string, email: string, password: string) {
    const page = await fetch(`${h.server.url}${loginPath}`, { redirect: 'manual' });
    const html = await page.text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] as string;
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const action = /action="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&') as string;
    return fetch(`${h.server.url}${action}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...FORM, Cookie: cookie },
      body: form({ _csrf: csrf, username: email, password }),
    });
  }

  it('signs in through the hosted page and exchanges the code once, checking the PKCE verifier', async () => {
    // Prepare
    const email = 'browser@example.com';
    const sub = await signUpAndConfirm(email);
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const params = {
      response_type: 'code', client_id: uiClientId, redirect_uri: CALLBACK, state: 'st-1', nonce: 'n-1',
      scope: `openid email ${USER_ADMIN_SCOPE}`, code_challenge: challenge, code_challenge_method: 'S256',
    };

    // Act
    const start = await authorize(params);
    const loginPath = start.headers.get('location') as string;
    const signedIn = await signInThroughPage(loginPath, email, PASSWORD);
    const back = new URL(signedIn.headers.get('location') as string);
    const code = back.searchParams.get('code') as string;
    const exchange = await token(form({ grant_type: 'authorization_code', client_id: uiClientId, code, redirect_uri: CALLBACK, code_verifier: verifier }));
    const replay = await token(form({ grant_type: 'authorization_code', client_id: uiClientId, code, redirect_uri: CALLBACK, code_verifier: verifier }));
    const refreshed = await token(form({ grant_type: 'refresh_token', client_id: uiClientId, refresh_token: exchange.json['refresh_token'] }));

    // Assess
    expect(start.status).toBe(302);
    expect(loginPath.startsWith('/login?')).toBe(true);
    expect(signedIn.status).toBe(302);
    expect(`${back.origin}${back.pathname}`).toBe(CALLBACK);
    expect(back.searchParams.get('state')).toBe('st-1');
    expect(exchange.res.status).toBe(200);
    expect(exchange.json).toEqual({
      id_token: expect.any(String), access_token: expect.any(String), refresh_token: expect.any(String),
      expires_in: 3600, token_type: 'Bearer',
    });
    expect(decodeJwt(exchange.json['access_token'])).toMatchObject({ sub, username: sub, scope: `openid email ${USER_ADMIN_SCOPE}` });
    expect(decodeJwt(exchange.json['id_token'])).toMatchObject({ sub, aud: uiClientId, nonce: 'n-1', token_use: 'id' });
    expect([replay.res.status, replay.json['error']]).toEqual([400, 'invalid_grant']);
    expect(refreshed.res.status).toBe(200);
    expect(refreshed.json['refresh_token']).toBeUndefined();
    expect(decodeJwt(refreshed.json['access_token'])['origin_jti']).toBe(decodeJwt(exchange.json['access_token'])['origin_jti']);
  });

  it('refuses a code exchanged with the wrong verifier', async () => {
    // Prepare
    const email = 'pkce@example.com';
    await signUpAndConfirm(email);
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const start = await authorize({
      response_type: 'code', client_id: uiClientId, redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256',
    });
    const signedIn = await signInThroughPage(start.headers.get('location') as string, email, PASSWORD);
    const code = new URL(signedIn.headers.get('location') as string).searchParams.get('code') as string;

    // Act
    const wrong = await token(form({
      grant_type: 'authorization_code', client_id: uiClientId, code, redirect_uri: CALLBACK,
      code_verifier: randomBytes(32).toString('base64url'),
    }));

    // Assess
    expect([wrong.res.status, wrong.json['error']]).toEqual([400, 'invalid_grant']);
  });

  it('never redirects to an unregistered redirect_uri, and escapes what it echoes', async () => {
    // Act
    const foreign = await authorize({ response_type: 'code', client_id: uiClientId, redirect_uri: 'https://evil.example/cb' });
    const page = await fetch(
      `${h.server.url}/login?${new URLSearchParams({ response_type: 'code', client_id: uiClientId, redirect_uri: CALLBACK, state: '"><script>alert(1)</script>' })}`,
    );
    const html = await page.text();
    const badPassword = await signInThroughPage(
      `/login?${new URLSearchParams({ response_type: 'code', client_id: uiClientId, redirect_uri: CALLBACK })}`,
      'ada@example.com',
      'wrong',
    );

    // Assess
    expect(foreign.status).toBe(400);
    expect(foreign.headers.get('location')).toBeNull();
    expect(page.status).toBe(200);
    expect(html).not.toContain('<script>');
    expect(badPassword.status).toBe(400);
    expect(await badPassword.text()).toContain('Incorrect username or password.');
  });

  it('refuses a sign-in form posted without the CSRF cookie', async () => {
    // Act
    const res = await fetch(
      `${h.server.url}/login?${new URLSearchParams({ response_type: 'code', client_id: uiClientId, redirect_uri: CALLBACK })}`,
      { method: 'POST', redirect: 'manual', headers: FORM, body: form({ _csrf: 'forged', username: 'ada@example.com', password: PASSWORD }) },
    );

    // Assess
    expect(res.status).toBe(403);
    expect(res.headers.get('location')).toBeNull();
  });
});

describe('throttling', () => {
  it('answers TooManyRequestsException past about 5 client writes per second per pool, then recovers', async () => {
    // Prepare: a separate emulation with Cognito's rate.
    const dir = await mkdtemp(join(tmpdir(), 'cognito-rate-'));
    const limited = await startHarness(dir, 5);
    try {
      const pool = await limited.sdk.send(new CreateUserPoolCommand({ PoolName: 'rate' }));
      const create = () =>
        limited.sdk.send(new CreateUserPoolClientCommand({ UserPoolId: pool.UserPool!.Id!, ClientName: 'c' })).then(
          () => 'ok',
          (err: Error) => err.name,
        );

      // Act
      const burst = await Promise.all(Array.from({ length: 8 }, create));
      await new Promise((r) => setTimeout(r, 1100));
      const later = await create();

      // Assess
      expect(burst.filter((r) => r === 'ok').length).toBeLessThanOrEqual(5);
      expect(burst).toContain('TooManyRequestsException');
      expect(burst.every((r) => r === 'ok' || r === 'TooManyRequestsException')).toBe(true);
      expect(later).toBe('ok');
    } finally {
      await limited.server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('quotas', () => {
  it('answers LimitExceededException when a pool is at its app-client quota', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'cognito-quota-'));
    const small = await startHarness(dir, 0, 2);
    try {
      const pool = await small.sdk.send(new CreateUserPoolCommand({ PoolName: 'quota' }));
      const create = () => small.sdk.send(new CreateUserPoolClientCommand({ UserPoolId: pool.UserPool!.Id!, ClientName: 'c' }));
      await create();
      const second = await create();

      // Act
      const third = await failure(create());
      await small.sdk.send(new DeleteUserPoolClientCommand({ UserPoolId: pool.UserPool!.Id!, ClientId: second.UserPoolClient!.ClientId! }));
      const afterDelete = await create();

      // Assess
      expect(third.name).toBe('LimitExceededException');
      expect(afterDelete.UserPoolClient?.ClientId).toMatch(/^[a-z0-9]{26}$/);
    } finally {
      await small.server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ListUsers', () => {
  let pool: string;
  const names = (out: { Users?: { Username?: string }[] }) => (out.Users ?? []).map((u) => u.Username);
  beforeAll(async () => {
    pool = (await h.sdk.send(new CreateUserPoolCommand({ PoolName: 'list-users' }))).UserPool!.Id!;
    for (const username of ['ann', 'anna', 'bob']) {
      await h.sdk.send(
        new AdminCreateUserCommand({
          UserPoolId: pool,
          Username: username,
          MessageAction: 'SUPPRESS',
          UserAttributes: [{ Name: 'email', Value: `${username}@example.com` }],
        }),
      );
    }
    // ann and bob set a permanent password (CONFIRMED); anna still has the temporary one (FORCE_CHANGE_PASSWORD).
    for (const username of ['ann', 'bob']) {
      await h.sdk.send(new AdminSetUserPasswordCommand({ UserPoolId: pool, Username: username, Password: PASSWORD, Permanent: true }));
    }
    await h.sdk.send(new AdminDisableUserCommand({ UserPoolId: pool, Username: 'bob' }));
  });

  it('lists every user, oldest first, with their attributes, without a filter', async () => {
    const out = await h.sdk.send(new ListUsersCommand({ UserPoolId: pool }));
    expect(names(out)).toEqual(['ann', 'anna', 'bob']);
    expect(out.Users?.[0]).toMatchObject({ UserStatus: 'CONFIRMED', Enabled: true });
    expect(out.Users?.[0]?.Attributes).toEqual(expect.arrayContaining([{ Name: 'email', Value: 'ann@example.com' }]));
    expect(out.PaginationToken).toBeUndefined();
  });

  it.each([
    ['cognito:user_status = "CONFIRMED"', ['ann', 'bob']],
    ['cognito:user_status = "force_change_password"', ['anna']],
    ['username ^= "ann"', ['ann', 'anna']],
    ['username = "ann"', ['ann']],
    ['email = "bob@example.com"', ['bob']],
    ['status = "Disabled"', ['bob']],
    ['  ', ['ann', 'anna', 'bob']],
  ])('filters with %s', async (filter, expected) => {
    expect(names(await h.sdk.send(new ListUsersCommand({ UserPoolId: pool, Filter: filter })))).toEqual(expected);
  });

  it('pages with Limit and PaginationToken', async () => {
    const first = await h.sdk.send(new ListUsersCommand({ UserPoolId: pool, Limit: 2 }));
    const second = await h.sdk.send(new ListUsersCommand({ UserPoolId: pool, Limit: 2, PaginationToken: first.PaginationToken }));
    expect([names(first), names(second)]).toEqual([['ann', 'anna'], ['bob']]);
    expect(second.PaginationToken).toBeUndefined();
  });

  it('returns only the attributes AttributesToGet names', async () => {
    const out = await h.sdk.send(new ListUsersCommand({ UserPoolId: pool, AttributesToGet: ['sub'] }));
    for (const user of out.Users ?? []) expect(user.Attributes?.map((a) => a.Name)).toEqual(['sub']);
  });

  it.each([
    ['nickname = "x"', 'Invalid search attribute: nickname'],
    ['username == "ann"', 'Error while parsing filter.'],
    ['username = ann', 'Error while parsing filter.'],
  ])('refuses the filter %s with InvalidParameterException', async (filter, message) => {
    const err = await failure(h.sdk.send(new ListUsersCommand({ UserPoolId: pool, Filter: filter })));
    expect(err).toMatchObject({ name: 'InvalidParameterException', message });
  });

  it('answers ResourceNotFoundException for an unknown pool', async () => {
    const err = await failure(h.sdk.send(new ListUsersCommand({ UserPoolId: `${LOCAL_REGION}_Missing00` })));
    expect(err.name).toBe('ResourceNotFoundException');
  });
});

describe('persistence', () => {
  it('keeps users, clients and the signing key across a restart on the same data directory', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'cognito-restart-'));
    let first = await startHarness(dir, 0);
    const pool = await first.sdk.send(
      new CreateUserPoolCommand({ PoolName: 'restart', AutoVerifiedAttributes: ['email'], UsernameAttributes: ['email'] }),
    );
    const id = pool.UserPool!.Id!;
    const client = await first.sdk.send(
      new CreateUserPoolClientCommand({ UserPoolId: id, ClientName: 'ui', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] }),
    );
    const clientId = client.UserPoolClient!.ClientId!;
    await first.sdk.send(new SignUpCommand({ ClientId: clientId, Username: 'keep@example.com', Password: PASSWORD }));
    await first.sdk.send(new AdminConfirmSignUpCommand({ UserPoolId: id, Username: 'keep@example.com' }));
    const before = await first.sdk.send(
      new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: clientId, AuthParameters: { USERNAME: 'keep@example.com', PASSWORD } }),
    );
    const jwksBefore = first.server.emulator.jwks();

    // Act
    await first.server.close();
    first = await startHarness(dir, 0);
    try {
      const after = await first.sdk.send(
        new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: clientId, AuthParameters: { USERNAME: 'keep@example.com', PASSWORD } }),
      );
      const refreshed = await first.sdk.send(
        new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: clientId, AuthParameters: { REFRESH_TOKEN: before.AuthenticationResult!.RefreshToken! } }),
      );
      const verifier = CognitoJwtVerifier.create({ userPoolId: id, tokenUse: 'access', clientId });
      verifier.cacheJwks(first.server.emulator.jwks());

      // Assess
      expect(first.server.emulator.jwks()).toEqual(jwksBefore);
      expect(after.AuthenticationResult?.AccessToken).toEqual(expect.any(String));
      expect(refreshed.AuthenticationResult?.AccessToken).toEqual(expect.any(String));
      await expect(verifier.verify(before.AuthenticationResult!.AccessToken!)).resolves.toMatchObject({ client_id: clientId });
      expect(first.server.emulator.issuer(id)).toBe(`https://cognito-idp.${LOCAL_REGION}.amazonaws.com/${id}`);
    } finally {
      await first.server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stores no password, refresh token or confirmation code in clear on disk', async () => {
    // Prepare
    const email = 'secret-keeper@example.com';
    await h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: email, Password: PASSWORD }));
    const code = (await readOutbox(h.dataDir)).find((m) => m.to === email)!.code!;
    await h.sdk.send(new ConfirmSignUpCommand({ ClientId: uiClientId, Username: email, ConfirmationCode: code }));
    const pending = 'pending-secret@example.com';
    await h.sdk.send(new SignUpCommand({ ClientId: uiClientId, Username: pending, Password: PASSWORD }));
    const pendingCode = (await readOutbox(h.dataDir)).find((m) => m.to === pending)!.code!;
    const tokens = await login(email);
    await h.server.emulator.flush();

    // Act
    const state = await readFile(join(h.dataDir, 'cognito', 'state.json'), 'utf8');
    const key = await readFile(join(h.dataDir, 'cognito', 'signing-key.json'), 'utf8');

    // Assess
    expect(state).toContain(email);
    expect(state).not.toContain(PASSWORD);
    expect(state).not.toContain(tokens.RefreshToken!);
    expect(state).not.toContain(`"${pendingCode}"`);
    expect(state).toMatch(/"passwordHash":"scrypt\$16384\$8\$1\$/);
    expect(JSON.parse(key)).toHaveProperty('d');
  });

  it('stores app-client secrets sealed, under a key file only the owner can read', async () => {
    // Prepare
    const custom = `custom${randomBytes(24).toString('hex')}`;
    const c = await h.sdk.send(
      new CreateUserPoolClientCommand({
        UserPoolId: poolId, ClientName: 'sealed', ClientSecret: custom, AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthFlows: ['client_credentials'], AllowedOAuthScopes: [fullScope('read')],
      }),
    );
    await h.server.emulator.flush();

    // Act
    const state = await readFile(join(h.dataDir, 'cognito', 'state.json'), 'utf8');
    const keyFile = await stat(join(h.dataDir, 'cognito', 'secret-key'));
    const stored = JSON.parse(state).pools[poolId].clients;

    // Assess
    expect(state).not.toContain(machine.secret);
    expect(state).not.toContain(custom);
    expect(stored[machine.id].clientSecret).toBeUndefined();
    expect(stored[machine.id].sealedSecret).toMatch(/^aes256gcm\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
    expect(stored[c.UserPoolClient!.ClientId!].sealedSecret).toMatch(/^aes256gcm\./);
    // A random IV per secret: equal plaintext lengths never give equal ciphertexts.
    expect(stored[machine.id].sealedSecret).not.toBe(stored[c.UserPoolClient!.ClientId!].sealedSecret);
    expect(keyFile.mode & 0o777).toBe(0o600);
    expect(c.UserPoolClient?.ClientSecret).toBe(custom);
  });

  it('seals the secrets of a clear-text state file on load, and clients keep working', async () => {
    // Prepare: a data directory as an emulator from before sealing left it (secrets in clear, no key file).
    const dir = await mkdtemp(join(tmpdir(), 'cognito-migrate-'));
    let old = await startHarness(dir, 0);
    const pool = await old.sdk.send(new CreateUserPoolCommand({ PoolName: 'migrate' }));
    const id = pool.UserPool!.Id!;
    await old.sdk.send(
      new CreateResourceServerCommand({
        UserPoolId: id, Identifier: RESOURCE_SERVER_IDENTIFIER, Name: RESOURCE_SERVER_NAME,
        Scopes: [{ ScopeName: 'read', ScopeDescription: 'read' }],
      }),
    );
    const created = await old.sdk.send(
      new CreateUserPoolClientCommand({
        UserPoolId: id, ClientName: 'legacy', GenerateSecret: true, AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthFlows: ['client_credentials'], AllowedOAuthScopes: [fullScope('read')],
      }),
    );
    const clientId = created.UserPoolClient!.ClientId!;
    const secret = created.UserPoolClient!.ClientSecret!;
    await old.server.close();
    const statePath = join(dir, 'cognito', 'state.json');
    const legacy = JSON.parse(await readFile(statePath, 'utf8'));
    const record = legacy.pools[id].clients[clientId];
    record.clientSecret = secret;
    delete record.sealedSecret;
    await writeFile(statePath, JSON.stringify(legacy));
    await rm(join(dir, 'cognito', 'secret-key'));

    try {
      // Act
      old = await startHarness(dir, 0);
      const onDisk = await readFile(statePath, 'utf8');
      const described = await old.sdk.send(new DescribeUserPoolClientCommand({ UserPoolId: id, ClientId: clientId }));
      const granted = await fetch(`${old.server.url}/oauth2/token`, {
        method: 'POST', headers: { ...FORM, Authorization: basic(clientId, secret) }, body: form({ grant_type: 'client_credentials' }),
      });
      const refused = await fetch(`${old.server.url}/oauth2/token`, {
        method: 'POST', headers: { ...FORM, Authorization: basic(clientId, `${secret}x`) }, body: form({ grant_type: 'client_credentials' }),
      });

      // Assess
      expect(onDisk).not.toContain(secret);
      expect(JSON.parse(onDisk).pools[id].clients[clientId].sealedSecret).toMatch(/^aes256gcm\./);
      expect(described.UserPoolClient?.ClientSecret).toBe(secret);
      expect(granted.status).toBe(200);
      expect(refused.status).toBe(401);
    } finally {
      await old.server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start when the sealed secrets do not open with the key file', async () => {
    // Prepare: a sealed secret moved onto another client, as an edit of state.json would.
    const dir = await mkdtemp(join(tmpdir(), 'cognito-tamper-'));
    const first = await startHarness(dir, 0);
    const pool = await first.sdk.send(new CreateUserPoolCommand({ PoolName: 'tamper' }));
    const id = pool.UserPool!.Id!;
    const ids: string[] = [];
    for (const name of ['one', 'two']) {
      const c = await first.sdk.send(new CreateUserPoolClientCommand({ UserPoolId: id, ClientName: name, GenerateSecret: true }));
      ids.push(c.UserPoolClient!.ClientId!);
    }
    await first.server.close();
    const statePath = join(dir, 'cognito', 'state.json');
    const state = JSON.parse(await readFile(statePath, 'utf8'));
    const [one, two] = ids as [string, string];
    state.pools[id].clients[two].sealedSecret = state.pools[id].clients[one].sealedSecret;
    await writeFile(statePath, JSON.stringify(state));

    try {
      // Act
      const started = startHarness(dir, 0);

      // Assess
      await expect(started).rejects.toThrow(`The secret of client ${two} does not open`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('client updates', () => {
  it('replaces every setting on UpdateUserPoolClient, keeping the id and secret', async () => {
    // Prepare
    const c = await h.sdk.send(
      new CreateUserPoolClientCommand({
        UserPoolId: poolId, ClientName: 'upd', GenerateSecret: true, AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthFlows: ['client_credentials'], AllowedOAuthScopes: [fullScope('read')], AccessTokenValidity: 2,
      }),
    );
    const id = c.UserPoolClient!.ClientId!;

    // Act
    const updated = await h.sdk.send(
      new UpdateUserPoolClientCommand({
        UserPoolId: poolId, ClientId: id, AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthFlows: ['client_credentials'], AllowedOAuthScopes: [fullScope('write')],
      }),
    );

    // Assess
    expect(updated.UserPoolClient?.ClientSecret).toBe(c.UserPoolClient?.ClientSecret);
    expect(updated.UserPoolClient?.ClientName).toBe('upd');
    expect(updated.UserPoolClient?.AllowedOAuthScopes).toEqual([fullScope('write')]);
    expect(updated.UserPoolClient?.AccessTokenValidity).toBeUndefined();
  });
});

describe('the secret box', () => {
  it('opens what it sealed for the same client only', () => {
    // Prepare
    const box = SecretBox.ephemeral();
    const sealed = box.seal('s3cret-value', 'clientone');

    // Act
    const opened = box.open(sealed, 'clientone');

    // Assess
    expect(opened).toBe('s3cret-value');
    expect(sealed).not.toContain('s3cret-value');
    expect(() => box.open(sealed, 'clienttwo')).toThrow(SealedSecretError);
  });

  it('refuses a tampered ciphertext, a tampered tag and another box\'s seal', () => {
    // Prepare
    const box = SecretBox.ephemeral();
    const [prefix, iv, ct, tag] = box.seal('s3cret-value', 'c').split('.') as [string, string, string, string];
    const flip = (part: string) => {
      const bytes = Buffer.from(part, 'base64url');
      bytes[0] = (bytes[0] as number) ^ 1;
      return bytes.toString('base64url');
    };

    // Act
    const attempts = [
      () => box.open([prefix, iv, flip(ct), tag].join('.'), 'c'),
      () => box.open([prefix, iv, ct, flip(tag)].join('.'), 'c'),
      () => box.open([prefix, flip(iv), ct, tag].join('.'), 'c'),
      () => SecretBox.ephemeral().open([prefix, iv, ct, tag].join('.'), 'c'),
      () => box.open('s3cret-value', 'c'),
    ];

    // Assess
    for (const attempt of attempts) expect(attempt).toThrow(SealedSecretError);
  });

  it('uses a fresh IV for every seal', () => {
    // Prepare
    const box = SecretBox.ephemeral();

    // Act
    const seals = Array.from({ length: 50 }, () => box.seal('same', 'c'));

    // Assess
    expect(new Set(seals.map((s) => s.split('.')[1])).size).toBe(50);
    expect(new Set(seals).size).toBe(50);
  });
});
