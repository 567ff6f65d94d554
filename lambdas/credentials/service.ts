/**
 * Credential management: the rules behind GET/POST/DELETE /credentials. Everything that changes a credential
 * runs in the credential workflow (statemachines/credential-workflow.asl.json), which serializes operations per
 * user and re-checks the cap and ownership under its lock; the checks here answer the common cases quickly and
 * clearly before a workflow run is spent on them.
 *
 * The secret of a new client is read once, after the workflow succeeded, and only returned: it is never logged,
 * stored or put in workflow input/output (invariant I5).
 */
import type { Clock } from '../shared/clock';
import { type ResourceScope, RESOURCE_SCOPE_NAMES, resourceScope } from '../shared/contract/names';
import type { CredentialOperation, CredentialWorkflowInput } from '../shared/contract/workflow';
import { ConflictError, ForbiddenError, NotFoundError } from '../shared/errors';
import type { CredentialRecord, UserRecord } from '../shared/identity-store';
import { logger } from '../shared/logger';
import type { Caller } from '../shared/resolver';
import {
  type CommittedChange,
  type KeyedRequest,
  type WorkflowEngine,
  type WorkflowWaitDeps,
  awaitExecution,
  findExecutionSlot,
  keyedExecutionStem,
  requestHash,
  uniqueExecutionName,
} from './run-workflow';
import {
  type CreateCredentialBody,
  type CredentialSummary,
  DEFAULT_CREDENTIAL_NAME,
  DEFAULT_CREDENTIAL_SCOPES,
  type IssuedCredential,
  type ReissuedCredential,
  type ResetCredentialBody,
} from './schemas';

/** The identity-table reads credential management needs (IdentityStore implements them). */
export interface CredentialStore {
  getUser(userId: string): Promise<UserRecord | undefined>;
  listCredentials(userId: string): Promise<CredentialRecord[]>;
  getCredential(userId: string, clientId: string): Promise<CredentialRecord | undefined>;
}

/** The user-pool reads credential management needs (CognitoDirectory implements them). */
export interface UserDirectory {
  /** Live group membership: a user removed from the group is refused at once, whatever their token says. */
  isMemberOf(username: string, group: string): Promise<boolean>;
  /** The app client's secret, or `undefined` when the client no longer exists. */
  clientSecret(clientId: string): Promise<string | undefined>;
}

export interface CredentialSettings {
  readonly developersGroup: string;
  readonly maxCredentialsPerUser: number;
  readonly tokenUrl: string;
  readonly workflowWaitMs: number;
  readonly operationLockSeconds: number;
  /** The resource server whose scopes credentials get (`<resourceServer>/read`). */
  readonly resourceServer: string;
}

export interface CredentialsDeps {
  readonly store: CredentialStore;
  readonly directory: UserDirectory;
  readonly engine: WorkflowEngine;
  readonly settings: CredentialSettings;
  readonly clock: Clock;
  /**
   * Operation ids. Production gives UUIDv7s (lambdas/shared/uuidv7.ts): the id goes into the new app client's name,
   * and the reconciliation sweeper reads the client's age from it (names without one cost it an extra run).
   */
  readonly newId: () => string;
}

/**
 * Scopes as the API shows them (`read`), from the stored full OAuth scopes (`devaccess/read`): the name after the
 * namespace, whichever it is, so a credential issued before a change of resourceServerIdentifier still shows what
 * it may do, and a reset re-issues it with the same reach (never the default read+write).
 */
export function shortScopes(scopes: readonly string[] | undefined): ResourceScope[] {
  const out: ResourceScope[] = [];
  for (const scope of scopes ?? []) {
    const name = scope.slice(scope.lastIndexOf('/') + 1);
    const known = RESOURCE_SCOPE_NAMES.find((s) => s === name);
    if (known && !out.includes(known)) out.push(known);
  }
  return out;
}

function summary(record: CredentialRecord): CredentialSummary {
  // Field by field, so nothing else stored on the item ever reaches a response.
  return {
    clientId: record.clientId,
    name: record.name,
    scopes: shortScopes(record.scopes),
    status: record.status,
    createdAt: record.createdAt,
    ...(record.revokedAt ? { revokedAt: record.revokedAt } : {}),
  };
}

export async function listCredentials(deps: CredentialsDeps, caller: Caller): Promise<CredentialSummary[]> {
  const records = await deps.store.listCredentials(caller.userId);
  return records.map(summary);
}

export async function createCredential(
  deps: CredentialsDeps,
  caller: Caller,
  body: CreateCredentialBody,
  idempotencyKey?: string,
): Promise<IssuedCredential> {
  const username = signedInUsername(caller);
  await requireDeveloper(deps, username);
  const out = await runOperation(deps, caller, 'create', undefined, body, idempotencyKey, async (base) => {
    const user = await requireUser(deps, caller.userId);
    if (user.activeCredentials >= deps.settings.maxCredentialsPerUser) {
      throw new ConflictError(
        `You already have ${deps.settings.maxCredentialsPerUser} active credential(s); reset or revoke one instead`,
        'limit_exceeded',
      );
    }
    return {
      ...base,
      expectedVersion: user.version,
      name: body.name ?? DEFAULT_CREDENTIAL_NAME,
      scopes: body.scopes.map((scope) => resourceScope(scope, deps.settings.resourceServer)),
    };
  });
  const issued = await issue(deps, caller, out);
  logger.info('credential created', { userId: caller.userId, clientId: issued.clientId });
  return issued;
}

export async function resetCredential(
  deps: CredentialsDeps,
  caller: Caller,
  clientId: string,
  body: ResetCredentialBody,
  idempotencyKey?: string,
): Promise<ReissuedCredential> {
  const username = signedInUsername(caller);
  await requireDeveloper(deps, username);
  const out = await runOperation(deps, caller, 'reset', clientId, body, idempotencyKey, async (base) => {
    const current = await requireActiveCredential(deps, caller.userId, clientId);
    const user = await requireUser(deps, caller.userId);
    const scopes = body.scopes ?? shortScopes(current.scopes);
    return {
      ...base,
      expectedVersion: user.version,
      clientId,
      name: body.name ?? current.name,
      scopes: (scopes.length > 0 ? scopes : DEFAULT_CREDENTIAL_SCOPES).map((scope) => resourceScope(scope, deps.settings.resourceServer)),
    };
  });
  if (out.previousClientId !== undefined && out.previousClientId !== clientId) {
    throw new Error(`Reset of ${clientId} returned the result of a reset of ${out.previousClientId}`);
  }
  const issued = await issue(deps, caller, out);
  logger.info('credential reset', { userId: caller.userId, clientId: issued.clientId, previousClientId: clientId });
  return { ...issued, previousClientId: clientId };
}

/** Revokes one of the caller's credentials. No group check: someone removed from the group can still revoke. */
export async function revokeCredential(
  deps: CredentialsDeps,
  caller: Caller,
  clientId: string,
  idempotencyKey?: string,
): Promise<void> {
  signedInUsername(caller);
  const out = await runOperation(deps, caller, 'revoke', clientId, {}, idempotencyKey, async (base) => {
    await requireActiveCredential(deps, caller.userId, clientId);
    const user = await requireUser(deps, caller.userId);
    return { ...base, expectedVersion: user.version, clientId };
  });
  if (out.clientId !== clientId) throw new Error(`Revoke of ${clientId} returned the result of a revoke of ${out.clientId}`);
  logger.info('credential revoked', { userId: caller.userId, clientId });
}

type BaseInput = Pick<
  CredentialWorkflowInput,
  'operation' | 'operationId' | 'userId' | 'username' | 'lockExpiresAt' | 'requestedAt' | 'requestHash'
>;

/**
 * Runs one workflow operation for the caller and returns what it changed. With an Idempotency-Key, a run this
 * same request started before (running or finished) is reused before any check, so a replay of a create that
 * succeeded gets its result instead of "limit reached"; `prepare` (the checks and the input) runs only when a
 * new execution is about to start.
 *
 * The key is bound to the request it first came with (operation, target, validated body; `requestHash`): the same
 * key with another request is refused with 422 rather than answered with the first request's result. A replay of
 * the SAME request by the same user gets the first result again, secret included: that is the idempotency
 * contract (a client whose response was lost must be able to collect the credential it caused, or it would
 * hold a live credential it can never use and have to reset it), and it hands nothing to anyone new, since the
 * execution name binds the user. It is bounded: only while the credential is still active (`issue` refuses
 * otherwise) and only while Step Functions keeps the execution (by default 90 days after it closes; after that
 * the key starts a new run).
 */
async function runOperation(
  deps: CredentialsDeps,
  caller: Caller,
  operation: CredentialOperation,
  target: string | undefined,
  body: object,
  idempotencyKey: string | undefined,
  prepare: (base: BaseInput) => Promise<CredentialWorkflowInput>,
): Promise<CommittedChange> {
  const wait: WorkflowWaitDeps = {
    engine: deps.engine,
    clock: deps.clock,
    waitMs: deps.settings.workflowWaitMs,
    committedClientId: (userId, operationId) => committedClientId(deps.store, userId, operationId),
  };
  const operationId = deps.newId();
  let name = uniqueExecutionName(operation, operationId);
  let keyed: KeyedRequest | undefined;
  if (idempotencyKey !== undefined) {
    keyed = { requestHash: requestHash(operation, target, body) };
    const slot = await findExecutionSlot(
      deps.engine,
      keyedExecutionStem(operation, caller.userId, target, idempotencyKey),
      keyed,
    );
    if (slot.kind === 'existing') {
      logger.info('credential request replayed', { userId: caller.userId, operation, execution: slot.name });
      return checkedOutput(await awaitExecution(wait, slot.name, keyed), caller, operation);
    }
    name = slot.name;
  }

  const now = deps.clock.now();
  const input = await prepare({
    operation,
    operationId,
    userId: caller.userId,
    username: signedInUsername(caller),
    lockExpiresAt: new Date(now + deps.settings.operationLockSeconds * 1000).toISOString(),
    requestedAt: new Date(now).toISOString(),
    ...(keyed !== undefined ? { requestHash: keyed.requestHash } : {}),
  });
  // 'exists': a concurrent request with the same key started this very execution first; its result is ours if
  // it ran the same request (awaitExecution compares the hashes).
  await deps.engine.start(name, input);
  return checkedOutput(await awaitExecution(wait, name, keyed), caller, operation);
}

/** The client a create/reset committed, by the operation id its credential item carries. */
async function committedClientId(store: CredentialStore, userId: string, operationId: string): Promise<string | undefined> {
  const records = await store.listCredentials(userId);
  return records.find((r) => r.operationId === operationId)?.clientId;
}

/** The execution name already binds user and operation; this guards against a workflow that answers otherwise. */
function checkedOutput(out: CommittedChange, caller: Caller, operation: CredentialOperation): CommittedChange {
  if (out.userId !== caller.userId || out.operation !== operation) {
    throw new Error(`Credential workflow answered a ${out.operation} for another user or operation`);
  }
  return out;
}

/** The response of a create/reset: the new credential as stored, plus its secret, read now and only returned. */
async function issue(deps: CredentialsDeps, caller: Caller, out: CommittedChange): Promise<IssuedCredential> {
  const record = await deps.store.getCredential(caller.userId, out.clientId);
  // A replayed request whose credential was reset or revoked since then must not hand out a dead (or any) secret.
  if (!record || record.status !== 'active') throw changedSince();
  const clientSecret = await deps.directory.clientSecret(out.clientId);
  if (clientSecret === undefined) throw changedSince();
  return {
    clientId: record.clientId,
    clientSecret,
    name: record.name,
    scopes: shortScopes(record.scopes),
    tokenUrl: deps.settings.tokenUrl,
    createdAt: record.createdAt,
  };
}

function changedSince(): ConflictError {
  return new ConflictError(
    'The credential made by this request has been reset or revoked since; list your credentials and retry with a new Idempotency-Key',
  );
}

function signedInUsername(caller: Caller): string {
  // The edge lets only user tokens reach these routes; this keeps the rule true if a route is ever miswired.
  if (caller.via !== 'user' || caller.username === undefined) {
    throw new ForbiddenError('This route accepts signed-in user tokens only');
  }
  return caller.username;
}

async function requireDeveloper(deps: CredentialsDeps, username: string): Promise<void> {
  if (!(await deps.directory.isMemberOf(username, deps.settings.developersGroup))) {
    throw new ForbiddenError(`Creating or resetting credentials requires membership of the '${deps.settings.developersGroup}' group`);
  }
}

async function requireUser(deps: CredentialsDeps, userId: string): Promise<UserRecord> {
  const user = await deps.store.getUser(userId);
  // The USERNAME lookup and the user item are written in one transaction; one without the other is corruption.
  if (!user) throw new Error(`User item missing for a resolved caller (${userId})`);
  return user;
}

async function requireActiveCredential(deps: CredentialsDeps, userId: string, clientId: string): Promise<CredentialRecord> {
  const record = await deps.store.getCredential(userId, clientId);
  // One answer for "someone else's", "never existed" and "revoked": nothing about other users leaks.
  if (!record || record.status !== 'active') throw new NotFoundError('No such active credential');
  return record;
}
