/**
 * Where an interrupted execution resumes (infra/local/aws/stepfunctions/resume.ts), from its stored history. The
 * emulator's restart behaviour end to end is in stepfunctions.test.ts ("restarts").
 */
import { describe, expect, it } from 'vitest';
import type { Definition } from '../../infra/local/aws/stepfunctions/definition';
import { planResume, type HistoryEventView } from '../../infra/local/aws/stepfunctions/resume';

const definition: Definition = {
  StartAt: 'Scopes',
  States: {
    Scopes: {
      Type: 'Map',
      ItemsPath: '$.items',
      ItemProcessor: { StartAt: 'Wrap', States: { Wrap: { Type: 'Pass', End: true } } },
      Next: 'Call',
    },
    Call: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Next: 'Fan' },
    Fan: {
      Type: 'Parallel',
      Branches: [{ StartAt: 'Inner', States: { Inner: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', End: true } } }],
      Next: 'Hold',
    },
    Hold: { Type: 'Wait', Seconds: 10, End: true },
  },
};

const entered = (type: string, name: string, input: unknown, timestamp = 1_000): HistoryEventView => ({
  type: `${type}StateEntered`,
  timestamp,
  stateEnteredEventDetails: { name, input: JSON.stringify(input) },
});
const started: HistoryEventView = { type: 'ExecutionStarted', timestamp: 0 };

describe('planResume', () => {
  it('starts over from StartAt when no state was entered yet', () => {
    expect(planResume(definition, [started], 5_000)).toEqual({ kind: 'start' });
  });

  it('re-enters the last top-level state with the input it was entered with', () => {
    // Prepare
    const history = [started, entered('Map', 'Scopes', { items: [1] }), entered('Task', 'Call', { n: 1 }, 2_000), { type: 'TaskScheduled', timestamp: 2_001 }];

    // Act
    const plan = planResume(definition, history, 5_000);

    // Assess
    expect(plan).toEqual({ kind: 'state', state: 'Call', input: { n: 1 }, enteredAt: 2_000 });
  });

  it('re-runs a Map made only of side-effect-free states, ignoring the states nested in it', () => {
    // Prepare: the last StateEntered is the Map's inner Pass state
    const history = [started, entered('Map', 'Scopes', { items: [1, 2] }), entered('Pass', 'Wrap', 1)];

    // Act
    const plan = planResume(definition, history, 5_000);

    // Assess
    expect(plan).toMatchObject({ kind: 'state', state: 'Scopes', input: { items: [1, 2] } });
  });

  it('refuses to resume a Parallel state whose branches hold Task states', () => {
    // Prepare
    const history = [started, entered('Task', 'Call', {}), entered('Parallel', 'Fan', { x: 1 }), entered('Task', 'Inner', { x: 1 })];

    // Act
    const plan = planResume(definition, history, 5_000);

    // Assess
    expect(plan).toEqual({ kind: 'impossible', reason: "the Parallel state 'Fan' had Task states in flight" });
  });

  it('shortens a Wait with Seconds by the time already waited, never below zero', () => {
    const history = [started, entered('Wait', 'Hold', {}, 10_000)];
    expect(planResume(definition, history, 14_000)).toMatchObject({ kind: 'state', state: 'Hold', waitMs: 6_000 });
    expect(planResume(definition, history, 30_000)).toMatchObject({ kind: 'state', state: 'Hold', waitMs: 0 });
  });
});
