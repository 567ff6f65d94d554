/**
 * Running the credential workflow from the API: naming executions so a repeated request finds the first one,
 * waiting for the outcome within the API's time budget, and mapping the workflow's Fail states to API errors.
 * Talks to Step Functions only through the WorkflowEngine port (adapters.ts implements it with the SDK).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../shared/clock';
import type {
  CredentialOperation,
  CredentialWorkflowInput,
  CredentialWorkflowOutput,
} from '../shared/contract/workflow';
import { ConflictError, DevAccessError, NotFoundError, UpstreamError } from '../shared/errors';
import { logger } from '../shared/logger';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

export interface ExecutionState {
  readonly status: ExecutionStatus;
  /** JSON text of the output (SUCCEEDED only). */
  readonly output?: string;
  /** The `Error` of the Fail state (FAILED only). */
  readonly error?: string;
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
}

/** First and largest pause between two DescribeExecution calls. */
export const POLL_INITIAL_MS = 50;
export const POLL_MAX_MS = 500;
/** Retry-After (seconds) sent when the workflow outlives the wait. */
export const PENDING_RETRY_AFTER_SECONDS = 2;
/**
 * How many executions one Idempotency-Key may start. A failed run created nothing (the workflow compensates), so
 * a retry with the same key starts the next attempt instead of replaying the failure forever; a running or
 * succeeded run is always reused, so a key never yields two clients.
 */
export const MAX_KEYED_ATTEMPTS = 5;

/** Step Functions execution names: 1-80 characters of [A-Za-z0-9-_]. */
export const EXECUTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** The workflow ran longer than the API may wait; it carries on and its result is kept. */
export class OperationPendingError extends DevAccessError {
  override readonly name = 'OperationPendingError';
  constructor(message: string) {
    super('unavailable', message, { details: { retryAfterSeconds: PENDING_RETRY_AFTER_SECONDS } });
  }
}

const ScopeString = z.string().min(1);
const WorkflowOutputSchema = z.object({
  operation: z.enum(['create', 'reset', 'revoke']),
  userId: z.string().min(1),
  clientId: z.string().min(1),
  previousClientId: z.string().min(1).optional(),
  scopes: z.array(ScopeString).optional(),
  eventId: z.string().min(1),
});

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

export type ExecutionSlot =
  /** A run of this request exists (running or done): its result is the answer. */
  | { readonly kind: 'existing'; readonly name: string }
  /** No usable run exists: start one under this name. */
  | { readonly kind: 'fresh'; readonly name: string };

const FAILED_STATUSES: readonly ExecutionStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];
/** PENDING_REDRIVE: a failed run someone redrove; it will run again, so it is waited for like a running one. */
const IN_PROGRESS_STATUSES: readonly ExecutionStatus[] = ['RUNNING', 'PENDING_REDRIVE'];

/** Finds the execution a keyed request should reuse, or the name its new execution gets. */
export async function findExecutionSlot(engine: WorkflowEngine, stem: string): Promise<ExecutionSlot> {
  for (let attempt = 0; attempt < MAX_KEYED_ATTEMPTS; attempt++) {
    const name = keyedExecutionName(stem, attempt);
    const state = await engine.describe(name);
    if (state === undefined) return { kind: 'fresh', name };
    if (!FAILED_STATUSES.includes(state.status)) return { kind: 'existing', name };
  }
  throw new ConflictError('This Idempotency-Key has failed too many times; retry with a new key');
}

/**
 * Waits for an execution and returns its output, or throws the API error its outcome maps to.
 * @param keyed the request carries an Idempotency-Key, so repeating it collects the result of this very run.
 */
export async function awaitExecution(deps: WorkflowWaitDeps, name: string, keyed = false): Promise<CredentialWorkflowOutput> {
  const deadline = deps.clock.now() + deps.waitMs;
  let pause = POLL_INITIAL_MS;
  for (;;) {
    const state = await deps.engine.describe(name);
    // Undefined right after StartExecution would be a read-after-write lag: keep waiting, as for RUNNING.
    if (state !== undefined && !IN_PROGRESS_STATUSES.includes(state.status)) return outcome(name, state);
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

function outcome(name: string, state: ExecutionState): CredentialWorkflowOutput {
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
        case 'LimitExceeded':
          throw new ConflictError('You have reached the maximum number of active credentials', 'limit_exceeded');
        case 'NotFound':
          throw new NotFoundError('No such active credential');
        default:
          logger.error('credential workflow failed', { execution: name, workflowError: state.error });
          throw new UpstreamError('The credential change could not be completed; retry shortly');
      }
    default:
      logger.error('credential workflow stopped', { execution: name, status: state.status });
      throw new UpstreamError('The credential change could not be completed; retry shortly');
  }
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
