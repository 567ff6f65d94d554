/**
 * Running the credential workflow from the API: naming executions so a repeated request finds the first one,
 * waiting for the outcome within the API's time budget, and mapping the workflow's Fail states to API errors.
 * Talks to Step Functions only through the WorkflowEngine port (adapters.ts implements it with the SDK).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../shared/clock';
import {
  CREDENTIAL_OPERATIONS,
  type CredentialOperation,
  type CredentialWorkflowInput,
  type CredentialWorkflowOutput,
  type WorkflowError,
} from '../shared/contract/workflow';
import { ConflictError, DevAccessError, UpstreamError } from '../shared/errors';
import { logger } from '../shared/logger';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

export interface ExecutionState {
  readonly status: ExecutionStatus;
  /** JSON text of the output (SUCCEEDED only). */
  readonly output?: string;
  /** The `Error` of the Fail state (FAILED only). */
  readonly error?: string;
  /** JSON text of the execution's input (DescribeExecution returns it; no secret is ever part of it). */
  readonly input?: string;
}

/** The Step Functions operations the API needs, by execution name (one state machine). */
export interface WorkflowEngine {
  /** Starts an execution; `'exists'` when an execution with this name was started before. */
  start(name: string, input: CredentialWorkflowInput): Promise<'started' | 'exists'>;
  /** The execution's state, or `undefined` when no execution has this name. */
  describe(name: string): Promise<ExecutionState | undefined>;
}

export interface WorkflowWaitDeps {
  readonly engine: WorkflowEngine;
  readonly clock: Clock;
  /** How long to wait for a result before answering 503 (the execution carries on). */
  readonly waitMs: number;
  /**
   * The client a create or reset committed, found by its operation id (the CLIENT/CRED items it wrote carry it);
   * `undefined` when no credential of the user carries it. Reads what a run that failed with EventNotPublished
   * committed, since such a run has no output.
   */
  readonly committedClientId: (userId: string, operationId: string) => Promise<string | undefined>;
}

/**
 * What a finished run changed: its output, or for a run that committed but could not publish its event
 * (EventNotPublished) the same fields read back from its input and the committed items, with no `eventId`.
 */
export type CommittedChange = Omit<CredentialWorkflowOutput, 'eventId'> & { readonly eventId?: string };

/** A request with an Idempotency-Key: the hash of the request the key must stay bound to. */
export interface KeyedRequest {
  readonly requestHash: string;
}

/** First and largest pause between two DescribeExecution calls. */
export const POLL_INITIAL_MS = 50;
export const POLL_MAX_MS = 500;
/** Retry-After (seconds) sent when the workflow outlives the wait. */
export const PENDING_RETRY_AFTER_SECONDS = 2;
/**
 * How many executions one Idempotency-Key may start. A failed run created nothing (the workflow compensates), so
 * a retry with the same key starts the next attempt instead of replaying the failure forever; a running or
 * succeeded run, and one that committed but could not publish its event, is always reused, so a key never
 * yields two clients.
 */
export const MAX_KEYED_ATTEMPTS = 5;

/** The Fail error of a run whose change is committed; only its audit event is missing. */
const COMMITTED_WITHOUT_EVENT: WorkflowError = 'EventNotPublished';

/** Step Functions execution names: 1-80 characters of [A-Za-z0-9-_]. */
export const EXECUTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** The workflow ran longer than the API may wait; it carries on and its result is kept. */
export class OperationPendingError extends DevAccessError {
  override readonly name = 'OperationPendingError';
  constructor(message: string) {
    super('unavailable', message, { details: { retryAfterSeconds: PENDING_RETRY_AFTER_SECONDS } });
  }
}

/** The Idempotency-Key came back with a different request: answering with the first request's result would be wrong. */
export class IdempotencyKeyReusedError extends DevAccessError {
  override readonly name = 'IdempotencyKeyReusedError';
  constructor() {
    super(
      'idempotency_key_reused',
      'This Idempotency-Key was already used with a different request; send a new key with a new request',
    );
  }
}

const ScopeString = z.string().min(1);
const WorkflowOutputSchema = z.object({
  operation: z.enum(CREDENTIAL_OPERATIONS),
  userId: z.string().min(1),
  clientId: z.string().min(1),
  previousClientId: z.string().min(1).optional(),
  scopes: z.array(ScopeString).optional(),
  eventId: z.string().min(1),
});
/** The fields of an execution's input this module reads (the rest is the workflow's business). */
const ExecutionInputSchema = z.object({
  operation: z.enum(CREDENTIAL_OPERATIONS),
  operationId: z.string().min(1),
  userId: z.string().min(1),
  clientId: z.string().min(1).optional(),
  scopes: z.array(ScopeString).optional(),
  requestHash: z.string().min(1).optional(),
});
type ExecutionInput = z.infer<typeof ExecutionInputSchema>;

/** Name of an execution started without an Idempotency-Key: unique per request. */
export function uniqueExecutionName(operation: CredentialOperation, operationId: string): string {
  return `${operation}-${operationId}`;
}

/**
 * Stem of the execution names of a keyed request: a hash, so neither the key nor the user id shows in the
 * execution ARN, and the user, the operation and its target are all part of it, so one user's key can never
 * name another user's (or another operation's) execution.
 */
export function keyedExecutionStem(
  operation: CredentialOperation,
  userId: string,
  target: string | undefined,
  idempotencyKey: string,
): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([userId, operation, target ?? '', idempotencyKey]))
    .digest('hex');
  return `${operation}-${digest}`;
}

export function keyedExecutionName(stem: string, attempt: number): string {
  return `${stem}-${attempt}`;
}

/**
 * What an Idempotency-Key is bound to: the operation, its target and the request body as validated (defaults
 * filled, names trimmed), so the same request sent again matches and any other request does not. Object keys are
 * sorted; array order is kept (it is part of the request).
 */
export function requestHash(operation: CredentialOperation, target: string | undefined, body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([operation, target ?? '', canonical(body)]))
    .digest('hex');
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

export type ExecutionSlot =
  /** A run of this request exists (running or done): its result is the answer. */
  | { readonly kind: 'existing'; readonly name: string }
  /** No usable run exists: start one under this name. */
  | { readonly kind: 'fresh'; readonly name: string };

const FAILED_STATUSES: readonly ExecutionStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];
/** PENDING_REDRIVE: a failed run someone redrove; it will run again, so it is waited for like a running one. */
const IN_PROGRESS_STATUSES: readonly ExecutionStatus[] = ['RUNNING', 'PENDING_REDRIVE'];

/**
 * Finds the execution a keyed request should reuse, or the name its new execution gets. Every earlier attempt
 * under the key, failed ones included, must have run this same request: a key is bound to its first request.
 */
export async function findExecutionSlot(engine: WorkflowEngine, stem: string, keyed: KeyedRequest): Promise<ExecutionSlot> {
  for (let attempt = 0; attempt < MAX_KEYED_ATTEMPTS; attempt++) {
    const name = keyedExecutionName(stem, attempt);
    const state = await engine.describe(name);
    if (state === undefined) return { kind: 'fresh', name };
    requireSameRequest(state, keyed);
    // A run that committed without publishing its event is a success: another attempt would change things again.
    if (!FAILED_STATUSES.includes(state.status) || isCommittedWithoutEvent(state)) return { kind: 'existing', name };
  }
  throw new ConflictError('This Idempotency-Key has failed too many times; retry with a new key');
}

function isCommittedWithoutEvent(state: ExecutionState): boolean {
  return state.status === 'FAILED' && state.error === COMMITTED_WITHOUT_EVENT;
}

function executionInput(state: ExecutionState): ExecutionInput | undefined {
  const parsed = ExecutionInputSchema.safeParse(parseJson(state.input));
  return parsed.success ? parsed.data : undefined;
}

function requireSameRequest(state: ExecutionState, keyed: KeyedRequest): void {
  // A run without a recorded hash (started before keys were bound to requests) cannot be compared; it is reused.
  const recorded = executionInput(state)?.requestHash;
  if (recorded !== undefined && recorded !== keyed.requestHash) throw new IdempotencyKeyReusedError();
}

/**
 * Waits for an execution and returns what it changed, or throws the API error its outcome maps to.
 * @param keyed the request carries an Idempotency-Key, so repeating it collects the result of this very run;
 *   the run must be of this very request (a concurrent request with the same key may have started it).
 */
export async function awaitExecution(deps: WorkflowWaitDeps, name: string, keyed?: KeyedRequest): Promise<CommittedChange> {
  const deadline = deps.clock.now() + deps.waitMs;
  let pause = POLL_INITIAL_MS;
  for (;;) {
    const state = await deps.engine.describe(name);
    if (state !== undefined && keyed !== undefined) requireSameRequest(state, keyed);
    // Undefined right after StartExecution would be a read-after-write lag: keep waiting, as for RUNNING.
    if (state !== undefined && !IN_PROGRESS_STATUSES.includes(state.status)) return outcome(deps, name, state);
    const left = deadline - deps.clock.now();
    if (left <= 0) {
      logger.warn('credential workflow still running at the wait limit', { execution: name });
      throw new OperationPendingError(
        keyed
          ? 'Your request is still being processed and will complete; repeat it with the same Idempotency-Key to get its result'
          : 'Your request is still being processed and will complete; list your credentials shortly to see the result ' +
              '(send an Idempotency-Key header to be able to collect a slow result by repeating the request)',
      );
    }
    await deps.clock.sleep(Math.min(pause, left));
    pause = Math.min(pause * 2, POLL_MAX_MS);
  }
}

async function outcome(deps: WorkflowWaitDeps, name: string, state: ExecutionState): Promise<CommittedChange> {
  switch (state.status) {
    case 'SUCCEEDED': {
      const parsed = WorkflowOutputSchema.safeParse(parseJson(state.output));
      if (!parsed.success) throw new Error(`Credential workflow ${name} succeeded with an unexpected output`);
      return parsed.data;
    }
    case 'FAILED':
      switch (state.error) {
        case 'Conflict':
          throw new ConflictError('Another change to your credentials is in progress; retry');
        case COMMITTED_WITHOUT_EVENT:
          return committedWithoutEvent(deps, name, state);
        default:
          logger.error('credential workflow failed', { execution: name, workflowError: state.error });
          throw new UpstreamError('The credential change could not be completed; retry shortly');
      }
    default:
      logger.error('credential workflow stopped', { execution: name, status: state.status });
      throw new UpstreamError('The credential change could not be completed; retry shortly');
  }
}

/**
 * A run that committed its change and then could not publish the event: the credential is live (for a reset the
 * old pair is already refused), so the caller gets the success it is. The missing audit event is logged loudly;
 * the reconciliation sweeper publishes it from the execution's history on its next run (lambdas/sweeper/core.ts).
 */
async function committedWithoutEvent(deps: WorkflowWaitDeps, name: string, state: ExecutionState): Promise<CommittedChange> {
  const input = executionInput(state);
  if (input === undefined) throw new Error(`Credential workflow ${name} committed, but its input is not readable`);
  let change: CommittedChange;
  if (input.operation === 'revoke') {
    if (input.clientId === undefined) throw new Error(`Credential workflow ${name} revoked, but its input names no client`);
    change = { operation: 'revoke', userId: input.userId, clientId: input.clientId };
  } else {
    const clientId = await deps.committedClientId(input.userId, input.operationId);
    // The run reached its publish step only after the commit wrote the credential: missing, it is corruption.
    if (clientId === undefined) throw new Error(`Credential workflow ${name} committed, but no credential carries its operation id`);
    change = {
      operation: input.operation,
      userId: input.userId,
      clientId,
      ...(input.operation === 'reset' && input.clientId !== undefined ? { previousClientId: input.clientId } : {}),
      ...(input.scopes !== undefined ? { scopes: input.scopes } : {}),
    };
  }
  logger.error('AUDIT EVENT MISSING: credential change committed but its event was not published; the sweeper publishes it from the execution history', {
    execution: name,
    operation: change.operation,
    operationId: input.operationId,
    userId: change.userId,
    clientId: change.clientId,
    ...(change.previousClientId !== undefined ? { previousClientId: change.previousClientId } : {}),
  });
  return change;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
