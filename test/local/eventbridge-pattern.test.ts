/**
 * Event pattern matching, case by case, as the EventBridge user guide describes it (content filtering, arrays,
 * null values, $or) and as EventBridge's own matcher (aws/event-ruler) words its refusals.
 */
import { describe, expect, it } from 'vitest';
import { ALL_EVENTS_PATTERN, CREDENTIAL_EVENTS_PATTERN } from '../../lambdas/shared/contract/events';
import { compileEventPattern, InvalidEventPatternError } from '../../infra/local/aws/eventbridge/pattern';

const event = {
  version: '0',
  id: '6f8c1d2e-0000-4000-8000-000000000001',
  'detail-type': 'CredentialReset',
  source: 'devaccess',
  account: '000000000000',
  time: '2026-12-04T10:11:12Z',
  region: 'us-east-1',
  resources: ['arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_abc', 'arn:aws:states:x'],
  detail: {
    userId: 'u-1',
    clientId: 'c-2',
    previousClientId: 'c-1',
    scopes: ['devaccess/read', 'devaccess/write'],
    version: 1,
    ratio: 301.8,
    emptyText: '',
    nothing: null,
    enabled: true,
    sourceIp: '10.0.0.33',
    sourceIpv6: '2001:db8:1234:1a00::7',
    file: 'reports/2026/q4*final.PNG',
    actor: { type: 'user', username: 'Ada' },
    employees: [
      { first: 'John', last: 'Doe' },
      { first: 'Anna', last: 'Smith' },
    ],
    none: [],
    'dotted.key': 'dotted',
  },
};

const cases: Array<[string, Record<string, unknown>, boolean]> = [
  // exact values, types are not interchangeable
  ['exact string', { source: ['devaccess'] }, true],
  ['exact string, one of several', { 'detail-type': ['CredentialCreated', 'CredentialReset'] }, true],
  ['exact string, wrong case', { source: ['DevAccess'] }, false],
  ['exact number', { detail: { version: [1] } }, true],
  ['number written differently', { detail: { ratio: [3.018e2] } }, true],
  ['number does not match its text', { detail: { version: ['1'] } }, false],
  ['boolean', { detail: { enabled: [true] } }, true],
  ['null matches null', { detail: { nothing: [null] } }, true],
  ['empty string matches empty string', { detail: { emptyText: [''] } }, true],
  ['null is not the empty string', { detail: { nothing: [''] } }, false],
  ['missing field', { detail: { absent: ['x'] } }, false],
  ['credential pattern of the contract', CREDENTIAL_EVENTS_PATTERN, true],
  ['all-events pattern of the contract', ALL_EVENTS_PATTERN, true],
  ['every field must match', { source: ['devaccess'], 'detail-type': ['CredentialRevoked'] }, false],
  // nested detail fields and dot joining
  ['nested field', { detail: { actor: { type: ['user'] } } }, true],
  ['nested field, wrong value', { detail: { actor: { type: ['service'] } } }, false],
  ['dotted key in the pattern', { detail: { 'actor.username': ['Ada'] } }, true],
  ['dotted key in the event', { detail: { dotted: { key: ['dotted'] } } }, true],
  ['leaf matcher on an object', { detail: { actor: ['user'] } }, false],
  // arrays: any element
  ['array in the event, one element matches', { detail: { scopes: ['devaccess/write'] } }, true],
  ['array in the event, none matches', { detail: { scopes: ['admin'] } }, false],
  ['resources array', { resources: [{ prefix: 'arn:aws:states:' }] }, true],
  ['objects in an array', { detail: { employees: { first: ['Anna'] } } }, true],
  ['fields from one array element', { detail: { employees: { first: ['Anna'], last: ['Smith'] } } }, true],
  ['fields from different array elements', { detail: { employees: { first: ['Anna'], last: ['Doe'] } } }, false],
  // prefix / suffix / equals-ignore-case / wildcard
  ['prefix', { time: [{ prefix: '2026-12-04' }] }, true],
  ['prefix, no match', { time: [{ prefix: '2025' }] }, false],
  ['prefix ignoring case', { detail: { actor: { username: [{ prefix: { 'equals-ignore-case': 'ad' } }] } } }, true],
  ['prefix on a number', { detail: { version: [{ prefix: '1' }] } }, false],
  ['suffix', { detail: { file: [{ suffix: '.PNG' }] } }, true],
  ['suffix is case sensitive', { detail: { file: [{ suffix: '.png' }] } }, false],
  ['suffix ignoring case', { detail: { file: [{ suffix: { 'equals-ignore-case': '.png' } }] } }, true],
  ['equals-ignore-case', { 'detail-type': [{ 'equals-ignore-case': 'credentialreset' }] }, true],
  ['equals-ignore-case, different text', { 'detail-type': [{ 'equals-ignore-case': 'credentialrevoked' }] }, false],
  ['wildcard', { detail: { file: [{ wildcard: 'reports/*/q4*' }] } }, true],
  ['wildcard with an escaped star', { detail: { file: [{ wildcard: '*q4\\*final*' }] } }, true],
  ['wildcard must match the whole value', { detail: { file: [{ wildcard: 'reports/*/q3*' }] } }, false],
  // anything-but
  ['anything-but a string', { detail: { clientId: [{ 'anything-but': 'c-1' }] } }, true],
  ['anything-but the value itself', { detail: { clientId: [{ 'anything-but': 'c-2' }] } }, false],
  ['anything-but a list', { detail: { clientId: [{ 'anything-but': ['c-1', 'c-2'] }] } }, false],
  ['anything-but a number', { detail: { version: [{ 'anything-but': [2, 3] }] } }, true],
  ['anything-but a prefix', { detail: { clientId: [{ 'anything-but': { prefix: 'c-' } }] } }, false],
  ['anything-but a suffix', { detail: { clientId: [{ 'anything-but': { suffix: '-9' } }] } }, true],
  ['anything-but ignoring case', { 'detail-type': [{ 'anything-but': { 'equals-ignore-case': ['CREDENTIALRESET'] } }] }, false],
  ['anything-but a wildcard', { detail: { file: [{ 'anything-but': { wildcard: '*/lib/*' } }] } }, true],
  ['anything-but matches null', { detail: { nothing: [{ 'anything-but': 'x' }] } }, true],
  ['anything-but needs the field', { detail: { absent: [{ 'anything-but': 'x' }] } }, false],
  ['anything-but on an array, one other element', { detail: { scopes: [{ 'anything-but': 'devaccess/read' }] } }, true],
  // numeric
  ['numeric range', { detail: { ratio: [{ numeric: ['>', 300, '<=', 302] }] } }, true],
  ['numeric range, outside', { detail: { ratio: [{ numeric: ['>', 301.8] }] } }, false],
  ['numeric equals', { detail: { version: [{ numeric: ['=', 1] }] } }, true],
  ['numeric on a string', { detail: { clientId: [{ numeric: ['>', 0] }] } }, false],
  // exists
  ['exists true', { detail: { clientId: [{ exists: true }] } }, true],
  ['exists false', { detail: { absent: [{ exists: false }] } }, true],
  ['exists false on a present field', { detail: { clientId: [{ exists: false }] } }, false],
  ['exists true on null', { detail: { nothing: [{ exists: true }] } }, true],
  ['exists works on leaves only', { detail: { actor: [{ exists: true }] } }, false],
  ['an empty array has no leaf', { detail: { none: [{ exists: true }] } }, false],
  ['exists false or a value', { detail: { absent: [{ 'anything-but': 'x' }, { exists: false }] } }, true],
  // IP addresses
  ['cidr v4', { detail: { sourceIp: [{ cidr: '10.0.0.0/24' }] } }, true],
  ['cidr v4, outside', { detail: { sourceIp: [{ cidr: '10.0.1.0/24' }] } }, false],
  ['cidr v6', { detail: { sourceIpv6: [{ cidr: '2001:db8:1234:1a00::/64' }] } }, true],
  ['cidr on a non-address', { detail: { clientId: [{ cidr: '10.0.0.0/8' }] } }, false],
  // $or
  ['$or, second branch', { $or: [{ source: ['other'] }, { 'detail-type': ['CredentialReset'] }] }, true],
  ['$or, no branch', { $or: [{ source: ['other'] }, { 'detail-type': ['Other'] }] }, false],
  [
    '$or nested in detail, with AND outside',
    { source: ['devaccess'], detail: { $or: [{ clientId: ['c-9'] }, { previousClientId: ['c-1'] }] } },
    true,
  ],
  [
    '$or with an AND inside a branch',
    { $or: [{ detail: { userId: ['u-1'], clientId: ['c-9'] } }, { detail: { userId: ['u-2'] } }] },
    false,
  ],
];

describe('event pattern matching', () => {
  it.each(cases)('%s', (_name, pattern, expected) => {
    // Act
    const result = compileEventPattern(pattern).matches(event);

    // Assess
    expect(result).toBe(expected);
  });

  it('accepts the pattern as JSON text', () => {
    // Assess
    expect(compileEventPattern(JSON.stringify(CREDENTIAL_EVENTS_PATTERN)).matches(event)).toBe(true);
  });

  it('matches nothing that is not an object', () => {
    // Assess
    expect(compileEventPattern(ALL_EVENTS_PATTERN).matches('devaccess')).toBe(false);
  });
});

const invalid: Array<[Record<string, unknown> | string, string]> = [
  ['not json', 'Filter is not valid JSON: '],
  [{ source: 'devaccess' }, '"source" must be an object or an array'],
  [{ source: [] }, 'Empty arrays are not allowed'],
  [{ source: [{ PREFIX: 'x' }] }, 'Unrecognized match type PREFIX'],
  [{ source: [{ prefix: 1 }] }, 'prefix match pattern must be a string'],
  [{ source: [{ suffix: ['x'] }] }, 'suffix match pattern must be a string'],
  [{ source: [{ 'equals-ignore-case': ['x'] }] }, 'equals-ignore-case match pattern must be a string'],
  [{ source: [{ wildcard: 'a**b' }] }, 'Consecutive wildcard characters at pos 2'],
  [{ source: [{ 'anything-but': null }] }, 'Value of anything-but must be an array or single string/number value.'],
  [{ source: [{ 'anything-but': ['a', null] }] }, 'Inside anything but list, start|null|boolean is not supported.'],
  [{ source: [{ 'anything-but': { prefix: '' } }] }, 'Null prefix/suffix not allowed'],
  [{ n: [{ numeric: 5 }] }, 'Value of numeric must be an array.'],
  [{ n: [{ numeric: ['>', 0, '>', 1] }] }, 'Bad numeric range operator: >'],
  [{ n: [{ numeric: ['<', 'x'] }] }, 'Value of < must be numeric'],
  [{ ip: [{ cidr: '10.0.0.0' }] }, "Malformed CIDR, one '/' required"],
  [{ ip: [{ cidr: 'nope/8' }] }, 'Nonstandard IP address: nope'],
  [{ f: [{ exists: 'yes' }] }, 'exists match pattern must be either true or false.'],
];

describe('invalid event patterns', () => {
  it.each(invalid)('refuses %j', (pattern, reason) => {
    // Act
    const failure = (() => {
      try {
        compileEventPattern(pattern);
        return undefined;
      } catch (err) {
        return err;
      }
    })();

    // Assess
    expect(failure).toBeInstanceOf(InvalidEventPatternError);
    expect((failure as Error).name).toBe('InvalidEventPatternException');
    expect((failure as Error).message.startsWith(`Event pattern is not valid. Reason: ${reason}`)).toBe(true);
  });
});
