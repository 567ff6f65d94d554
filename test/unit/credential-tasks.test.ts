import {
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  LimitExceededException,
  TooManyRequestsException,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CLIENT_NAME_MAX_LENGTH,
  CLIENT_NAME_PATTERN,
  type ClientFactoryDeps,
  createCredentialClient,
} from '../../lambdas/credentials/client-factory';
import { credentialClientName } from '../../lambdas/shared/contract/client-name';
import { RESOURCE_SERVER_IDENTIFIER } from '../../lambdas/shared/contract/names';
import { ValidationError } from '../../lambdas/shared/errors';
import { logger } from '../../lambdas/shared/logger';

const USER_ID = '6f1c2a57-3d4e-4b8a-9c0d-1e2f3a4b5c6d';
const OPERATION_ID = '0b7e9d3c-8a6f-4e21-b5d4-c3a2f1e0d9b8';
const CLIENT_ID = '4kq1v0s7b2n9m3c8x6z5l1p0ab';
const SECRET = 'S3CR3T-1f0c9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6';

const cognito = mockClient(CognitoIdentityProviderClient);

function deps(): ClientFactoryDeps {
  return {
    cognito: new CognitoIdentityProviderClient({ region: 'us-east-1' }),
    config: { USER_POOL_ID: 'us-east-1_Abc123', CLIENT_TOKEN_VALIDITY_MINUTES: 45, RESOURCE_SERVER_IDENTIFIER },
  };
}

function task(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    task: 'createClient',
    userId: USER_ID,
    operationId: OPERATION_ID,
    scopes: ['devaccess/read', 'devaccess/write'],
    ...overrides,
  };
}

function cognitoAnswersWithSecret(): void {
  cognito.on(CreateUserPoolClientCommand).resolves({
    UserPoolClient: {
      UserPoolId: 'us-east-1_Abc123',
      ClientId: CLIENT_ID,
      ClientName: credentialClientName(USER_ID, OPERATION_ID),
      ClientSecret: SECRET,
    },
  });
}

beforeEach(() => {
  cognito.reset();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('createCredentialClient', () => {
  it('creates a confidential client_credentials client named after the user and the operation', async () => {
    // Prepare
    cognitoAnswersWithSecret();

    // Act
    await createCredentialClient(task({ scopes: ['devaccess/read'] }), deps());

    // Assess
    const calls = cognito.commandCalls(CreateUserPoolClientCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      UserPoolId: 'us-east-1_Abc123',
      ClientName: `devaccess-${USER_ID}-${OPERATION_ID}`,
      GenerateSecret: true,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['client_credentials'],
      AllowedOAuthScopes: ['devaccess/read'],
      ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
      AccessTokenValidity: 45,
      TokenValidityUnits: { AccessToken: 'minutes' },
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
    });
  });

  it('returns only the client id, never the secret', async () => {
    // Prepare
    cognitoAnswersWithSecret();

    // Act
    const out = await createCredentialClient(task(), deps());

    // Assess
    expect(out).toEqual({ clientId: CLIENT_ID });
    expect(JSON.stringify(out)).not.toContain(SECRET);
  });

  it('logs the client id and not the Cognito response', async () => {
    // Prepare
    cognitoAnswersWithSecret();
    const info = vi.spyOn(logger, 'info');

    // Act
    await createCredentialClient(task(), deps());

    // Assess
    expect(info).toHaveBeenCalledWith('credential client created', {
      userId: USER_ID,
      operationId: OPERATION_ID,
      clientId: CLIENT_ID,
    });
    expect(JSON.stringify(info.mock.calls)).not.toContain(SECRET);
  });

  it.each([
    ['TooManyRequestsException', () => new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} })],
    ['LimitExceededException', () => new LimitExceededException({ message: 'Limit exceeded', $metadata: {} })],
  ])('lets %s propagate under its AWS name so the workflow can retry it', async (name, error) => {
    // Prepare
    cognito.on(CreateUserPoolClientCommand).rejects(error());

    // Act
    const outcome = createCredentialClient(task(), deps());

    // Assess
    await expect(outcome).rejects.toMatchObject({ name });
  });

  it('fails loudly when Cognito answers without a client id', async () => {
    // Prepare
    cognito.on(CreateUserPoolClientCommand).resolves({ UserPoolClient: { ClientSecret: SECRET } });

    // Act
    const outcome = createCredentialClient(task(), deps());

    // Assess
    await expect(outcome).rejects.toThrow('CreateUserPoolClient answered without a client id');
    await expect(outcome).rejects.not.toThrow(SECRET);
  });

  it.each([
    ['a missing user id', task({ userId: undefined }), 'userId'],
    ['a user id that is not a UUID', task({ userId: 'USER#1' }), 'userId'],
    ['an operation id that is not a UUID', task({ operationId: 'op 1' }), 'operationId'],
    ['no scopes', task({ scopes: [] }), 'scopes'],
    ['an unknown scope', task({ scopes: ['aws.cognito.signin.user.admin'] }), 'scopes.0'],
    ['a repeated scope', task({ scopes: ['devaccess/read', 'devaccess/read'] }), 'scopes'],
    ['another task', task({ task: 'deleteClient' }), 'task'],
    ['an unexpected field', task({ clientSecret: 'x' }), '(input)'],
  ])('refuses %s with an error naming the field and calls nothing', async (_case, event, field) => {
    // Act
    const outcome = createCredentialClient(event, deps());

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(ValidationError);
    await expect(outcome).rejects.toThrow(`Invalid createClient task input: ${field}`);
    expect(cognito.commandCalls(CreateUserPoolClientCommand)).toHaveLength(0);
  });

  it('takes the scopes of the configured resource server only', async () => {
    // Prepare
    cognitoAnswersWithSecret();
    const acme = { ...deps(), config: { ...deps().config, RESOURCE_SERVER_IDENTIFIER: 'api.acme.example' } };
    // Act
    await createCredentialClient(task({ scopes: ['api.acme.example/read'] }), acme);
    const ours = createCredentialClient(task({ scopes: ['devaccess/read'] }), acme);
    // Assess
    await expect(ours).rejects.toThrow('Invalid createClient task input: scopes.0');
    expect(cognito.commandCalls(CreateUserPoolClientCommand)[0]?.args[0].input.AllowedOAuthScopes).toEqual(['api.acme.example/read']);
  });

  it('refuses an input that is not an object', async () => {
    // Act
    const outcome = createCredentialClient('createClient', deps());

    // Assess
    await expect(outcome).rejects.toThrow(/^Invalid createClient task input: \(input\)/);
  });
});

describe('credentialClientName', () => {
  it('stays within Cognito\'s client name length and character set for UUID ids', () => {
    // Act
    const name = credentialClientName(USER_ID, OPERATION_ID);

    // Assess
    expect(name).toHaveLength(83);
    expect(name.length).toBeLessThanOrEqual(CLIENT_NAME_MAX_LENGTH);
    expect(name).toMatch(CLIENT_NAME_PATTERN);
  });
});

describe('handler', () => {
  it('takes its pool and token validity from the environment and returns only the id', async () => {
    // Prepare
    vi.resetModules();
    vi.stubEnv('USER_POOL_ID', 'eu-west-1_Pool9');
    vi.stubEnv('CLIENT_TOKEN_VALIDITY_MINUTES', '15');
    cognitoAnswersWithSecret();
    const { handler } = await import('../../lambdas/credentials/tasks');

    // Act
    const out = await handler({
      task: 'createClient',
      userId: USER_ID,
      operationId: OPERATION_ID,
      scopes: ['devaccess/write'],
    });

    // Assess
    expect(out).toEqual({ clientId: CLIENT_ID });
    const input = cognito.commandCalls(CreateUserPoolClientCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ UserPoolId: 'eu-west-1_Pool9', AccessTokenValidity: 15 });
  });

  it('fails its cold start when the user pool id is missing', async () => {
    // Prepare
    vi.resetModules();
    vi.stubEnv('USER_POOL_ID', '');

    // Act
    const loading = import('../../lambdas/credentials/tasks');

    // Assess
    await expect(loading).rejects.toThrow(/Invalid configuration: USER_POOL_ID/);
  });
});
