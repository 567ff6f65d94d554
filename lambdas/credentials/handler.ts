/**
 * Credentials API (list, create, reset, revoke). The edge: validate input, one call into service.ts, map the
 * result to a response. Secret-bearing responses are `no-store` so no cache on the way keeps them.
 */
import { systemClock } from '../shared/clock';
import { cognitoClient, dynamoDocumentClient, stepFunctionsClient } from '../shared/clients';
import { loadConfig } from '../shared/config';
import { FUNCTIONS } from '../shared/contract/functions';
import { type ApiRequest, type ProxyHandler, type RouteImpl, createApiHandler, validate } from '../shared/http';
import { type IdentityLookup, IdentityStore } from '../shared/identity-store';
import { uuidv7 } from '../shared/uuidv7';
import { CognitoDirectory, StepFunctionsEngine } from './adapters';
import { CreateCredentialBody, IDEMPOTENCY_KEY_HEADER, IdempotencyKey, ResetCredentialBody } from './schemas';
import {
  type CredentialsDeps,
  createCredential,
  listCredentials,
  resetCredential,
  revokeCredential,
} from './service';

/** Pragma for HTTP/1.0 caches, as RFC 6749 §5.1 asks of responses that carry credentials. */
const SECRET_HEADERS = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

/**
 * The body to validate: no body at all means "all defaults". A JSON `null` is a body, and not an object, so the
 * schema refuses it (400 naming `body`) instead of it passing for `{}`.
 */
function bodyOrDefaults(req: ApiRequest): unknown {
  return req.body === undefined ? {} : req.body;
}

function idempotencyKey(req: ApiRequest): string | undefined {
  const value = req.headers[IDEMPOTENCY_KEY_HEADER];
  return value === undefined ? undefined : validate(IdempotencyKey, value, 'Idempotency-Key');
}

/** The route implementations over the given dependencies (tests pass their own). */
export function credentialRoutes(deps: () => CredentialsDeps): Record<string, RouteImpl> {
  return {
    listCredentials: async (req) => ({
      status: 200,
      body: { credentials: await listCredentials(deps(), req.caller) },
    }),
    createCredential: async (req) => {
      const body = validate(CreateCredentialBody, bodyOrDefaults(req));
      const key = idempotencyKey(req);
      const issued = await createCredential(deps(), req.caller, body, key);
      return { status: 201, body: issued, headers: SECRET_HEADERS };
    },
    resetCredential: async (req) => {
      const body = validate(ResetCredentialBody, bodyOrDefaults(req));
      const key = idempotencyKey(req);
      const issued = await resetCredential(deps(), req.caller, req.pathParams['clientId'] as string, body, key);
      return { status: 200, body: issued, headers: SECRET_HEADERS };
    },
    revokeCredential: async (req) => {
      const key = idempotencyKey(req);
      await revokeCredential(deps(), req.caller, req.pathParams['clientId'] as string, key);
      return { status: 204 };
    },
  };
}

export function createCredentialsHandler(deps: () => CredentialsDeps, lookup: () => IdentityLookup): ProxyHandler {
  return createApiHandler({ name: 'credentials', routes: credentialRoutes(deps), lookup });
}

let built: (CredentialsDeps & { readonly store: IdentityStore }) | undefined;

/** Composition root: built at the first request, so importing this module needs no environment. */
function productionDeps(): CredentialsDeps & { readonly store: IdentityStore } {
  if (!built) {
    const config = loadConfig(FUNCTIONS.credentials.config);
    built = {
      store: new IdentityStore(dynamoDocumentClient(), config.IDENTITY_TABLE_NAME),
      directory: new CognitoDirectory(cognitoClient(), config.USER_POOL_ID),
      engine: new StepFunctionsEngine(stepFunctionsClient(), config.CREDENTIAL_STATE_MACHINE_ARN),
      settings: {
        developersGroup: config.DEVELOPERS_GROUP,
        maxCredentialsPerUser: config.MAX_CREDENTIALS_PER_USER,
        tokenUrl: config.TOKEN_URL,
        workflowWaitMs: config.WORKFLOW_WAIT_MS,
        operationLockSeconds: config.OPERATION_LOCK_SECONDS,
        resourceServer: config.RESOURCE_SERVER_IDENTIFIER,
      },
      clock: systemClock,
      // Time-ordered: the sweeper reads a client's age from the operation id in its name.
      newId: () => uuidv7(systemClock.now()),
    };
  }
  return built;
}

export const handler: ProxyHandler = createCredentialsHandler(productionDeps, () => productionDeps().store);
