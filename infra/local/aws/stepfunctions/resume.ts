/**
 * Where an execution that was RUNNING when the local stack stopped (a crash, SIGKILL, or close()) carries on at
 * the next start. AWS never loses an execution's position; aws-local-stepfunctions keeps it in memory only, so the
 * emulator persists the history before every Task's side effect (emulator.ts, `runTask`) and, at the next start,
 * re-enters the top-level state the history shows last entered, with the input that state was entered with.
 *
 * Why re-entering is sound: a state is re-run only when the crash hit it before its outcome reached the disk, so
 * every Task has at-least-once semantics, as a retried AWS task has. The workflows of this product are written for
 * that (credential-workflow.asl.json: the lock step accepts its own lockOwner, commits carry ClientRequestToken =
 * operationId, deletes treat "not found" as done, events carry an eventId for dedupe). One step cannot be made
 * idempotent: a re-run CreateClient creates a second app client, and the first becomes an orphan that the
 * reconciliation sweeper deletes (invariant I4 holds once it has run).
 *
 * What cannot be resumed: a Map or Parallel state that contains Task states (its iterations or branches were in
 * flight; re-running all of them would repeat side effects a Map/Parallel does not promise to be idempotent). Such
 * an execution is closed as FAILED with States.Runtime, which is also what every interrupted execution gets when
 * the emulator runs with `onRestart: 'fail'`. A Map or Parallel made only of Pass/Choice/Wait/Succeed/Fail states
 * has no side effects and is re-run whole.
 */
import type { Definition, JsonValue, StateDef } from './definition';
import { forEachState } from './definition';

/** The history as the emulator stores it (only the fields this module reads). */
export interface HistoryEventView {
  readonly type: string;
  readonly timestamp: number;
  readonly stateEnteredEventDetails?: { readonly name?: string; readonly input?: string };
}

export type ResumePlan =
  /** Nothing was entered yet: run from StartAt with the execution input. */
  | { readonly kind: 'start' }
  /** Re-enter `state` with `input`; a Wait state with Seconds only waits for what is left of it. */
  | {
      readonly kind: 'state';
      readonly state: string;
      readonly input: JsonValue;
      readonly enteredAt: number;
      readonly waitMs?: number;
    }
  /** The execution cannot be resumed (closed as FAILED with this cause). */
  | { readonly kind: 'impossible'; readonly reason: string };

/** Whether a state, or any state nested in it, is a Task (a side effect). */
function containsTask(state: StateDef): boolean {
  if (state.Type === 'Task') return true;
  let found = false;
  const nested: Definition[] = [];
  if (state.Type === 'Parallel' && Array.isArray(state['Branches'])) nested.push(...(state['Branches'] as Definition[]));
  if (state.Type === 'Map') {
    const processor = (state['ItemProcessor'] ?? state['Iterator']) as Definition | undefined;
    if (processor) nested.push(processor);
  }
  for (const machine of nested) {
    forEachState(machine, (_name, inner) => {
      if (inner.Type === 'Task') found = true;
    });
  }
  return found;
}

/**
 * Decides where an interrupted execution resumes. State names are unique machine-wide (definition.ts), so the last
 * StateEntered naming a top-level state is the state the execution was in; states nested in a Map or Parallel
 * are never resumed on their own.
 */
export function planResume(definition: Definition, history: readonly HistoryEventView[], now: number): ResumePlan {
  let entered: HistoryEventView | undefined;
  for (let i = history.length - 1; i >= 0; i--) {
    const event = history[i] as HistoryEventView;
    const name = event.stateEnteredEventDetails?.name;
    if (event.type.endsWith('StateEntered') && name !== undefined && Object.hasOwn(definition.States, name)) {
      entered = event;
      break;
    }
  }
  if (!entered) return { kind: 'start' };
  const name = entered.stateEnteredEventDetails?.name as string;
  const state = definition.States[name] as StateDef;
  if ((state.Type === 'Map' || state.Type === 'Parallel') && containsTask(state)) {
    return { kind: 'impossible', reason: `the ${state.Type} state '${name}' had Task states in flight` };
  }
  let input: JsonValue;
  try {
    input = JSON.parse(entered.stateEnteredEventDetails?.input ?? 'null') as JsonValue;
  } catch {
    return { kind: 'impossible', reason: `the recorded input of state '${name}' is not JSON` };
  }
  const plan = { kind: 'state' as const, state: name, input, enteredAt: entered.timestamp };
  if (state.Type === 'Wait' && typeof state['Seconds'] === 'number') {
    // AWS would end the wait at entry + Seconds; the restart must not make it longer.
    return { ...plan, waitMs: Math.max(0, entered.timestamp + state['Seconds'] * 1000 - now) };
  }
  return plan;
}
