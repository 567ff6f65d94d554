/**
 * Input validation in the shape Cognito answers it: a JSON value of the wrong type is a SerializationException;
 * a missing member or a broken constraint is an InvalidParameterException whose message lists every problem, e.g.
 * `1 validation error detected: Value null at 'userPoolId' failed to satisfy constraint: Member must not be null`.
 * Sensitive members (passwords, tokens, codes) are never echoed.
 */
import { AwsServiceError } from '../types';

/** Cognito API reference patterns (anchored here: AWS matches them against the whole value). */
export const PATTERNS = {
  userPoolId: /^[\w-]+_[0-9a-zA-Z]+$/,
  clientId: /^[\w+]+$/,
  clientName: /^[\w\s+=,.@-]+$/,
  poolName: /^[\w\s+=,.@-]+$/,
  username: /^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$/u,
  password: /^\S+(.*\S)?$/su,
  code: /^\S+$/,
  groupName: /^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$/u,
  arn: /^arn:[\w+=/,.@-]+:[\w+=/,.@-]+:([\w+=/,.@-]*)?:[0-9]+:[\w+=/,.@-]+(:[\w+=/,.@-]+)?(:[\w+=/,.@-]+)?$/,
  resourceServerIdentifier: /^[\x21\x23-\x5B\x5D-\x7E]+$/,
  resourceServerName: /^[\w\s+=,.@-]+$/,
  scopeName: /^[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]+$/,
  scope: /^[\x21\x23-\x5B\x5D-\x7E]+$/,
  redirectUrl: /^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$/u,
  domain: /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
  paginationKey: /^\S+$/,
  secretHash: /^[\w+=/]+$/,
  token: /^[A-Za-z0-9\-_=.]+$/,
  attributeName: /^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$/u,
  clientSecret: /^[\w+]+$/,
} as const;

interface StringRules {
  readonly required?: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: RegExp;
  readonly values?: readonly string[];
  readonly sensitive?: boolean;
}

interface ListRules {
  readonly required?: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly item?: StringRules;
}

interface IntRules {
  readonly required?: boolean;
  readonly min?: number;
  readonly max?: number;
}

function memberName(path: string): string {
  return path
    .split('.')
    .map((p) => (p.length > 0 ? p[0]!.toLowerCase() + p.slice(1) : p))
    .join('.');
}

function serializationError(path: string, expected: string): AwsServiceError {
  return new AwsServiceError('SerializationException', `Expected ${expected} for '${memberName(path)}'`);
}

/** Reads members of one request object, collecting constraint violations until `done()`. */
export class InputReader {
  private readonly problems: string[];

  constructor(
    private readonly raw: Record<string, unknown>,
    private readonly prefix = '',
    problems?: string[],
  ) {
    this.problems = problems ?? [];
  }

  private path(name: string): string {
    return this.prefix === '' ? name : `${this.prefix}.${name}`;
  }

  private fail(path: string, value: unknown, constraint: string, sensitive = false): void {
    const shown = value === undefined || value === null ? 'null' : `'${Array.isArray(value) ? `[${value.join(', ')}]` : String(value)}'`;
    const at = sensitive && value !== undefined && value !== null ? 'Value at' : `Value ${shown} at`;
    this.problems.push(`${at} '${memberName(path)}' failed to satisfy constraint: ${constraint}`);
  }

  private checkString(path: string, value: string, rules: StringRules): void {
    if (rules.min !== undefined && value.length < rules.min) {
      this.fail(path, value, `Member must have length greater than or equal to ${rules.min}`, rules.sensitive);
    }
    if (rules.max !== undefined && value.length > rules.max) {
      this.fail(path, value, `Member must have length less than or equal to ${rules.max}`, rules.sensitive);
    }
    if (rules.pattern !== undefined && value.length > 0 && !rules.pattern.test(value)) {
      const source = rules.pattern.source.replace(/^\^/, '').replace(/\$$/, '');
      this.fail(path, value, `Member must satisfy regular expression pattern: ${source}`, rules.sensitive);
    }
    if (rules.values !== undefined && !rules.values.includes(value)) {
      this.fail(path, value, `Member must satisfy enum value set: [${rules.values.join(', ')}]`, rules.sensitive);
    }
  }

  string(name: string, rules: StringRules & { required: true }): string;
  string(name: string, rules?: StringRules): string | undefined;
  string(name: string, rules: StringRules = {}): string | undefined {
    const path = this.path(name);
    const value = this.raw[name];
    if (value === undefined || value === null) {
      if (rules.required) this.fail(path, undefined, 'Member must not be null');
      return rules.required ? '' : undefined;
    }
    if (typeof value !== 'string') throw serializationError(path, 'a string');
    this.checkString(path, value, rules);
    return value;
  }

  int(name: string, rules: IntRules = {}): number | undefined {
    const path = this.path(name);
    const value = this.raw[name];
    if (value === undefined || value === null) {
      if (rules.required) this.fail(path, undefined, 'Member must not be null');
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isInteger(value)) throw serializationError(path, 'an integer');
    if (rules.min !== undefined && value < rules.min) {
      this.fail(path, value, `Member must have value greater than or equal to ${rules.min}`);
    }
    if (rules.max !== undefined && value > rules.max) {
      this.fail(path, value, `Member must have value less than or equal to ${rules.max}`);
    }
    return value;
  }

  bool(name: string): boolean | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') throw serializationError(this.path(name), 'a boolean');
    return value;
  }

  stringList(name: string, rules: ListRules = {}): string[] | undefined {
    const path = this.path(name);
    const value = this.raw[name];
    if (value === undefined || value === null) {
      if (rules.required) this.fail(path, undefined, 'Member must not be null');
      return undefined;
    }
    if (!Array.isArray(value)) throw serializationError(path, 'a list');
    value.forEach((item, i) => {
      if (typeof item !== 'string') throw serializationError(`${path}.${i + 1}.member`, 'a string');
    });
    const list = value as string[];
    if (rules.min !== undefined && list.length < rules.min) {
      this.fail(path, list, `Member must have length greater than or equal to ${rules.min}`);
    }
    if (rules.max !== undefined && list.length > rules.max) {
      this.fail(path, list, `Member must have length less than or equal to ${rules.max}`);
    }
    if (rules.item) list.forEach((item, i) => this.checkString(`${path}.${i + 1}.member`, item, rules.item as StringRules));
    return list;
  }

  /** A string-to-string map such as ClientMetadata or AuthParameters. */
  stringMap(name: string, rules: { sensitive?: boolean } = {}): Record<string, string> | undefined {
    const path = this.path(name);
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) throw serializationError(path, 'a map');
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== 'string') throw serializationError(`${path}.${rules.sensitive ? '<key>' : k}`, 'a string');
    }
    return value as Record<string, string>;
  }

  /** A nested structure, read with its own reader that reports into this one. */
  object(name: string, required = false): InputReader | undefined {
    const path = this.path(name);
    const value = this.raw[name];
    if (value === undefined || value === null) {
      if (required) this.fail(path, undefined, 'Member must not be null');
      return undefined;
    }
    if (typeof value !== 'object' || Array.isArray(value)) throw serializationError(path, 'a structure');
    return new InputReader(value as Record<string, unknown>, path, this.problems);
  }

  /** A list of structures, each read with its own reader. */
  objectList(name: string, rules: { required?: boolean; max?: number } = {}): InputReader[] | undefined {
    const path = this.path(name);
    const value = this.raw[name];
    if (value === undefined || value === null) {
      if (rules.required) this.fail(path, undefined, 'Member must not be null');
      return undefined;
    }
    if (!Array.isArray(value)) throw serializationError(path, 'a list');
    if (rules.max !== undefined && value.length > rules.max) {
      this.problems.push(
        `Value at '${memberName(path)}' failed to satisfy constraint: Member must have length less than or equal to ${rules.max}`,
      );
    }
    return value.map((item, i) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        throw serializationError(`${path}.${i + 1}.member`, 'a structure');
      }
      return new InputReader(item as Record<string, unknown>, `${path}.${i + 1}.member`, this.problems);
    });
  }

  /** Name/Value attribute lists (UserAttributes). */
  attributes(name: string): { Name: string; Value: string }[] | undefined {
    const items = this.objectList(name);
    if (items === undefined) return undefined;
    return items.map((r) => ({
      Name: r.string('Name', { required: true, min: 1, max: 32, pattern: PATTERNS.attributeName }),
      Value: r.string('Value', { max: 2048, sensitive: true }) ?? '',
    }));
  }

  /** The raw value of a member, for echoing settings back unchanged. */
  raw_(name: string): unknown {
    return this.raw[name];
  }

  /** Throws one InvalidParameterException listing every problem found so far. */
  done(): void {
    if (this.problems.length === 0) return;
    const n = this.problems.length;
    throw new AwsServiceError(
      'InvalidParameterException',
      `${n} validation error${n === 1 ? '' : 's'} detected: ${this.problems.join('; ')}`,
    );
  }
}

export function invalidParameter(message: string): AwsServiceError {
  return new AwsServiceError('InvalidParameterException', message);
}
