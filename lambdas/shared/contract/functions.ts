/**
 * The Lambda functions of the product: the CDK stack deploys each one (NodejsFunction from `lambdas/<entry>`,
 * export `handler`) and the local stack loads the same module and calls the same export. `config` lists the
 * configuration keys (lambdas/shared/config.ts) each one needs; the CDK stack sets exactly those variables.
 */
import type { ConfigKey } from '../config';
import type { ApiHandlerName } from './routes';

export interface FunctionDef {
  /** Module path relative to `lambdas/`; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly config: readonly ConfigKey[];
}

export type FunctionName = ApiHandlerName | 'postConfirmation' | 'credentialTasks' | 'sweeper';

// `as const satisfies`: every function is listed and well-formed, and `loadConfig(FUNCTIONS.x.config)` is typed
// with exactly the keys that function gets (a handler reading a key it is not given fails to compile).
export const FUNCTIONS = {
  credentials: {
    entry: 'credentials/handler.ts',
    description: 'Credentials API: list, create, reset, revoke (runs the credential workflow)',
    config: [
      'IDENTITY_TABLE_NAME',
      'USER_POOL_ID',
      'CREDENTIAL_STATE_MACHINE_ARN',
      'DEVELOPERS_GROUP',
      'MAX_CREDENTIALS_PER_USER',
      'TOKEN_URL',
      'WORKFLOW_WAIT_MS',
      'OPERATION_LOCK_SECONDS',
      'CORS_ALLOWED_ORIGINS',
      'RESOURCE_SERVER_IDENTIFIER',
    ],
  },
  credentialTasks: {
    entry: 'credentials/tasks.ts',
    description: 'Credential workflow task: creates the Cognito app client and returns only its id',
    config: ['USER_POOL_ID', 'CLIENT_TOKEN_VALIDITY_MINUTES', 'RESOURCE_SERVER_IDENTIFIER'],
  },
  postConfirmation: {
    entry: 'post-confirmation/handler.ts',
    description: 'Cognito post-confirmation trigger: provisions the internal user id',
    config: ['IDENTITY_TABLE_NAME', 'EVENT_BUS_NAME'],
  },
  profile: {
    entry: 'profile/handler.ts',
    description: 'GET /me: who the caller is',
    config: ['IDENTITY_TABLE_NAME', 'CORS_ALLOWED_ORIGINS', 'RESOURCE_SERVER_IDENTIFIER'],
  },
  notes: {
    entry: 'notes/handler.ts',
    description: 'Notes: sample per-user data',
    config: ['IDENTITY_TABLE_NAME', 'NOTES_TABLE_NAME', 'CORS_ALLOWED_ORIGINS', 'RESOURCE_SERVER_IDENTIFIER'],
  },
  announcements: {
    entry: 'announcements/handler.ts',
    description: 'Announcements: readable by any valid caller',
    config: ['IDENTITY_TABLE_NAME', 'CORS_ALLOWED_ORIGINS', 'RESOURCE_SERVER_IDENTIFIER'],
  },
  openapi: {
    entry: 'openapi/handler.ts',
    description: 'The public OpenAPI 3.1 document',
    // The token endpoint is on the Cognito domain, not the API's host: the document names it absolutely.
    config: ['CORS_ALLOWED_ORIGINS', 'TOKEN_URL', 'RESOURCE_SERVER_IDENTIFIER'],
  },
  sweeper: {
    entry: 'sweeper/handler.ts',
    description:
      'Reconciliation sweeper (scheduled): deletes unmapped credential clients, publishes missing events, provisions missed users',
    // EVENT_BUS_NAME: it revokes active mappings whose client is gone, and announces each with CredentialRevoked.
    // CREDENTIAL_STATE_MACHINE_ARN: it publishes again the events of runs that committed but could not publish.
    config: ['IDENTITY_TABLE_NAME', 'USER_POOL_ID', 'SWEEPER_GRACE_SECONDS', 'EVENT_BUS_NAME', 'CREDENTIAL_STATE_MACHINE_ARN'],
  },
} as const satisfies Readonly<Record<FunctionName, FunctionDef>>;
