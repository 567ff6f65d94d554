/**
 * Names and ARNs of the Step Functions emulation, with the rules and error messages of the AWS API reference
 * (CreateStateMachine / StartExecution `name`; `arn:aws:states:<region>:<account>:stateMachine:<name>` and
 * `...:execution:<stateMachineName>:<executionName>`).
 */
import { AwsServiceError } from '../types';

const NAME_MAX = 80;
/** Forbidden by the API reference: brackets, wildcards and these special characters (and whitespace, control characters). */
const FORBIDDEN = new Set([...'<>{}[]?*"#%\\^|~`$&,;:/']);

/** True when `name` is a valid state machine or execution name (1-80 characters, none of the forbidden ones). */
export function isValidName(name: string): boolean {
  const chars = [...name];
  if (chars.length < 1 || chars.length > NAME_MAX) return false;
  return chars.every((c) => {
    const code = c.codePointAt(0) as number;
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return false;
    return !FORBIDDEN.has(c) && !/\s/u.test(c);
  });
}

export function assertValidName(name: string): void {
  if (!isValidName(name)) throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
}

export function stateMachineArn(region: string, accountId: string, name: string): string {
  return `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
}

export function executionArn(region: string, accountId: string, stateMachineName: string, name: string): string {
  return `arn:aws:states:${region}:${accountId}:execution:${stateMachineName}:${name}`;
}

interface ParsedArn {
  readonly region: string;
  readonly accountId: string;
  readonly resourceType: string;
  readonly parts: readonly string[];
}

/** Splits a Step Functions ARN; throws InvalidArn the way AWS words it. */
function parseStatesArn(arn: string): ParsedArn {
  const parts = arn.split(':');
  if (parts.length < 7 || parts[0] !== 'arn' || !/^aws(-[a-z]+)*$/.test(parts[1] ?? '') || parts[2] !== 'states') {
    throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Invalid ARN prefix: ${arn}'`);
  }
  return {
    region: parts[3] as string,
    accountId: parts[4] as string,
    resourceType: parts[5] as string,
    parts: parts.slice(6),
  };
}

function wrongType(resourceType: string): AwsServiceError {
  return new AwsServiceError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${resourceType.toLowerCase()}'`);
}

export interface StateMachineRef {
  readonly region: string;
  readonly accountId: string;
  readonly name: string;
  /** A version number or alias name after the name; this emulation has neither, so such an ARN never exists. */
  readonly qualifier?: string;
}

export function parseStateMachineArn(arn: string): StateMachineRef {
  const p = parseStatesArn(arn);
  if (p.resourceType !== 'stateMachine') throw wrongType(p.resourceType);
  const [name, qualifier, ...rest] = p.parts;
  if (!name || rest.length > 0) throw new AwsServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
  return { region: p.region, accountId: p.accountId, name, ...(qualifier === undefined ? {} : { qualifier }) };
}

export interface ExecutionRef {
  readonly region: string;
  readonly accountId: string;
  readonly stateMachineName: string;
  readonly name: string;
}

export function parseExecutionArn(arn: string): ExecutionRef {
  const p = parseStatesArn(arn);
  if (p.resourceType !== 'execution') throw wrongType(p.resourceType);
  const [stateMachineName, name, ...rest] = p.parts;
  if (!stateMachineName || !name || rest.length > 0) throw new AwsServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
  return { region: p.region, accountId: p.accountId, stateMachineName, name };
}
