/**
 * EventBridge event patterns, compiled once and matched against events, following the EventBridge user guide
 * ("Creating event patterns", "Content filtering", "Arrays in event patterns", "Matching null values") and the
 * semantics of AWS's open-source matcher (aws/event-ruler), whose error messages InvalidEventPatternException
 * reuses. No maintained npm package implements these semantics, hence this module.
 *
 * Semantics in brief:
 * - A pattern is a JSON object. Nested objects mirror the event's structure; keys join with "." (so
 *   `{"a": {"b": [..]}}` and `{"a.b": [..]}` are the same field, on either side). Every field must match (AND).
 * - A field's value is a non-empty array of matchers; the field matches if any matcher matches (OR).
 * - Only leaves (strings, numbers, booleans, null) are matched. An array in the event matches if any of its
 *   elements matches; objects inside arrays are matched element by element ("array consistency": two fields
 *   of the pattern cannot be satisfied by objects in different elements of the same array).
 * - A field missing from the event matches nothing, except `{"exists": false}`.
 * - `"$or": [ {..}, {..} ]` (at least two sub-patterns) matches if any sub-pattern matches.
 */
import { BlockList, isIP } from 'node:net';

export class InvalidEventPatternError extends Error {
  override readonly name = 'InvalidEventPatternException';
  constructor(reason: string) {
    super(`Event pattern is not valid. Reason: ${reason}`);
  }
}

type Leaf = string | number | boolean | null;

type Matcher =
  | { readonly kind: 'exact'; readonly value: Leaf }
  | { readonly kind: 'exists'; readonly value: boolean }
  | { readonly kind: 'test'; readonly test: (value: Leaf) => boolean };

interface FieldCondition {
  readonly path: string;
  readonly matchers: readonly Matcher[];
}

/** A pattern in disjunctive normal form: it matches if every condition of any one conjunction holds. */
type Conjunction = readonly FieldCondition[];

export interface CompiledEventPattern {
  /** The pattern as given (normalized JSON text). */
  readonly source: string;
  matches(event: unknown): boolean;
}

/** Parses and validates a pattern. Throws InvalidEventPatternError with EventBridge's reason when it is not valid. */
export function compileEventPattern(pattern: string | object): CompiledEventPattern {
  let parsed: unknown = pattern;
  if (typeof pattern === 'string') {
    try {
      parsed = JSON.parse(pattern);
    } catch (err) {
      throw new InvalidEventPatternError(`Filter is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (!isPlainObject(parsed)) throw new InvalidEventPatternError('Filter is not an object');
  const conjunctions = compileObject(parsed, '');
  return {
    source: JSON.stringify(parsed),
    matches: (event) => {
      if (!isPlainObject(event)) return false;
      const fields = flatten(event);
      return conjunctions.some((conjunction) => matchConjunction(conjunction, fields));
    },
  };
}

/** One-off convenience: does `event` match `pattern`? (TestEventPattern). */
export function matchesEventPattern(pattern: string | object, event: unknown): boolean {
  return compileEventPattern(pattern).matches(event);
}

// ---------------------------------------------------------------------------------------------------------------
// Compilation

const MATCH_TYPES = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `$or` is the OR primitive only in the form event-ruler recognizes; otherwise it is an ordinary field name. */
function isOrClause(value: unknown): value is Array<Record<string, unknown>> {
  return (
    Array.isArray(value) &&
    value.length >= 2 &&
    value.every((v) => isPlainObject(v) && !Object.keys(v).some((k) => MATCH_TYPES.has(k)))
  );
}

function compileObject(obj: Record<string, unknown>, prefix: string): Conjunction[] {
  let result: Conjunction[] = [[]];
  for (const [key, value] of Object.entries(obj)) {
    if (key === '$or' && isOrClause(value)) {
      const alternatives = value.flatMap((sub) => compileObject(sub, prefix));
      result = cross(result, alternatives);
      continue;
    }
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (Array.isArray(value)) {
      if (value.length === 0) throw new InvalidEventPatternError('Empty arrays are not allowed');
      const condition: FieldCondition = { path, matchers: value.map(compileMatcher) };
      result = result.map((c) => [...c, condition]);
    } else if (isPlainObject(value)) {
      result = cross(result, compileObject(value, path));
    } else {
      throw new InvalidEventPatternError(`"${key}" must be an object or an array`);
    }
  }
  return result;
}

function cross(left: Conjunction[], right: Conjunction[]): Conjunction[] {
  return left.flatMap((l) => right.map((r) => [...l, ...r]));
}

function compileMatcher(spec: unknown): Matcher {
  if (spec === null || typeof spec === 'string' || typeof spec === 'number' || typeof spec === 'boolean') {
    return { kind: 'exact', value: spec };
  }
  if (Array.isArray(spec)) throw new InvalidEventPatternError('Match value must be String, number, true, false, or null');
  const keys = Object.keys(spec as object);
  if (keys.length !== 1) throw new InvalidEventPatternError('Only one key allowed in match expression');
  const type = keys[0] as string;
  const arg = (spec as Record<string, unknown>)[type];
  switch (type) {
    case 'prefix':
    case 'suffix': {
      const { text, ignoreCase } = affixArgument(type, arg);
      return { kind: 'test', test: affixTest(type, [text], ignoreCase) };
    }
    case 'equals-ignore-case': {
      if (typeof arg !== 'string') throw new InvalidEventPatternError('equals-ignore-case match pattern must be a string');
      const folded = fold(arg);
      return { kind: 'test', test: (v) => typeof v === 'string' && fold(v) === folded };
    }
    case 'wildcard': {
      if (typeof arg !== 'string') throw new InvalidEventPatternError('wildcard match pattern must be a string');
      const regex = wildcardRegex(arg);
      return { kind: 'test', test: (v) => typeof v === 'string' && regex.test(v) };
    }
    case 'anything-but': {
      const excluded = anythingButExclusion(arg);
      return { kind: 'test', test: (v) => !excluded(v) };
    }
    case 'numeric':
      return compileNumeric(arg);
    case 'exists':
      if (typeof arg !== 'boolean') throw new InvalidEventPatternError('exists match pattern must be either true or false.');
      return { kind: 'exists', value: arg };
    case 'cidr':
      return compileCidr(arg);
    default:
      throw new InvalidEventPatternError(`Unrecognized match type ${type}`);
  }
}

function fold(s: string): string {
  return s.toLowerCase();
}

function affixArgument(type: 'prefix' | 'suffix', arg: unknown): { text: string; ignoreCase: boolean } {
  if (typeof arg === 'string') return { text: arg, ignoreCase: false };
  if (isPlainObject(arg) && Object.keys(arg).length === 1 && typeof arg['equals-ignore-case'] === 'string') {
    return { text: arg['equals-ignore-case'], ignoreCase: true };
  }
  throw new InvalidEventPatternError(`${type} match pattern must be a string`);
}

function affixTest(type: 'prefix' | 'suffix', texts: readonly string[], ignoreCase: boolean): (v: Leaf) => boolean {
  const wanted = ignoreCase ? texts.map(fold) : texts;
  return (v) => {
    if (typeof v !== 'string') return false;
    const value = ignoreCase ? fold(v) : v;
    return wanted.some((t) => (type === 'prefix' ? value.startsWith(t) : value.endsWith(t)));
  };
}

/** `*` matches any run of characters; `\*` and `\\` are literal; no other escapes; no `**`. */
function wildcardRegex(pattern: string): RegExp {
  let source = '';
  let previousWasStar = false;
  for (let i = 0; i < pattern.length; i += 1) {
    const ch = pattern[i] as string;
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next !== '*' && next !== '\\') throw new InvalidEventPatternError(`Invalid escape character at pos ${i}`);
      source += escapeRegex(next);
      i += 1;
      previousWasStar = false;
    } else if (ch === '*') {
      if (previousWasStar) throw new InvalidEventPatternError(`Consecutive wildcard characters at pos ${i}`);
      source += '.*';
      previousWasStar = true;
    } else {
      source += escapeRegex(ch);
      previousWasStar = false;
    }
  }
  return new RegExp(`^${source}$`, 's');
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const ANYTHING_BUT_VALUE = 'Value of anything-but must be an array or single string/number value.';

/** Returns the predicate of the values `anything-but` excludes (every other value, of any type, matches). */
function anythingButExclusion(arg: unknown): (v: Leaf) => boolean {
  if (typeof arg === 'string' || typeof arg === 'number') return (v) => v === arg;
  if (Array.isArray(arg)) {
    if (arg.length === 0) throw new InvalidEventPatternError('Empty arrays are not allowed');
    if (!arg.every((a) => typeof a === 'string' || typeof a === 'number')) {
      throw new InvalidEventPatternError('Inside anything but list, start|null|boolean is not supported.');
    }
    const set = new Set<Leaf>(arg as Array<string | number>);
    return (v) => set.has(v);
  }
  if (!isPlainObject(arg) || Object.keys(arg).length !== 1) throw new InvalidEventPatternError(ANYTHING_BUT_VALUE);
  const [type, inner] = Object.entries(arg)[0] as [string, unknown];
  switch (type) {
    case 'prefix':
    case 'suffix': {
      const texts = Array.isArray(inner) ? inner : [inner];
      if (isPlainObject(inner)) throw new InvalidEventPatternError(ANYTHING_BUT_VALUE);
      if (!texts.every((t): t is string => typeof t === 'string')) {
        throw new InvalidEventPatternError('prefix/suffix match pattern must be a string');
      }
      if (texts.length === 0) throw new InvalidEventPatternError('Empty arrays are not allowed');
      if (texts.some((t) => t === '')) throw new InvalidEventPatternError('Null prefix/suffix not allowed');
      return affixTest(type, texts, false);
    }
    case 'equals-ignore-case': {
      const texts = Array.isArray(inner) ? inner : [inner];
      if (texts.length === 0 || !texts.every((t): t is string => typeof t === 'string')) {
        throw new InvalidEventPatternError(
          'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.',
        );
      }
      const folded = new Set(texts.map(fold));
      return (v) => typeof v === 'string' && folded.has(fold(v));
    }
    case 'wildcard': {
      const texts = Array.isArray(inner) ? inner : [inner];
      if (texts.length === 0 || !texts.every((t): t is string => typeof t === 'string')) {
        throw new InvalidEventPatternError('wildcard match pattern must be a string');
      }
      const regexes = texts.map(wildcardRegex);
      return (v) => typeof v === 'string' && regexes.some((r) => r.test(v));
    }
    default:
      throw new InvalidEventPatternError(`Unsupported anything-but pattern: ${type}`);
  }
}

const LOWER_BOUNDS = new Set(['>', '>=']);
const UPPER_BOUNDS = new Set(['<', '<=']);

function compileNumeric(arg: unknown): Matcher {
  if (!Array.isArray(arg)) throw new InvalidEventPatternError('Value of numeric must be an array.');
  const checks: Array<(n: number) => boolean> = [];
  let i = 0;
  let sawLower = false;
  let sawUpper = false;
  let sawEquals = false;
  while (i < arg.length) {
    const op = arg[i];
    if (typeof op !== 'string') throw new InvalidEventPatternError(`Invalid member in numeric match: ${JSON.stringify(op)}`);
    const valid =
      (op === '=' && checks.length === 0) ||
      (LOWER_BOUNDS.has(op) && !sawLower && !sawUpper && !sawEquals) ||
      (UPPER_BOUNDS.has(op) && !sawUpper && !sawEquals);
    if (!valid) throw new InvalidEventPatternError(`Bad numeric range operator: ${op}`);
    const bound = arg[i + 1];
    if (typeof bound !== 'number') throw new InvalidEventPatternError(`Value of ${op} must be numeric`);
    switch (op) {
      case '=':
        sawEquals = true;
        checks.push((n) => n === bound);
        break;
      case '>':
        sawLower = true;
        checks.push((n) => n > bound);
        break;
      case '>=':
        sawLower = true;
        checks.push((n) => n >= bound);
        break;
      case '<':
        sawUpper = true;
        checks.push((n) => n < bound);
        break;
      case '<=':
        sawUpper = true;
        checks.push((n) => n <= bound);
        break;
    }
    i += 2;
  }
  if (checks.length === 0) throw new InvalidEventPatternError('Empty numeric match');
  return { kind: 'test', test: (v) => typeof v === 'number' && checks.every((c) => c(v)) };
}

function compileCidr(arg: unknown): Matcher {
  if (typeof arg !== 'string') throw new InvalidEventPatternError('prefix match pattern must be a string');
  const parts = arg.split('/');
  if (parts.length !== 2) throw new InvalidEventPatternError("Malformed CIDR, one '/' required");
  const [ip, maskText] = parts as [string, string];
  if (!/^\d+$/.test(maskText)) throw new InvalidEventPatternError('Malformed CIDR, mask bits must be an integer');
  const family = isIP(ip);
  if (family === 0) throw new InvalidEventPatternError(`Nonstandard IP address: ${ip}`);
  const mask = Number(maskText);
  if (mask > (family === 4 ? 32 : 128)) throw new InvalidEventPatternError(`Malformed CIDR, mask bits must be <= ${family === 4 ? 32 : 128}`);
  const block = new BlockList();
  block.addSubnet(ip, mask, family === 4 ? 'ipv4' : 'ipv6');
  return {
    kind: 'test',
    test: (v) => {
      if (typeof v !== 'string') return false;
      const f = isIP(v);
      return f !== 0 && block.check(v, f === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Matching

interface LeafEntry {
  readonly value: Leaf;
  /** The arrays this leaf sits in: [array id, element index] from the outermost. */
  readonly trail: ReadonlyArray<readonly [number, number]>;
}

function flatten(event: Record<string, unknown>): Map<string, LeafEntry[]> {
  const fields = new Map<string, LeafEntry[]>();
  let arrays = 0;
  const walk = (value: unknown, path: string, trail: ReadonlyArray<readonly [number, number]>) => {
    if (Array.isArray(value)) {
      const id = arrays++;
      value.forEach((element, index) => walk(element, path, [...trail, [id, index]]));
    } else if (isPlainObject(value)) {
      for (const [key, child] of Object.entries(value)) walk(child, path === '' ? key : `${path}.${key}`, trail);
    } else if (path !== '') {
      const list = fields.get(path);
      const entry = { value: value as Leaf, trail };
      if (list) list.push(entry);
      else fields.set(path, [entry]);
    }
  };
  walk(event, '', []);
  return fields;
}

function matcherAccepts(matcher: Matcher, value: Leaf): boolean {
  switch (matcher.kind) {
    case 'exact':
      return matcher.value === value;
    case 'exists':
      return matcher.value; // a present leaf satisfies exists:true, never exists:false
    case 'test':
      return matcher.test(value);
  }
}

function matchConjunction(conjunction: Conjunction, fields: Map<string, LeafEntry[]>): boolean {
  const required: LeafEntry[][] = [];
  for (const condition of conjunction) {
    const entries = fields.get(condition.path) ?? [];
    if (entries.length === 0) {
      if (condition.matchers.some((m) => m.kind === 'exists' && !m.value)) continue;
      return false;
    }
    const candidates = entries.filter((e) => condition.matchers.some((m) => matcherAccepts(m, e.value)));
    if (candidates.length === 0) return false;
    required.push(candidates);
  }
  return consistentChoice(required, 0, new Map());
}

/** Picks one candidate per condition such that no two picks come from different elements of the same array. */
function consistentChoice(required: LeafEntry[][], index: number, chosen: Map<number, number>): boolean {
  if (index === required.length) return true;
  for (const entry of required[index] as LeafEntry[]) {
    if (entry.trail.some(([id, element]) => chosen.has(id) && chosen.get(id) !== element)) continue;
    const added = entry.trail.filter(([id]) => !chosen.has(id));
    for (const [id, element] of added) chosen.set(id, element);
    if (consistentChoice(required, index + 1, chosen)) return true;
    for (const [id] of added) chosen.delete(id);
  }
  return false;
}
