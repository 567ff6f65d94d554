/**
 * Names and constants that both stacks (CDK in infra/aws, the one-machine stack in infra/local) and the handlers
 * share. Declared once here; nothing else spells them.
 */

/** The service name in every structured log line (Powertools `serviceName`). */
export const SERVICE_NAME = 'devaccess';

/** Path of the OAuth 2.0 token endpoint on the Cognito domain (and on the local stack). */
export const TOKEN_PATH = '/oauth2/token';

/** API Gateway stage name; also the path prefix of every route (`/v1/...`). */
export const API_STAGE = 'v1';

/**
 * Default identifier of the Cognito resource server whose scopes machine clients get (`devaccess/read`, ...). A
 * deployment may choose its own (CDK context `resourceServerIdentifier`, the functions' RESOURCE_SERVER_IDENTIFIER):
 * the scopes are then `<identifier>/read` and `<identifier>/write`. The scope names themselves are contract.
 */
export const RESOURCE_SERVER_IDENTIFIER = 'devaccess';
/**
 * Cognito's rule for a resource-server identifier (CreateResourceServer `Identifier`, 1-256 characters), kept to
 * 250 so that `<identifier>/write` still fits the 256 characters of an app client's AllowedOAuthScopes entry.
 */
export const RESOURCE_SERVER_IDENTIFIER_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]{1,250}$/;
export const RESOURCE_SERVER_NAME = 'devaccess API';

/** The resource-server scopes a credential may hold, with their descriptions (Cognito requires one). */
export const RESOURCE_SCOPES = {
  read: 'Read the caller\'s data',
  write: 'Create, change and delete the caller\'s data',
} as const;
export type ResourceScope = keyof typeof RESOURCE_SCOPES;
export const RESOURCE_SCOPE_NAMES = Object.keys(RESOURCE_SCOPES) as ResourceScope[];

/** Full OAuth scope string for a scope of a resource server, e.g. `acme-api/read`. */
export function resourceScope(scope: ResourceScope, resourceServer: string): string {
  return `${resourceServer}/${scope}`;
}

/** Full OAuth scope string for a scope of the default resource server, e.g. `devaccess/read`. */
export function fullScope(scope: ResourceScope): string {
  return resourceScope(scope, RESOURCE_SERVER_IDENTIFIER);
}

/**
 * The scope Cognito puts in access tokens of signed-in users (USER_PASSWORD_AUTH, SRP, managed login with the
 * `aws.cognito.signin.user.admin` scope). Credential-management routes accept only this scope, so tokens minted
 * for machine clients never reach them.
 */
export const USER_ADMIN_SCOPE = 'aws.cognito.signin.user.admin';

/** Default name of the Cognito group whose members may create credentials. */
export const DEFAULT_DEVELOPERS_GROUP = 'developers';

/** Default cap on active credentials per user (I2). */
export const DEFAULT_MAX_CREDENTIALS_PER_USER = 1;

/** Default access-token validity for machine clients, in minutes. */
export const DEFAULT_CLIENT_TOKEN_VALIDITY_MINUTES = 60;

/** EventBridge `source` of every event the product publishes. */
export const EVENT_SOURCE = 'devaccess';

/** Prefix of the Cognito app-client names the credential workflow creates: `devaccess-<userId>-<operationId>`. */
export const CREDENTIAL_CLIENT_NAME_PREFIX = 'devaccess-';

/** Name of the UI app client (authorization code + PKCE, no secret). */
export const UI_CLIENT_NAME = 'devaccess-ui';

/** Largest request body the API accepts, in bytes (16 KiB). Larger bodies get 413. */
export const MAX_BODY_BYTES = 16 * 1024;

/** How long a credential operation holds the per-user lock before another operation may take it over. */
export const OPERATION_LOCK_SECONDS = 300;

/**
 * Default of how long the credentials API waits for a workflow run before answering 503 (the run carries on).
 * Below API Gateway's 29 s integration timeout, with room for reading the new secret afterwards.
 */
export const DEFAULT_WORKFLOW_WAIT_MS = 25_000;

/**
 * How old an unmapped credential client must be before the reconciliation sweeper deletes it. Longer than the
 * credential workflow's TimeoutSeconds (600), so a client whose workflow may still commit it is never touched.
 */
export const DEFAULT_SWEEP_GRACE_SECONDS = 15 * 60;

/** How often the sweeper runs on AWS (a scheduled rule), in minutes. */
export const SWEEP_SCHEDULE_MINUTES = 15;

/** Logical names of the state machines, one per `statemachines/<name>.asl.json`. */
export const STATE_MACHINES = {
  credential: 'credential-workflow',
} as const;
