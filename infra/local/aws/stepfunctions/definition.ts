/**
 * Parsing and validation of state machine definitions (Amazon States Language, JSONPath flavour).
 *
 * CreateStateMachine/UpdateStateMachine reject a bad definition with InvalidDefinition, as AWS does. The checks
 * here are structural (JSON, StartAt, States, transitions, Task resources) and name what aws-local-stepfunctions
 * cannot run, so a definition that would behave differently locally fails at creation instead of misbehaving at
 * run time. The full ASL schema check is the one aws-local-stepfunctions runs (asl-validator) when it is given
 * the definition; `validateDefinition` calls it through `schemaCheck`.
 */
import { AwsServiceError } from '../types';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface StateDef {
  readonly Type: string;
  readonly Resource?: string;
  readonly TimeoutSeconds?: number;
  readonly HeartbeatSeconds?: number;
  readonly Error?: string;
  readonly ErrorPath?: string;
  readonly Cause?: string;
  readonly CausePath?: string;
  readonly [key: string]: unknown;
}

export interface Definition {
  readonly StartAt: string;
  readonly States: Record<string, StateDef>;
  readonly TimeoutSeconds?: number;
  readonly [key: string]: unknown;
}

const STATE_TYPES = new Set(['Task', 'Parallel', 'Map', 'Pass', 'Wait', 'Choice', 'Succeed', 'Fail']);

/**
 * Fields of newer ASL features that aws-local-stepfunctions 3.0 ignores or cannot evaluate. Running such a
 * definition would silently differ from AWS, so it is refused.
 */
const UNSUPPORTED_FIELDS = ['QueryLanguage', 'Assign', 'Arguments', 'Output', 'Credentials', 'ItemReader', 'ResultWriter', 'ItemBatcher'];

function invalid(code: string, detail: string): AwsServiceError {
  return new AwsServiceError('InvalidDefinition', `Invalid State Machine Definition: '${code}: ${detail}'`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Visits every state, including the states of Parallel branches and Map item processors. */
export function forEachState(
  machine: { readonly States: Record<string, StateDef> },
  visit: (name: string, state: StateDef, path: string) => void,
  path = '/States',
): void {
  for (const [name, state] of Object.entries(machine.States)) {
    visit(name, state, `${path}/${name}`);
    if (state.Type === 'Parallel' && Array.isArray(state['Branches'])) {
      (state['Branches'] as unknown[]).forEach((branch, i) => {
        if (isObject(branch) && isObject(branch['States'])) {
          forEachState(branch as unknown as Definition, visit, `${path}/${name}/Branches/${i}/States`);
        }
      });
    }
    if (state.Type === 'Map') {
      const key = state['ItemProcessor'] !== undefined ? 'ItemProcessor' : 'Iterator';
      const processor = state[key];
      if (isObject(processor) && isObject(processor['States'])) {
        forEachState(processor as unknown as Definition, visit, `${path}/${name}/${key}/States`);
      }
    }
  }
}

/** Structural check of one (sub-)machine: StartAt, states, transitions. */
function checkMachine(machine: unknown, path: string): void {
  if (!isObject(machine)) throw invalid('SCHEMA_VALIDATION_FAILED', `Value is not an object at ${path || '/'}`);
  const missing = ['StartAt', 'States'].filter((k) => machine[k] === undefined);
  if (missing.length > 0) {
    throw invalid('SCHEMA_VALIDATION_FAILED', `These fields are required: [${missing.join(', ')}] at ${path || '/'}`);
  }
  const states = machine['States'];
  if (!isObject(states) || Object.keys(states).length === 0) {
    throw invalid('SCHEMA_VALIDATION_FAILED', `States must be a non-empty object at ${path}/States`);
  }
  if (typeof machine['StartAt'] !== 'string' || !(machine['StartAt'] in states)) {
    throw invalid('MISSING_TRANSITION_TARGET', `Missing 'Next' target: ${String(machine['StartAt'])} at ${path}/StartAt`);
  }
  for (const [name, state] of Object.entries(states)) {
    const at = `${path}/States/${name}`;
    if (!isObject(state)) throw invalid('SCHEMA_VALIDATION_FAILED', `Value is not an object at ${at}`);
    if (typeof state['Type'] !== 'string' || !STATE_TYPES.has(state['Type'])) {
      throw invalid('SCHEMA_VALIDATION_FAILED', `Value is not a valid state type at ${at}/Type`);
    }
    const targets: unknown[] = [];
    if (state['Next'] !== undefined) targets.push(state['Next']);
    if (state['Default'] !== undefined) targets.push(state['Default']);
    for (const list of ['Choices', 'Catch']) {
      if (Array.isArray(state[list])) for (const rule of state[list] as unknown[]) if (isObject(rule)) targets.push(rule['Next']);
    }
    for (const target of targets) {
      if (typeof target !== 'string' || !(target in states)) {
        throw invalid('MISSING_TRANSITION_TARGET', `Missing 'Next' target: ${String(target)} at ${at}`);
      }
    }
    const terminal = state['Type'] === 'Succeed' || state['Type'] === 'Fail' || state['Type'] === 'Choice';
    if (!terminal && state['Next'] === undefined && state['End'] !== true) {
      throw invalid('SCHEMA_VALIDATION_FAILED', `A state must have either 'Next' or 'End': true at ${at}`);
    }
    if (state['Type'] === 'Task' && typeof state['Resource'] !== 'string') {
      throw invalid('SCHEMA_VALIDATION_FAILED', `These fields are required: [Resource] at ${at}`);
    }
    for (const field of UNSUPPORTED_FIELDS) {
      if (state[field] !== undefined) {
        throw invalid('UNSUPPORTED_BY_LOCAL_EMULATION', `Field '${field}' is not supported by the local Step Functions emulation at ${at}`);
      }
    }
    if (state['Type'] === 'Parallel') {
      if (!Array.isArray(state['Branches']) || state['Branches'].length === 0) {
        throw invalid('SCHEMA_VALIDATION_FAILED', `These fields are required: [Branches] at ${at}`);
      }
      (state['Branches'] as unknown[]).forEach((b, i) => checkMachine(b, `${at}/Branches/${i}`));
    }
    if (state['Type'] === 'Map') {
      const key = state['ItemProcessor'] !== undefined ? 'ItemProcessor' : 'Iterator';
      const processor = state[key];
      if (isObject(processor) && isObject(processor['ProcessorConfig']) && processor['ProcessorConfig']['Mode'] === 'DISTRIBUTED') {
        throw invalid('UNSUPPORTED_BY_LOCAL_EMULATION', `Distributed Map is not supported by the local Step Functions emulation at ${at}`);
      }
      checkMachine(processor, `${at}/${key}`);
    }
  }
}

export type SchemaCheck = (definition: Definition) => void;

/**
 * Parses and validates a definition string. `schemaCheck` is the full ASL schema validation (it throws with a
 * readable message); state names must be unique across the whole machine, which the task handlers rely on.
 */
export function validateDefinition(text: string, schemaCheck?: SchemaCheck): Definition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalid('INVALID_JSON_DESCRIPTION', (err as Error).message);
  }
  if (isObject(parsed) && parsed['QueryLanguage'] !== undefined && parsed['QueryLanguage'] !== 'JSONPath') {
    throw invalid('UNSUPPORTED_BY_LOCAL_EMULATION', `QueryLanguage '${String(parsed['QueryLanguage'])}' is not supported by the local Step Functions emulation at /QueryLanguage`);
  }
  checkMachine(parsed, '');
  const definition = parsed as Definition;
  const seen = new Set<string>();
  forEachState(definition, (name, _state, path) => {
    if (seen.has(name)) throw invalid('DUPLICATE_STATE_NAME', `Duplicate State name: ${name} at ${path}`);
    seen.add(name);
  });
  if (schemaCheck) {
    try {
      schemaCheck(definition);
    } catch (err) {
      throw invalid('SCHEMA_VALIDATION_FAILED', (err as Error).message.replace(/\s+/g, ' ').trim());
    }
  }
  return definition;
}

/** Every state of a definition by name (names are unique machine-wide). */
export function indexStates(definition: Definition): Map<string, StateDef> {
  const index = new Map<string, StateDef>();
  forEachState(definition, (name, state) => index.set(name, state));
  return index;
}
