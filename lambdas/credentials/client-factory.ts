/**
 * The CreateClient step of the credential workflow: creates the Cognito app client behind a credential and hands
 * back only its id. The CreateUserPoolClient response carries the client secret; the workflow runs this step as a
 * Lambda function (not an SDK integration) precisely so that the response never reaches the execution history.
 * The secret stays in Cognito until the credentials API reads it once for its response (invariant I5).
 *
 * Retries: Step Functions retries this step on Lambda service errors and on Cognito throttling, and the SDK
 * retries inside one invocation. A retry after Cognito did create a client creates a second one. That is safe:
 * only the client id this step returns is ever committed to the table, so the other one has no mapping (the
 * resolver refuses it), nobody ever saw its secret, and its name `devaccess-<userId>-<operationId>` lets the
 * reconciliation sweeper find and delete it. Checking for an existing client first was rejected: Cognito can only
 * list clients, 60 per page across the whole pool, under the same per-pool request quota as the create itself.
 */
import {
  type CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  type CreateUserPoolClientCommandInput,
} from '@aws-sdk/client-cognito-identity-provider';
import { z } from 'zod';
import type { Config } from '../shared/config';
import { credentialClientName } from '../shared/contract/client-name';
import { RESOURCE_SCOPE_NAMES, resourceScope } from '../shared/contract/names';
import type { CreateClientTaskInput, CreateClientTaskOutput } from '../shared/contract/workflow';
import { ValidationError } from '../shared/errors';
import { logger } from '../shared/logger';
import { distinctScopes } from './schemas';

/** The full OAuth scopes a credential may hold on a resource server (`devaccess/read`, `devaccess/write`). */
function credentialScopes(resourceServer: string): [string, ...string[]] {
  return RESOURCE_SCOPE_NAMES.map((scope) => resourceScope(scope, resourceServer)) as [string, ...string[]];
}

/** Cognito app client names: 1-128 characters of `[\w\s+=,.@-]` (API reference, CreateUserPoolClient). */
export const CLIENT_NAME_MAX_LENGTH = 128;
export const CLIENT_NAME_PATTERN = /^[\w\s+=,.@-]+$/;

/**
 * The task's input. Ids are UUIDs, which also keeps the client name within Cognito's limits:
 * 10 (prefix) + 36 + 1 + 36 = 83 characters of the allowed set.
 */
export function createClientTaskInputSchema(resourceServer: string) {
  return z.strictObject({
    task: z.literal('createClient'),
    userId: z.uuid(),
    operationId: z.uuid(),
    scopes: distinctScopes(z.array(z.enum(credentialScopes(resourceServer))).min(1)),
  });
}

export interface ClientFactoryDeps {
  readonly cognito: CognitoIdentityProviderClient;
  readonly config: Pick<Config, 'USER_POOL_ID' | 'CLIENT_TOKEN_VALIDITY_MINUTES' | 'RESOURCE_SERVER_IDENTIFIER'>;
}

/** Validates the task input; the error names every offending field (never its value). */
export function parseCreateClientTask(event: unknown, resourceServer: string): CreateClientTaskInput {
  const result = createClientTaskInputSchema(resourceServer).safeParse(event);
  if (!result.success) {
    const problems = result.error.issues
      .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(input)'}: ${issue.message}`)
      .join('; ');
    const field = result.error.issues[0]?.path.join('.');
    throw new ValidationError(`Invalid createClient task input: ${problems}`, field || undefined);
  }
  return result.data;
}

/** The CreateUserPoolClient request of a credential: a confidential client that can only do client_credentials. */
export function createClientRequest(
  input: CreateClientTaskInput,
  config: ClientFactoryDeps['config'],
): CreateUserPoolClientCommandInput {
  return {
    UserPoolId: config.USER_POOL_ID,
    ClientName: credentialClientName(input.userId, input.operationId),
    GenerateSecret: true,
    AllowedOAuthFlowsUserPoolClient: true,
    AllowedOAuthFlows: ['client_credentials'],
    AllowedOAuthScopes: [...input.scopes],
    // Omitting ExplicitAuthFlows would enable SRP and custom sign-in; refresh is the one flow Cognito always
    // wants listed, and a client_credentials client never receives a refresh token to use it with.
    ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
    AccessTokenValidity: config.CLIENT_TOKEN_VALIDITY_MINUTES,
    TokenValidityUnits: { AccessToken: 'minutes' },
    PreventUserExistenceErrors: 'ENABLED',
    EnableTokenRevocation: true,
  };
}

/**
 * Creates the app client and returns only its id. Cognito errors (throttling included) propagate unchanged, so
 * their AWS name becomes the Step Functions error name the workflow's Retry matches on.
 */
export async function createCredentialClient(
  event: unknown,
  deps: ClientFactoryDeps,
): Promise<CreateClientTaskOutput> {
  const input = parseCreateClientTask(event, deps.config.RESOURCE_SERVER_IDENTIFIER);
  const response = await deps.cognito.send(new CreateUserPoolClientCommand(createClientRequest(input, deps.config)));
  const clientId = response.UserPoolClient?.ClientId;
  if (typeof clientId !== 'string' || clientId.length === 0) {
    throw new Error('CreateUserPoolClient answered without a client id');
  }
  logger.info('credential client created', {
    userId: input.userId,
    operationId: input.operationId,
    clientId,
  });
  return { clientId };
}
