/**
 * Local AWS Step Functions (STANDARD workflows): the API actions the product and its tests use, faithful to the
 * AWS API reference, with executions run in the background by aws-local-stepfunctions and every Task state
 * mapped generically to a real service call (./integrations.ts).
 *
 * History: built from the library's event log (state entered/exited, execution closed) plus the task events this
 * module records around each service call (TaskScheduled, TaskStarted, TaskSucceeded/TaskFailed), so
 * GetExecutionHistory reads like AWS's: a retried task shows TaskFailed followed by a new TaskScheduled, a caught
 * one TaskFailed then TaskStateExited with the error output.
 *
 * Persistence: `<dataDir>/stepfunctions/state-machines.json`, one file per execution (record and history)
 * under `executions/` and the definitions executions ran under `definitions/`, all written atomically. Bounded:
 * an execution fails with States.Runtime when its history would exceed `maxHistoryEvents` (25,000, the AWS
 * quota), and only the newest `maxClosedExecutions` closed executions are kept.
 *
 * Known differences from AWS: STANDARD only; no versions/aliases, redrive, activities, `.sync` or
 * `.waitForTaskToken` (such tasks fail with States.Runtime), JSONata or variables (refused at creation);
 * `$$.State` within concurrent Map iterations is shared (see `instrument`).
 *
 * Restarts: an execution that was RUNNING when the process stopped (crash, SIGKILL or close()) is resumed at the
 * next start (`onRestart: 'resume'`, the default): the history is on disk before every Task's side effect, so the
 * top-level state it shows last entered is re-entered with the input it was entered with (./resume.ts says why
 * that is sound and what cannot be resumed). The history records the restart with a local-only event, type
 * `LocalExecutionResumed` (AWS has no such event: its executions never lose their position), with
 * `localExecutionResumedEventDetails: { stateName, cause }`, followed by the re-entered state's events. Within the
 * resumed run `$$.Execution.StartTime` is the time of the resume. The execution keeps its TimeoutSeconds counted
 * from its original start, and a Wait state with Seconds only waits for what is left of it.
 *
 * An execution that cannot be resumed, or every interrupted execution with `onRestart: 'fail'`, is closed as
 * FAILED with error `States.Runtime` and cause "local stack restarted during execution" (plus the reason when
 * resuming was impossible), recorded as an ExecutionFailed event at the end of its history, so nothing stays
 * RUNNING forever and a caller polling it sees a failure, not a hang.
 */
import '../../stepfunctions/polyfill';
import { createHash, randomUUID } from 'node:crypto';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { AwsServiceError, type AwsJsonService } from '../types';
import { indexStates, validateDefinition, type Definition, type JsonObject, type JsonValue, type StateDef } from './definition';
import {
  createIntegrations,
  parseTaskResource,
  TaskFailure,
  TaskRuntimeFailure,
  type CallIntegration,
  type Integrations,
  type InvokeLambda,
} from './integrations';
import { assertValidName, executionArn, parseExecutionArn, parseStateMachineArn, stateMachineArn } from './names';
import { planResume, type ResumePlan } from './resume';
import { JsonStore } from './store';

/** One entry of the library's event log (the type is not exported by name). */
type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
const EXECUTION_STATUSES: readonly string[] = ['SUCCEEDED', 'TIMED_OUT', 'PENDING_REDRIVE', 'ABORTED', 'FAILED', 'RUNNING'];

export interface StepFunctionsEmulatorOptions {
  /** Root data directory of the local stack; this service uses `<dataDir>/stepfunctions/`. */
  readonly dataDir: string;
  readonly region: string;
  readonly accountId: string;
  /** URL of the local AWS endpoint, for the SDK clients of integration tasks. */
  readonly endpoint?: () => string;
  /** Runs `arn:aws:states:::lambda:invoke` tasks (and legacy function-ARN tasks). */
  readonly invokeLambda?: InvokeLambda;
  /** Replaces the AWS SDK call of integration tasks (see CallIntegration); Lambda's too when invokeLambda is absent. */
  readonly callIntegration?: CallIntegration;
  /** @default 25000 (the AWS quota of history events per execution) */
  readonly maxHistoryEvents?: number;
  /** @default 1000 */
  readonly maxClosedExecutions?: number;
  /**
   * Wait this many milliseconds before every retry instead of what the Retry fields say (for fast tests).
   * @default undefined (IntervalSeconds, BackoffRate, MaxDelaySeconds and JitterStrategy, as on AWS)
   */
  readonly retryIntervalMs?: number;
  /** Where persistence failures are reported. @default console.error */
  readonly onError?: (message: string, err: unknown) => void;
  /**
   * What happens to executions that were RUNNING when the previous process stopped: `resume` re-enters the state
   * each was in (see ./resume.ts); `fail` closes them as FAILED with States.Runtime.
   * @default 'resume'
   */
  readonly onRestart?: 'resume' | 'fail';
  /**
   * Resume interrupted executions only when `resumeInterrupted()` is called (the local stack calls it once the
   * services their tasks call are listening). @default false (they resume as soon as the emulator is created)
   */
  readonly deferResume?: boolean;
}

export interface StepFunctionsEmulator {
  readonly service: AwsJsonService;
  /** Resolves with the final status once the execution is closed (immediately if it already is). */
  waitForExecution(executionArn: string): Promise<ExecutionStatus>;
  /** Resolves when every change so far is on disk. */
  flush(): Promise<void>;
  /**
   * Resumes (or, when impossible, fails) the executions that were RUNNING when the previous process stopped; a
   * second call does nothing. Returns their ARNs with what happened to each.
   */
  resumeInterrupted(): Array<{ executionArn: string; outcome: 'resumed' | 'failed' }>;
  /**
   * Stops the running executions without closing them (they stay RUNNING on disk and are resumed, or failed with
   * `onRestart: 'fail'`, at the next start, exactly as after a crash), releases the SDK clients and flushes to disk.
   */
  close(): Promise<void>;
}

/** The 256 KiB payload quota of Step Functions (execution input, state output). */
const MAX_PAYLOAD_BYTES = 262_144;
const RESTART_CAUSE = 'local stack restarted during execution';
/** Local-only history event marking where a restarted execution carried on (see the module comment). */
export const RESUMED_EVENT_TYPE = 'LocalExecutionResumed';
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

interface StateMachineRecord {
  readonly name: string;
  readonly arn: string;
  definition: string;
  roleArn: string;
  readonly type: 'STANDARD';
  readonly creationDate: number;
  updateDate?: number;
  revisionId?: string;
  status: 'ACTIVE' | 'DELETING';
  loggingConfiguration: JsonObject;
  tracingConfiguration: JsonObject;
  readonly tags: JsonValue[];
}

/** A history event as stored: the AWS HistoryEvent shape with `timestamp` in epoch milliseconds. */
interface StoredEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: number;
  readonly type: string;
  readonly [details: string]: unknown;
}

interface ExecutionRecord {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  status: ExecutionStatus;
  readonly startDate: number;
  stopDate?: number;
  readonly input: string;
  output?: string;
  error?: string;
  cause?: string;
  readonly traceHeader?: string;
  /**
   * The definition this execution runs (an update does not change running executions), by content hash: it is
   * stored once under `definitions/`, not in every execution file that is rewritten as the history grows.
   */
  readonly definitionHash: string;
  readonly roleArn: string;
  readonly revisionId?: string;
  readonly stateMachineUpdateDate: number;
  readonly loggingConfiguration: JsonObject;
  readonly tracingConfiguration: JsonObject;
  readonly history: StoredEvent[];
}

/** In-memory companion of a running execution. */
interface Runtime {
  readonly controller: AbortController;
  abortRun: () => void;
  readonly states: Map<string, StateDef>;
  /** Task attempts (by state name) whose result no longer counts because the library timed them out. */
  readonly currentAttempt: Map<string, number>;
  readonly timedOut: Set<number>;
  attempts: number;
  /** The Fail state just entered, to tell a Fail state without Error/Cause from one that sets them. */
  failState?: string;
  /** Parallel/Map states whose current run failed (so their exit, after a Catch, is not a success). */
  readonly failedComposites: Set<string>;
  /** For `$$.State`: the state whose fields the library read last, and entry times / failed attempts by state. */
  currentState?: string;
  readonly enteredAt: Map<string, number>;
  readonly failedAttempts: Map<string, number>;
  /** A resumed run's first state, which hands the recorded input on (not part of the definition or history). */
  handOverState?: string;
}

const DEFAULT_LOGGING: JsonObject = { level: 'OFF', includeExecutionData: false };
const DEFAULT_TRACING: JsonObject = { enabled: false };

// ---- request validation, worded as the AWS JSON protocol services word it ----

function validation(message: string): AwsServiceError {
  return new AwsServiceError('ValidationException', `1 validation error detected: ${message}`);
}

function requiredString(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (value === undefined || value === null) throw validation(`Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  if (typeof value !== 'string') throw new AwsServiceError('SerializationException', `Expected a string for '${field}'`);
  return value;
}

function optionalString(input: Record<string, unknown>, field: string, maxLength?: number): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsServiceError('SerializationException', `Expected a string for '${field}'`);
  if (maxLength !== undefined && value.length > maxLength) {
    throw validation(`Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${maxLength}`);
  }
  return value;
}

function pageSize(input: Record<string, unknown>): number {
  const value = input['maxResults'];
  if (value === undefined || value === null || value === 0) return 100;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new AwsServiceError('SerializationException', "Expected an integer for 'maxResults'");
  if (value > 1000) throw validation(`Value '${value}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000`);
  if (value < 0) throw validation(`Value '${value}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 0`);
  return value;
}

/** Opaque page tokens: the sort key of the last item returned. */
function encodeToken(key: unknown): string {
  return Buffer.from(JSON.stringify({ k: key })).toString('base64url');
}

function decodeToken(input: Record<string, unknown>, maxLength: number): unknown {
  const token = optionalString(input, 'nextToken');
  if (token === undefined) return undefined;
  if (token.length > maxLength) {
    throw validation(`Value '${token}' at 'nextToken' failed to satisfy constraint: Member must have length less than or equal to ${maxLength}`);
  }
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { k?: unknown };
    if (parsed.k === undefined) throw new Error('no key');
    return parsed.k;
  } catch {
    throw new AwsServiceError('InvalidToken', "Invalid Token: 'Invalid token'");
  }
}

function seconds(ms: number): number {
  return ms / 1000;
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function json(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value);
}

function causeText(cause: unknown): string | undefined {
  if (cause === undefined || cause === null) return undefined;
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) return cause.message;
  return JSON.stringify(cause);
}

/** Lets every event the library has already dispatched reach the history before a task records its own. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Definitions that passed the ASL schema check. The check compiles the whole schema each time (about 100 ms), and
 * the same definitions are created again and again (every local stack start, every test).
 */
const schemaValid = new Set<string>();

/** A state name for a resumed run's hand-over state that no state of the definition has. */
function resumeStateName(states: ReadonlyMap<string, StateDef>): string {
  let name = 'LocalResume';
  while (states.has(name)) name = `${name}_`;
  return name;
}

function executionFile(arn: string): string {
  return `executions/${createHash('sha256').update(arn).digest('hex').slice(0, 40)}.json`;
}

/**
 * `$$.State` support. aws-local-stepfunctions fills only `$$.Execution`; the workflows read `$$.State.EnteredTime`.
 * The library reads a state's own fields (Parameters, ResultSelector, ItemSelector, ...) right before it evaluates
 * them, synchronously, so a proxy on each state that remembers "the state read last" names the state whose paths
 * are being evaluated. Entry times come from the history (kept across retries, as on AWS), or are fixed at the
 * first read when the entry has not reached the history yet; retry counts come from the failed attempts since the
 * state was entered. Within a Map, concurrent iterations of one state share these values (an approximation).
 */
function instrument<T extends { readonly States: Record<string, StateDef> }>(machine: T, rt: Runtime): T {
  const states: Record<string, StateDef> = {};
  for (const [name, original] of Object.entries(machine.States)) {
    let state: StateDef = original;
    if (original.Type === 'Task' && original.TimeoutSeconds === undefined && original['TimeoutSecondsPath'] === undefined) {
      // A Task without TimeoutSeconds never times out on AWS; the library would give up after 60 s. This is the
      // longest delay a Node.js timer takes (about 24.8 days).
      state = { ...original, TimeoutSeconds: MAX_TIMER_SECONDS };
    } else if (original.Type === 'Parallel' && Array.isArray(original['Branches'])) {
      state = { ...original, Branches: (original['Branches'] as Definition[]).map((b) => instrument(b, rt)) };
    } else if (original.Type === 'Map') {
      const key = original['ItemProcessor'] !== undefined ? 'ItemProcessor' : 'Iterator';
      state = { ...original, [key]: instrument(original[key] as Definition, rt) };
    }
    states[name] = new Proxy(state, {
      get(target, prop, receiver) {
        rt.currentState = name;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
  }
  return { ...machine, States: states };
}

/** The fields DescribeExecution and ListExecutions both report for an execution. */
function executionSummary(e: ExecutionRecord): Record<string, unknown> {
  return {
    executionArn: e.executionArn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: seconds(e.startDate),
    ...(e.stopDate === undefined ? {} : { stopDate: seconds(e.stopDate) }),
  };
}

function stateContext(rt: Runtime): Record<string, unknown> {
  return {
    get Name(): string | undefined {
      return rt.currentState;
    },
    get EnteredTime(): string | undefined {
      const name = rt.currentState;
      if (name === undefined) return undefined;
      let entered = rt.enteredAt.get(name);
      if (entered === undefined) {
        entered = Date.now();
        rt.enteredAt.set(name, entered);
      }
      return new Date(entered).toISOString();
    },
    get RetryCount(): number {
      return rt.currentState === undefined ? 0 : (rt.failedAttempts.get(rt.currentState) ?? 0);
    },
  };
}

export function createStepFunctionsEmulator(options: StepFunctionsEmulatorOptions): StepFunctionsEmulator {
  const { region, accountId } = options;
  const maxHistoryEvents = options.maxHistoryEvents ?? 25_000;
  const maxClosedExecutions = options.maxClosedExecutions ?? 1000;
  const report = options.onError ?? ((message, err) => console.error(`[stepfunctions] ${message}`, err));
  const onRestart = options.onRestart ?? 'resume';
  const store = new JsonStore(`${options.dataDir}/stepfunctions`, (err, path) => report(`could not write ${path}`, err));
  const integrations: Integrations = createIntegrations({
    region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.invokeLambda ? { invokeLambda: options.invokeLambda } : {}),
    ...(options.callIntegration ? { callIntegration: options.callIntegration } : {}),
  });

  const stateMachines = new Map<string, StateMachineRecord>();
  const executions = new Map<string, ExecutionRecord>();
  const runtimes = new Map<string, Runtime>();
  const waiters = new Map<string, Array<(status: ExecutionStatus) => void>>();
  let closing = false;

  // ---- persistence ----

  /** Definitions run by executions, by content hash (see ExecutionRecord.definitionHash). */
  const definitions = new Map<string, string>();

  function rememberDefinition(text: string): string {
    const hash = createHash('sha256').update(text).digest('hex');
    if (!definitions.has(hash)) {
      definitions.set(hash, text);
      store.writeSync(`definitions/${hash}.json`, text);
    }
    return hash;
  }

  function definitionText(record: ExecutionRecord): string {
    const text = definitions.get(record.definitionHash);
    if (text === undefined) throw new Error(`definition ${record.definitionHash} of ${record.executionArn} is missing`);
    return text;
  }

  function saveStateMachines(): void {
    store.write('state-machines.json', () => [...stateMachines.values()]);
  }

  function saveExecution(record: ExecutionRecord): void {
    store.write(executionFile(record.executionArn), () => record);
  }

  function load(): void {
    const machines = store.readSync('state-machines.json');
    if (Array.isArray(machines)) for (const m of machines as StateMachineRecord[]) stateMachines.set(m.arn, m);
    for (const file of store.listSync('executions')) {
      let record: ExecutionRecord;
      try {
        record = store.readSync(`executions/${file}`) as ExecutionRecord;
      } catch (err) {
        report(`skipping unreadable execution file ${file}`, err);
        continue;
      }
      if (record.status === 'RUNNING') interrupted.push(record);
      executions.set(record.executionArn, record);
    }
    // Definitions no execution refers to any more (the executions were evicted) are dropped.
    const referenced = new Set([...executions.values()].map((e) => e.definitionHash));
    for (const file of store.listSync('definitions')) {
      const hash = file.slice(0, -'.json'.length);
      if (!referenced.has(hash)) {
        store.delete(`definitions/${file}`);
        continue;
      }
      const text = store.readSync(`definitions/${file}`);
      if (typeof text === 'string') definitions.set(hash, text);
    }
    let changed = false;
    for (const m of stateMachines.values()) {
      if (m.status === 'DELETING') {
        stateMachines.delete(m.arn);
        changed = true;
      }
    }
    if (changed) store.writeSync('state-machines.json', [...stateMachines.values()]);
  }

  /** Executions found RUNNING on disk at start, until resumeInterrupted() handles them. */
  const interrupted: ExecutionRecord[] = [];
  let interruptedHandled = false;

  /** Closes an execution the restart interrupted, as FAILED (the behaviour when it cannot be resumed). */
  function failInterrupted(record: ExecutionRecord, reason?: string): void {
    const now = Date.now();
    record.status = 'FAILED';
    record.stopDate = now;
    record.error = 'States.Runtime';
    record.cause = reason === undefined ? RESTART_CAUSE : `${RESTART_CAUSE}; it could not be resumed: ${reason}`;
    pushEvent(record, 'ExecutionFailed', { executionFailedEventDetails: { error: record.error, cause: record.cause } }, now);
    store.writeSync(executionFile(record.executionArn), record);
    for (const resolve of waiters.get(record.executionArn) ?? []) resolve('FAILED');
    waiters.delete(record.executionArn);
  }

  function resumeInterrupted(): Array<{ executionArn: string; outcome: 'resumed' | 'failed' }> {
    if (interruptedHandled) return [];
    interruptedHandled = true;
    const outcomes: Array<{ executionArn: string; outcome: 'resumed' | 'failed' }> = [];
    for (const record of interrupted.splice(0)) {
      // Stopped (StopExecution) while waiting to be resumed.
      if (record.status !== 'RUNNING' || closing) continue;
      if (onRestart === 'fail') {
        failInterrupted(record);
        outcomes.push({ executionArn: record.executionArn, outcome: 'failed' });
        continue;
      }
      let plan: ResumePlan;
      let definition: Definition | undefined;
      try {
        definition = JSON.parse(definitionText(record)) as Definition;
        plan = planResume(definition, record.history, Date.now());
      } catch (err) {
        plan = { kind: 'impossible', reason: (err as Error).message };
      }
      if (plan.kind === 'impossible' || definition === undefined) {
        failInterrupted(record, plan.kind === 'impossible' ? plan.reason : 'its definition is missing');
        outcomes.push({ executionArn: record.executionArn, outcome: 'failed' });
        continue;
      }
      const stateName = plan.kind === 'state' ? plan.state : definition.StartAt;
      pushEvent(record, RESUMED_EVENT_TYPE, { localExecutionResumedEventDetails: { stateName, cause: RESTART_CAUSE } });
      saveExecution(record);
      launch(record, plan);
      outcomes.push({ executionArn: record.executionArn, outcome: 'resumed' });
    }
    return outcomes;
  }

  // ---- history ----

  function pushEvent(record: ExecutionRecord, type: string, details: Record<string, unknown>, timestamp = Date.now()): void {
    const id = record.history.length + 1;
    // AWS records the first state's entry with previousEventId 0, as if caused by no event; later events chain.
    const previousEventId = id === 2 && type.endsWith('StateEntered') ? 0 : id - 1;
    record.history.push({ id, previousEventId, timestamp, type, ...details });
  }

  /** Appends an event to a running execution; at the history quota the execution fails instead. */
  function append(
    record: ExecutionRecord,
    type: string,
    details: Record<string, unknown> = {},
    timestamp = Date.now(),
  ): void {
    if (record.status !== 'RUNNING' || closing) return;
    if (record.history.length >= maxHistoryEvents - 1) {
      // The last slot is kept for the closing event.
      const rt = runtimes.get(record.executionArn);
      finish(record, 'FAILED', {
        error: 'States.Runtime',
        cause: `The execution reached the maximum number of history events (${maxHistoryEvents})`,
      });
      rt?.abortRun();
      return;
    }
    pushEvent(record, type, details, timestamp);
    saveExecution(record);
  }

  const CLOSE_EVENTS: Record<Exclude<ExecutionStatus, 'RUNNING'>, [string, string]> = {
    SUCCEEDED: ['ExecutionSucceeded', 'executionSucceededEventDetails'],
    FAILED: ['ExecutionFailed', 'executionFailedEventDetails'],
    TIMED_OUT: ['ExecutionTimedOut', 'executionTimedOutEventDetails'],
    ABORTED: ['ExecutionAborted', 'executionAbortedEventDetails'],
  };

  /** Closes an execution: status, stop date, the closing history event, waiters, deferred deletions. */
  function finish(
    record: ExecutionRecord,
    status: Exclude<ExecutionStatus, 'RUNNING'>,
    result: { output?: string; error?: string; cause?: string },
  ): void {
    if (record.status !== 'RUNNING' || closing) return;
    record.status = status;
    record.stopDate = Date.now();
    const [type, detailsKey] = CLOSE_EVENTS[status];
    let details: Record<string, unknown>;
    if (status === 'SUCCEEDED') {
      record.output = result.output ?? 'null';
      details = { output: record.output, outputDetails: { truncated: false } };
    } else {
      if (result.error !== undefined) record.error = result.error;
      if (result.cause !== undefined) record.cause = result.cause;
      details = { ...(result.error === undefined ? {} : { error: result.error }), ...(result.cause === undefined ? {} : { cause: result.cause }) };
    }
    pushEvent(record, type, { [detailsKey]: details }, record.stopDate);
    saveExecution(record);
    runtimes.get(record.executionArn)?.controller.abort();
    runtimes.delete(record.executionArn);
    for (const resolve of waiters.get(record.executionArn) ?? []) resolve(status);
    waiters.delete(record.executionArn);
    const machine = stateMachines.get(record.stateMachineArn);
    if (machine?.status === 'DELETING' && !hasRunning(machine.arn)) {
      stateMachines.delete(machine.arn);
      saveStateMachines();
    }
    evictClosed();
  }

  function hasRunning(machineArn: string): boolean {
    for (const e of executions.values()) if (e.stateMachineArn === machineArn && e.status === 'RUNNING') return true;
    return false;
  }

  function evictClosed(): void {
    const closed = [...executions.values()].filter((e) => e.status !== 'RUNNING');
    if (closed.length <= maxClosedExecutions) return;
    closed.sort((a, b) => (a.stopDate ?? 0) - (b.stopDate ?? 0));
    for (const e of closed.slice(0, closed.length - maxClosedExecutions)) {
      executions.delete(e.executionArn);
      store.delete(executionFile(e.executionArn));
    }
  }

  /** Maps one event of aws-local-stepfunctions' log to AWS history events. */
  function onLibraryEvent(record: ExecutionRecord, rt: Runtime, ev: EventLog): void {
    if ('state' in ev && ev.state.name === rt.handOverState) return;
    switch (ev.type) {
      case 'StateEntered': {
        const { name, type } = ev.state;
        rt.failState = type === 'Fail' ? name : undefined;
        if (!rt.enteredAt.has(name)) rt.enteredAt.set(name, ev.timestamp);
        // The history records the very entry time `$$.State.EnteredTime` showed, so a resume after a crash (which
        // reads it back from here) re-sends byte-identical requests.
        append(
          record,
          `${type}StateEntered`,
          { stateEnteredEventDetails: { name, input: json(ev.state.input), inputDetails: { truncated: false } } },
          rt.enteredAt.get(name),
        );
        if (type === 'Parallel' || type === 'Map') {
          rt.failedComposites.delete(name);
          append(record, `${type}StateStarted`, type === 'Map' ? { mapStateStartedEventDetails: {} } : {});
        }
        return;
      }
      case 'StateExited': {
        const { name, type } = ev.state;
        rt.enteredAt.delete(name);
        rt.failedAttempts.delete(name);
        if ((type === 'Parallel' || type === 'Map') && !rt.failedComposites.has(name)) append(record, `${type}StateSucceeded`);
        append(record, `${type}StateExited`, {
          stateExitedEventDetails: { name, output: json(ev.state.output), outputDetails: { truncated: false } },
        });
        return;
      }
      case 'StateFailed': {
        const { name, type } = ev.state;
        if (type === 'Task' && ev.Error === 'States.Timeout') {
          // The library gave up waiting; the service call may still finish, but its result no longer counts.
          const attempt = rt.currentAttempt.get(name);
          if (attempt !== undefined) rt.timedOut.add(attempt);
          const target = parseTaskResource(String(rt.states.get(name)?.Resource ?? ''));
          const details = { error: 'States.Timeout', cause: causeText(ev.Cause) ?? '' };
          if (target.kind === 'lambda-function') append(record, 'LambdaFunctionTimedOut', { lambdaFunctionTimedOutEventDetails: details });
          else if (target.kind !== 'unsupported') {
            append(record, 'TaskTimedOut', { taskTimedOutEventDetails: { resourceType: target.resourceType, resource: target.resource, ...details } });
          }
        }
        if (type === 'Parallel' || type === 'Map') {
          rt.failedComposites.add(name);
          rt.failedAttempts.set(name, (rt.failedAttempts.get(name) ?? 0) + 1);
          append(record, `${type}StateFailed`);
        }
        return;
      }
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const key = `mapIteration${ev.type.slice('MapIteration'.length)}EventDetails`;
        append(record, ev.type, { [key]: { name: ev.parentState.name, index: ev.index } });
        return;
      }
      case 'ExecutionSucceeded': {
        const output = json(ev.output);
        if (utf8Length(output) > MAX_PAYLOAD_BYTES) {
          finish(record, 'FAILED', {
            error: 'States.DataLimitExceeded',
            cause: 'The execution output has a size exceeding the maximum number of bytes service limit.',
          });
        } else {
          finish(record, 'SUCCEEDED', { output });
        }
        return;
      }
      case 'ExecutionFailed': {
        let error: string | undefined = ev.Error;
        let cause = causeText(ev.Cause);
        const fail = rt.failState === undefined ? undefined : rt.states.get(rt.failState);
        if (fail) {
          // A Fail state without Error/Cause fails the execution without them; the library fills in defaults.
          if (fail.Error === undefined && fail.ErrorPath === undefined) error = undefined;
          if (fail.Cause === undefined && fail.CausePath === undefined) cause = undefined;
        }
        finish(record, 'FAILED', { ...(error === undefined ? {} : { error }), ...(cause === undefined ? {} : { cause }) });
        return;
      }
      case 'ExecutionTimeout':
        finish(record, 'TIMED_OUT', { error: 'States.Timeout' });
        return;
      default:
        // ExecutionStarted is recorded by StartExecution; StateRetried/StateCaught have no AWS event of their
        // own (a retry shows as a new TaskScheduled, a catch as the state's exit); parallel branch events and
        // ExecutionAborted (recorded by StopExecution) neither.
        return;
    }
  }

  // ---- tasks ----

  async function runTask(record: ExecutionRecord, rt: Runtime, stateName: string, state: StateDef, input: JsonValue): Promise<JsonValue> {
    await nextTurn();
    const target = parseTaskResource(String(state.Resource));
    if (target.kind === 'unsupported') throw new TaskRuntimeFailure('States.Runtime', target.reason);
    rt.attempts += 1;
    const attempt = rt.attempts;
    rt.currentAttempt.set(stateName, attempt);
    const legacy = target.kind === 'lambda-function';
    const timeouts = {
      ...(state.TimeoutSeconds === undefined ? {} : { timeoutInSeconds: state.TimeoutSeconds }),
      ...(state.HeartbeatSeconds === undefined || legacy ? {} : { heartbeatInSeconds: state.HeartbeatSeconds }),
    };
    const taskId = { resourceType: target.resourceType, resource: target.resource };
    if (legacy) {
      append(record, 'LambdaFunctionScheduled', {
        lambdaFunctionScheduledEventDetails: { resource: target.resource, input: json(input), inputDetails: { truncated: false }, ...timeouts },
      });
      append(record, 'LambdaFunctionStarted');
    } else {
      append(record, 'TaskScheduled', { taskScheduledEventDetails: { ...taskId, region, parameters: json(input), ...timeouts } });
      append(record, 'TaskStarted', { taskStartedEventDetails: taskId });
    }
    // The side effect must not get ahead of the history on disk: after a crash, the execution resumes at the
    // state the disk shows, so this task is re-run (at least once) rather than silently skipped.
    await store.writeDurably(executionFile(record.executionArn), () => record);
    if (record.status !== 'RUNNING' || rt.controller.signal.aborted) throw new TaskRuntimeFailure('States.Runtime', 'The execution was stopped');
    try {
      const result = await integrations.run(target, input, {
        stateMachineArn: record.stateMachineArn,
        executionArn: record.executionArn,
        signal: rt.controller.signal,
      });
      const output = json(result);
      if (utf8Length(output) > MAX_PAYLOAD_BYTES) {
        throw new TaskRuntimeFailure(
          'States.DataLimitExceeded',
          `The state/task '${stateName}' returned a result with a size exceeding the maximum number of bytes service limit.`,
        );
      }
      await nextTurn();
      if (!rt.timedOut.has(attempt)) {
        if (legacy) append(record, 'LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: { output, outputDetails: { truncated: false } } });
        else append(record, 'TaskSucceeded', { taskSucceededEventDetails: { ...taskId, output, outputDetails: { truncated: false } } });
      }
      return result;
    } catch (err) {
      const failure = err instanceof TaskFailure ? err : new TaskFailure('States.TaskFailed', err instanceof Error ? err.message : String(err));
      // Counted before the library sees the failure: a retry evaluates $$.State.RetryCount right after.
      rt.failedAttempts.set(stateName, (rt.failedAttempts.get(stateName) ?? 0) + 1);
      await nextTurn();
      if (!rt.timedOut.has(attempt)) {
        const details = { error: failure.name, cause: failure.message };
        if (legacy) append(record, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: details });
        else append(record, 'TaskFailed', { taskFailedEventDetails: { ...taskId, ...details } });
      }
      throw failure;
    }
  }

  // ---- executions ----

  /**
   * Runs an execution in the background: a new one from StartAt; a resumed one (`plan` given) from the state its
   * plan names. A resumed run starts at a local Task state that hands that state's recorded input on, so the
   * library's context still holds the execution's own input; the events of that hand-over state are not recorded.
   */
  function launch(record: ExecutionRecord, plan?: Exclude<ResumePlan, { kind: 'impossible' }>): void {
    const definition = JSON.parse(definitionText(record)) as Definition;
    const states = indexStates(definition);
    let timeoutSeconds = definition.TimeoutSeconds;
    if (plan !== undefined && timeoutSeconds !== undefined) {
      // The execution's timeout counts from its original start, restarts included.
      timeoutSeconds = (record.startDate + timeoutSeconds * 1000 - Date.now()) / 1000;
      if (timeoutSeconds <= 0) {
        finish(record, 'TIMED_OUT', { error: 'States.Timeout' });
        return;
      }
    }
    const rt: Runtime = {
      controller: new AbortController(),
      abortRun: () => undefined,
      states,
      currentAttempt: new Map(),
      timedOut: new Set(),
      attempts: 0,
      failedComposites: new Set(),
      enteredAt: new Map(),
      failedAttempts: new Map(),
    };
    const handlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
    for (const [name, state] of states) {
      if (state.Type === 'Task') handlers[name] = (input) => runTask(record, rt, name, state, input);
    }
    let runnable: Definition = instrument(definition, rt);
    if (timeoutSeconds !== undefined) runnable = { ...runnable, TimeoutSeconds: timeoutSeconds };
    const waitTimeOverrides: Record<string, number> = {};
    if (plan?.kind === 'state') {
      // The resumed state carries on its interrupted entry: `$$.State.EnteredTime` keeps the original time (as
      // across retries), so a re-run task sends the very request it sent before the crash, and a request made
      // idempotent by a token (TransactWriteItems' ClientRequestToken) matches its first send instead of being
      // refused as a different request with the same token.
      rt.enteredAt.set(plan.state, plan.enteredAt);
      rt.handOverState = resumeStateName(states);
      const input = plan.input;
      handlers[rt.handOverState] = () => Promise.resolve(input);
      runnable = {
        ...runnable,
        StartAt: rt.handOverState,
        States: { ...runnable.States, [rt.handOverState]: { Type: 'Task', Resource: 'local:resume', Next: plan.state } },
      };
      if (plan.waitMs !== undefined) {
        // Only the re-entered wait is shortened; a later visit of the same Wait state waits in full.
        let pending = true;
        Object.defineProperty(waitTimeOverrides, plan.state, {
          enumerable: true,
          get: () => {
            if (!pending) return undefined;
            pending = false;
            return plan.waitMs;
          },
        });
      }
    }
    const machine = new StateMachine(runnable as unknown as StateMachineDefinition, {
      validationOptions: { noValidate: true },
    });
    const machineName = parseStateMachineArn(record.stateMachineArn).name;
    const retryIntervalOverrides: Record<string, number> = {};
    if (options.retryIntervalMs !== undefined) {
      for (const [name, state] of states) if (Array.isArray(state['Retry'])) retryIntervalOverrides[name] = options.retryIntervalMs;
    }
    const run = machine.run(JSON.parse(record.input) as Parameters<StateMachine['run']>[0], {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides, waitTimeOverrides },
      noThrowOnAbort: true,
      context: {
        Execution: { Id: record.executionArn, Name: record.name, RoleArn: record.roleArn, RedriveCount: 0 },
        StateMachine: { Id: record.stateMachineArn, Name: machineName },
        State: stateContext(rt),
      },
    });
    rt.abortRun = () => {
      rt.controller.abort();
      run.abort();
    };
    runtimes.set(record.executionArn, rt);
    const consumed = (async () => {
      for await (const ev of run.eventLogs) onLibraryEvent(record, rt, ev);
    })();
    void Promise.allSettled([run.result, consumed]).then(([result, events]) => {
      if (events.status === 'rejected') report(`history of ${record.executionArn} stopped`, events.reason);
      // Every way out of the library closes the execution above; this guards against one that does not.
      const reason = result.status === 'rejected' ? result.reason : undefined;
      finish(record, 'FAILED', { error: 'States.Runtime', cause: causeText(reason) ?? 'The execution ended without a result' });
    });
  }

  function getStateMachine(arn: string): StateMachineRecord {
    const ref = parseStateMachineArn(arn);
    const machine = ref.qualifier === undefined ? stateMachines.get(arn) : undefined;
    if (!machine || ref.region !== region || ref.accountId !== accountId) {
      throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    }
    return machine;
  }

  function getExecution(arn: string): ExecutionRecord {
    parseExecutionArn(arn);
    const record = executions.get(arn);
    if (!record) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return record;
  }

  const schemaCheck = (definition: Definition): void => {
    const key = createHash('sha256').update(JSON.stringify(definition)).digest('hex');
    if (schemaValid.has(key)) return;
    try {
      new StateMachine(definition as unknown as StateMachineDefinition);
    } catch (err) {
      throw new Error((err as Error).message.replace(/^State machine definition is invalid, see error\(s\) below:\s*/, ''));
    }
    if (schemaValid.size >= 200) schemaValid.clear();
    schemaValid.add(key);
  };

  function configuration(input: Record<string, unknown>, field: string, fallback: JsonObject): JsonObject {
    const value = input[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'object' || Array.isArray(value)) throw new AwsServiceError('SerializationException', `Expected an object for '${field}'`);
    return { ...fallback, ...(value as JsonObject) };
  }

  function checkRoleArn(roleArn: string): void {
    if (!roleArn.startsWith('arn:')) throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Invalid ARN prefix: ${roleArn}'`);
  }

  // ---- API actions ----

  const actions: Record<string, (input: Record<string, unknown>) => unknown> = {
    CreateStateMachine(input) {
      const name = requiredString(input, 'name');
      const definition = requiredString(input, 'definition');
      const roleArn = requiredString(input, 'roleArn');
      const type = optionalString(input, 'type') ?? 'STANDARD';
      if (type !== 'STANDARD' && type !== 'EXPRESS') {
        throw validation(`Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]`);
      }
      if (type === 'EXPRESS') {
        throw new AwsServiceError('StateMachineTypeNotSupported', 'EXPRESS state machines are not supported by the local Step Functions emulation');
      }
      if (input['publish'] === true) {
        throw new AwsServiceError('ValidationException', 'Publishing state machine versions is not supported by the local Step Functions emulation');
      }
      assertValidName(name);
      checkRoleArn(roleArn);
      const loggingConfiguration = configuration(input, 'loggingConfiguration', DEFAULT_LOGGING);
      const tracingConfiguration = configuration(input, 'tracingConfiguration', DEFAULT_TRACING);
      const arn = stateMachineArn(region, accountId, name);
      const existing = stateMachines.get(arn);
      if (existing) {
        if (existing.status === 'DELETING') throw new AwsServiceError('StateMachineDeleting', `State Machine is being deleted: '${arn}'`);
        // Idempotent on name, definition, type and configuration; roleArn and tags are ignored (AWS API reference).
        const same =
          existing.definition === definition &&
          JSON.stringify(existing.loggingConfiguration) === JSON.stringify(loggingConfiguration) &&
          JSON.stringify(existing.tracingConfiguration) === JSON.stringify(tracingConfiguration);
        if (!same) throw new AwsServiceError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
        return { stateMachineArn: arn, creationDate: seconds(existing.creationDate) };
      }
      validateDefinition(definition, schemaCheck);
      const record: StateMachineRecord = {
        name,
        arn,
        definition,
        roleArn,
        type: 'STANDARD',
        creationDate: Date.now(),
        status: 'ACTIVE',
        loggingConfiguration,
        tracingConfiguration,
        tags: Array.isArray(input['tags']) ? (input['tags'] as JsonValue[]) : [],
      };
      stateMachines.set(arn, record);
      saveStateMachines();
      return { stateMachineArn: arn, creationDate: seconds(record.creationDate) };
    },

    UpdateStateMachine(input) {
      const machine = getStateMachine(requiredString(input, 'stateMachineArn'));
      const definition = optionalString(input, 'definition');
      const roleArn = optionalString(input, 'roleArn');
      const logging = input['loggingConfiguration'];
      const tracing = input['tracingConfiguration'];
      if (definition === undefined && roleArn === undefined && logging == null && tracing == null) {
        throw new AwsServiceError(
          'MissingRequiredParameter',
          'Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified',
        );
      }
      if (machine.status === 'DELETING') throw new AwsServiceError('StateMachineDeleting', `State Machine is being deleted: '${machine.arn}'`);
      if (input['publish'] === true) {
        throw new AwsServiceError('ValidationException', 'Publishing state machine versions is not supported by the local Step Functions emulation');
      }
      if (definition !== undefined) validateDefinition(definition, schemaCheck);
      if (roleArn !== undefined) checkRoleArn(roleArn);
      if (definition !== undefined) machine.definition = definition;
      if (roleArn !== undefined) machine.roleArn = roleArn;
      machine.loggingConfiguration = configuration(input, 'loggingConfiguration', machine.loggingConfiguration);
      machine.tracingConfiguration = configuration(input, 'tracingConfiguration', machine.tracingConfiguration);
      machine.updateDate = Date.now();
      machine.revisionId = randomUUID();
      saveStateMachines();
      return { updateDate: seconds(machine.updateDate), revisionId: machine.revisionId };
    },

    DescribeStateMachine(input) {
      const m = getStateMachine(requiredString(input, 'stateMachineArn'));
      return {
        stateMachineArn: m.arn,
        name: m.name,
        status: m.status,
        definition: m.definition,
        roleArn: m.roleArn,
        type: m.type,
        creationDate: seconds(m.creationDate),
        loggingConfiguration: m.loggingConfiguration,
        tracingConfiguration: m.tracingConfiguration,
        ...(m.revisionId === undefined ? {} : { revisionId: m.revisionId }),
      };
    },

    DescribeStateMachineForExecution(input) {
      const e = getExecution(requiredString(input, 'executionArn'));
      return {
        stateMachineArn: e.stateMachineArn,
        name: parseStateMachineArn(e.stateMachineArn).name,
        definition: definitionText(e),
        roleArn: e.roleArn,
        updateDate: seconds(e.stateMachineUpdateDate),
        loggingConfiguration: e.loggingConfiguration,
        tracingConfiguration: e.tracingConfiguration,
        ...(e.revisionId === undefined ? {} : { revisionId: e.revisionId }),
      };
    },

    ListStateMachines(input) {
      const size = pageSize(input);
      const after = decodeToken(input, 1024);
      const all = [...stateMachines.values()].filter((m) => m.status === 'ACTIVE').sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const rest = typeof after === 'string' ? all.filter((m) => m.name > after) : all;
      const page = rest.slice(0, size);
      return {
        stateMachines: page.map((m) => ({ stateMachineArn: m.arn, name: m.name, type: m.type, creationDate: seconds(m.creationDate) })),
        ...(rest.length > size ? { nextToken: encodeToken(page[page.length - 1]?.name) } : {}),
      };
    },

    DeleteStateMachine(input) {
      const arn = requiredString(input, 'stateMachineArn');
      parseStateMachineArn(arn);
      const machine = stateMachines.get(arn);
      // Deleting a state machine that does not exist succeeds (AWS answers 200 as well).
      if (!machine) return {};
      if (hasRunning(arn)) {
        // Running executions finish first; the state machine is gone once the last one closes.
        machine.status = 'DELETING';
      } else {
        stateMachines.delete(arn);
      }
      saveStateMachines();
      return {};
    },

    StartExecution(input) {
      const machine = getStateMachine(requiredString(input, 'stateMachineArn'));
      if (machine.status === 'DELETING') throw new AwsServiceError('StateMachineDeleting', `State Machine is being deleted: '${machine.arn}'`);
      const name = optionalString(input, 'name') ?? randomUUID();
      assertValidName(name);
      const inputText = optionalString(input, 'input') ?? '{}';
      if (inputText.length > MAX_PAYLOAD_BYTES) {
        throw validation(`Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PAYLOAD_BYTES}`);
      }
      if (inputText.trim() === '') throw new AwsServiceError('InvalidExecutionInput', "Invalid State Machine Execution Input: 'Invalid execution input.'");
      try {
        JSON.parse(inputText);
      } catch (err) {
        throw new AwsServiceError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(err as Error).message}'`);
      }
      const traceHeader = optionalString(input, 'traceHeader', 256);
      const arn = executionArn(region, accountId, machine.name, name);
      const existing = executions.get(arn);
      if (existing) {
        // STANDARD idempotency: the same name and input while running returns the running execution.
        if (existing.status === 'RUNNING' && existing.input === inputText) {
          return { executionArn: arn, startDate: seconds(existing.startDate) };
        }
        throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
      }
      const record: ExecutionRecord = {
        executionArn: arn,
        stateMachineArn: machine.arn,
        name,
        status: 'RUNNING',
        startDate: Date.now(),
        input: inputText,
        ...(traceHeader === undefined ? {} : { traceHeader }),
        definitionHash: rememberDefinition(machine.definition),
        roleArn: machine.roleArn,
        ...(machine.revisionId === undefined ? {} : { revisionId: machine.revisionId }),
        stateMachineUpdateDate: machine.updateDate ?? machine.creationDate,
        loggingConfiguration: machine.loggingConfiguration,
        tracingConfiguration: machine.tracingConfiguration,
        history: [],
      };
      pushEvent(
        record,
        'ExecutionStarted',
        { executionStartedEventDetails: { input: inputText, inputDetails: { truncated: false }, roleArn: record.roleArn } },
        record.startDate,
      );
      executions.set(arn, record);
      // On disk before it runs, as AWS records an execution before StartExecution answers: a crash after this
      // point resumes it instead of losing it.
      return store.writeDurably(executionFile(arn), () => record).then(() => {
        if (record.status === 'RUNNING' && !closing) launch(record);
        return { executionArn: arn, startDate: seconds(record.startDate) };
      });
    },

    DescribeExecution(input) {
      const e = getExecution(requiredString(input, 'executionArn'));
      const redriveStatusReason =
        e.status === 'RUNNING' || e.status === 'SUCCEEDED'
          ? `Execution is ${e.status} and cannot be redriven`
          : 'Redrive is not supported by the local Step Functions emulation';
      return {
        ...executionSummary(e),
        input: e.input,
        inputDetails: { included: true },
        ...(e.output === undefined ? {} : { output: e.output, outputDetails: { included: true } }),
        ...(e.error === undefined ? {} : { error: e.error }),
        ...(e.cause === undefined ? {} : { cause: e.cause }),
        ...(e.traceHeader === undefined ? {} : { traceHeader: e.traceHeader }),
        redriveCount: 0,
        redriveStatus: 'NOT_REDRIVABLE',
        redriveStatusReason,
      };
    },

    GetExecutionHistory(input) {
      const e = getExecution(requiredString(input, 'executionArn'));
      const size = pageSize(input);
      const after = decodeToken(input, 3096);
      const reverse = input['reverseOrder'] === true;
      const includeData = input['includeExecutionData'] !== false;
      let events = reverse ? [...e.history].reverse() : e.history;
      if (typeof after === 'number') events = events.filter((ev) => (reverse ? ev.id < after : ev.id > after));
      const page = events.slice(0, size);
      return {
        events: page.map((ev) => {
          const out: Record<string, unknown> = { ...ev, timestamp: seconds(ev.timestamp) };
          if (!includeData) {
            for (const [key, value] of Object.entries(out)) {
              if (key.endsWith('EventDetails') && typeof value === 'object' && value !== null) {
                const { input: _i, output: _o, ...kept } = value as Record<string, unknown>;
                out[key] = kept;
              }
            }
          }
          return out;
        }),
        ...(events.length > size ? { nextToken: encodeToken(page[page.length - 1]?.id) } : {}),
      };
    },

    ListExecutions(input) {
      const arn = optionalString(input, 'stateMachineArn');
      if (arn === undefined) {
        throw new AwsServiceError('ValidationException', 'Must provide a StateMachine ARN or MapRun ARN');
      }
      const machine = getStateMachine(arn);
      const statusFilter = optionalString(input, 'statusFilter');
      if (statusFilter !== undefined && !EXECUTION_STATUSES.includes(statusFilter)) {
        throw validation(
          `Value '${statusFilter}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${EXECUTION_STATUSES.join(', ')}]`,
        );
      }
      const size = pageSize(input);
      const after = decodeToken(input, 3096);
      // Newest first, as AWS lists them; ties broken by ARN so page boundaries are stable.
      const key = (e: ExecutionRecord): [number, string] => [e.startDate, e.executionArn];
      const before = (a: [number, string], b: [number, string]): boolean => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
      const all = [...executions.values()]
        .filter((e) => e.stateMachineArn === machine.arn && (statusFilter === undefined || e.status === statusFilter))
        .sort((a, b) => (before(key(a), key(b)) ? -1 : before(key(b), key(a)) ? 1 : 0));
      const rest = Array.isArray(after) ? all.filter((e) => before(after as [number, string], key(e))) : all;
      const page = rest.slice(0, size);
      const last = page[page.length - 1];
      return {
        executions: page.map((e) => ({
          ...executionSummary(e),
          redriveCount: 0,
        })),
        ...(rest.length > size && last ? { nextToken: encodeToken(key(last)) } : {}),
      };
    },

    StopExecution(input) {
      const e = getExecution(requiredString(input, 'executionArn'));
      const error = optionalString(input, 'error', 256);
      const cause = optionalString(input, 'cause', 32768);
      if (e.status === 'RUNNING') {
        const rt = runtimes.get(e.executionArn);
        finish(e, 'ABORTED', { ...(error === undefined ? {} : { error }), ...(cause === undefined ? {} : { cause }) });
        rt?.abortRun();
      }
      return { stopDate: seconds(e.stopDate ?? Date.now()) };
    },
  };

  load();
  if (!options.deferResume) queueMicrotask(() => resumeInterrupted());

  return {
    service: {
      targetPrefix: 'AWSStepFunctions',
      jsonVersion: '1.0',
      async handle(action, input) {
        if (closing) throw new AwsServiceError('ServiceUnavailable', 'The local Step Functions emulation is shutting down', 503);
        const run = Object.hasOwn(actions, action) ? actions[action] : undefined;
        if (!run) throw new AwsServiceError('UnknownOperationException', `Operation ${action} is not supported by the local Step Functions emulation`);
        return run(input ?? {});
      },
    },
    waitForExecution(arn) {
      const record = executions.get(arn);
      if (!record) return Promise.reject(new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`));
      if (record.status !== 'RUNNING') return Promise.resolve(record.status);
      return new Promise((resolve) => {
        const list = waiters.get(arn) ?? [];
        list.push(resolve);
        waiters.set(arn, list);
      });
    },
    flush: () => store.flush(),
    resumeInterrupted,
    async close() {
      if (closing) return;
      closing = true;
      for (const rt of runtimes.values()) rt.abortRun();
      runtimes.clear();
      integrations.close();
      await store.flush();
    },
  };
}
