import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { CREDENTIAL_EVENT_TYPES } from '../../lambdas/shared/contract/events';
import { STATE_MACHINES } from '../../lambdas/shared/contract/names';
import { WORKFLOW_ERRORS } from '../../lambdas/shared/contract/workflow';
import {
  type CredentialWorkflowSubstitutions,
  STATE_MACHINE_DIR,
  definitionPath,
  loadDefinition,
  placeholdersOf,
} from '../../statemachines/load';
import { SUBSTITUTIONS } from './harness';

interface AnyState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Error?: string;
  readonly Catch?: readonly { ErrorEquals: readonly string[]; Next: string }[];
  readonly Retry?: readonly { ErrorEquals: readonly string[]; MaxAttempts?: number }[];
  readonly Parameters?: Record<string, unknown>;
  readonly ResultSelector?: Record<string, unknown>;
}

// asl-validator ships no type declarations.
const aslValidator = createRequire(import.meta.url)('asl-validator') as (
  definition: unknown,
  options: { checkArn: boolean; checkPaths: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

const definitionFiles = readdirSync(STATE_MACHINE_DIR).filter((f) => f.endsWith('.asl.json'));
const rawText = readFileSync(definitionPath(STATE_MACHINES.credential), 'utf8');
const filled = JSON.parse(loadDefinition(STATE_MACHINES.credential, SUBSTITUTIONS)) as {
  States: Record<string, AnyState>;
};
const states = Object.entries(filled.States);
const tasks = states.filter(([, s]) => s.Type === 'Task');

function validate(definition: unknown): { isValid: boolean; errors: string } {
  const result = aslValidator(definition, { checkArn: true, checkPaths: true });
  return { isValid: result.isValid, errors: result.errorsText('\n') };
}

describe('state machine definitions', () => {
  it('has a definition file for every state machine and no other', () => {
    // Assess
    expect(definitionFiles.sort()).toEqual(Object.values(STATE_MACHINES).map((n) => `${n}.asl.json`).sort());
  });

  it.each(definitionFiles)('%s is valid Amazon States Language, before and after substitution', (file) => {
    // Prepare
    const text = readFileSync(join(STATE_MACHINE_DIR, file), 'utf8');
    const substituted = loadDefinition(file.replace('.asl.json', '') as typeof STATE_MACHINES.credential, SUBSTITUTIONS);

    // Act
    const before = validate(JSON.parse(text));
    const after = validate(JSON.parse(substituted));

    // Assess
    expect(before.errors).toBe('');
    expect(before.isValid).toBe(true);
    expect(after.errors).toBe('');
    expect(after.isValid).toBe(true);
  });

  it('catches a broken definition, so a pass above means something', () => {
    // Prepare
    const broken = JSON.parse(rawText) as { States: Record<string, Record<string, unknown>> };
    const serialize = broken.States['Serialize'];
    if (!serialize) throw new Error('Serialize state missing');
    serialize['Next'] = 'NoSuchState';

    // Act
    const result = validate(broken);

    // Assess
    expect(result.isValid).toBe(false);
  });

  it('uses exactly the placeholders load.ts declares', () => {
    // Prepare: a literal typed as the substitutions interface has every key and no other (excess-property check)
    const declared: CredentialWorkflowSubstitutions = {
      IdentityTableName: 't',
      UserPoolId: 'p',
      CredentialTasksFunctionArn: 'f',
      EventBusName: 'b',
      EventSource: 's',
      MaxCredentialsPerUser: '1',
    };

    // Act
    const used = placeholdersOf(rawText);

    // Assess
    expect(used).toEqual(Object.keys(declared).sort());
  });

  it('loads with every placeholder filled and refuses a missing substitution', () => {
    // Prepare
    const { MaxCredentialsPerUser: _unused, ...partial } = SUBSTITUTIONS;

    // Act
    const loaded = loadDefinition(STATE_MACHINES.credential, SUBSTITUTIONS);

    // Assess
    expect(placeholdersOf(loaded)).toEqual([]);
    expect(loaded).toContain(`"N": "${SUBSTITUTIONS.MaxCredentialsPerUser}"`);
    expect(() => loadDefinition(STATE_MACHINES.credential, partial as CredentialWorkflowSubstitutions)).toThrow(
      /missing \[MaxCredentialsPerUser\]/,
    );
  });

  it('is accepted by aws-local-stepfunctions, which the local stack runs it with', () => {
    // Act
    const construct = () => new StateMachine(filled as unknown as StateMachineDefinition);

    // Assess
    expect(construct).not.toThrow();
  });
});

describe('credential workflow design rules', () => {
  it('fails only with the workflow errors the API maps', () => {
    // Prepare
    const failErrors = states.filter(([, s]) => s.Type === 'Fail').map(([, s]) => s.Error);

    // Assess
    expect(failErrors.length).toBeGreaterThan(0);
    for (const error of failErrors) expect(WORKFLOW_ERRORS).toContain(error);
  });

  it('catches every error of every task, so no task failure ends a run unhandled', () => {
    // Assess
    for (const [name, state] of tasks) {
      const catchesAll = state.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')) ?? false;
      expect(catchesAll, name).toBe(true);
    }
  });

  it('never calls a Cognito API whose answer holds a client secret from a task', () => {
    // Prepare: an SDK integration's raw result is recorded in the execution history
    const secretBearing = /cognitoidentityprovider:(createUserPoolClient|describeUserPoolClient|updateUserPoolClient|addUserPoolClientSecret)/i;

    // Assess
    for (const [name, state] of tasks) expect(state.Resource ?? '', name).not.toMatch(secretBearing);
  });

  it('keeps only the client id of the CreateClient function result', () => {
    // Prepare
    const createClient = filled.States['CreateClient'];

    // Assess
    expect(createClient?.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(createClient?.ResultSelector).toEqual({ 'clientId.$': '$.Payload.clientId' });
  });

  it('never retries an error that is an answer (a failed condition, a client already gone)', () => {
    // Prepare
    const answers = ['DynamoDB.ConditionalCheckFailedException', 'CognitoIdentityProvider.ResourceNotFoundException'];
    const matches = (errorEquals: readonly string[], error: string) =>
      errorEquals.includes(error) || errorEquals.includes('States.TaskFailed') || errorEquals.includes('States.ALL');
    let checked = 0;

    // Assess: the first retrier that would take the answer names it and retries it zero times
    for (const [name, state] of tasks) {
      for (const answer of answers) {
        if (!usesService(state, answer)) continue;
        const first = state.Retry?.find((r) => matches(r.ErrorEquals, answer));
        if (first === undefined) continue;
        checked++;
        expect(first.ErrorEquals, `${name} / ${answer}`).toContain(answer);
        expect(first.MaxAttempts, `${name} / ${answer}`).toBe(0);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(7);
  });

  it('compensates a commit only after reading whether it took effect', () => {
    // Prepare: every way into CompensateDeleteNewClient, by Next, Choice rule, Default or Catch
    const into = (state: AnyState & Record<string, unknown>): string[] => [
      ...(typeof state['Next'] === 'string' ? [state['Next']] : []),
      ...(typeof state['Default'] === 'string' ? [state['Default']] : []),
      ...((state['Choices'] as { Next: string }[] | undefined) ?? []).map((c) => c.Next),
      ...(state.Catch ?? []).map((c) => c.Next),
    ];

    // Act
    const predecessors = states
      .filter(([, state]) => into(state as AnyState & Record<string, unknown>).includes('CompensateDeleteNewClient'))
      .map(([name]) => name);

    // Assess
    expect(predecessors).toEqual(['ChooseAfterCommitCheck']);
    expect(filled.States['CheckNewClientCommitted']?.Parameters).toMatchObject({ ConsistentRead: true });
  });

  it('publishes only the credential event types, from the product source, on the product bus', () => {
    // Prepare
    const entries = tasks
      .filter(([, s]) => s.Resource === 'arn:aws:states:::events:putEvents')
      .flatMap(([, s]) => s.Parameters?.['Entries'] as Record<string, unknown>[]);

    // Assess
    expect(entries.map((e) => e['DetailType']).sort()).toEqual([...CREDENTIAL_EVENT_TYPES].sort());
    for (const entry of entries) {
      expect(entry['Source']).toBe(SUBSTITUTIONS.EventSource);
      expect(entry['EventBusName']).toBe(SUBSTITUTIONS.EventBusName);
    }
  });
});

/** Whether a task can meet the answer an error name stands for (a failed condition needs a condition). */
function usesService(state: AnyState, error: string): boolean {
  const resource = state.Resource ?? '';
  if (error === 'DynamoDB.ConditionalCheckFailedException') {
    return resource.startsWith('arn:aws:states:::dynamodb:') && state.Parameters?.['ConditionExpression'] !== undefined;
  }
  if (error.startsWith('DynamoDB.')) return resource.startsWith('arn:aws:states:::dynamodb:');
  if (error.startsWith('CognitoIdentityProvider.')) return resource.includes(':cognitoidentityprovider:');
  return false;
}
